"""Plotly charts as the reader reads them: ticks, hover labels and bar texts in the language's
digits, separators and month names, and right-to-left placement for Arabic and Persian
(docs/using.md#languages).

Plotly formats with d3 in English (Latin digits, "1,234.5", "Mar 2") and its browser locales are
not loaded by Streamlit, so every figure a page shows passes through `for_reader` first: each
axis gets its ticks written by the Speaker, and each hover or text template reads the values
the Speaker wrote. English charts are left as Plotly draws them."""

from __future__ import annotations

import datetime as dt
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from services.common.i18n import Speaker
from services.reports import formatting as fmt

# The trace types the pages draw (plotly.express draws a long line as scattergl).
_CARTESIAN = ("bar", "scatter", "scattergl", "heatmap")
_TICKS = 5  # about as many as Plotly's own on a phone's width
_PLACEHOLDER = re.compile(r"%\{(x|y|z|text|customdata\[(\d+)\])([:|][^}]*)?\}")
_PX_PART = re.compile(r"^([^=%<]*)=(.*)$")  # plotly.express's "label=%{x}" hover lines


def for_reader(figure: go.Figure, sp: Speaker) -> go.Figure:
    """`figure` with its numbers, dates and placement in the reader's language (changed in
    place and returned), its title in lines a phone shows whole; English as drawn."""
    _title_lines(figure)
    if sp.language == "en":
        return figure
    layout = figure.layout
    for name in _axes(figure):
        _axis_ticks(figure, name, sp)
    _colorbar(figure, sp)
    for trace in figure.data:
        _trace_texts(trace, figure, sp)
    if sp.dir == "rtl":
        _right_to_left(figure)
    layout.hoverlabel.align = "right" if sp.dir == "rtl" else "left"
    return figure


# The characters of a title a 390 px phone shows on one line at Plotly's title size; Plotly
# neither wraps nor shrinks a title, and the chart's edge cuts off what is longer.
_TITLE_LINE = 40


def _title_lines(figure: go.Figure) -> None:
    """A long title broken into lines of about even length at spaces (Plotly's `<br>`), with the
    margin above the chart grown to hold them."""
    title = figure.layout.title.text
    if not title or "<br>" in title or len(title) <= _TITLE_LINE:
        return
    lines = math.ceil(len(title) / _TITLE_LINE)
    width = min(_TITLE_LINE, math.ceil(len(title) / lines) + 6)
    wrapped = textwrap.wrap(title, width, break_long_words=False, break_on_hyphens=False)
    figure.layout.title.text = "<br>".join(wrapped)
    figure.layout.title.automargin = True


# Axes ---------------------------------------------------------------------------------------


def _axes(figure: go.Figure) -> list[str]:
    """The layout names of the axes the traces draw on (xaxis, yaxis2...)."""
    names = set()
    for trace in figure.data:
        if trace.type in _CARTESIAN:
            names.add("xaxis" + (trace.xaxis or "x")[1:])
            names.add("yaxis" + (trace.yaxis or "y")[1:])
    return sorted(names)


def _values_on(figure: go.Figure, axis: str) -> tuple[list[Any], bool]:
    """What the traces put on an axis, and whether bars start from it at zero (so 0 is in
    range); stacked bars count as their sums."""
    letter, ref = axis[0], axis[0] + axis[5:]
    values: list[Any] = []
    from_zero = False
    stacks: dict[Any, float] = {}
    stacked = figure.layout.barmode in ("stack", "relative")
    for trace in figure.data:
        if (getattr(trace, f"{letter}axis") or letter) != ref or trace.type == "heatmap":
            continue
        own = getattr(trace, letter)
        if own is None:
            continue
        is_bar = trace.type == "bar"
        value_letter = "x" if is_bar and trace.orientation == "h" else "y"
        if is_bar and letter == value_letter:
            from_zero = True
            if stacked:
                other = getattr(trace, "y" if letter == "x" else "x")
                for key, amount in zip(_plain(other), _plain(own), strict=False):
                    if _number(amount) is not None and amount > 0:
                        stacks[key] = stacks.get(key, 0.0) + float(amount)
        values += _plain(own)
    return values + list(stacks.values()), from_zero


