"""Meta Webhooks -> events: Pages `feed` (comments, reactions, shares, visitors' posts),
Messenger and Instagram messaging, Instagram `comments` and `mentions`."""

from __future__ import annotations

from typing import Any

from services.ingest.platforms.mapped import Event, Mapped, as_list, iso, person_name

# Pages `feed` items that are an interaction with the Page, and the kind they count as. A like
# (Graph API v2.x) and a reaction (later versions) are one thing: one per person and target.
FEED_KINDS = {"comment": "comment", "reaction": "like", "like": "like", "share": "share"}
FEED_PREFIX = {"comment": "comment", "reaction": "reaction", "like": "reaction", "share": "share"}


def mapped(payload: Any) -> Mapped:
    out = Mapped()
    if not isinstance(payload, dict) or payload.get("object") not in ("page", "instagram"):
        out.unmappable.append(("object: not a Page or Instagram notification", payload))
        return out
    network = "facebook" if payload["object"] == "page" else "instagram"
    for entry in as_list(payload, "entry"):
        if not isinstance(entry, dict):
            out.unmappable.append(("entry: not an object", entry))
            continue
        owner = str(entry.get("id", ""))
        for change in as_list(entry, "changes"):
            with out.guard("change", change):
                _change(out, network, owner, entry, change)
        for item in as_list(entry, "messaging"):
            with out.guard("messaging", item):
                _message(out, network, owner, item)
    return out


def _sender(value: dict[str, Any]) -> dict[str, Any]:
    """Who acted: `from`, or `sender_id` / `sender_name` in Graph API v2.5 deliveries."""
    if isinstance(value.get("from"), dict):
        return dict(value["from"])
    if value.get("sender_id") is not None:
        return {"id": value["sender_id"], "name": value.get("sender_name")}
    return {}


def _change(out: Mapped, network: str, owner: str, entry: Any, change: Any) -> None:
    name, value = change["field"], change["value"]
    when = iso(value.get("created_time") or entry.get("time"))
    if network == "facebook" and name == "feed":
        _feed(out, owner, when, change, value)
    elif network == "instagram" and name == "comments":
        sender = value.get("from") or {}
        if str(sender.get("id", "")) == owner:
            out.skipped += 1  # the account's own comment (its replies), as a Page's own posts
            return
        out.events.append(
            {
                "event_id": f"meta:ig_comment:{value['id']}",
                "occurred_at": when,
                "network": network,
                "kind": "comment",
                "account": owner,
                "actor": person_name(sender),
                "post_id": str((value.get("media") or {}).get("id") or "") or None,
            }
        )
    elif network == "instagram" and name == "mentions":
        media, comment = value.get("media_id"), value.get("comment_id")
        out.events.append(
            {
                "event_id": f"meta:ig_mention:{media}:{comment or ''}",
                "occurred_at": when,
                "network": network,
                "kind": "mention",
                "account": owner,
                "post_id": str(media) if media else None,
            }
        )
    else:
        out.unmappable.append((f"field {name!r}: not one Rapport maps", change))


def _feed(out: Mapped, owner: str, when: str, change: Any, value: dict[str, Any]) -> None:
    item, verb = value.get("item"), value.get("verb")
    sender = _sender(value)
    person = str(sender.get("id", ""))
    reaction = item in ("reaction", "like")
    if person == owner or verb in ("edited", "hide", "unhide") or (verb == "edit" and not reaction):
        out.skipped += 1  # the Page's own activity, or an edit of something counted
        return
    post = str(value.get("post_id") or "") or None
    if item in ("post", "status") and verb == "add":
        kind, key = "mention", post  # a visitor's post on the Page
    elif (item in FEED_KINDS and verb in ("add", "remove")) or (reaction and verb == "edit"):
        kind = FEED_KINDS[str(item)]
        if item == "comment":
            key = value.get("comment_id")
        else:
            # One reaction per person and target: a reaction on a comment has the comment as
            # its target, and a changed reaction (verb "edit") replaces the person's earlier one.
            key = f"{value.get('comment_id') or post}:{person}"
    else:
        out.unmappable.append((f"feed item {item!r} verb {verb!r}: not counted", change))
        return
    attributes: dict[str, str] = {}
    if reaction and value.get("reaction_type"):
        attributes["reaction_type"] = str(value["reaction_type"])
    if reaction and value.get("comment_id"):
        attributes["comment_id"] = str(value["comment_id"])
    event: Event = {
        "event_id": f"meta:{FEED_PREFIX.get(str(item), str(item))}:{key}",
        "occurred_at": when,
        "network": "facebook",
        "kind": kind,
        # A removed comment or reaction replaces the earlier event with nothing.
        "count": 0 if verb == "remove" else 1,
        "account": owner,
        "actor": person_name(sender),
        "post_id": post,
    }
    if attributes:
        event["attributes"] = attributes
    out.events.append(event)


def _message(out: Mapped, network: str, owner: str, item: Any) -> None:
    message = item.get("message")
    if message is None:
        out.skipped += 1  # delivery, read, reaction receipts: not a message
        return
    echo = bool(message.get("is_echo"))
    # The conversation is the person's thread with the Page: the other side of the message.
    person = item["recipient"]["id"] if echo else item["sender"]["id"]
    out.events.append(
        {
            "event_id": f"meta:message:{message['mid']}",
            "occurred_at": iso(item["timestamp"]),
            "network": network,
            "kind": "message_sent" if echo else "message_received",
            "account": owner,
            "actor": None if echo else str(person),
            "conversation_id": f"{owner}:{person}",
        }
    )
