"""The source registry: which outlets we follow and how, as the analysts write it in YAML.

`load_sources(path)` returns `Outlet` records or raises `SourcesError`, whose message names
the file, the line and the problem for every mistake found (not just the first), so an
analyst can fix a registry in one pass:

    sources.yaml:14: outlet 'vwire': scope: Input should be 'domestic' or 'foreign' (got 'x')

Line numbers come from the YAML node tree (PyYAML marks), matched to pydantic's error
locations; a location that has no node of its own (a missing field) points at its parent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from mediawatch.records import Outlet

Loc = tuple[str | int, ...]

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
# BCP 47 in practice: a 2-3 letter language, then optional script/region/variant subtags
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_YAML_BOOL_HINT = (
    "YAML read this as a boolean (NO, no, yes, on, off are booleans in YAML): put it in quotes"
)


# --------------------------------------------------------------------------- the model


def _check_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {value!r}")
    return value.strip()


def _reject_yaml_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(_YAML_BOOL_HINT)
    return value


class RateLimit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Upper bound is a guard against a typo (500 instead of 0.5), not a policy.
    requests_per_second: float = Field(1.0, gt=0, le=100)


def _check_language(value: Any) -> Any:
    value = _reject_yaml_bool(value)
    if isinstance(value, str):
        value = _normalise_language(value)
        if not _LANGUAGE_RE.match(value):
            raise ValueError(f"not a language code (BCP 47, e.g. 'vi', 'en'): {value!r}")
    return value


def _check_host(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not _HOST_RE.match(host):
        raise ValueError(
            f"allowed_domains takes host names, without scheme, port or path (got {value!r})"
        )
    return host


# Per-item validators (not list validators) so that an error's location, and so its line,
# is the bad item itself.
HttpURL = Annotated[str, AfterValidator(_check_url)]
LanguageCode = Annotated[str, BeforeValidator(_check_language)]
HostName = Annotated[str, AfterValidator(_check_host)]


class OutletSpec(BaseModel):
    """One outlet exactly as written in the registry (field names are the YAML keys)."""

    # `extra="forbid"`: a misspelt key ("feed:") must be an error, not a silent default.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str
    name: str = Field(min_length=1)
    homepage: HttpURL
    country: str
    languages: list[LanguageCode] = Field(min_length=1)
    scope: Literal["domestic", "foreign"]
    type: str = Field(min_length=1)  # state | public | private | wire | blog | ... (open set)
    tags: list[str] = []
    feeds: list[HttpURL] = []
    sections: list[HttpURL] = []
    sitemaps: list[HttpURL] = []
    allowed_domains: list[HostName] = []
    rate_limit: RateLimit = RateLimit()
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        # ids end up in file names, CLI flags and article ids: keep them boring
        if not _ID_RE.match(value):
            raise ValueError(
                f"outlet id must be 1-64 lowercase letters, digits, '-' or '_' (got {value!r})"
            )
        return value

    @field_validator("country", mode="before")
    @classmethod
    def _country_code(cls, value: Any) -> Any:
        value = _reject_yaml_bool(value)
        if isinstance(value, str):
            value = value.strip().upper()
            if not _COUNTRY_RE.match(value):
                raise ValueError(f"country must be an ISO 3166 two-letter code (got {value!r})")
        return value

    @field_validator("type")
    @classmethod
    def _lower_type(cls, value: str) -> str:
        return value.lower()


class Registry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outlets: list[OutletSpec] = Field(min_length=1)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class SourceProblem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class SourcesError(ValueError):
    """The registry cannot be used. `problems` lists each mistake with its file and line."""

    def __init__(self, problems: list[SourceProblem]):
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# --------------------------------------------------------------------------- loading


def load_sources(path: Path) -> list[Outlet]:
    """Read and validate a source registry; every outlet, enabled or not, in file order."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourcesError([SourceProblem(name, None, "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesError([SourceProblem(name, None, f"cannot read: {exc}")]) from None
    return parse_sources(text, name)


