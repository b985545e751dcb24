"""`mediawatch match`: one text, a query file to a TREC run, and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

RUN_LINE = re.compile(r"^(\S+) Q0 (\S+) ([1-9]\d*) (-?\d+\.\d{6}) mediawatch$")


def mediawatch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MEDIAWATCH_WORK_DIR": str(tmp_path / "work")}
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", "match", *args],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mediawatch: error: "), done.stderr
    return lines[0]


LIBRARY = [
    {"id": "R1", "title": "No ban on rice exports", "claims": ["Vietnam to ban rice exports"]},
    {"id": "R2", "title": "Dengue vaccine is safe",
     "claims": ["The dengue vaccine causes infertility", "Dengue jab makes women sterile"]},
    {"id": "R3", "title": "Steel probe explained",
     "claims": ["Trade bloc opens an anti-dumping probe into Vietnamese steel"]},
]


def test_query_file_gives_a_trec_run_against_a_jsonl_library(tmp_path):
    library = tmp_path / "library.jsonl"
    library.write_text("".join(json.dumps(e) + "\n" for e in LIBRARY), encoding="utf-8")
    queries = tmp_path / "queries.tsv"
    queries.write_text(
        "qid\ttext\n"
        "q1\tChính phủ sắp cấm xuất khẩu gạo\n"  # Vietnamese query, English-only library
        "q2\tThe dengue shot leaves women unable to have children\n"
        "q3\tthép Việt Nam bị điều tra chống bán phá giá\n",
        encoding="utf-8",
    )
    run = tmp_path / "run.tsv"
    done = mediawatch(tmp_path, "--queries", str(queries), "--library", str(library),
                      "--top", "2", "--output", str(run))
    assert done.returncode == 0, done.stderr
    assert "3 queries, 6 run lines" in done.stdout
    rows = [RUN_LINE.match(line) for line in run.read_text(encoding="utf-8").splitlines()]
    assert all(rows) and len(rows) == 6
    best = {m.group(1): m.group(2) for m in rows if m.group(3) == "1"}
    assert best == {"q1": "R1", "q2": "R2", "q3": "R3"}
    for qid in ("q1", "q2", "q3"):
        scores = [float(m.group(4)) for m in rows if m.group(1) == qid]
        assert scores[0] > scores[1]
    assert len(list((tmp_path / "work" / "library_index").iterdir())) == 1  # saved index

    again = mediawatch(tmp_path, "--queries", str(queries), "--library", str(library),
                       "--top", "2", "--output", str(run), "--json")
    assert json.loads(again.stdout)["index_loaded"] is True


def test_one_text_lists_entries_with_calibrated_scores_and_drafts_flagged(tmp_path):
    done = mediawatch(tmp_path, "--text", "Open Pages Index xếp Việt Nam gần chót về tự do báo chí",
                      "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    best = result["candidates"][0]
    assert best["entry_id"] == "E07" and best["status"] == "draft" and not best["usable"]
    assert best["above_threshold"] and 0 < best["score"] <= 1
    assert [c["rank"] for c in result["candidates"]] == [1, 2, 3, 4, 5]
    assert result["calibrated"] is True


def test_malformed_query_file_fails_with_file_and_line_and_writes_nothing(tmp_path):
    queries = tmp_path / "queries.tsv"
    queries.write_text("q1\tfine\nq2 has no tab\n", encoding="utf-8")
    run = tmp_path / "run.tsv"
    line = one_line_error(mediawatch(tmp_path, "--queries", str(queries), "--output", str(run)))
    assert f"{queries}:2:" in line and "no tab" in line
    assert not run.exists()


def test_empty_library_and_bad_options_are_refused(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    line = one_line_error(mediawatch(tmp_path, "--text", "anything", "--library", str(empty)))
    assert "no entry to match" in line
    assert "--output" in one_line_error(mediawatch(tmp_path, "--queries", "q.tsv"))
    assert "either --text" in one_line_error(mediawatch(tmp_path))
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "X", "title": "t", "claims": ["c"]}\nnot json\n', encoding="utf-8")
    line = one_line_error(mediawatch(tmp_path, "--text", "t", "--library", str(broken)))
    assert "broken.jsonl:2" in line


def test_a_library_converted_from_a_public_claim_set_can_be_matched_as_it_stands(tmp_path):
    # numeric ids, claims without titles, a header naming the columns, posts with links
    library = tmp_path / "vclaims.jsonl"
    library.write_text(
        '{"id": 101, "title": "", "claims": ["Drinking hot water kills the coronavirus"]}\n'
        '{"id": 102, "title": "Fact check: 5G and the virus",'
        ' "claims": ["5G towers spread the coronavirus"]}\n'
        '{"id": "vclaim-103", "claims": ["Masks cause carbon dioxide poisoning"]}\n',
        encoding="utf-8",
    )
    queries = tmp_path / "tweets.tsv"
    queries.write_text(
        "iclaim_id\ticlaim\n"
        "tweet-en-1\tjust drink hot water and the virus dies 🙄 https://t.co/Xy12\n"
        "tweet-en-2\tRT @truther: the 5G masts are what's spreading covid #5G #COVID19\n"
        "tweet-en-3\twearing a mask all day poisons you with CO2, wake up\n",
        encoding="utf-8",
    )
    run = tmp_path / "run.tsv"
    done = mediawatch(tmp_path, "--queries", str(queries), "--library", str(library),
                      "--top", "3", "--output", str(run))
    assert done.returncode == 0, done.stderr
    rows = [RUN_LINE.match(line) for line in run.read_text(encoding="utf-8").splitlines()]
    assert all(rows) and {m.group(1) for m in rows} == {"tweet-en-1", "tweet-en-2", "tweet-en-3"}
    best = {m.group(1): m.group(2) for m in rows if m.group(3) == "1"}
    assert best == {"tweet-en-1": "101", "tweet-en-2": "102", "tweet-en-3": "vclaim-103"}
