"""Deciding how bytes from the web become text, when servers and documents may lie.

One rule for feeds and pages: a byte-order mark decides; otherwise bytes that are valid
UTF-8 are UTF-8 (non-ASCII text in another encoding almost never happens to be valid
UTF-8, while "charset=iso-8859-1" on a UTF-8 body is a common server default); otherwise,
when nearly all non-ASCII bytes form valid UTF-8 sequences, a UTF-8 document with a few
Windows-1252 pieces pasted in (a template, an ad, a comment: "mixed encodings"), decoded
as UTF-8 with those pieces read as Windows-1252; otherwise the first declared encoding that
decodes cleanly; otherwise a statistical guess that prefers the legacy encodings the web
actually used.
"""

from __future__ import annotations

import codecs
import re

BOMS = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# When a guess is close, prefer what pages were really written in (WHATWG's defaults per
# region, and the Vietnamese code page).
_COMMON_LEGACY = (
    "cp1252",
    "cp1258",
    "gb18030",
    "big5",
    "shift_jis",
    "euc_jp",
    "euc_kr",
    "cp1251",
    "koi8_r",
    "cp1256",
    "cp874",
    "cp1250",
)
_UTF8_SEQUENCE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_NON_ASCII = bytes(range(128))
MIXED = "utf-8+cp1252"  # what `decode` reports for UTF-8 with Windows-1252 pieces
MOSTLY_UTF8 = 0.8  # share of non-ASCII bytes in valid UTF-8 sequences


def _cp1252_piece(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    piece = error.object[error.start : error.end]
    # the five bytes cp1252 leaves undefined are read as Latin-1 (C1 controls)
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in piece), (
        error.end
    )


codecs.register_error("mediawatch-cp1252", _cp1252_piece)
_META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.I)


def codec_name(label: str | None) -> str | None:
    """Python's canonical name for an encoding label, or None if unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def http_charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, lowercased."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'").lower()
    return None


def meta_charset(html: bytes) -> str | None:
    """The charset an HTML document declares in its first 4 KB (meta charset/http-equiv)."""
    match = _META_CHARSET_RE.search(html[:4096])
    return match.group(1).decode("ascii").lower() if match else None


def decode(body: bytes, declared: list[str | None]) -> tuple[str, str]:
    """(text, encoding used). `declared` in order of trust; never raises."""
    for bom, name in BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace"), name
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if mostly_utf8(body):
        return body.decode("utf-8", errors="mediawatch-cp1252"), MIXED
    for label in declared:
        name = codec_name(label)
        if name is None or name == "utf-8":
            continue
        try:
            return body.decode(name), name
        except UnicodeDecodeError:
            continue
    guess = guess_encoding(body)
    return body.decode(guess, errors="replace"), guess


def mostly_utf8(body: bytes) -> bool:
    """Nearly every non-ASCII byte is part of a valid UTF-8 sequence (legacy single-byte
    text almost never is: "café" in cp1252 is one lone 0xE9)."""
    non_ascii = len(body.translate(None, _NON_ASCII))
    if not non_ascii:
        return False
    in_sequences = sum(len(match) for match in _UTF8_SEQUENCE_RE.findall(body))
    return in_sequences >= MOSTLY_UTF8 * non_ascii


def lie_warning(body: bytes, declared: list[str | None], used: str) -> str | None:
    """A warning when what was declared is not what the body turned out to be."""
    if body.isascii():
        return None  # any ASCII-compatible label is right for pure ASCII
    if used == MIXED:
        return "mixed encodings: UTF-8 with pieces in Windows-1252"
    labels = list(dict.fromkeys(label for label in declared if label))
    if not labels:
        return None if used == "utf-8" else f"no charset declared, guessed {used}"
    if all(codec_name(label) == codec_name(used) for label in labels):
        return None
    return f"declared charset {', '.join(labels)}, decoded as {used}"


def guess_encoding(body: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - comes with httpx and requests
        return "cp1252"
    matches = from_bytes(body)
    best = matches.best()
    if best is None:
        return "cp1252"
    # charset_normalizer ranks near-identical single-byte code pages almost at random on
    # short texts (cp1257 for French); among near-equals, take the common one
    near = [match for match in matches if match.chaos <= best.chaos + 0.05]
    for name in _COMMON_LEGACY:
        if any(name in match.could_be_from_charset for match in near):
            return name
    return codec_name(best.encoding) or "cp1252"
