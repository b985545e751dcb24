"""`mediawatch embed` and `mediawatch cluster`: the contract's batch entry points."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.batch import BatchInputError, read_cluster_input

STORIES = [
    (
        "a1",
        "Survey ship enters Vietnam's exclusive economic zone",
        "A Chinese survey ship entered Vietnam's exclusive economic zone near Vanguard Bank "
        "on Monday, escorted by coast guard vessels.",
        "en",
    ),
    (
        "a2",
        "Chinese survey vessel spotted near Vanguard Bank",
        "The survey vessel and its coast guard escorts were seen near Vanguard Bank inside "
        "Vietnam's exclusive economic zone, officials said.",
        None,
    ),
    (
        "a3",
        "Tàu khảo sát Trung Quốc vào vùng đặc quyền kinh tế của Việt Nam",
        "Tàu khảo sát của Trung Quốc cùng tàu hải cảnh hộ tống đã đi vào vùng đặc quyền kinh tế "
        "của Việt Nam gần bãi Tư Chính hôm thứ Hai.",
        None,
    ),
    (
        "a4",
        "Tàu Trung Quốc khảo sát gần bãi Tư Chính",
        "Một tàu khảo sát Trung Quốc được tàu hải cảnh hộ tống đã hoạt động gần bãi Tư Chính "
        "trong vùng đặc quyền kinh tế của Việt Nam, các quan chức cho biết.",
        "vi",
    ),
    (
        "b1",
        "Rice exports hit a record in October",
        "Vietnam's rice exports reached a record volume in October as prices in Asia rose, "
        "the trade ministry said.",
        "en",
    ),
    (
        "b2",
        "Xuất khẩu gạo đạt kỷ lục trong tháng Mười",
        "Xuất khẩu gạo của Việt Nam đạt khối lượng kỷ lục trong tháng Mười khi giá gạo "
        "tại châu Á tăng, theo Bộ Công Thương.",
        "vi",
    ),
    (
        "b3",
        "Record rice shipments as Asian prices climb",
        "Rice shipments from Vietnam climbed to a record in October, helped by higher prices "
        "across Asia, according to the trade ministry.",
        None,
    ),
    (
        "b4",
        "Gạo Việt Nam xuất khẩu kỷ lục nhờ giá tăng",
        "Lượng gạo Việt Nam xuất khẩu trong tháng Mười đạt kỷ lục nhờ giá gạo châu Á tăng cao, "
        "Bộ Công Thương cho biết.",
        None,
    ),
    ("e1", "", "", None),
]


def mediawatch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args], capture_output=True, text=True, timeout=300
    )


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_embed_writes_one_unit_vector_per_line_in_input_order(tmp_path):
    texts = [
        "Xuất khẩu gạo đạt kỷ lục",
        "Rice exports hit a record",
        "",
        "Rice exports hit a record",
    ]
    source = _write(tmp_path / "in.jsonl", [{"id": i, "text": t} for i, t in enumerate(texts)])
    done = mediawatch("embed", "--input", str(source), "--output", str(tmp_path / "v.npy"))
    assert done.returncode == 0, done.stderr
    vectors = np.load(tmp_path / "v.npy")
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[[0, 1, 3]], axis=1), 1.0, atol=1e-3)
    assert np.allclose(vectors[1], vectors[3], atol=1e-5)  # same text, same vector
    assert vectors[0] @ vectors[1] > 0.8  # the same news in two languages


def test_cluster_groups_stories_and_answers_every_line(tmp_path):
    rows = [
        {"id": i, "title": t, "text": x, **({"lang": lang} if lang else {})}
        for i, t, x, lang in STORIES
    ]
    rows[0]["published_at"] = "2026-11-20T08:00:00Z"
    source = _write(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.tsv"
    done = mediawatch("cluster", "--input", str(source), "--output", str(out))
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in out.read_text("utf-8").splitlines()]
    assert [line[0] for line in lines] == [s[0] for s in STORIES]
    got = dict(lines)
    # (nine articles are too few to show the cross-language merge: see the demo evaluation)
    assert got["a1"] == got["a2"] and got["a3"] == got["a4"]
    assert got["b1"] == got["b3"] and got["b2"] == got["b4"]
    assert {got["a1"], got["a3"]}.isdisjoint({got["b1"], got["b2"]})
    assert got["e1"] not in (got["a1"], got["b1"])  # empty: answered, alone
    assert json.loads(done.stderr.strip().splitlines()[-1])["empty"] == 1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"id": "1", "title": "t", "text": "x"}\n{"id": "2", "title": "t"\n', ":2: not JSON"),
        ('{"id": "1", "title": "t", "text": "x"}\n\n["a"]\n', ":3: expected a JSON object"),
        ('{"id": "1", "text": "x"}\n', ":1: missing field 'title'"),
        ('{"id": "1", "title": "t", "text": 5}\n', ":1: field 'text' must be a string"),
        (
            '{"id": 1, "title": "t", "text": "x"}\n{"id": "1", "title": "t", "text": "y"}\n',
            ":2: duplicate id",
        ),
        (
            '{"id": "1", "title": "t", "text": "x", "published_at": "yesterday"}\n',
            ":1: published_at",
        ),
    ],
)
def test_malformed_lines_are_named_by_number(tmp_path, content, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, "utf-8")
    with pytest.raises(BatchInputError, match=expected):
        read_cluster_input(path)


def test_cli_reports_a_malformed_line_in_one_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "title": "t", "text": "x"}\nnot json\n', "utf-8")
    done = mediawatch("cluster", "--input", str(path), "--output", str(tmp_path / "o.tsv"))
    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        f"mediawatch: error: {path}:2: not JSON (Expecting value)"
    ]
    assert not (tmp_path / "o.tsv").exists()
    done = mediawatch("embed", "--input", str(tmp_path / "nope.jsonl"), "--output", "x.npy")
    assert done.returncode != 0 and "no such file" in done.stderr
