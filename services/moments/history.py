"""A moment's history as people read it: an edit's changes, field by field, in their language."""

from __future__ import annotations

import json
from typing import Any

from services.common import i18n
from services.common.i18n import N_
from services.domain.vocabulary import MOMENT_WORDS, NETWORK_LABELS, moment_word, network_label


def describe_changes(changes: str | None, language: str = i18n.DEFAULT) -> list[str]:
    """An edit's changes as people read them, in the language: "What changed: 'A' → 'B'"."""
    if not changes:
        return []
    say = i18n.speaker(language)
    lines = []
    for field, (before, after) in json.loads(changes).items():
        label = CHANGE_LABELS.get(field)
        name = say._(label) if label else field.replace("_", " ").capitalize()
        lines.append(
            say._(
                "{field}: {before} → {after}",
                field=name,
                before=_shown(before, say),
                after=_shown(after, say),
            )
        )
    return lines


# Each field of a moment as the form labels it.
CHANGE_LABELS = {
    "change": N_("What changed"),
    "occurred_on": N_("Date"),
    "customer_status": N_("Customer"),
    "network": N_("Network"),
    "link": N_("Link"),
    "people": N_("People"),
    "outcome": N_("Outcome"),
    "initiated_by": N_("Who reached out first"),
    "notes": N_("Notes"),
    "tags": N_("Tags"),
}


def _shown(value: Any, say: i18n.Speaker) -> str:
    if value in (None, "", []):
        return say._("(empty)")
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    elif isinstance(value, str) and value in MOMENT_WORDS:  # a status or outcome, as people say it
        value = moment_word(value, say.language)
    elif isinstance(value, str) and value in NETWORK_LABELS:
        value = network_label(value, say.language)
    return say._("'{value}'", value=value)
