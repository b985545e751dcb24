"""Entry files: YAML front matter plus a Markdown response, read with line numbers, and written.

Reading never raises on bad content: it returns what it could parse plus `FileIssue`s with
the line to blame, because an analyst fixing the library wants every problem at once.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from rebuttal_library.schema import UNDETERMINED_LANGUAGE, RebuttalEntry

FENCE = "---"
_SECTION_RE = re.compile(r"^##[ \t]+([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)[ \t]*#*[ \t]*$")

Severity = Literal["error", "warning"]

# Where each front-matter value sits: ("evidence", 0, "url") -> 1-based line in the file.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class FileIssue:
    line: int | None
    message: str
    severity: Severity = "error"


@dataclass
class EntryFile:
    """What one file holds, before any rule about entries is applied."""

    front: dict[str, Any] | None = None
    lines: dict[FieldPath, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    # language -> (text, line of its `## lang` heading; the body's first line if none)
    sections: dict[str, tuple[str, int]] = field(default_factory=dict)
    issues: list[FileIssue] = field(default_factory=list)

    def line_of(self, path: FieldPath) -> int:
        """Line of a field, or of its nearest enclosing field, or of the front matter."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so that the schema parses (and reports) them."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def decode(raw: bytes) -> tuple[str | None, FileIssue | None]:
    """UTF-8 text (BOM dropped, newlines unified) or the line where decoding failed."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        return None, FileIssue(line, f"file is not valid UTF-8 (byte 0x{bad}); save it as UTF-8")
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def parse_entry_text(text: str) -> EntryFile:
    """Split front matter and body; compose the YAML keeping each field's line."""
    result = EntryFile()
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        result.issues.append(
            FileIssue(1, "missing front matter: the file must start with a '---' line")
        )
        return result
    closing = next((i for i in range(1, len(lines)) if lines[i].rstrip() in (FENCE, "...")), None)
    if closing is None:
        result.issues.append(FileIssue(1, "front matter is not closed by a '---' line"))
        return result

    _read_front_matter("\n".join(lines[1:closing]), result)
    result.body_line = closing + 2
    result.body = "\n".join(lines[closing + 1 :])
    _split_sections(result)
    return result


def _read_front_matter(yaml_text: str, result: EntryFile) -> None:
    # The YAML starts on line 2 of the file; yaml marks count lines from 0.
    offset = 2
    loader = _FrontMatterLoader(yaml_text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + offset if mark else 1
        reason = exc.problem or exc.context or "cannot be parsed"
        context = exc.context_mark
        scanning = (exc.context or "").startswith("while scanning")
        if scanning and exc.problem and context is not None and context.line + offset != line:
            # an unclosed quote or bracket fails where the text ends: say where it began
            reason += f" ({exc.context} that starts on line {context.line + offset})"
        result.issues.append(FileIssue(line, f"invalid YAML: {reason}"))
        return
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        result.issues.append(FileIssue(1, f"invalid YAML: {exc}"))
        return
    finally:
        loader.dispose()

    if not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        result.issues.append(FileIssue(1, "front matter must be a mapping of 'field: value' lines"))
        return
    _index_lines(node, (), offset, result)
    result.front = {str(key): value for key, value in data.items()}


def _index_lines(node: yaml.Node, path: FieldPath, offset: int, result: EntryFile) -> None:
    """Record the line of every key and list item; report keys given twice.

    A key's own line is what an analyst looks for ("claims:"), so it wins over the line of
    its value, which for a block list is the line below.
    """
    result.lines.setdefault(path, node.start_mark.line + offset)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + offset
            if key in seen:
                where = ".".join(str(p) for p in (*path, key))
                result.issues.append(
                    FileIssue(line, f"field '{where}' is given twice (first on line {seen[key]})")
                )
                continue
            seen[key] = line
            result.lines[(*path, key)] = line
            _index_lines(value_node, (*path, key), offset, result)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            result.lines[(*path, index)] = item.start_mark.line + offset
            _index_lines(item, (*path, index), offset, result)


def _split_sections(result: EntryFile) -> None:
    """`## vi` / `## en` headings split the body; without them the body is one section.

    The unsectioned body is stored under the empty key; the caller files it under the
    entry's first language, which only the front matter knows.
    """
    body_lines = result.body.split("\n")
    current: str | None = None
    start_line = result.body_line
    chunks: dict[str, list[str]] = {}
    preamble: list[str] = []
    for index, line in enumerate(body_lines):
        match = _SECTION_RE.match(line)
        if match:
            lang = match.group(1)
            file_line = result.body_line + index
            if lang in chunks:
                result.issues.append(
                    FileIssue(file_line, f"response section '## {lang}' is given twice")
                )
                current = None  # ignore the repeated section's text
                continue
            current = lang
            chunks[lang] = []
            result.sections[lang] = ("", file_line)
            continue
        if current is None:
            if not chunks:
                preamble.append(line)
            continue
        chunks[current].append(line)

    if not chunks:
        result.sections[""] = ("\n".join(preamble), start_line)
        return
    for lang, chunk in chunks.items():
        result.sections[lang] = ("\n".join(chunk), result.sections[lang][1])
    if "\n".join(preamble).strip():
        first = next(i for i, text in enumerate(preamble) if text.strip())
        result.issues.append(
            FileIssue(
                result.body_line + first,
                "text before the first '## lang' section is not part of any response; "
                "it is ignored",
                "warning",
            )
        )


def response_dict(entry_file: EntryFile, languages: list[str]) -> dict[str, str]:
    """language -> text; an unsectioned body belongs to the entry's first language."""
    response: dict[str, str] = {}
    for lang, (text, _line) in entry_file.sections.items():
        key = lang or (languages[0] if languages else UNDETERMINED_LANGUAGE)
        response[key] = text
    return response


# ---------------------------------------------------------------------------- writing

_FIELD_ORDER = (
    "id",
    "type",
    "title",
    "claims",
    "topics",
    "languages",
    "status",
    "reviewed_by",
    "reviewed_at",
    "expires_at",
    "evidence",
)


class _IndentedDumper(yaml.SafeDumper):
    """Indent list items under their key, as the library's hand-written files do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _yaml_value(value: Any) -> Any:
    # dates stay `date` objects: the dumper writes them bare (2026-11-13), not quoted
    if isinstance(value, list):
        return [_yaml_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _yaml_value(item) for key, item in value.items() if item is not None}
    return value


def entry_to_markdown(entry: RebuttalEntry) -> str:
    """The file text for an entry: front matter in a fixed field order, then the response."""
    data = entry.model_dump(exclude={"path", "version", "response"})
    front = {key: _yaml_value(data[key]) for key in _FIELD_ORDER if data.get(key) not in (None, [])}
    yaml_text = yaml.dump(
        front,
        Dumper=_IndentedDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=1_000_000,  # never fold a claim over two lines: analysts edit these by hand
    )
    body = entry.response_markdown()
    return f"{FENCE}\n{yaml_text}{FENCE}\n\n{body}\n" if body else f"{FENCE}\n{yaml_text}{FENCE}\n"


def slugify(text: str, max_length: int = 48) -> str:
    """ASCII file-name slug: 'Ngọc Lan: đánh cá' -> 'ngoc-lan-danh-ca'."""
    folded = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_length:
        # cut at a word boundary, so the name does not end in half a word
        cut = slug[: max_length + 1]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut[:max_length]
    return slug or "entry"


def entry_file_name(entry: RebuttalEntry) -> str:
    return f"{entry.id}-{slugify(entry.title)}.md"
