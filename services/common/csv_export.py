"""CSV files for people: written with the csv module, user text never run as a formula."""

from __future__ import annotations

import csv
import io
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

# A spreadsheet program evaluates a cell that starts with one of these (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """Keep spreadsheet programs from evaluating user text as a formula (a leading ')."""
    if value and value[0] in FORMULA_STARTS:
        return "'" + value
    return value


def cell(value: Any) -> str:
    """One cell as text: numbers as they are (a negative number is no formula), text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Real):  # numpy's numbers too
        return "" if isinstance(value, float) and math.isnan(value) else str(value)
    return neutralise(str(value))


def lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The file as chunks of a few hundred rows, for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(h) for h in header])
    for number, row in enumerate(rows, start=1):
        writer.writerow([cell(v) for v in row])
        if number % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole (small) file at once, for a download button."""
    return "".join(lines(header, rows))


def for_excel(text: str) -> bytes:
    """A CSV file for people: UTF-8 with a byte-order mark, or Excel reads names with accents
    and Turkish letters in the machine's legacy code page."""
    return ("\ufeff" + text).encode("utf-8")


def records(rows: Sequence[dict[str, Any]]) -> str:
    """A list of same-keyed dicts (a table as the pages build it) as a file; the keys head it."""
    if not rows:
        return ""
    header = list(rows[0])
    return text(header, ([row[h] for h in header] for row in rows))


def frame(table: Any, *, index: bool = False) -> str:
    """A pandas DataFrame as a file, cells neutralised like every other CSV."""
    header = ([table.index.name or ""] if index else []) + [str(c) for c in table.columns]
    rows = (
        ([label] if index else []) + list(values)
        for label, values in zip(table.index, table.itertuples(index=False), strict=True)
    )
    return text(header, rows)
