"""The catalogs say everything the code says (run by `make lint`).

Reads the texts marked in services/ (Python and the Jinja templates, as `make messages` does)
and fails, naming each, when a language's catalog (services/locale/<language>/LC_MESSAGES/
rapport.po) lacks one, leaves one untranslated or fuzzy, gives a plural text fewer forms than
the language has, keeps a text the code no longer marks, or translates a text with other
placeholders than the English one ("{count} moments" must keep "{count}").
Exit status 1 with every problem; 0 when every catalog is complete.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "services" / "locale"
LANGUAGES = ("tr", "ar", "fa", "fi")  # English is the source
KEYWORDS = {"_": None, "n_": (1, 2), "N_": None, "gettext": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sd]")


def marked() -> dict[str, tuple[str, ...]]:
    """Every marked text of services/: its id, and its forms (one, or singular and plural)."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, tuple[str, ...]] = {}
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT / "services"), method_map, options_map, keywords=KEYWORDS
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def problems_of(language: str, catalog: Catalog, source: dict[str, tuple[str, ...]]) -> list[str]:
    problems: list[str] = []
    say = problems.append
    for msgid, forms in sorted(source.items()):
        message: Message | None = catalog.get(msgid)
        if message is None:
            say(f"{language}: missing {msgid!r} (run `make messages`, then translate it)")
            continue
        if message.fuzzy:
            say(f"{language}: fuzzy {msgid!r} (check the translation, then drop the flag)")
        translated = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(translated):
            say(f"{language}: untranslated {msgid!r}")
            continue
        if len(forms) > 1 and len(translated) != catalog.num_plurals:
            say(
                f"{language}: {msgid!r} has {len(translated)} plural forms; "
                f"{language} has {catalog.num_plurals}"
            )
        expected = placeholders(forms[-1]) | placeholders(forms[0])
        for text in translated:
            if placeholders(text) - expected or (
                len(forms) == 1 and placeholders(text) != expected
            ):
                say(
                    f"{language}: {msgid!r} -> {text!r}: placeholders "
                    f"{sorted(placeholders(text))} differ from {sorted(expected)}"
                )
    for message in catalog:
        if message.id and message.id not in source:
            key = message.id if isinstance(message.id, str) else message.id[0]
            if key not in source:
                say(f"{language}: {key!r} is no longer in the code (run `make messages`)")
    return problems


def main() -> int:
    source = marked()
    problems: list[str] = []
    for language in LANGUAGES:
        path = LOCALE / language / "LC_MESSAGES" / "rapport.po"
        if not path.exists():
            problems.append(f"{language}: no catalog at {path.relative_to(ROOT)}")
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=language)
        problems += problems_of(language, catalog, source)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} catalog problems.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
