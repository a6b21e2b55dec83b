"""Builders for moments as a client sends them."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

_n = itertools.count()


def moment(**overrides: Any) -> dict[str, Any]:
    number = next(_n)
    data: dict[str, Any] = {
        "occurred_on": (dt.date.today() - dt.timedelta(days=1)).isoformat(),
        "network": "twitter",
        "link": f"https://x.com/ana/status/{1000 + number}",
        "people": ["@ana"],
        "customer_status": "existing_customer",
        "change": "Renewed after we fixed her export.",
        "outcome": "retention",
        "initiated_by": "customer",
        "tags": ["billing"],
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