def parse_sources(text: str, file_name: str = "<sources>") -> list[Outlet]:
    """Validate registry text; `file_name` is only used in error messages."""
    data, lines, problems = _parse_yaml(text, file_name)
    if problems:
        raise SourcesError(problems)
    # duplicate ids are checked on the raw data so they are reported with field errors
    problems = _duplicate_ids(data, lines, file_name)
    try:
        registry = Registry.model_validate(data)
    except ValidationError as exc:
        problems += _validation_problems(exc, data, lines, file_name)
    else:
        for index, spec in enumerate(registry.outlets):
            problems += _offsite_urls(spec, index, lines, file_name)
    if problems:
        raise SourcesError(sorted(problems, key=lambda problem: problem.line or 0))
    return [_to_outlet(spec) for spec in registry.outlets]


def check_sources(path: Path) -> tuple[list[Outlet], list[SourceProblem]]:
    """Outlets and warnings (things that work but are probably not meant) of a registry;
    raises `SourcesError` for errors. `mediawatch sources check` prints both."""
    outlets = load_sources(path)
    text = Path(path).read_text(encoding="utf-8")
    _, lines, _ = _parse_yaml(text, str(path))
    return outlets, registry_warnings(outlets, lines, str(path))


def registry_warnings(
    outlets: list[Outlet], lines: dict[Loc, int], file_name: str
) -> list[SourceProblem]:
    problems = []
    listed: dict[str, tuple[str, int | None]] = {}
    for index, outlet in enumerate(outlets):
        where = _line_for(("outlets", index, "id"), lines)
        if outlet.enabled and not (outlet.feeds or outlet.sitemaps or outlet.sections):
            problems.append(
                SourceProblem(
                    file_name,
                    where,
                    f"outlet {outlet.outlet_id!r}: enabled but has no feeds, sitemaps or "
                    "sections: nothing will be fetched",
                )
            )
        documents = [("feeds", outlet.feeds), ("sitemaps", outlet.sitemaps)]
        documents.append(("sections", outlet.sections))
        for field_name, urls in documents:
            for item, url in enumerate(urls):
                line = _line_for(("outlets", index, field_name, item), lines)
                if url in listed and listed[url][0] != outlet.outlet_id:
                    other, other_line = listed[url]
                    problems.append(
                        SourceProblem(
                            file_name,
                            line,
                            f"outlet {outlet.outlet_id!r}: {field_name}[{item}] is also listed "
                            f"by outlet {other!r} (line {other_line}): its articles will be "
                            "credited to whichever reads it first",
                        )
                    )
                listed.setdefault(url, (outlet.outlet_id, line))
    return sorted(problems, key=lambda problem: problem.line or 0)


