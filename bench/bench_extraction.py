"""Extraction quality: `mediawatch extract --input ... --output ...` beside trafilatura alone.

    .venv/bin/python bench/bench_extraction.py [--jobs 2] [--limit N] [--datasets DIR]

Two public benchmarks from ../shared/datasets, each scored as its authors score it:

- scrapinghub-article-extraction-benchmark (181 pages): token P/R/F1 of the article body,
  exactly as its evaluate.py: shingles of 4 `\\w+` tokens counted with multiplicity, per-page
  tp/fp/fn normalised to sum 1, precision and recall averaged over pages (a page with an
  empty prediction is left out of precision, an empty truth out of recall), F1 of the means.
- trafilatura-eval (990 pages): must-contain / must-not-contain segments, found by
  whitespace-normalised substring match, P/R/F1 over all segments (upstream
  tests/eval_common.py).

Our side is the batch command, run as a child process, so what is measured is exactly what
the crawler would store (the `text` field: the body without the headline). The reference is
`trafilatura.extract(html)` with its defaults, in the same run, on the same bytes (the AEB
page decoded as UTF-8 like the benchmark's own runner does; trafilatura-eval pages as bytes
like its evaluate.py).

Split: each page is in the "dev" or the "test" half by the parity of the SHA-1 of its id.
The extraction choices in crawlers/extract.py (precision mode, and the balanced second pass
below 2,000 characters when it finds over twice as much) were chosen on the dev halves
only; the test halves were not looked at while choosing. Both halves and the whole set are
printed. Timing is printed for information, never judged.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
AEB = "scrapinghub-article-extraction-benchmark"
TEV = "trafilatura-eval"
_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


# --------------------------------------------------------------------------- the metrics


def _shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN_RE.findall(text or "")
    grams = (tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))
    return Counter(gram for gram in grams if gram)


def shingle_tp_fp_fn(true: str, pred: str) -> tuple[float, float, float]:
    """AEB's string_shingle_matching: per-page counts normalised to sum to 1."""
    truth, guess = _shingles(true), _shingles(pred)
    tp = fp = fn = 0.0
    for key in set(truth) | set(guess):
        t, p = truth.get(key, 0), guess.get(key, 0)
        tp += min(t, p)
        fp += max(0, p - t)
        fn += max(0, t - p)
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (tp, fp, fn)


