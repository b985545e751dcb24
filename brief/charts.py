"""The brief's charts as inline SVG, written by hand.

Why not matplotlib: measured on this project's machine (2 cores, matplotlib 3.11.2),
importing it took about 2.7 s, and one figure of ten small multiples 0.35-1.0 s and 53-78 KB
of SVG (reproducible with svg.hashsalt and no Date); its default fonts have no Chinese
glyphs. These functions take about a millisecond, write a few KB, leave text as text (the
reader's fonts draw Vietnamese, Chinese or Thai), and give the same bytes for the same
numbers. Colours are presentation attributes, so the charts look the same in a browser, in
print and in WeasyPrint's PDF.

Every label may come from outside (narrative labels are article titles; outlet registries
name countries and languages): all text goes through `escape`, after truncation.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

INK = "#1d2430"
MUTED = "#5b6575"
GRID = "#d9dee6"
ACCENT = "#0b5cad"
PALE = "#9dbbe0"
FOREIGN = "#d9822b"
OK = "#1f7a3a"
FONT = "Noto Sans, DejaVu Sans, sans-serif"


def _num(x: float) -> str:
    """Coordinates with one decimal and no trailing zeros: stable bytes, small files."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _two_lines(text: str, width: int) -> list[str]:
    """Split a label on a space into at most two lines of about `width` characters."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return [text]
    cut = text.rfind(" ", 0, width + 1)
    if cut < width // 2:
        cut = width
    return [text[:cut].rstrip(), _clip(text[cut:].strip(), width)]


def _svg(name: str, width: float, height: float, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart {name}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" '
        f'height="{_num(height)}" role="img" aria-label="{escape(label)}" '
        f'font-family="{FONT}" font-size="11" fill="{INK}">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{_num(x)}" y="{_num(y)}"{extra}>{escape(text)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str | None = None) -> str:
    inner = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" '
        f'height="{_num(max(h, 0))}" fill="{fill}">{inner}</rect>'
    )


def short_week(label: str) -> str:
    """'2026-W47' -> 'W47'."""
    return label.split("-", 1)[-1]


def sparkline(values: Sequence[int], width: int = 120, height: int = 28) -> Markup:
    """A row's weekly volumes; the last (this week's) bar is dark."""
    top = max(values, default=0) or 1
    step = width / max(len(values), 1)
    body = []
    for k, v in enumerate(values):
        h = max(1.0, (height - 4) * v / top) if v else 0
        fill = ACCENT if k == len(values) - 1 else PALE
        body.append(_rect(k * step + 1, height - h, step - 2, h, fill, str(v)))
    label = "weekly volume: " + ", ".join(map(str, values))
    return _svg("spark", width, height, label, body)


def small_multiples(
    series: Sequence[tuple[str, Sequence[int]]],
    weeks: Sequence[str],
    columns: int = 5,
    panel_width: int = 184,
    panel_height: int = 112,
) -> Markup:
    """One panel per narrative: its volume over the weeks on a scale shared by all panels."""
    if not series:
        return _svg("multiples", panel_width, 24, "no narrative", [_text(0, 16, "No narrative.")])
    top = max((max(v, default=0) for _, v in series), default=0) or 1
    rows = -(-len(series) // columns)
    gap = 8
    width = columns * panel_width
    height = rows * (panel_height + gap)
    plot_top, plot_bottom = 42, panel_height - 16
    body = []
    for k, (label, values) in enumerate(series):
        x0 = (k % columns) * panel_width
        y0 = (k // columns) * (panel_height + gap)
        inner = panel_width - 12
        step = inner / max(len(values), 1)
        for line, text in enumerate(_two_lines(f"{k + 1}. {label}", 31)):
            body.append(
                _text(x0, y0 + 11 + 12 * line, text, font_size="10.5", font_weight="bold")
            )
        this_week = values[-1] if values else 0
        body.append(_text(x0, y0 + 36, f"{this_week} this week", fill=MUTED, font_size="10"))
        base = y0 + plot_bottom
        body.append(
            f'<line x1="{_num(x0)}" y1="{_num(base)}" x2="{_num(x0 + inner)}" '
            f'y2="{_num(base)}" stroke="{GRID}"/>'
        )
        for j, v in enumerate(values):
            h = (plot_bottom - plot_top) * v / top
            fill = ACCENT if j == len(values) - 1 else PALE
            week = weeks[j] if j < len(weeks) else ""
            body.append(_rect(x0 + j * step + 1, base - h, step - 2, h, fill, f"{week}: {v}"))
        if weeks:
            body.append(_text(x0, base + 12, short_week(weeks[0]), fill=MUTED, font_size="9"))
            body.append(
                _text(x0 + inner, base + 12, short_week(weeks[-1]), fill=MUTED, font_size="9",
                      text_anchor="end")
            )
    label = (
        f"Weekly volume of the top {len(series)} narratives, {weeks[0] if weeks else ''} to "
        f"{weeks[-1] if weeks else ''}, shared scale up to {top} articles: "
        + "; ".join(f"{_clip(name, 60)}: {' '.join(map(str, v))}" for name, v in series)
    )
    return _svg("multiples", width, height, label, body)


def share_bars(
    pairs: Sequence[tuple[str, int]], title: str, keep: int = 8, width: int = 440
) -> Markup:
    """Horizontal bars of (key, count) as a share of the total; the rest folded into 'other'."""
    pairs = list(pairs)
    if len(pairs) > keep:
        rest = sum(n for _, n in pairs[keep - 1 :])
        pairs = pairs[: keep - 1] + [(f"other ({len(pairs) - keep + 1})", rest)]
    total = sum(n for _, n in pairs)
    if not total:
        return _svg("bars", width, 24, f"{title}: no articles", [_text(0, 16, "No articles.")])
    row, label_w, value_w = 22, 104, 86
    bar_w = width - label_w - value_w
    body = []
    for k, (key, n) in enumerate(pairs):
        y = k * row
        share = n / total
        body.append(_text(label_w - 6, y + 15, _clip(key, 16), text_anchor="end"))
        body.append(_rect(label_w, y + 4, bar_w, 14, "#eef1f5"))
        body.append(_rect(label_w, y + 4, bar_w * share, 14, ACCENT, f"{key}: {n}"))
        body.append(_text(label_w + bar_w + 6, y + 15, f"{100 * share:.0f}%  ({n})"))
    label = f"{title}: " + ", ".join(f"{_clip(k, 40)} {n}" for k, n in pairs)
    return _svg("bars", width, row * len(pairs) + 4, label, body)


def stacked_weeks(
    weeks: Sequence[str],
    stacks: Sequence[tuple[str, str, Sequence[int]]],
    title: str,
    width: int = 440,
    height: int = 190,
) -> Markup:
    """Columns per week, stacked by series (name, colour, values), with a legend."""
    totals = [sum(s[2][j] for s in stacks) for j in range(len(weeks))]
    top = max(totals, default=0) or 1
    plot_top, plot_bottom, left = 34, height - 18, 4
    step = (width - left) / max(len(weeks), 1)
    body = []
    x = 0.0
    for name, colour, values in stacks:
        body.append(_rect(x, 2, 10, 10, colour))
        body.append(_text(x + 14, 11, f"{name} ({sum(values)})"))
        x += 24 + 7 * len(name) + 7 * len(str(sum(values)))
    base = plot_bottom
    for j, week in enumerate(weeks):
        y = base
        cx = left + j * step
        for name, colour, values in stacks:
            h = (plot_bottom - plot_top) * values[j] / top
            y -= h
            body.append(_rect(cx + 3, y, step - 6, h, colour, f"{week} {name}: {values[j]}"))
        body.append(_text(cx + step / 2, y - 3, str(totals[j]), font_size="9.5",
                          text_anchor="middle", fill=MUTED))
        body.append(_text(cx + step / 2, base + 13, short_week(week), font_size="9.5",
                          text_anchor="middle", fill=MUTED))
    body.append(
        f'<line x1="{left}" y1="{_num(base)}" x2="{width}" y2="{_num(base)}" stroke="{GRID}"/>'
    )
    label = f"{title}: " + "; ".join(
        f"{w} " + ", ".join(f"{name} {values[j]}" for name, _, values in stacks)
        for j, w in enumerate(weeks)
    )
    return _svg("stacked", width, height, label, body)


def share_weeks(
    weeks: Sequence[str],
    shares: Sequence[float | None],
    counts: Sequence[tuple[int, int]],
    title: str,
    width: int = 440,
    height: int = 170,
) -> Markup:
    """A share (0-1) per week as columns, 'answered/weighted' under each; None is 'n/a'."""
    plot_top, plot_bottom, left = 16, height - 30, 30
    step = (width - left) / max(len(weeks), 1)
    body = []
    for pct in (0, 50, 100):
        y = plot_bottom - (plot_bottom - plot_top) * pct / 100
        body.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{width}" y2="{_num(y)}" stroke="{GRID}"/>'
        )
        body.append(_text(left - 4, y + 3, f"{pct}%", font_size="9", fill=MUTED,
                          text_anchor="end"))
    for j, week in enumerate(weeks):
        cx = left + j * step
        share = shares[j]
        answered, weighted = counts[j]
        if share is None:
            body.append(_text(cx + step / 2, plot_bottom - 4, "n/a", font_size="9.5",
                              text_anchor="middle", fill=MUTED))
        else:
            h = (plot_bottom - plot_top) * share
            fill = OK if j == len(weeks) - 1 else "#8cc59c"
            body.append(
                _rect(cx + 4, plot_bottom - h, step - 8, h, fill,
                      f"{week}: {answered} of {weighted}")
            )
            body.append(_text(cx + step / 2, plot_bottom - h - 3, f"{100 * share:.0f}%",
                              font_size="9.5", text_anchor="middle"))
        body.append(_text(cx + step / 2, plot_bottom + 12, short_week(week), font_size="9.5",
                          text_anchor="middle", fill=MUTED))
        body.append(_text(cx + step / 2, plot_bottom + 24, f"{answered}/{weighted}",
                          font_size="9", text_anchor="middle", fill=MUTED))
    label = f"{title}: " + "; ".join(
        f"{w} " + ("n/a" if s is None else f"{100 * s:.0f}% ({a} of {n})")
        for w, s, (a, n) in zip(weeks, shares, counts, strict=True)
    )
    return _svg("coverage", width, height, label, body)


SCOPE_COLOURS = {"domestic": ACCENT, "foreign": FOREIGN}


def scope_chart(weeks: Sequence[str], stacks: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """Domestic and foreign articles a week (any other scope in grey)."""
    coloured = [(name, SCOPE_COLOURS.get(name, "#9aa3af"), values) for name, values in stacks]
    return stacked_weeks(weeks, coloured, "Domestic and foreign articles a week")


def coverage_chart(
    weeks: Sequence[str], coverage: Sequence[tuple[float | None, int, int]]
) -> Markup:
    """Library coverage a week from (share, answered, weighted) triples."""
    return share_weeks(
        weeks, [c[0] for c in coverage], [(c[1], c[2]) for c in coverage], "Library coverage"
    )
