"""The monthly report's HTML pieces: its style and paper, inline SVG charts, month names and
money in the report's language (services/reports/monthly.py composes them)."""

from __future__ import annotations

import calendar
import datetime as dt
import html
import math
from collections.abc import Sequence

from babel.dates import format_date

from services.common.i18n import Speaker
from services.reports import formatting as fmt
from services.reports import value

AXIS_TEXT = 'font-size="12" fill="#5b6478"'
# Fonts on the machine that cover Arabic script (Debian fonts-noto-core), after the system's
# own: the PDF (Chromium's print) embeds whichever is used, shaped. Nothing is fetched.
FONTS = 'system-ui, "Noto Sans", "Noto Sans Arabic", "Noto Naskh Arabic", "DejaVu Sans", sans-serif'
STYLE = """
body { font: 15px/1.5 FONTS; color: #1d2330; max-width: 820px;
       margin: 2rem auto; padding: 0 1rem; }
h1 { margin-bottom: 0; } .sub { color: #5b6478; margin-top: .2rem; }
.cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; margin: 1.5rem 0; }
.card { border: 1px solid #dde2ea; border-radius: 10px; padding: .8rem 1rem; }
.card h2 { font-size: 1rem; margin: 0 0 .4rem; } .big { font-size: 1.6rem; font-weight: 700; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #dde2ea; padding: .35rem .5rem; text-align: start; }
.light { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%;
         margin-inline-end: .4rem; vertical-align: middle; }
bdi { unicode-bidi: isolate; }
figure { margin: 1.5rem 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
.note { color: #5b6478; font-size: .85rem; margin: .2rem 0 0; }
h2, h3 { break-after: avoid; } table { break-inside: avoid; }
svg { width: 100%; height: auto; direction: ltr; }
.card { overflow-wrap: break-word; }
/* A phone: cards one under another, a table wider than the screen scrolls on its own (long
   Finnish or Turkish words are not cut in the middle). */
@media (max-width: 600px) {
  .cards { grid-template-columns: 1fr; }
  table { display: block; overflow-x: auto; }
}
@media print { body { margin: 0; } }
""".replace("FONTS", FONTS)
# The paper the PDF is printed on: Letter for English (the US habit), A4 for the others.
PAPER = {"en": "letter"}


def round_ticks(top: float, most: int = 5) -> list[float]:
    """A few round ticks from 0 past `top`: steps of 1, 2, 2.5 or 5 times a power of ten, at
    most `most` ticks above 0 (0, 500,000, 1,000,000, 1,500,000)."""
    if top <= 0:
        return [0.0, 1.0]
    magnitude = 10 ** math.floor(math.log10(top / most))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if top / (m * magnitude) <= most)
    count = math.ceil(top / step - 1e-9)
    return [i * step for i in range(count + 1)]


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    unit: str,
    line: Sequence[float] | None = None,
    partial: Sequence[bool] = (),
    sp: Speaker = fmt.EN,
) -> str:
    """An accessible inline SVG bar chart (optional line, e.g. the goal's pace) with a y-axis of
    round ticks in the reader's numbers; a bar marked `partial` (a week cut short by the year's
    start or the report's last day) is drawn lighter, so it does not read as a drop. Its time
    axis runs left to right in every language."""
    ticks = round_ticks(max([*values, *(line or []), 0]))
    top = ticks[-1]
    tick_texts = [fmt.number(t, sp) for t in ticks]
    # Room on the left for the longest tick (about 7 px a character at 12 px).
    left = 16 + 7 * max(len(t) for t in tick_texts)
    width, height, pad = 720, 240, 30
    step = (width - left - pad) / max(len(values), 1)

    def y(value: float) -> float:
        return height - pad - (height - 2 * pad) * value / top

    parts = [
        f"<figure><figcaption>{html.escape(title)} ({html.escape(unit)})</figcaption>",
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">',
    ]
    for tick, text in zip(ticks, tick_texts, strict=True):
        parts.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - pad}" y2="{y(tick):.1f}" '
            f'stroke="{"#8a94a6" if tick == 0 else "#e4e8ef"}"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" {AXIS_TEXT} text-anchor="end">'
            f"{html.escape(text)}</text>"
        )
    cut = [*partial, *[False] * (len(values) - len(partial))]
    for i, (label, amount) in enumerate(zip(labels, values, strict=True)):
        parts.append(
            f'<rect x="{left + i * step:.1f}" y="{y(amount):.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{height - pad - y(amount):.1f}" fill="{"#aebcf0" if cut[i] else "#3056d3"}">'
            f"<title>{html.escape(label)}: {fmt.number(amount, sp)} {html.escape(unit)}</title>"
            "</rect>"
        )
    if line:
        pace = sp._("goal pace")
        points = " ".join(f"{left + (i + 0.5) * step:.1f},{y(v):.1f}" for i, v in enumerate(line))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="#b42318" stroke-width="2">'
            f"<title>{html.escape(pace)}</title></polyline>"
        )
    if labels:
        parts.append(
            f'<text x="{left}" y="{height - 8}" {AXIS_TEXT}>{html.escape(labels[0])}</text>'
        )
        parts.append(
            f'<text x="{width - pad}" y="{height - 8}" {AXIS_TEXT} text-anchor="end">'
            f"{html.escape(labels[-1])}</text>"
        )
    parts.append("</svg>")
    if any(cut):
        note = sp._("A lighter bar: a week cut short by the start of the year or the report's end.")
        parts.append(f'<p class="note">{html.escape(note)}</p>')
    parts.append("</figure>")
    return "".join(parts)


def month_name(first: dt.date, sp: Speaker) -> str:
    """ "March 2026" as the language names a month ("maaliskuu 2026", "مارس ۲۰۲۶")."""
    if sp.language == "en":
        return f"{calendar.month_name[first.month]} {first.year}"
    return sp.month(first)


def month_alone(day: dt.date, sp: Speaker) -> str:
    """A month's name without its year: "March", "maaliskuu"."""
    if sp.language == "en":
        return calendar.month_name[day.month]
    return sp.digits(format_date(day, "LLLL", locale=sp.language))


def cash(amount: float | None, currency: str, sp: Speaker, *, whole: bool = True) -> str:
    """Money as the report's language writes it (whole units for totals)."""
    if sp.language == "en":
        return value.money(amount, currency, whole=whole)
    return fmt.money(amount, currency, sp, whole=whole)


def rows_of(pairs: Sequence[tuple[str, str]]) -> str:
    """Label and figure rows (each cell is its own bidi paragraph: a figure keeps its order)."""
    return "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in pairs)
