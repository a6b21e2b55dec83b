"""Shopify order webhooks -> `conversion` events of orders that came from social."""

from __future__ import annotations

import urllib.parse
from typing import Any

from services.domain.vocabulary import network_from_source
from services.ingest.platforms.mapped import Event, Mapped, iso

# Order webhooks (topics orders/create, orders/updated, orders/paid, orders/cancelled; the
# payload is Shopify's REST Order resource). Money fields are decimal
# strings ("369.97"); `landing_site` is the first page's path with its query, `referring_site`
# the referrer's URL.

SHOPIFY_ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid"})
SHOPIFY_CANCELLED = "orders/cancelled"


def mapped(payload: Any, *, topic: str) -> Mapped:
    """One order -> one `conversion` (id `shopify:order:{id}`, replaced on every update); a
    cancelled order -> the same id with count 0 and value 0. Orders not from social and
    other topics are skipped."""
    out = Mapped()
    if topic not in SHOPIFY_ORDER_TOPICS and topic != SHOPIFY_CANCELLED:
        out.skipped += 1
        return out
    if not isinstance(payload, dict) or not payload.get("id"):
        out.unmappable.append(("id: not a Shopify order", payload))
        return out
    utm = _utm(payload.get("landing_site"))
    network = network_from_source(utm.get("utm_source")) or network_from_source(
        _host(payload.get("referring_site"))
    )
    if network is None:
        out.skipped += 1  # not from social: not ours to count
        return out
    with out.guard(None, payload):
        out.events.append(_order(payload, topic, network, utm))
    return out


def _order(order: dict[str, Any], topic: str, network: str, utm: dict[str, str]) -> Event:
    cancelled = topic == SHOPIFY_CANCELLED or bool(order.get("cancelled_at"))
    total = order.get("current_total_price") or order.get("total_price")
    if total is None and not cancelled:
        raise ValueError("current_total_price: missing (and no total_price)")
    customer = order.get("customer") if isinstance(order.get("customer"), dict) else {}
    email = order.get("email") or (customer or {}).get("email")
    attributes = {**utm}
    if order.get("name"):
        attributes["order_name"] = str(order["name"])
    event: Event = {
        "event_id": f"shopify:order:{order['id']}",
        "occurred_at": iso(order.get("created_at")),
        "network": network,
        "kind": "conversion",
        # Shopify sends orders/updated beside orders/cancelled, in no set order: any delivery
        # of a cancelled order says count 0, so whichever comes last, it stays cancelled.
        "count": 0 if cancelled else 1,
        "value": "0" if cancelled else str(total),
        # None is refused by validation, naming the field, like any event without one.
        "currency": order.get("currency"),  # type: ignore[typeddict-item]
        "attributes": attributes,
    }
    if email:
        event["actor"] = str(email).strip().lower()
    return event


def _utm(landing_site: Any) -> dict[str, str]:
    """The utm_* parameters of the landing page's query ("/products/x?utm_source=ig&...")."""
    if not isinstance(landing_site, str) or "?" not in landing_site:
        return {}
    query = urllib.parse.parse_qs(landing_site.split("?", 1)[1].split("#", 1)[0])
    return {
        name: values[0][:1000]
        for name, values in sorted(query.items())
        if name in UTM_FIELDS and values and values[0]
    }


UTM_FIELDS = frozenset({"utm_source", "utm_medium", "utm_campaign", "utm_content"})


def _host(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    return urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname
