"""The catalog check: a missing, untranslated, fuzzy or stale text, a plural text short of the
language's forms, and a placeholder that differs from the English one are each caught."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

sys.path.insert(0, str(Path(__file__).parents[2] / "tools"))

import check_catalogs

SOURCE = {
    "Moments": ("Moments",),
    "Saved {title}.": ("Saved {title}.",),
    "{n} moment": ("{n} moment", "{n} moments"),
}


def catalog(language: str, entries: dict[object, object], fuzzy: tuple[str, ...] = ()) -> Catalog:
    made = Catalog(locale=language)
    for msgid, text in entries.items():
        made.add(msgid, text, flags=("fuzzy",) if msgid in fuzzy else ())
    return made


COMPLETE_FI = {
    "Moments": "Hetket",
    "Saved {title}.": "{title} tallennettu.",
    ("{n} moment", "{n} moments"): ("{n} hetki", "{n} hetkeä"),
}


def test_a_complete_catalog_passes() -> None:
    assert check_catalogs.problems_of("fi", catalog("fi", COMPLETE_FI), SOURCE) == []


def test_arabic_plural_forms_may_leave_out_the_count_but_must_be_six() -> None:
    six = ("لا لحظات", "لحظة واحدة", "لحظتان", "{n} لحظات", "{n} لحظة", "{n} لحظة")
    entries = {**COMPLETE_FI, ("{n} moment", "{n} moments"): six}
    assert check_catalogs.problems_of("ar", catalog("ar", entries), SOURCE) == []
    entries[("{n} moment", "{n} moments")] = six[:2]
    (problem,) = check_catalogs.problems_of("ar", catalog("ar", entries), SOURCE)
    assert "has 2 plural forms; ar has 6" in problem


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param({"Moments": None}, "missing 'Moments'", id="missing"),
        pytest.param({"Moments": ""}, "untranslated 'Moments'", id="untranslated"),
        pytest.param(
            {"Saved {title}.": "{otsikko} tallennettu."}, "placeholders ['{otsikko}']", id="renamed"
        ),
        pytest.param({"Saved {title}.": "Tallennettu."}, "placeholders []", id="dropped"),
        pytest.param({"Gone": "Poissa"}, "'Gone' is no longer in the code", id="stale"),
    ],
)
def test_each_problem_is_named(change: dict[str, str | None], expected: str) -> None:
    entries: dict[object, object] = {**COMPLETE_FI, **change}
    entries = {k: v for k, v in entries.items() if v is not None}
    problems = check_catalogs.problems_of("fi", catalog("fi", entries), SOURCE)
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_fuzzy_text_is_named() -> None:
    made = catalog("fi", COMPLETE_FI, fuzzy=("Moments",))
    assert check_catalogs.problems_of("fi", made, SOURCE) == [
        "fi: fuzzy 'Moments' (check the translation, then drop the flag)"
    ]


def test_the_project_catalogs_are_complete() -> None:
    assert check_catalogs.main() == 0
