"""How long the weekly brief takes on a big week, and how much memory (printed, not asserted).

    .venv/bin/python bench/bench_brief.py [--articles 50000] [--narratives 500] [--repeat 3]

Builds a synthetic store with store.writes (Arrow batches, as the pipeline writes): the
brief's week holds `--articles` articles in `--narratives` narratives (sizes falling off
like real coverage, a tenth of articles in no narrative, some syndicated copies), the seven
weeks before hold a tenth as many each (for the charts), 200 outlets in 13 languages,
a library of 120 entries and matches for most narratives. The store is built in a child
process so that this process's peak memory is the brief's own.

Then it times, on the same store in the same run:
  - the brief as `mediawatch brief` writes it (HTML + Markdown, recorded in `briefs`);
  - the store queries alone (brief.model.collect) and the templates alone, as references;
  - the PDF (WeasyPrint) on top;
and prints peak memory: Python allocations (tracemalloc) and the process's maximum RSS.
Goal from issue 7: under 10 s for 50,000 articles and 500 narratives.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LANGUAGES = ["vi", "en", "zh", "fr", "es", "ru", "ar", "pt", "ja", "ko", "de", "lo", "th"]
COUNTRIES = ["VN", "US", "GB", "FR", "CN", "SG", "AU", "JP", "KR", "DE", "RU", "TH", "LA",
             "KH", "IN", "ID", "MY", "PH", "CA", "ES", "BR", "QA", "CH", "IT", "NL"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_store(db: Path, week_label: str, articles: int, narratives: int, seed: int = 7) -> dict:
    """Write the synthetic store; return its counts."""
    import numpy as np

    from mediawatch.records import Article, FetchRecord, Match, Narrative, Outlet, stable_id
    from mediawatch.weeks import parse_week
    from rebuttal_library.schema import Evidence, RebuttalEntry
    from store import writes
    from store.db import connection

    rng = random.Random(seed)
    week = parse_week(week_label, "Asia/Ho_Chi_Minh")
    outlets = [
        Outlet(f"o{k:03d}", f"Outlet {k} Nhật Báo", f"https://o{k}.example/",
               COUNTRIES[k % len(COUNTRIES)], (LANGUAGES[k % len(LANGUAGES)],),
               "domestic" if COUNTRIES[k % len(COUNTRIES)] == "VN" else "foreign", "private", ())
        for k in range(200)
    ]
    # narrative sizes fall off like real coverage (Zipf-like), most of them alive this week
    cum, acc = [], 0.0
    for k in range(narratives):
        acc += 1 / (k + 1) ** 0.8
        cum.append(acc)
    rows: list[Article] = []
    members: dict[int, list[str]] = {k: [] for k in range(narratives)}
    copies: dict[str, str] = {}
    n = 0
    for back in range(8):
        start = week.shifted(-back).start
        count = articles if back == 0 else articles // 10
        for _ in range(count):
            n += 1
            outlet = outlets[rng.randrange(len(outlets))]
            when = start + timedelta(seconds=rng.randrange(7 * 86400))
            url = f"https://{outlet.outlet_id}.example/{n}"
            title = f"Tiêu đề {n}: tàu khảo sát gần bãi Ngọc Lan, headline number {n}"
            rows.append(Article(stable_id(url), outlet.outlet_id, url, url, title,
                                f"Body {n}", when, outlet.languages[0], None,
                                stable_id(title, length=32), when))
            if rng.random() < 0.9:  # a tenth of articles fall in no narrative
                members[rng.choices(range(narratives), cum_weights=cum)[0]].append(
                    rows[-1].article_id
                )
            if rng.random() < 0.03 and len(rows) > 1:
                copies[rows[-1].article_id] = rows[-2].article_id
    by_id = {a.article_id: a for a in rows}
    stories = []
    for k, ids in members.items():
        if not ids:
            continue
        ordered = sorted(ids, key=lambda i: by_id[i].published_at)
        stories.append(Narrative(
            stable_id("narrative", str(k)), by_id[ordered[0]].title[:90],
            [f"từ khóa {k}", f"keyword {k}", "ngọc lan", "tàu"], ordered, ordered[0],
            by_id[ordered[0]].published_at, by_id[ordered[-1]].published_at, ordered[-1],
            {i: 0.8 for i in ordered},
        ))
    kinds = ["refute", "clarify", "promote"]
    statuses = ["approved"] * 6 + ["draft", "in_review", "retired"]
    entries = [
        RebuttalEntry(
            id=f"E{k + 1:03d}", type=kinds[k % 3], title=f"Entry {k}: the facts about claim {k}",
            claims=[f"claim {k}"], response={"en": "The facts."},
            status=statuses[k % len(statuses)],
            reviewed_by="Head of Rapid Response" if statuses[k % len(statuses)] != "draft"
            else None,
            reviewed_at="2026-01-15" if statuses[k % len(statuses)] != "draft" else None,
            expires_at="2026-03-31" if k % 17 == 0 else "2030-12-31",
            evidence=[Evidence(title=f"Report {k}", url=f"https://gov.example/r{k}",
                               publisher="Ministry", date="2026-01-10")],
        )
        for k in range(120)
    ]
    matches = []
    for k, story in enumerate(stories):
        if k % 5 == 4:
            continue  # a fifth of narratives have nothing near them in the library
        for rank in (1, 2):
            e = entries[(k * 7 + rank) % len(entries)]
            score = 0.95 - 0.04 * rank + rng.random() * 0.02
            matches.append(Match(story.narrative_id, e.id, e.version, score, rank, score > 0.9))
    fetched = week.end + timedelta(hours=3)
    log = [
        FetchRecord(o.outlet_id, f"https://{o.outlet_id}.example/{kind}", kind,
                    500 if i % 23 == 0 and kind == "page" else 200, 1000, 50.0, fetched,
                    "HTTPError 500" if i % 23 == 0 and kind == "page" else None)
        for i, o in enumerate(outlets)
        for kind in ("feed", "page")
    ]
    with connection(db) as con:
        writes.start_run(con, "bench-run", "mediawatch-run", {})
        writes.upsert_sources(con, outlets, "bench-run")
        writes.insert_fetch_log(con, log, "bench-run")
        for start in range(0, len(rows), 20000):
            writes.upsert_articles(con, rows[start:start + 20000], "bench-run")
        writes.set_duplicates(con, copies, "bench-run")
        writes.replace_narratives(
            con, stories,
            {s.narrative_id: np.full(384, 0.05, np.float32) for s in stories},
            "bench-model", "bench-run",
        )
        writes.replace_rebuttals(con, entries, "bench-run")
        writes.replace_matches(con, matches, "bench-run")
        writes.finish_run(con, "bench-run", "completed", {}, {})
        in_week = con.execute(
            "SELECT count(*) FROM articles WHERE published_at >= ? AND published_at < ?",
            [week.start, week.end],
        ).fetchone()[0]
    return {"articles": len(rows), "in_week": in_week, "narratives": len(stories),
            "outlets": len(outlets), "entries": len(entries), "matches": len(matches),
            "copies": len(copies)}


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    """(first, median of the rest or first, last result)."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    rest = times[1:] or times
    return times[0], statistics.median(rest), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    parser.add_argument("--narratives", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--week", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.build:  # child process: build and report
        counts = build_store(args.build, args.week, args.articles, args.narratives)
        print(" ".join(f"{k}={v}" for k, v in counts.items()))
        return 0

    from mediawatch.weeks import last_complete_week

    week = last_complete_week("Asia/Ho_Chi_Minh", datetime.now(UTC)).label
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--build", str(db), "--week", week,
             "--articles", str(args.articles), "--narratives", str(args.narratives)],
            capture_output=True, text=True, check=True,
        )
        built = time.perf_counter() - started
        counts = dict(kv.split("=") for kv in done.stdout.split())
        print(f"synthetic store: {int(counts['in_week']):,} articles in {week} "
              f"({int(counts['articles']):,} over 8 weeks, {int(counts['copies']):,} copies), "
              f"{counts['narratives']} narratives, {counts['outlets']} outlets, "
              f"{counts['entries']} library entries, {counts['matches']} matches; "
              f"built in {built:.1f} s, {db.stat().st_size / 2**20:.0f} MB")
        print(f"machine: {os.cpu_count()} cores; each figure: first run, then the median of "
              f"{max(args.repeat - 1, 1)} more")

        from brief.model import collect
        from brief.render import html_to_pdf, render_brief, render_text
        from mediawatch.settings import load_settings
        from mediawatch.weeks import parse_week
        from store.db import connection

        baseline_rss = _rss_mb()
        settings = load_settings(db=db, briefs_dir=Path(tmp) / "briefs")
        target = parse_week(week, settings.timezone)

        def brief():
            return render_brief(settings, week=week, formats=("html", "md"))

        def queries():
            with connection(db, read_only=True) as con:
                return collect(con, target, settings)

        first, median, written = _timed(brief, args.repeat)
        brief_rss = _rss_mb()
        q_first, q_median, data = _timed(queries, args.repeat)
        t_first, t_median, _ = _timed(
            lambda: (render_text(data, "html"), render_text(data, "md")), args.repeat
        )
        sizes = ", ".join(f"{p.suffix[1:]} {p.stat().st_size / 1024:.0f} KB"
                          for p in written.paths)
        print(f"brief, html + md (what `mediawatch brief` does): {first:.2f} s first, "
              f"{median:.2f} s median  [{sizes}]")
        print(f"  reference, store queries alone (brief.model.collect): {q_first:.2f} s first, "
              f"{q_median:.2f} s median; brief / queries = {median / q_median:.2f}")
        print(f"  reference, templates alone (html + md, charts included): {t_first:.3f} s "
              f"first, {t_median:.3f} s median; brief / templates = {median / t_median:.1f}")
        tracemalloc.start()
        brief()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak memory of the brief: Python allocations {peak / 2**20:.1f} MB "
              f"(tracemalloc); process max RSS {brief_rss:.0f} MB after the html + md briefs "
              f"(was {baseline_rss:.0f} MB after imports; DuckDB's buffers count in RSS only)")

        html = render_text(data, "html")
        p_first, p_median, pdf = _timed(lambda: html_to_pdf(html), max(args.repeat - 1, 1))
        print(f"pdf on top (WeasyPrint, from the same HTML): {p_first:.2f} s first, "
              f"{p_median:.2f} s median, {len(pdf) / 1024:.0f} KB; "
              f"process max RSS then {_rss_mb():.0f} MB")
        verdict = "met" if median < 10 else "NOT met"
        print(f"goal under 10 s for {args.articles:,} articles and {args.narratives} "
              f"narratives: {verdict} ({median:.2f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
