"""Language identification (py3langid: offline, fast, 97 languages)."""

from __future__ import annotations

import functools
import re
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


# -- for matching: a language only when the identifier is sure of it ---------------------------

# The office's working languages (DOMAIN.md). Matching compares a query's language with each
# phrasing's, so a wrong call costs more than no call: Nigerian Pidgin, Welsh or Latin are
# what an unrestricted identifier answers for short English claims or Vietnamese typed
# without diacritics. Restricted to these and asked for a normalised probability, it was
# wrong on 1 of the 264 labelled demo queries at 0.5 and on none at MATCH_MIN_PROBABILITY.
MATCH_LANGUAGES = (
    "vi", "en", "zh", "fr", "es", "ru", "ar", "pt", "ja", "ko", "de", "lo", "th", "km",
)
MATCH_MIN_PROBABILITY = 0.9
_CLUTTER = re.compile(r"(?:https?://|www\.|pic\.twitter\.com/)\S+|[@#]", re.IGNORECASE)
# scripts written without spaces say as much in a few characters as others in twenty
_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
    "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]"  # kana, CJK ideographs, Hangul
)
MIN_UNSPACED_CHARS = 6


@functools.cache
def _match_identifier():
    import py3langid.langid as langid

    identifier = langid.LanguageIdentifier.from_model_file(langid.MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(MATCH_LANGUAGES))
    return identifier


def identify_for_matching(text: str) -> str | None:
    """The text's language if it is one of MATCH_LANGUAGES and the identifier is at least
    MATCH_MIN_PROBABILITY sure; None otherwise (too short, unsure, another language).

    Links, `@` and `#` are left out first: they are noise in a social-media post.
    """
    sample = _CLUTTER.sub(" ", unicodedata.normalize("NFC", text[:2000]))
    sample = " ".join(sample.split())
    unspaced = len(_UNSPACED.findall(sample))
    if len(sample) < MIN_CHARS and unspaced < MIN_UNSPACED_CHARS:
        return None
    code, probability = _match_identifier().classify(sample)
    return code if probability >= MATCH_MIN_PROBABILITY else None
