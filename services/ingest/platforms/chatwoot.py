"""Chatwoot webhooks -> events: messages, resolutions and CSAT answers of support conversations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.ingest.platforms.mapped import Event, Mapped, iso, person_name

# Chatwoot inbox channel types (app/models/channel/*) -> Rapport networks.
CHANNELS = {
    "Channel::Email": "email",
    "Channel::TwitterProfile": "twitter",
    "Channel::FacebookPage": "facebook",
    "Channel::Instagram": "instagram",
    "Channel::Whatsapp": "chat",
    "Channel::WebWidget": "chat",
    "Channel::Sms": "chat",
    "Channel::TwilioSms": "chat",
    "Channel::Telegram": "chat",
    "Channel::Line": "chat",
    "Channel::Api": "other",
}
INCOMING, OUTGOING = ("incoming", 0), ("outgoing", 1)


def mapped(payload: Any, *, delivered_at: str | None = None) -> Mapped:
    out = Mapped()
    if not isinstance(payload, dict) or "event" not in payload:
        out.unmappable.append(("event: missing, not a Chatwoot webhook", payload))
        return out
    with out.guard(str(payload.get("event")), payload):
        if payload["event"] == "message_created":
            _message(out, payload)
        elif payload["event"] == "conversation_status_changed":
            _status(out, payload, delivered_at)
        elif payload["event"] == "message_updated" and payload.get("content_type") == "input_csat":
            _csat(out, payload, delivered_at)
        else:
            # Contact, typing and other events; any other message_updated (a delivery status,
            # an edit): the message was counted when it was created.
            out.skipped += 1
    return out


def _account_id(*parts: Any) -> str:
    """The Chatwoot account: `account_id` or `account.id` of the first part that has one.
    Conversation payloads carry neither before Chatwoot added `account` (September 2025,
    chatwoot/chatwoot#12445); their `messages` (the last message) carry `account_id`."""
    for part in parts:
        if not isinstance(part, dict):
            continue
        found = part.get("account_id") or (part.get("account") or {}).get("id")
        if found is not None:
            return str(found)
    raise ValueError("account_id: missing (no account_id, account.id or messages[].account_id)")


def _inbox_account(inbox_id: Any) -> str:
    """The brand account of a Chatwoot event: its inbox, by id. Messages carry the inbox's
    name but conversations (resolutions) only `inbox_id`; naming both by the id keeps a
    resolution with its messages, and survives renaming the inbox."""
    if inbox_id is None or inbox_id == "":
        raise ValueError("inbox_id: missing")
    return f"chatwoot-inbox-{inbox_id}"


def _message(out: Mapped, message: dict[str, Any]) -> None:
    kind = message.get("message_type")
    if message.get("private") or kind not in (*INCOMING, *OUTGOING):
        out.skipped += 1  # private notes, activity and template messages
        return
    conversation = message["conversation"]
    account_id = _account_id(message, conversation)
    inbox = message.get("inbox") or {}
    sender = message.get("sender") or {}
    incoming = kind in INCOMING
    event: Event = {
        "event_id": f"chatwoot:message:{account_id}:{message['id']}",
        "occurred_at": iso(message["created_at"]),
        "network": CHANNELS.get(str(conversation.get("channel")), "other"),
        "kind": "message_received" if incoming else "message_sent",
        "account": _inbox_account(inbox.get("id") or conversation.get("inbox_id")),
        "actor": person_name(sender) if incoming or sender.get("type") == "user" else None,
        "conversation_id": f"chatwoot:{account_id}:{conversation['id']}",
    }
    if inbox.get("name"):
        event["attributes"] = {"chatwoot_inbox": str(inbox["name"])}
    out.events.append(event)


def _status(out: Mapped, conversation: dict[str, Any], delivered_at: str | None) -> None:
    if conversation.get("status") != "resolved":
        out.skipped += 1  # reopened, pending, snoozed
        return
    messages = conversation.get("messages")
    account_id = _account_id(conversation, *(messages if isinstance(messages, list) else []))
    # `timestamp` is the conversation's last activity (its last message), not the change of
    # status; `updated_at` is when the conversation was saved resolved.
    when = conversation.get("updated_at") or delivered_at
    if when is None:
        raise ValueError("updated_at: missing, and no X-Chatwoot-Timestamp")
    try:
        at = int(dt.datetime.fromisoformat(iso(when)).timestamp())
    except ValueError as exc:
        raise ValueError(f"updated_at: {exc}") from None
    out.events.append(
        {
            "event_id": f"chatwoot:resolved:{account_id}:{conversation['id']}:{at}",
            "occurred_at": iso(at),
            "network": CHANNELS.get(str(conversation.get("channel")), "other"),
            "kind": "conversation_resolved",
            "account": _inbox_account(conversation.get("inbox_id")),
            "actor": person_name((conversation.get("meta") or {}).get("assignee")),
            "conversation_id": f"chatwoot:{account_id}:{conversation['id']}",
        }
    )


def _csat(out: Mapped, message: dict[str, Any], delivered_at: str | None) -> None:
    """A CSAT answer -> a `rating` on the conversation of its messages. Chatwoot's survey is
    a message of content_type `input_csat` sent when a conversation is resolved; the customer's
    answer updates that message (so `message_updated`), the answer in
    `content_attributes.submitted_values.csat_survey_response` as `rating` (1..5) and
    `feedback_message`: Chatwoot reads it from there in `CsatSurveys::ResponseBuilder`
    (chatwoot/chatwoot `app/builders/csat_surveys/response_builder.rb`), the payload being the
    message's `webhook_data` (`app/models/message.rb`). One event per conversation, so a
    changed answer replaces the first."""
    attributes = message.get("content_attributes") or {}
    answer = (attributes.get("submitted_values") or {}).get("csat_survey_response") or {}
    if answer.get("rating") in (None, ""):
        out.skipped += 1  # the survey sent, or delivered: not answered yet
        return
    conversation = message["conversation"]
    account_id = _account_id(message, conversation)
    try:
        stars = int(answer["rating"])
    except (TypeError, ValueError):
        raise ValueError(f"rating: {str(answer['rating'])[:40]!r} is not a number") from None
    # When it was answered: the message's update, else the delivery (the message's own
    # `created_at` is when the survey was sent).
    when = message.get("updated_at") or delivered_at or message["created_at"]
    event: Event = {
        "event_id": f"chatwoot:csat:{account_id}:{conversation['id']}",
        "occurred_at": iso(when),
        "network": CHANNELS.get(str(conversation.get("channel")), "other"),
        "kind": "rating",
        "count": stars,
        "account": _inbox_account(
            (message.get("inbox") or {}).get("id") or conversation.get("inbox_id")
        ),
        "conversation_id": f"chatwoot:{account_id}:{conversation['id']}",
    }
    comment = str(answer.get("feedback_message") or "").strip()
    if comment:
        event["attributes"] = {"comment": comment[:1000]}  # the longest attribute value
    out.events.append(event)
