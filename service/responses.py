"""Library entries as the team sees them: usable (approved, unexpired) or flagged, ready to copy."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

FLAG_TEXT = {
    "draft": "DRAFT – not approved for use",
    "in_review": "IN REVIEW – not approved for use",
    "expired": "EXPIRED – approval has lapsed",
    "retired": "RETIRED – do not use",
}


def _sections(response: Any) -> dict[str, str]:
    if isinstance(response, dict):
        return {str(k): str(v) for k, v in response.items()}
    text = str(response or "")
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return {str(k): str(v) for k, v in loaded.items()}
    return {"": text} if text else {}


def _evidence(evidence: Any) -> list[dict[str, Any]]:
    if isinstance(evidence, str):
        try:
            evidence = json.loads(evidence or "[]")
        except ValueError:
            evidence = []
    return [e for e in (evidence or []) if isinstance(e, dict)]


def flag_of(status: str, expires_at: date | None, today: date) -> str | None:
    """None when the entry may be suggested; otherwise why not."""
    if status == "approved":
        return "expired" if expires_at is not None and expires_at < today else None
    return status if status in FLAG_TEXT else "draft"


def copy_text(text: str, evidence: list[dict[str, Any]], flag: str | None) -> str:
    """What the copy button puts on the clipboard: the response, its sources, any warning."""
    parts = []
    if flag:
        parts.append(f"[{FLAG_TEXT[flag]}]")
    parts.append(text.strip())
    if evidence:
        lines = []
        for e in evidence:
            where = ", ".join(str(e[k]) for k in ("publisher", "date") if e.get(k))
            line = f"- {e.get('title', '')}" + (f" ({where})" if where else "")
            if e.get("url"):
                line += f": {e['url']}"
            lines.append(line)
        parts.append("Sources:\n" + "\n".join(lines))
    return "\n\n".join(parts)


def entry_view(
    entry: dict[str, Any], score: float | None, above_threshold: bool | None, today: date
) -> dict[str, Any]:
    """A library entry (a row of matches_with_entries or console_library) for display/JSON."""
    flag = flag_of(entry["status"], entry.get("expires_at"), today)
    evidence = _evidence(entry.get("evidence"))
    sections = _sections(entry.get("response"))
    return {
        "entry_id": entry["entry_id"],
        "type": entry["type"],
        "status": entry["status"],
        "title": entry["title"],
        "score": None if score is None else round(float(score), 4),
        "above_threshold": above_threshold,
        "usable": flag is None,
        "draft": flag is not None,
        "flag": flag,
        "flag_text": FLAG_TEXT.get(flag) if flag else None,
        "expires_at": entry.get("expires_at"),
        "responses": [
            {"lang": lang, "text": text, "copy_text": copy_text(text, evidence, flag)}
            for lang, text in sections.items()
        ],
        "evidence": evidence,
    }
