"""Language identification (py3langid: offline, fast, 97 languages)."""

from __future__ import annotations

import unicodedata

# Texts shorter than this say too little to be identified reliably; keep the page's own hint.
MIN_CHARS = 20


def identify(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of the text's language, or the hint for texts too short to tell."""
    import py3langid as langid

    sample = unicodedata.normalize("NFC", text[:2000]).strip()
    if len(sample) < MIN_CHARS:
        return _short_hint(hint)
    code, _score = langid.classify(sample)
    return code


def _short_hint(hint: str | None) -> str | None:
    if not hint:
        return None
    return hint.split("-")[0].split("_")[0].lower() or None
