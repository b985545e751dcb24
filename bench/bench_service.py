"""Console search latency over a large synthetic store, beside a bare faiss search.

    .venv/bin/python bench/bench_service.py [--articles 200000] [--narratives 5000]
                                            [--queries 200] [--clients 20] [--model]

Builds (once, then reuses) a synthetic store with store.writes: N articles with synthetic
titles and random unit vectors (384 dimensions, clustered around 5,000 random narrative
centroids), no text embedded. Starts `service.app` on uvicorn in a subprocess on 127.0.0.1 and
asks GET /api/search with an httpx client: one client, then 20 concurrent clients. By default
the server turns each query text into a random unit vector (a hash-seeded stand-in for the
model: the figures are the console's own cost: corpus, faiss, BM25, fusion, HTTP, JSON); with
--model it embeds every query with the configured model and the query-embedding time is
measured apart. Beside them: a bare faiss IndexFlatIP search of the same vectors for the same
query vectors (the ratio), and DuckDB's list_cosine_similarity scan on the same store.
Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DIM = 384
SEED = 20261123


class HashEmbedder:
    """A stand-in for the model: the same text always gives the same random unit vector."""

    def __init__(self, model_id: str, dimension: int = DIM) -> None:
        self.model_id = model_id
        self.dimension = dimension

    def _vectors(self, texts) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out

    embed_queries = _vectors
    embed_passages = _vectors


def build_store(path: Path, n_articles: int, n_narratives: int, model_id: str) -> None:
    from mediawatch.records import Article, Narrative, Outlet, content_hash
    from store import writes
    from store.db import connection

    rng = np.random.default_rng(SEED)
    pyrng = random.Random(SEED)
    vocab = [
        f"{a}{b}"
        for a in ("ba", "ko", "ri", "tu", "me", "sa", "lo", "vi", "ng", "qu")
        for b in range(500)
    ]
    outlets = [
        Outlet(
            outlet_id=f"outlet{k:02d}",
            name=f"Outlet {k}",
            homepage=f"https://o{k}.example/",
            country=["VN", "SG", "GB", "FR", "US", "AU", "CN", "JP"][k % 8],
            languages=(["vi", "en", "fr", "zh"][k % 4],),
            scope="domestic" if k % 8 == 0 else "foreign",
            type="private",
            feeds=(f"https://o{k}.example/rss",),
        )
        for k in range(40)
    ]
    centroids = rng.standard_normal((n_narratives, DIM)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    topic_words = [pyrng.sample(vocab, 4) for _ in range(n_narratives)]
    owner = rng.integers(0, n_narratives, n_articles)
    vectors = centroids[owner] * 0.6 + rng.standard_normal((n_articles, DIM)).astype(np.float32) * (
        0.4 / np.sqrt(DIM)
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    end = datetime(2026, 11, 23, tzinfo=UTC)
    articles, hashes = [], []
    members: dict[int, list[str]] = {}
    for i in range(n_articles):
        n = int(owner[i])
        title = " ".join(topic_words[n][:2] + pyrng.sample(vocab, 6))
        text = f"{title}. Synthetic article {i}."
        h = content_hash(title, text)
        outlet = outlets[i % len(outlets)]
        articles.append(
            Article(
                article_id=f"a{i:09d}",
                outlet_id=outlet.outlet_id,
                url=f"https://{outlet.outlet_id}.example/{i}",
                canonical_url=f"https://{outlet.outlet_id}.example/{i}",
                title=title,
                text=text,
                published_at=end - timedelta(minutes=int(rng.integers(0, 56 * 24 * 60))),
                language=outlet.languages[0],
                byline=None,
                content_hash=h,
                fetched_at=end,
            )
        )
        hashes.append(h)
        members.setdefault(n, []).append(f"a{i:09d}")
    narratives = [
        Narrative(
            narrative_id=f"n{n:06d}",
            label=f"Narrative {n}: " + " ".join(topic_words[n]),
            keywords=topic_words[n],
            article_ids=ids,
            origin_article_id=ids[0],
            first_seen_at=None,
            last_seen_at=None,
            representative_article_id=ids[0],
        )
        for n, ids in sorted(members.items())
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with connection(path) as con:
        writes.upsert_sources(con, outlets, "bench")
        for start in range(0, n_articles, 50_000):
            writes.upsert_articles(con, articles[start : start + 50_000], "bench")
            writes.insert_embeddings(
                con,
                model_id,
                hashes[start : start + 50_000],
                vectors[start : start + 50_000],
                "bench",
            )
        writes.replace_narratives(
            con, narratives, {f"n{n:06d}": centroids[n] for n in members}, model_id, "bench"
        )


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p = lambda q: ms[min(len(ms) - 1, round(q * (len(ms) - 1)))]  # noqa: E731
    return f"p50 {p(0.50):7.1f}  p95 {p(0.95):7.1f}  mean {statistics.fmean(ms):7.1f} ms"


def serve_main(args) -> None:
    """Subprocess mode: the console app on uvicorn (stand-in or real query embedder)."""
    import uvicorn

    from mediawatch.settings import load_settings
    from nlp.embed import model_id_for
    from service.app import create_app

    settings = load_settings(db=args.db)
    embedder = None
    if not args.model:
        embedder = HashEmbedder(model_id_for(settings.embedding_model, settings.models_dir))
    app = create_app(settings, embedder=embedder)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_clients(base: str, queries: list[str], clients: int, per_client: int) -> tuple[list, float]:
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        mine = []
        with httpx.Client(base_url=base, timeout=60) as client:
            for j in range(per_client):
                q = queries[(k * per_client + j) % len(queries)]
                t = time.perf_counter()
                r = client.get("/api/search", params={"q": q, "limit": 10})
                mine.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200_000)
    parser.add_argument("--narratives", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--model", action="store_true", help="embed queries with the real model")
    parser.add_argument("--db", type=Path, default=None, help="synthetic store (kept, reused)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve_main(args)

    import faiss
    import httpx

    from mediawatch.settings import load_settings
    from nlp.embed import model_id_for
    from store import reads
    from store.db import connection

    settings = load_settings()
    model_id = model_id_for(settings.embedding_model, settings.models_dir)
    db = args.db or Path(f"/tmp/mediawatch-bench/service-{args.articles}-{args.narratives}.duckdb")
    if not db.exists():
        t = time.perf_counter()
        build_store(db, args.articles, args.narratives, model_id)
        print(f"synthetic store built in {time.perf_counter() - t:.1f} s: {db}")
    else:
        print(f"synthetic store reused: {db}")
    pyrng = random.Random(7)
    with connection(db, read_only=True) as con:
        titles = [
            r[0]
            for r in con.execute(
                "SELECT title FROM articles USING SAMPLE 400 ROWS (reservoir, 7)"
            ).fetchall()
        ]
        n_articles = con.execute("SELECT count(*) FROM articles").fetchall()[0][0]
        n_narratives = con.execute("SELECT count(*) FROM narratives").fetchall()[0][0]
    queries = [" ".join(pyrng.sample(t.split(), 3)) for t in titles][: args.queries]
    print(
        f"store: {n_articles:,} articles, {n_narratives:,} narratives, {DIM} dimensions;"
        f" {len(queries)} distinct queries of 3 title words"
        + (
            "; queries embedded by the model"
            if args.model
            else "; query vectors: hash-seeded random unit vectors (no model)"
        )
    )

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--db", str(db), "--port", str(port)]
        + (["--model"] if args.model else []),
        env=os.environ | {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        t = time.perf_counter()
        health = httpx.get(base + "/api/health", timeout=600).json()
        build = time.perf_counter() - t
        print(
            f"server corpus build (first request): {build:.1f} s; semantic={health['semantic']};"
            f" server RSS {rss_mb(server.pid):.0f} MB"
        )
        with httpx.Client(base_url=base, timeout=60) as client:
            for q in queries[:10]:  # warm-up (and the model's first call)
                client.get("/api/search", params={"q": q, "limit": 10})
            one = []
            for q in queries:
                t = time.perf_counter()
                r = client.get("/api/search", params={"q": q, "limit": 10})
                one.append(time.perf_counter() - t)
                assert r.status_code == 200, r.text
            filtered = []
            for q in queries[:50]:
                t = time.perf_counter()
                client.get(
                    "/api/search", params={"q": q, "limit": 10, "lang": "vi", "since": "2026-11-01"}
                )
                filtered.append(time.perf_counter() - t)
            listing = []
            for k in range(10):
                t = time.perf_counter()
                client.get("/api/narratives", params={"limit": 50, "offset": 50 * k})
                listing.append(time.perf_counter() - t)
        per_client = max(1, len(queries) // args.clients)
        many, wall = run_clients(base, queries, args.clients, per_client)
    finally:
        server.terminate()
        server.wait(10)

    # the same vectors and query vectors, searched by faiss alone
    with connection(db, read_only=True) as con:
        table = reads.console_article_corpus(con, model_id)
    flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
    matrix = np.ascontiguousarray(flat.reshape(-1, DIM), dtype=np.float32)
    index = faiss.IndexFlatIP(DIM)
    index.add(matrix)
    if args.model:
        from nlp.embed import load_embedder

        embedder = load_embedder(settings.embedding_model, settings.models_dir)
        embed_times = []
        qv = []
        for q in queries:
            t = time.perf_counter()
            qv.append(embedder.embed_queries([q])[0])
            embed_times.append(time.perf_counter() - t)
        qv = np.stack(qv)
    else:
        qv = HashEmbedder(model_id).embed_queries(queries)
    bare: dict[str, list[float]] = {}
    default_threads = faiss.omp_get_max_threads()
    for threads in (default_threads, 1):
        faiss.omp_set_num_threads(threads)
        for k in (10, 100):
            key = f"faiss flat k={k}, {threads} thread{'s' if threads > 1 else ''}"
            bare[key] = []
            for v in qv:
                t = time.perf_counter()
                index.search(v.reshape(1, -1), k)
                bare[key].append(time.perf_counter() - t)
    duck = []
    with connection(db, read_only=True) as con:
        for v in qv[:20]:
            t = time.perf_counter()
            reads.search_articles_by_vector(con, model_id, v, 10)
            duck.append(time.perf_counter() - t)

    print()
    print(f"{'search (GET /api/search, limit 10)':<48}{'latency':>40}")
    print(f"{'1 client, ' + str(len(one)) + ' queries':<48}{percentiles(one):>40}")
    print(f"{'1 client, filtered (lang=vi, since)':<48}{percentiles(filtered):>40}")
    print(f"{f'{args.clients} concurrent clients, {len(many)} queries':<48}{percentiles(many):>40}")
    print(f"{'  throughput':<48}{len(many) / wall:>33.1f} req/s")
    print(f"{'list narratives (GET /api/narratives, 50)':<48}{percentiles(listing):>40}")
    if args.model:
        print(f"{'query embedding alone (model, in process)':<48}{percentiles(embed_times):>40}")
    for key, samples in bare.items():
        print(f"{key:<48}{percentiles(samples):>40}")
    print(f"{'DuckDB list_cosine_similarity scan (20 q)':<48}{percentiles(duck):>40}")
    p50 = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    service_p50 = p50(one)
    for key in (
        "faiss flat k=100, 1 thread",
        f"faiss flat k=10, {default_threads} threads",
    ):
        if key in bare:
            print(f"ratio 1-client service p50 / {key} p50: {service_p50 / p50(bare[key]):.1f}x")


if __name__ == "__main__":
    main()