def _parse_yaml(text: str, file_name: str) -> tuple[Any, dict[Loc, int], list[SourceProblem]]:
    """The document, a map from each location to its 1-based line, and YAML-level problems."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        return None, {}, [SourceProblem(file_name, line, f"invalid YAML: {problem}")]
    except yaml.YAMLError as exc:
        return None, {}, [SourceProblem(file_name, None, f"invalid YAML: {exc}")]
    if node is None:
        return None, {}, [SourceProblem(file_name, 1, "empty registry: expected 'outlets:'")]
    lines: dict[Loc, int] = {}
    problems: list[SourceProblem] = []
    _index_lines(node, (), lines, problems, file_name)
    if not isinstance(data, dict):
        problems.append(SourceProblem(file_name, 1, "expected a mapping with an 'outlets:' list"))
    return data, lines, problems


def _index_lines(
    node: yaml.Node,
    loc: Loc,
    lines: dict[Loc, int],
    problems: list[SourceProblem],
    file_name: str,
) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                # PyYAML silently keeps the last value; an analyst would not expect that
                problems.append(
                    SourceProblem(file_name, key_node.start_mark.line + 1, f"duplicate key {key!r}")
                )
            seen.add(key)
            _index_lines(value_node, (*loc, key), lines, problems, file_name)
            # point at the key, not at a block value that may start on the next line
            lines[(*loc, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*loc, index), lines, problems, file_name)


def _line_for(loc: Iterable[str | int], lines: dict[Loc, int]) -> int | None:
    """The line of `loc`, or of its nearest ancestor that exists in the file."""
    path = tuple(loc)
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path)


def _validation_problems(
    exc: ValidationError, data: Any, lines: dict[Loc, int], file_name: str
) -> list[SourceProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        line = _line_for(loc, lines)
        message = f"{_describe_loc(loc, data)}: {_describe_error(error)}"
        problems.append(SourceProblem(file_name, line, message))
    return problems


def _describe_loc(loc: Loc, data: Any) -> str:
    """'outlet 'vwire': feeds[1]' reads better than 'outlets.0.feeds.1'."""
    if len(loc) >= 2 and loc[0] == "outlets" and isinstance(loc[1], int):
        outlet = _outlet_label(data, loc[1])
        rest = _dotted(loc[2:])
        return f"{outlet}: {rest}" if rest else outlet
    return _dotted(loc) or "registry"


def _outlet_label(data: Any, index: int) -> str:
    try:
        outlet_id = data["outlets"][index]["id"]
    except (KeyError, IndexError, TypeError):
        outlet_id = None
    if isinstance(outlet_id, str) and outlet_id:
        return f"outlet {outlet_id!r}"
    return f"outlet #{index + 1}"


def _dotted(loc: Iterable[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe_error(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        return f"unknown field (known fields: {', '.join(_known_fields(error['loc']))})"
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("literal_error", "string_type", "list_type", "bool_parsing", "float_parsing"):
        message += f" (got {error['input']!r})"
    return message


def _known_fields(loc: Loc) -> list[str]:
    if len(loc) <= 1:
        return list(Registry.model_fields)
    if "rate_limit" in loc:
        return list(RateLimit.model_fields)
    return list(OutletSpec.model_fields)


def _duplicate_ids(data: Any, lines: dict[Loc, int], file_name: str) -> list[SourceProblem]:
    outlets = data.get("outlets") if isinstance(data, dict) else None
    if not isinstance(outlets, list):
        return []
    problems = []
    first_line: dict[str, int | None] = {}
    for index, outlet in enumerate(outlets):
        outlet_id = outlet.get("id") if isinstance(outlet, dict) else None
        if not isinstance(outlet_id, str):
            continue
        line = _line_for(("outlets", index, "id"), lines)
        if outlet_id in first_line:
            message = (
                f"duplicate outlet id {outlet_id!r} (first used on line {first_line[outlet_id]})"
            )
            problems.append(SourceProblem(file_name, line, message))
        else:
            first_line[outlet_id] = line
    return problems


def _offsite_urls(
    spec: OutletSpec, index: int, lines: dict[Loc, int], file_name: str
) -> list[SourceProblem]:
    """Pages the site crawler would refuse to fetch (feeds are read directly, so not checked)."""
    allowed = effective_allowed_domains(spec)
    problems = []
    crawled = [("homepage", None, spec.homepage)]
    crawled += [("sections", i, url) for i, url in enumerate(spec.sections)]
    crawled += [("sitemaps", i, url) for i, url in enumerate(spec.sitemaps)]
    for field, item, url in crawled:
        host = urlsplit(url).hostname or ""
        if not host_allowed(host, allowed):
            loc: Loc = (
                ("outlets", index, field) if item is None else ("outlets", index, field, item)
            )
            problems.append(
                SourceProblem(
                    file_name,
                    _line_for(loc, lines),
                    f"outlet {spec.id!r}: {_dotted(loc[2:])}: host {host!r} is not in "
                    f"allowed_domains {allowed}",
                )
            )
    return problems


def effective_allowed_domains(spec: OutletSpec) -> list[str]:
    """allowed_domains as written, or the homepage's host when the list is empty."""
    return spec.allowed_domains or [urlsplit(spec.homepage).hostname or ""]


def host_allowed(host: str, allowed_domains: Iterable[str]) -> bool:
    """Scrapy's rule: the host is an allowed domain or one of its subdomains."""
    host = host.lower().rstrip(".")
    return any(host == domain or host.endswith("." + domain) for domain in allowed_domains)


def _normalise_language(code: str) -> str:
    # 'EN_us' -> 'en-us': lowercase primary subtag, hyphens (the rest is kept as written)
    primary, _, rest = code.strip().replace("_", "-").partition("-")
    return f"{primary.lower()}-{rest}" if rest else primary.lower()


def _to_outlet(spec: OutletSpec) -> Outlet:
    return Outlet(
        outlet_id=spec.id,
        name=spec.name,
        homepage=spec.homepage,
        country=spec.country,
        languages=tuple(spec.languages),
        scope=spec.scope,
        type=spec.type,
        feeds=tuple(spec.feeds),
        tags=tuple(spec.tags),
        sections=tuple(spec.sections),
        sitemaps=tuple(spec.sitemaps),
        allowed_domains=tuple(effective_allowed_domains(spec)),
        requests_per_second=spec.rate_limit.requests_per_second,
        enabled=spec.enabled,
    )
