"""The source registry: valid files become Outlets; every mistake names its file and line."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from crawlers.sources import SourcesError, load_sources
from mediawatch.records import Outlet

EXAMPLE = Path(__file__).resolve().parents[2] / "crawlers" / "sources.example.yaml"
FIELDS = (
    "id", "name", "homepage", "country", "languages", "scope", "type", "tags", "feeds",
    "sections", "sitemaps", "allowed_domains", "rate_limit", "requests_per_second", "enabled",
)  # fmt: skip

VALID = """\
outlets:
  - id: vwire
    name: Viet Wire Service
    homepage: http://127.0.0.1:8000/vwire/
    country: VN
    languages: [vi, en]
    scope: domestic
    type: wire
    tags: [national, wire]
    feeds: [http://127.0.0.1:8000/vwire/rss.xml]
    sections: []
    sitemaps: []
    allowed_domains: [127.0.0.1]
    rate_limit: {requests_per_second: 50}
    enabled: true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> str:
    with pytest.raises(SourcesError) as caught:
        load_sources(path)
    return str(caught.value)


def test_registry_in_the_documented_format_becomes_outlets(tmp_path: Path) -> None:
    [outlet] = load_sources(write(tmp_path, VALID))

    assert outlet == Outlet(
        outlet_id="vwire",
        name="Viet Wire Service",
        homepage="http://127.0.0.1:8000/vwire/",
        country="VN",
        languages=("vi", "en"),
        scope="domestic",
        type="wire",
        feeds=("http://127.0.0.1:8000/vwire/rss.xml",),
        tags=("national", "wire"),
        allowed_domains=("127.0.0.1",),
        requests_per_second=50.0,
        enabled=True,
    )


def test_example_registry_loads_and_shows_every_field() -> None:
    outlets = load_sources(EXAMPLE)
    text = EXAMPLE.read_text(encoding="utf-8")

    assert [outlet.outlet_id for outlet in outlets] == [
        "lotus-wire",
        "harbour-times",
        "paddyfield-notes",
    ]
    for key in FIELDS:
        assert f"{key}:" in text
    assert all(".example" in outlet.homepage for outlet in outlets)  # clearly fictional


def test_optional_fields_default_to_polite_values(tmp_path: Path) -> None:
    minimal = """\
        outlets:
          - id: harbour
            name: The Harbour Times
            homepage: https://www.harbourtimes.example/
            country: gb
            languages: [EN_gb]
            scope: foreign
            type: Private
    """
    [outlet] = load_sources(write(tmp_path, minimal))

    assert outlet.allowed_domains == ("www.harbourtimes.example",)  # the homepage's host
    assert outlet.requests_per_second == 1.0
    assert outlet.enabled is True
    assert (outlet.country, outlet.languages, outlet.type) == ("GB", ("en-gb",), "private")


def test_missing_file_is_named_in_the_error(tmp_path: Path) -> None:
    message = problems_of(tmp_path / "nowhere.yaml")

    assert "nowhere.yaml" in message and "no such file" in message


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("tags: [national, wire]", "tags: [national, wire"))

    message = problems_of(path)

    assert message.startswith(f"{path}:10: invalid YAML")


def test_missing_required_field_names_the_outlet_and_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    name: Viet Wire Service\n", ""))

    assert problems_of(path) == f"{path}:2: outlet 'vwire': name: missing required field"


def test_unknown_scope_names_file_line_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("scope: domestic", "scope: overseas"))

    message = problems_of(path)

    assert message.startswith(f"{path}:7: outlet 'vwire': scope:")
    assert "'domestic' or 'foreign'" in message and "'overseas'" in message


def test_bad_url_points_at_the_bad_list_item(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        VALID.replace(
            "    feeds: [http://127.0.0.1:8000/vwire/rss.xml]\n",
            "    feeds:\n      - http://127.0.0.1:8000/vwire/rss.xml\n      - vwire/atom.xml\n",
        ),
    )

    assert problems_of(path) == (
        f"{path}:12: outlet 'vwire': feeds[1]: not an absolute http(s) URL: 'vwire/atom.xml'"
    )


def test_duplicate_outlet_ids_name_both_lines(tmp_path: Path) -> None:
    second = VALID.split("outlets:\n", 1)[1].replace("Viet Wire Service", "Another Wire")
    path = write(tmp_path, VALID + second)

    assert problems_of(path) == f"{path}:16: duplicate outlet id 'vwire' (first used on line 2)"


def test_misspelt_field_is_rejected_not_silently_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("    feeds:", "    feed:"))

    message = problems_of(path)

    assert message.startswith(f"{path}:10: outlet 'vwire': feed: unknown field")


def test_norway_written_as_yaml_boolean_gets_a_hint(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("country: VN", "country: NO"))

    assert "put it in quotes" in problems_of(path)


def test_rate_limit_must_be_positive(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("requests_per_second: 50", "requests_per_second: 0"))

    assert problems_of(path).startswith(
        f"{path}:14: outlet 'vwire': rate_limit.requests_per_second"
    )


def test_section_outside_allowed_domains_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, VALID.replace("sections: []", "sections: [https://elsewhere.example/]"))

    message = problems_of(path)

    assert message.startswith(f"{path}:11: outlet 'vwire': sections[0]: host 'elsewhere.example'")


def test_duplicate_yaml_key_is_an_error_not_a_silent_override(tmp_path: Path) -> None:
    path = write(
        tmp_path, VALID.replace("    enabled: true\n", "    enabled: true\n    enabled: false\n")
    )

    assert problems_of(path) == f"{path}:16: duplicate key 'enabled'"


def test_every_problem_is_reported_at_once_in_line_order(tmp_path: Path) -> None:
    broken = (
        VALID.replace("scope: domestic", "scope: overseas")
        .replace("homepage: http://", "homepage: ftp://")
        .replace("country: VN", "country: Vietnam")
    )
    with pytest.raises(SourcesError) as caught:
        load_sources(write(tmp_path, broken))

    assert [problem.line for problem in caught.value.problems] == [4, 5, 7]


def test_empty_or_outlet_less_registry_is_an_error(tmp_path: Path) -> None:
    assert "empty registry" in problems_of(write(tmp_path, "# nothing yet\n"))
    assert "outlets" in problems_of(write(tmp_path, "outlets: []\n"))
