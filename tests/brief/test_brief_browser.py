"""The demo brief as a reader sees it: Debian's headless Chromium, driven by Playwright.

Set MEDIAWATCH_BRIEF_SCREENSHOT=path.png to keep a screenshot of the page's first screens
(bench/screenshot_brief.py makes the README's smaller one from any store).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from brief.render import render_brief
from tests.brief.stores import CHARTS, SECTIONS

HEADINGS = {
    "summary": "Summary", "top-narratives": "Top narratives", "new-and-rising": "New and rising",
    "needs-a-response": "Needs a response", "favourable-coverage": "Favourable coverage",
    "reach": "Who carried it", "coverage-and-health": "Coverage and health", "method": "Method",
}


def _demo_brief(demo_store, tmp_path: Path) -> tuple[Path, str]:
    """The demo brief rendered from a copy of the shared store (it records itself in it)."""
    settings, _, summary = demo_store
    db = tmp_path / "demo.duckdb"
    shutil.copy(settings.db, db)
    wal = Path(f"{settings.db}.wal")
    if wal.exists():
        shutil.copy(wal, f"{db}.wal")
    local = settings.model_copy(update={"db": db, "briefs_dir": tmp_path / "briefs"})
    week = summary.counts["brief_week"]
    written = render_brief(local, week=week, formats=("html",))
    return written.paths[0], week


def test_demo_brief_sections_and_charts_are_visible_and_nothing_remote_loads(
    demo_store, page, tmp_path
):
    html, week = _demo_brief(demo_store, tmp_path)
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(html.resolve().as_uri())

    assert page.title() == f"Weekly brief {week}"
    for section, heading in HEADINGS.items():
        assert section in SECTIONS
        block = page.locator(f"section#{section}")
        assert block.is_visible(), section
        assert block.locator("h2").inner_text() == heading
    for chart in CHARTS:
        svg = page.locator(f"figure#{chart} svg")
        assert svg.count() == 1 and svg.is_visible(), chart
        box = svg.bounding_box()
        assert box["width"] > 150 and box["height"] > 40, (chart, box)
        drawn = page.locator(f"figure#{chart} svg rect").evaluate_all(
            "rs => rs.filter(r => r.getBBox().height > 0 && r.getBBox().width > 0).length"
        )
        assert drawn > 0, chart

    # the demo week has narratives, answered and unanswered, and outlets that failed
    assert page.locator("ol.moved li").count() == 3
    assert page.locator("section#top-narratives tbody tr").count() >= 5
    assert page.locator("section#top-narratives ul.heads a").count() >= 10
    assert page.locator("section#needs-a-response .entry").count() >= 1
    assert page.locator("section#coverage-and-health tbody tr").count() >= 1
    links = page.locator("a[href^='http']")
    assert links.count() > 10
    assert links.evaluate_all(
        "as => as.every(a => a.rel === 'noopener noreferrer')"
    )

    if target := os.environ.get("MEDIAWATCH_BRIEF_SCREENSHOT"):
        height = min(1800, page.evaluate("document.documentElement.scrollHeight"))
        page.screenshot(path=target, full_page=True,
                        clip={"x": 0, "y": 0, "width": 1280, "height": height})

    # printed, the navigation goes and every section stays
    page.emulate_media(media="print")
    assert not page.locator("nav.toc").is_visible()
    assert all(page.locator(f"section#{s}").is_visible() for s in SECTIONS)

    assert page.remote_requests == []
    assert requests == [html.resolve().as_uri()]
    assert problems == []  # no script error, no Content-Security-Policy violation
