"""The library index without a real model: tokens, persistence by library version, formats.

A small deterministic stand-in embedder (hashed bag of words) keeps these tests fast; the
real multilingual model is exercised in test_match.py.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pytest

from nlp.index import FLAT_MAX_ROWS, KEEP_VERSIONS, DenseIndex
from nlp.lexical import strip_clutter, tokenize
from nlp.match import QUERY_CHUNK, LibraryIndex, LibraryItem, match_narratives, match_text
from nlp.trec import QueryFileError, read_queries, run_lines, write_run


class BagOfWords:
    """Hashed bag-of-words vectors; counts the texts it was asked to embed."""

    model_id = "bag-of-words-test"
    dimension = 64

    def __init__(self) -> None:
        self.embedded = 0

    def embed_passages(self, texts):
        return self.embed_queries(texts)

    def embed_queries(self, texts):
        self.embedded += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for token in tokenize(text) or ["empty"]:
                out[i, int(hashlib.md5(token.encode()).hexdigest(), 16) % self.dimension] += 1
        out += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)


LIBRARY = [
    LibraryItem("T1", "v1", ("Rice export ban", "Vietnam to ban rice exports this season")),
    LibraryItem("T2", "v1", ("Vaccine and infertility", "The dengue vaccine causes infertility")),
    LibraryItem("T3", "v1", ("Steel dumping probe", "Trade bloc opens anti-dumping steel probe")),
]


def test_tokens_pair_vietnamese_syllables_fold_marks_and_split_unspaced_scripts():
    with_marks = tokenize("Chính phủ cấm xuất khẩu gạo")
    assert {"xuat", "khau", "xuat_khau", "khau_gao"} <= set(with_marks)
    assert set(tokenize("chinh phu cam xuat khau gao")) == set(with_marks)
    assert {"越南", "渔船"} <= set(tokenize("越南允许外国渔船"))
    assert "export" in tokenize("Exports https://t.co/abc #RiceExports")
    assert not any("http" in t or "t.co" in t for t in tokenize("see https://t.co/abc now"))
    # "đá" (reef) is a word; "đã" (already) is a function word, though both fold to "da"
    assert tokenize("đá") == ["da"] and tokenize("đã") == []


def test_a_post_is_read_without_its_links_and_with_its_hashtags_as_words():
    post = "RT @RiceWatch: #RiceExportBan coming?? https://t.co/Ab12 pic.twitter.com/xY9"
    assert strip_clutter(post) == "RT Rice Watch : Rice Export Ban coming??"
    assert tokenize(post) == tokenize(strip_clutter(post))


def test_many_queries_are_scored_in_chunks_exactly_as_one_at_a_time():
    embedder = BagOfWords()
    index = LibraryIndex(LIBRARY, embedder)
    words = ["rice", "export", "ban", "dengue", "vaccine", "steel", "probe", "season", "women"]
    texts = [" ".join(words[(k * 7 + j) % len(words)] for j in range(1 + k % 4))
             for k in range(QUERY_CHUNK + 40)]

    together = index.search_texts(texts, 3)

    assert len(together) == len(texts)
    for k in (0, 1, QUERY_CHUNK - 1, QUERY_CHUNK, len(texts) - 1):
        alone = index.search_texts([texts[k]], 3)[0]
        assert [(c.entry_id, round(c.fused, 5)) for c in together[k]] == [
            (c.entry_id, round(c.fused, 5)) for c in alone
        ]


def test_index_is_saved_by_library_version_and_rebuilt_only_when_it_changes(tmp_path):
    embedder = BagOfWords()

    def build(items):
        before = embedder.embedded
        index = LibraryIndex(items, embedder, cache_dir=tmp_path)
        return index, embedder.embedded - before

    first, embedded = build(LIBRARY)
    assert not first.built.loaded_from_disk and embedded == 6  # every phrasing
    assert (tmp_path / first.version / "meta.json").exists()

    again, embedded = build(LIBRARY)
    assert again.built.loaded_from_disk and again.version == first.version
    assert embedded == 0  # nothing embedded again
    query = "rice exports banned"
    assert [c.entry_id for c in match_text(query, embedder, again)] == [
        c.entry_id for c in match_text(query, embedder, first)
    ]

    changed = [LIBRARY[0], LIBRARY[1], LibraryItem("T3", "v2", (*LIBRARY[2].phrasings, "New"))]
    third, embedded = build(changed)
    assert third.version != first.version and not third.built.loaded_from_disk
    assert embedded == 7
    assert (tmp_path / first.version).exists()  # older versions kept for a while

    for k in range(KEEP_VERSIONS + 1):
        build([LibraryItem("X", f"v{k}", ("x",))])
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == KEEP_VERSIONS


def test_a_damaged_saved_index_is_rebuilt(tmp_path):
    embedder = BagOfWords()
    first = LibraryIndex(LIBRARY, embedder, cache_dir=tmp_path)
    (tmp_path / first.version / "dense.faiss").write_bytes(b"not faiss")
    again = LibraryIndex(LIBRARY, embedder, cache_dir=tmp_path)
    assert not again.built.loaded_from_disk and embedder.embedded == 12  # built again
    assert match_text("dengue vaccine infertility", embedder, again)[0].entry_id == "T2"


def test_hnsw_and_flat_agree_on_a_small_library():
    embedder = BagOfWords()
    flat = LibraryIndex(LIBRARY, embedder, kind="flat")
    hnsw = LibraryIndex(LIBRARY, embedder, kind="hnsw")
    assert (flat.kind, hnsw.kind) == ("flat", "hnsw")
    for text in ("rice export ban", "steel anti-dumping", "vaccine infertility"):
        assert match_text(text, embedder, flat)[0].entry_id == match_text(
            text, embedder, hnsw
        )[0].entry_id


def test_search_is_exact_up_to_the_measured_size_and_approximate_past_it():
    assert FLAT_MAX_ROWS == 200_000  # measured: bench/bench_matching.py, nlp/index.py
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((101, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert DenseIndex.build(vectors[:100], flat_max_rows=100).kind == "flat"
    approximate = DenseIndex.build(vectors, flat_max_rows=100)
    assert approximate.kind == "hnsw"
    _, found = approximate.search(vectors[:10], 1)
    assert found[:, 0].tolist() == list(range(10))  # each vector finds itself


def test_a_saved_approximate_index_is_loaded_as_it_was_built(tmp_path):
    embedder = BagOfWords()
    built = LibraryIndex(LIBRARY, embedder, cache_dir=tmp_path, kind="hnsw")
    loaded = LibraryIndex(LIBRARY, embedder, cache_dir=tmp_path)
    assert loaded.built.loaded_from_disk and loaded.kind == "hnsw"
    assert loaded.version == built.version
    assert match_text("steel anti-dumping probe", embedder, loaded)[0].entry_id == "T3"


def test_empty_library_matches_nothing_without_failing():
    embedder = BagOfWords()
    index = LibraryIndex([], embedder)
    assert len(index) == 0
    assert match_text("anything", embedder, index) == []
    assert index.search_texts(["a", "b"], 5) == [[], []]
    centroid = np.ones(embedder.dimension, dtype=np.float32)
    assert match_narratives({"n1": centroid}, index, threshold=0.5) == []


def test_candidates_are_ranked_with_calibrated_scores_in_order():
    embedder = BagOfWords()
    index = LibraryIndex(LIBRARY, embedder)
    found = index.search_texts(["Vietnam bans rice exports", "steel probe"], 3)
    assert [c.entry_id for c in found[0]][0] == "T1"
    assert [c.entry_id for c in found[1]][0] == "T3"
    for candidates in found:
        fused = [c.fused for c in candidates]
        assert fused == sorted(fused, reverse=True)
        scores = [c.score for c in candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)


RUN_LINE = re.compile(r"^\S+ Q0 \S+ [1-9]\d* -?\d+\.\d{6} mediawatch$")


def test_trec_run_lines_have_six_fields_ranks_from_one_and_falling_scores(tmp_path):
    lines = run_lines("q1", [("E1", 3.5), ("E2", 3.5), ("E3", -1.25)])
    assert all(RUN_LINE.match(line) for line in lines)
    assert [line.split()[3] for line in lines] == ["1", "2", "3"]
    scores = [float(line.split()[4]) for line in lines]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) == 3  # ties broken
    path = tmp_path / "run.tsv"
    assert write_run(path, [("q1", [("E1", 1.0)]), ("q2", [])]) == 1
    assert path.read_text() == "q1 Q0 E1 1 1.000000 mediawatch\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("q1\tfine\nq2 no tab here\n", ":2: expected `qid<TAB>text`, found no tab"),
        ("q1\tfine\nq2\t   \n", ":2: query q2 has no text"),
        ("q1\tfine\n\nq1\tagain\n", ":3: query id q1 already used on line 1"),
        ("two words\ttext\n", ":1: the query id must be one word"),
        ("# only a comment\n\n", ": no queries"),
    ],
)
def test_malformed_query_files_say_file_and_line(tmp_path, content, message):
    path = tmp_path / "queries.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QueryFileError) as error:
        read_queries(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


@pytest.mark.parametrize(
    "header", ["qid\ttext", "iclaim_id\ticlaim", "tweet_id\ttweet_text", "id\tquery"]
)
def test_a_first_line_naming_the_columns_is_a_header(tmp_path, header):
    path = tmp_path / "queries.tsv"
    path.write_text(f"{header}\ntweet-en-0001\tVietnam to ban rice exports\n", encoding="utf-8")
    assert read_queries(path) == [("tweet-en-0001", "Vietnam to ban rice exports")]


def test_query_file_reader_accepts_header_comments_and_crlf(tmp_path):
    path = tmp_path / "queries.tsv"
    path.write_bytes("qid\ttext\r\n# note\r\nq1\tVắc xin\tgây vô sinh\r\n".encode())
    assert read_queries(path) == [("q1", "Vắc xin\tgây vô sinh")]
    bad = tmp_path / "latin1.tsv"
    bad.write_bytes(b"q1\tok\nq2\tcaf\xe9\n")
    with pytest.raises(QueryFileError, match=r"latin1.tsv:2: not valid UTF-8"):
        read_queries(bad)