def aeb_scores(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """AEB's metrics_from_tp_fp_fns: mean precision and recall over pages, F1 of the means."""

    def precision(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fp == 0 else tp / (tp + fp)

    def recall(tp: float, fp: float, fn: float) -> float:
        if fp == fn == 0:
            return 1.0
        return 0.0 if tp == fn == 0 else tp / (tp + fn)

    p = statistics.mean([precision(*c) for c in counts if c[0] + c[1] > 0])
    r = statistics.mean([recall(*c) for c in counts if c[0] + c[2] > 0])
    return p, r, 2 * p * r / (p + r)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def segment_counts(item: dict, result: str | None) -> tuple[int, int, int, int]:
    """trafilatura's count_item: (tp, fp, fn, tn) by whitespace-normalised substring."""
    if isinstance(result, str) and result:
        text = _norm(result)
        tp = sum(1 for w in item["with"] if _norm(w) in text)
        fp = sum(1 for w in item["without"] if _norm(w) in text)
    else:
        tp = fp = 0
    return tp, fp, len(item["with"]) - tp, len(item["without"]) - fp


def segment_scores(counts: list[tuple[int, int, int, int]]) -> tuple[float, float, float]:
    tp = sum(c[0] for c in counts)
    fp = sum(c[1] for c in counts)
    fn = sum(c[2] for c in counts)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, 2 * tp / (2 * tp + fp + fn)


def half(page_id: str) -> str:
    return "dev" if int(hashlib.sha1(page_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


# --------------------------------------------------------------------------- datasets


def load_aeb(root: Path, limit: int | None) -> list[dict]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages = [
        {"id": key, "path": root / "html" / f"{key}.html.gz", "url": value.get("url"),
         "truth": value.get("articleBody", ""), "as_text": True}
        for key, value in sorted(truth.items())
    ]  # fmt: skip
    return pages[:limit] if limit else pages


def load_tev(root: Path, limit: int | None) -> list[dict]:
    data = json.loads((root / "evaldata.json").read_text(encoding="utf-8"))
    pages = [
        {"id": url, "path": root / "html" / f"{item['file']}.gz",
         "url": url if url.startswith(("http://", "https://")) else None,
         "truth": item, "as_text": False}
        for url, item in sorted(data.items())
    ]  # fmt: skip
    return pages[:limit] if limit else pages


# --------------------------------------------------------------------------- the two sides


def run_batch(pages: list[dict], jobs: int, work: Path) -> tuple[dict[str, str], float]:
    """{id: text} from `mediawatch extract --input --output`, and its wall time."""
    source = work / "pages.jsonl"
    target = work / "out.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for page in pages:
            line = {"id": page["id"], "path": str(page["path"]), "url": page["url"]}
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    command = [sys.executable, "-m", "mediawatch", "extract", "--input", str(source),
               "--output", str(target), "--jobs", str(jobs)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    rows = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == [page["id"] for page in pages], "order not kept"
    return {row["id"]: row["text"] for row in rows}, seconds


def _trafilatura_default(job: tuple[str, bool]) -> str:
    import logging

    import trafilatura

    logging.disable(logging.CRITICAL)
    path, as_text = job
    raw = gzip.decompress(Path(path).read_bytes())
    html = raw.decode("utf-8", errors="replace") if as_text else raw
    try:
        return trafilatura.extract(html) or ""
    except Exception:  # counted as a full miss, as both benchmarks do
        return ""


def run_trafilatura(pages: list[dict], jobs: int) -> tuple[dict[str, str], float]:
    started = time.perf_counter()
    jobs_in = [(str(page["path"]), page["as_text"]) for page in pages]
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        texts = list(pool.map(_trafilatura_default, jobs_in, chunksize=8))
    return {page["id"]: text for page, text in zip(pages, texts, strict=True)}, (
        time.perf_counter() - started
    )


# --------------------------------------------------------------------------- report


def score(
    pages: list[dict], outputs: dict[str, str], kind: str
) -> dict[str, tuple[float, float, float]]:
    scorer: Callable
    if kind == "aeb":
        per_page = {p["id"]: shingle_tp_fp_fn(p["truth"], outputs[p["id"]]) for p in pages}
        scorer = aeb_scores
    else:
        per_page = {p["id"]: segment_counts(p["truth"], outputs[p["id"]]) for p in pages}
        scorer = segment_scores
    result = {}
    for name in ("dev", "test", "all"):
        chosen = [per_page[p["id"]] for p in pages if name == "all" or half(p["id"]) == name]
        if chosen:
            result[name] = scorer(chosen)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--jobs", type=int, default=2, help="processes for each side")
    parser.add_argument("--limit", type=int, default=None, help="first N pages of each set")
    args = parser.parse_args(argv)
    import trafilatura

    print(f"trafilatura {trafilatura.__version__}; {args.jobs} processes per side")
    print(f"{'dataset':<18}{'half':<6}{'system':<34}{'P':>7}{'R':>7}{'F1':>7}")
    summary = []
    for name, loader, kind, label in (
        (AEB, load_aeb, "aeb", "AEB body tokens"),
        (TEV, load_tev, "tev", "trafilatura-eval segments"),
    ):
        root = args.datasets / name
        if not root.is_dir():
            print(f"{name}: not found at {root}, skipped")
            continue
        pages = loader(root, args.limit)
        with tempfile.TemporaryDirectory(prefix="bench-extract-") as work:
            ours, our_seconds = run_batch(pages, args.jobs, Path(work))
        theirs, their_seconds = run_trafilatura(pages, args.jobs)
        ours_scores = score(pages, ours, kind)
        theirs_scores = score(pages, theirs, kind)
        for half_name in ("dev", "test", "all"):
            for system, scores in (
                ("mediawatch extract (batch)", ours_scores),
                ("trafilatura.extract defaults", theirs_scores),
            ):
                if half_name in scores:
                    p, r, f = scores[half_name]
                    print(f"{kind:<18}{half_name:<6}{system:<34}{p:>7.3f}{r:>7.3f}{f:>7.3f}")
        summary.append(
            f"{label} ({len(pages)} pages): F1 {ours_scores['all'][2]:.3f} vs trafilatura "
            f"{theirs_scores['all'][2]:.3f} (held-out test half {ours_scores['test'][2]:.3f} "
            f"vs {theirs_scores['test'][2]:.3f}); {our_seconds:.0f} s vs {their_seconds:.0f} s"
        )
    print()
    for line in summary:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