def _axis_ticks(figure: go.Figure, name: str, sp: Speaker) -> None:
    axis = figure.layout[name]
    if axis.ticktext is not None and len(axis.ticktext) > 7 and axis.tickvals is not None:
        # The page's own labels (months on the trends): every other one, as the names of
        # months in Arabic, Persian and Finnish are about twice as long as "Mar".
        axis.tickvals, axis.ticktext = axis.tickvals[::2], axis.ticktext[::2]
    if axis.ticktext is not None or axis.type in ("category", "multicategory"):
        return  # labels given by the page, or words
    values, from_zero = _values_on(figure, name)
    dates = [d for v in values if (d := _date(v)) is not None]
    if dates and len(dates) == len(values):
        _date_ticks(axis, min(dates), max(dates), sp)
        return
    numbers = [n for v in values if (n := _number(v)) is not None]
    if not numbers or len(numbers) < len(values) / 2:
        return  # words along it: Plotly writes them as given
    if axis.range is not None and None not in axis.range:
        low, high = sorted(float(r) for r in axis.range)
        if axis.type == "log":
            low, high = 10**low, 10**high
    elif axis.type == "log":  # no zero on a log scale: its ticks start at the least count
        positive = [n for n in numbers if n > 0] or [1.0]
        low, high = min(positive), max(positive)
    else:
        low, high = min(numbers), max(numbers)
        if from_zero or axis.rangemode == "tozero":
            low, high = min(low, 0.0), max(high, 0.0)
    spec = axis.tickformat or ""
    ticks = _log_ticks(low, high) if axis.type == "log" else _nice_ticks(low, high)
    if not ticks:
        return
    axis.tickmode = "array"
    axis.tickvals = ticks
    axis.ticktext = _tick_texts(ticks, spec, sp, log=axis.type == "log")
    axis.automargin = True  # room for labels longer than Plotly's own


def _nice_ticks(low: float, high: float, count: int = _TICKS) -> list[float]:
    """Round ticks from low to a step past high (d3's 1, 2, 5 x 10^k steps); Plotly draws the
    ones inside the range it shows."""
    if high == low:
        high = low + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    first, last = math.floor(low / step), math.ceil(high / step)
    return [round(i * step, 12) for i in range(first, last + 1)]


def _log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten over a log axis (1, 10, 100...), with 2 and 5 between over a short one."""
    low = max(low, 1e-9)
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(max(high, low)))
    steps = (1, 2, 5) if math.log10(max(high, low) / low) <= 2.5 else (1,)
    return [m * 10**e for e in range(first, last + 1) for m in steps]


def _tick_texts(ticks: list[float], spec: str, sp: Speaker, *, log: bool) -> list[str]:
    """An axis's labels, all in one form: percentages, or numbers, shortened ("20 thousand")
    when the largest is 10,000 or more, with the decimals the step between them needs."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(ticks[0]) or 1.0
    if "%" in spec:
        decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))
        return [sp.percent(t, decimals) for t in ticks]
    if spec.endswith("s") or max(abs(t) for t in ticks) >= 10_000:
        return [sp.compact(t) for t in ticks]
    decimals = 0 if log or step >= 1 else -math.floor(math.log10(step) + 1e-9)
    return [sp.number(t, decimals) for t in ticks]


