"""What a rebuttal-library entry is: the `RebuttalEntry` model and its derived version.

The model is deliberately permissive about *review* rules (a draft may lack a reviewer, a
minimal test library may lack evidence): those rules live in `validate.py`, which knows the
file and line to blame. The model only guarantees shapes and formats, so every consumer can
rely on `entry.claims` being a list of non-empty NFC strings and `entry.expires_at` a date.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

EntryType = Literal["refute", "clarify", "promote"]
Status = Literal["draft", "in_review", "approved", "retired"]

ENTRY_TYPES: tuple[str, ...] = ("refute", "clarify", "promote")
STATUSES: tuple[str, ...] = ("draft", "in_review", "approved", "retired")

# The starting taxonomy of DOMAIN.md as slugs. Analysts edit the taxonomy, so a slug not
# listed here is only a warning in `validate.py`, never a reason to refuse an entry.
TOPICS: tuple[str, ...] = (
    "sovereignty",
    "diplomacy",
    "economy",
    "trade",
    "investment",
    "human-rights",
    "religion",
    "ethnic-minorities",
    "elections",
    "press-freedom",
    "environment",
    "public-health",
    "culture-history",
    "tourism",
    "security",
    "governance",
)

# Language of a response written without `## xx` sections when the entry names none.
UNDETERMINED_LANGUAGE = "und"

VERSION_LENGTH = 12

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def normalise_text(value: str) -> str:
    """NFC and trimmed: Vietnamese keeps its diacritics, but in one canonical encoding."""
    return unicodedata.normalize("NFC", value).strip()


def normalise_markdown(value: str) -> str:
    """NFC, Unix newlines, no trailing spaces, at most one blank line in a row.

    These differences never change what a reader sees, so they must not change the version.
    """
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    text = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def phrasing_key(text: str) -> str:
    """How two phrasings compare: NFC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def _non_empty_text(value: str) -> str:
    value = normalise_text(value)
    if not value:
        raise PydanticCustomError("empty_text", "must not be empty")
    return value


def _iso_date(value: Any) -> Any:
    """Dates are written YYYY-MM-DD; nothing else (no timestamps, no 20260301)."""
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DATE_RE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise PydanticCustomError(
                "bad_date", "bad date {value}: {reason}", {"value": repr(value), "reason": str(exc)}
            ) from exc
    raise PydanticCustomError(
        "bad_date", "bad date {value} (expected YYYY-MM-DD)", {"value": repr(value)}
    )


def _http_url(value: str) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise PydanticCustomError("bad_url", "not an http(s) URL: {value}", {"value": repr(value)})
    return value


Text = Annotated[str, AfterValidator(_non_empty_text)]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Url = Annotated[str, AfterValidator(_non_empty_text), AfterValidator(_http_url)]


class Evidence(BaseModel):
    """A public source that backs the response."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Text
    url: Url
    publisher: Text | None = None
    date: IsoDate | None = None


class RebuttalEntry(BaseModel):
    """One vetted entry: a claim (or favourable storyline) and the office's response.

    `version` is always derived from the content (see `compute_version`); a value passed in
    is ignored, so an entry read from a file, a JSONL line or a ClaimReview carries the same
    version whenever its content is the same. `path` is where it was read from (not content).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Text
    type: EntryType
    title: Text
    # For `promote` entries these are the favourable storylines the entry supports.
    claims: list[Text] = Field(min_length=1)
    # language -> Markdown text, in the order the file gives them
    response: dict[str, str] = Field(default_factory=dict)
    evidence: list[Evidence] = Field(default_factory=list)
    topics: list[Text] = Field(default_factory=list)
    languages: list[Text] = Field(default_factory=list)
    status: Status
    # a role ("Head of Rapid Response"), never a person's name
    reviewed_by: Text | None = None
    reviewed_at: IsoDate | None = None
    expires_at: IsoDate | None = None
    path: str = ""
    version: str = ""

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise PydanticCustomError(
                "bad_id",
                "id {value} must be letters, digits, '.', '_' or '-' (at most 64)",
                {"value": repr(value)},
            )
        return value

    @field_validator("languages")
    @classmethod
    def _language_tags(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _LANG_RE.match(value):
                raise PydanticCustomError(
                    "bad_language",
                    "language {value} is not a language tag like 'vi', 'en' or 'zh-Hans'",
                    {"value": repr(value)},
                )
        return values

    @field_validator("topics")
    @classmethod
    def _topic_slugs(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _SLUG_RE.match(value):
                raise PydanticCustomError(
                    "bad_topic",
                    "topic {value} must be a lower-case slug like 'public-health'",
                    {"value": repr(value)},
                )
        return values

    @field_validator("response")
    @classmethod
    def _normalise_response(cls, sections: dict[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for lang, text in sections.items():
            if not (_LANG_RE.match(lang) or lang == UNDETERMINED_LANGUAGE):
                raise PydanticCustomError(
                    "bad_language",
                    "response language {value} is not a language tag",
                    {"value": repr(lang)},
                )
            cleaned[lang] = normalise_markdown(text)
        return {lang: text for lang, text in cleaned.items() if text}

    @model_validator(mode="after")
    def _derive_version(self) -> RebuttalEntry:
        # frozen model: set the derived field the way pydantic's own __init__ would
        object.__setattr__(self, "version", compute_version(self))
        return self

    def is_usable(self, today: date) -> bool:
        """May this entry be suggested as a response? Approved and not expired.

        An entry is usable up to and including its `expires_at` day.
        """
        if self.status != "approved":
            return False
        return self.expires_at is None or today <= self.expires_at

    def is_expired(self, today: date) -> bool:
        return self.expires_at is not None and today > self.expires_at

    def all_phrasings(self) -> list[str]:
        """Title then claims, each once: what a matcher compares an article against."""
        seen: set[str] = set()
        phrasings: list[str] = []
        for text in [self.title, *self.claims]:
            key = phrasing_key(text)
            if key not in seen:
                seen.add(key)
                phrasings.append(text)
        return phrasings

    def response_text(self, lang: str | None = None) -> str:
        """The response in `lang`, else in the entry's first language, else any; '' if none."""
        if lang and lang in self.response:
            return self.response[lang]
        for candidate in self.languages:
            if candidate in self.response:
                return self.response[candidate]
        return next(iter(self.response.values()), "")

    def response_markdown(self) -> str:
        """All languages as one Markdown text with `## lang` sections (the file's body)."""
        return "\n\n".join(f"## {lang}\n\n{text}" for lang, text in self.response.items())

    def evolve(self, **changes: Any) -> RebuttalEntry:
        """A copy with some fields changed, re-validated (so the version follows)."""
        data = self.model_dump()
        data.update(changes)
        return RebuttalEntry.model_validate(data)


def content_fields(entry: RebuttalEntry) -> dict[str, Any]:
    """The entry's content as plain JSON values: everything except `path` and `version`."""
    return entry.model_dump(mode="json", exclude={"path", "version"})


def compute_version(entry: RebuttalEntry) -> str:
    """sha256 over the normalised front matter and body, first 12 hex characters.

    "Normalised" means parsed and re-serialised canonically: fields as JSON with sorted keys,
    dates as YYYY-MM-DD, text in NFC, the body as its language sections with whitespace
    normalised. Reordering YAML keys, quoting, comments or blank lines therefore leave the
    version alone; changing a word, a date or a status changes it.
    """
    canonical = json.dumps(
        content_fields(entry), sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:VERSION_LENGTH]
