"""Screenshot of the weekly brief as a reader sees it, in Debian's headless Chromium.

    .venv/bin/python bench/screenshot_brief.py --db data/mediawatch.duckdb [--week 2026-W47]
        [--out docs/screenshots/brief.png] [--height 1800]

Renders the brief of the store into a temporary folder (the store gets its usual `briefs`
row), opens it offline (every request that is not file: is refused and reported) and saves
the first `--height` pixels of the page as a palette PNG (small enough for the README).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def screenshot(html: Path, out: Path, height: int = 1800, width: int = 1100) -> list[str]:
    """Save the top `height` pixels of the page; return the remote requests it tried."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    remote: list[str] = []

    def guard(route):
        if route.request.url.startswith(("file:", "data:", "about:")):
            return route.continue_()
        remote.append(route.request.url)
        return route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 900})
            context.route("**/*", guard)
            page = context.new_page()
            page.goto(html.resolve().as_uri())
            full = page.evaluate("document.documentElement.scrollHeight")
            png = page.screenshot(
                full_page=True, clip={"x": 0, "y": 0, "width": width, "height": min(height, full)}
            )
        finally:
            browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, optimize=True)
    return remote


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--week", default=None)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots" / "brief.png")
    parser.add_argument("--height", type=int, default=1800)
    args = parser.parse_args()

    from brief.render import render_brief
    from mediawatch.settings import load_settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(db=args.db, briefs_dir=Path(tmp))
        written = render_brief(settings, week=args.week, formats=("html",))
        remote = screenshot(written.paths[0], args.out, args.height)
    size = args.out.stat().st_size
    print(f"{args.out}: brief {written.week}, {size / 1024:.0f} KB; remote requests: {len(remote)}")
    return 1 if remote else 0


if __name__ == "__main__":
    raise SystemExit(main())