def _date_ticks(axis: Any, first: dt.date, last: dt.date, sp: Speaker) -> None:
    """Weeks by their Monday over a short span, months (by name) over a longer one; time still
    runs left to right in Arabic and Persian (docs/using.md#languages)."""
    days = (last - first).days
    if days <= 10 * 7:
        every = 1 if days <= 5 * 7 else 2
        monday = first - dt.timedelta(days=first.weekday())
        ticks = [monday + dt.timedelta(weeks=w) for w in range(0, days // 7 + 2, every)]
        texts = [fmt.week_day(d, sp) for d in ticks]
    else:
        months = (last.year - first.year) * 12 + last.month - first.month
        every = 1 if months <= 5 else 2 if months <= 12 else 3
        ticks = []
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            if (month - 1) % every == 0:
                ticks.append(dt.date(year, month, 1))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        # Over more than one year the first tick and each January name their year.
        yearly = len({d.year for d in ticks}) > 1
        texts = [
            sp.month(d) if yearly and (d.month == 1 or d == ticks[0]) else fmt.month_abbr(d, sp)
            for d in ticks
        ]
    axis.tickmode = "array"
    axis.tickvals = [d.isoformat() for d in ticks]
    axis.ticktext = texts


def _colorbar(figure: go.Figure, sp: Speaker) -> None:
    """A heatmap's colour scale, its ticks in the language."""
    values = [
        n
        for trace in figure.data
        if trace.type == "heatmap" and trace.z is not None
        for row in trace.z
        for v in row
        if (n := _number(v)) is not None
    ]
    if not values:
        return
    ticks = [t for t in _nice_ticks(min(values), max(values)) if min(values) <= t <= max(values)]
    if not ticks:
        return
    bar = figure.layout.coloraxis.colorbar if figure.layout.coloraxis.colorscale else None
    for target in [bar] if bar is not None else [t.colorbar for t in figure.data]:
        target.tickmode = "array"
        target.tickvals = ticks
        target.ticktext = _tick_texts(ticks, "", sp, log=False)


# Hover labels and bar texts -----------------------------------------------------------------


def _trace_texts(trace: Any, figure: go.Figure, sp: Speaker) -> None:
    """Each hover and text template reads values the Speaker wrote (kept in customdata), and
    numbers given as a bar's text are written in the language."""
    if trace.type not in _CARTESIAN:
        return
    if trace.text is not None and not isinstance(trace.text, str):
        texts = _plain(trace.text)
        if any(_number(t) is not None for t in texts):
            trace.text = [_value_text(t, "", sp, hint="") for t in texts]
    hints = {
        letter: figure.layout[_axis_name(trace, letter)].tickformat or "" for letter in ("x", "y")
    }
    template = trace.hovertemplate
    if template is None:
        template = "%{x}: %{y}" if trace.type != "heatmap" else "%{x} · %{y}: %{z}"
    template = _readable(template)
    if trace.type == "heatmap":
        _heatmap_hover(trace, template, sp)
        return
    columns: list[list[Any]] = []
    original = [
        list(row) if isinstance(row, list | tuple | np.ndarray) else [row]
        for row in (trace.customdata if trace.customdata is not None else [])
    ]
    width = len(original[0]) if original else 0
    if original and not isinstance(trace.customdata[0], list | tuple | np.ndarray):
        # One value per point (%{customdata}): the first column of the rows written below.
        template = re.sub(r"%\{customdata([:|}])", r"%{customdata[0]\1", template)
        if trace.texttemplate:
            trace.texttemplate = re.sub(
                r"%\{customdata([:|}])", r"%{customdata[0]\1", trace.texttemplate
            )
    points = len(_plain(trace.x if trace.x is not None else trace.y))

    def column(field: str, index: str | None, spec: str) -> str:
        if field == "customdata":
            values = [row[int(index or 0)] for row in original]
        else:
            values = _plain(getattr(trace, field)) if getattr(trace, field) is not None else []
        if len(values) != points:
            return "%{" + field + (f"[{index}]" if index else "") + spec + "}"
        columns.append([_value_text(v, spec, sp, hints.get(field, "")) for v in values])
        return "%{customdata[" + str(width + len(columns) - 1) + "]}"

    def rewrite(text: str | None) -> str | None:
        if text is None:
            return None
        return _PLACEHOLDER.sub(lambda m: column(m[1].split("[")[0], m[2], m[3] or ""), text)

    trace.hovertemplate = rewrite(template)
    if trace.texttemplate:
        trace.texttemplate = rewrite(trace.texttemplate)
    if columns:
        rows = original or [[] for _ in range(points)]
        trace.customdata = [[*row, *(c[i] for c in columns)] for i, row in enumerate(rows[:points])]


def _heatmap_hover(trace: Any, template: str, sp: Speaker) -> None:
    trace.customdata = [[_value_text(v, "", sp, hint="") for v in row] for row in trace.z]
    trace.hovertemplate = re.sub(r"%\{z(:[^}]*)?\}", "%{customdata}", template)


def _readable(template: str) -> str:
    """plotly.express's hover lines ("Week of=%{x}") as "Week of: …"; its own English names
    for a wide frame's columns ("variable", "value") left out."""
    body, extra, tail = template.partition("<extra>")
    lines = []
    for line in body.split("<br>"):
        match = _PX_PART.match(line)
        if match is None:
            lines.append(line)
        elif match[1] in ("variable", "value", ""):
            lines.append(match[2])
        else:
            lines.append(f"{match[1]}: {match[2]}")
    return "<br>".join(lines) + extra + tail


def _value_text(value: Any, spec: str, sp: Speaker, hint: str) -> str:
    """One value as the reader writes it, by the d3 format the template (or its axis) gave."""
    day = _date(value)
    if day is not None:
        return sp.date(day, "medium")
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    spec = spec.lstrip(":") or hint
    decimals = re.search(r"\.(\d+)", spec)
    if "%" in spec:
        return sp.percent(number, int(decimals[1]) if decimals else 1)
    if spec.endswith("d"):
        return sp.number(round(number))
    if decimals:
        return sp.number(number, int(decimals[1]))
    if float(number).is_integer():
        return sp.number(number)
    return sp.number(number, 1 if abs(number) >= 10 else 2)


# Right to left ------------------------------------------------------------------------------


def _right_to_left(figure: go.Figure) -> None:
    """Titles and legends start at the right. Bars of named things (horizontal bars) grow from
    their names on the right; time and numbers keep running left to right. Plotly lays its
    text out left to right (an SVG turned right to left misplaces every label), so each text
    is isolated as right-to-left: a figure and its unit ("1.5 million") read in their order."""
    layout = figure.layout
    if layout.title.text:
        layout.title.update(text=rtl(layout.title.text), x=1, xanchor="right", xref="container")
        layout.title.pad.r = 12
    if layout.legend.orientation == "h":
        # At the right, in the series' order: reversed, a legend a phone wraps one item to a
        # line would read from the bottom up.
        layout.legend.update(x=1, xanchor="right")
    if layout.legend.title.text:
        layout.legend.title.update(text=rtl(layout.legend.title.text), side="top right")
    for name in _axes(figure):
        axis = layout[name]
        if axis.title.text:
            axis.title.text = rtl(axis.title.text)
        if axis.ticktext is not None:
            axis.ticktext = [rtl(str(t)) for t in axis.ticktext]
    if layout.coloraxis.colorbar.ticktext is not None:
        bar = layout.coloraxis.colorbar
        bar.ticktext = [rtl(str(t)) for t in bar.ticktext]
        if bar.title.text:
            bar.title.text = rtl(bar.title.text)
    for trace in figure.data:
        if trace.name:
            trace.name = rtl(trace.name)
        for attr in ("hovertemplate", "texttemplate"):
            if getattr(trace, attr):
                body, extra, tail = getattr(trace, attr).partition("<extra>")
                setattr(trace, attr, rtl(body) + extra + tail)
        if trace.text is not None and not isinstance(trace.text, str):
            trace.text = [rtl(str(t)) for t in _plain(trace.text)]
        for letter in ("x", "y"):
            values = _plain(getattr(trace, letter, None))
            if values and all(isinstance(v, str) and _date(v) is None for v in values):
                setattr(trace, letter, [rtl(v) for v in values])  # named things, as categories
    mirrored = {
        (_axis_name(trace, "x"), _axis_name(trace, "y"))
        for trace in figure.data
        if trace.type == "bar" and trace.orientation == "h"
    }
    for x_name, y_name in mirrored:
        axis = layout[x_name]
        if axis.range is not None and None not in axis.range:
            axis.range = list(reversed(axis.range))
        else:
            axis.autorange = "reversed"
        layout[y_name].side = "right"


def rtl(text: str) -> str:
    """A text laid out right to left inside Plotly's left-to-right SVG (RLI ... PDI), line by
    line (Plotly draws each line of a "<br>" on its own)."""
    return "<br>".join(
        line if not line or line.startswith(_RLI) else f"{_RLI}{line}{_PDI}"
        for line in text.split("<br>")
    )


_RLI, _PDI = "\u2067", "\u2069"


# Values -------------------------------------------------------------------------------------


def _axis_name(trace: Any, letter: str) -> str:
    return f"{letter}axis" + (getattr(trace, f"{letter}axis") or letter)[1:]


def _plain(values: Any) -> list[Any]:
    if values is None:
        return []
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return [pd.Timestamp(v).date() for v in values]
    if isinstance(values, np.ndarray | pd.Series | pd.Index):
        return list(values.tolist())
    if isinstance(values, str):
        return [values]
    return list(values) if isinstance(values, Iterable | Sequence) else [values]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        day: dt.date = pd.Timestamp(value).date()
        return day
    if isinstance(value, str) and _ISO_DAY.fullmatch(value[:10]):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None
