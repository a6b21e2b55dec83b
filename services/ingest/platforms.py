"""Platform webhook payloads -> interaction events
(docs/operating.md#live-data-platform-webhooks).

Pure functions, no I/O. Each returns `Mapped`: the events (event ids derived from the platform's
own ids, so a redelivery replaces instead of adding), what could not be mapped (it goes to the
dead-letter topic with the reason) and how many known non-interactions were skipped (delivery
and read receipts, the brand's own posts). Layouts as the platforms document and send them:

- Meta Webhooks: Pages `feed`, Messenger `messaging`, Instagram `comments` / `mentions` and
  messaging.
- X Account Activity API: `for_user_id`, `tweet_create_events`, `favorite_events`,
  `direct_message_events`, `follow_events`.
- Chatwoot webhooks: the conversation payload (`id`, `inbox_id`, `channel`, `status`,
  `timestamp` = last activity, `updated_at`, `meta.assignee`) and the message payload
  (`account`, `inbox`, `conversation`, `sender`).

Real deliveries these are tested with, and where each comes from:
tests/ingest/samples/webhooks/README.md.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from services.domain.vocabulary import network_from_source

Event = dict[str, Any]


@dataclass
class Mapped:
    events: list[Event] = field(default_factory=list)
    unmappable: list[tuple[str, Any]] = field(default_factory=list)  # (reason, the part)
    skipped: int = 0


def _iso(value: Any) -> str:
    """A platform's time as RFC 3339: Unix seconds or milliseconds, ISO 8601, or X's
    "Wed Oct 10 20:19:24 +0000 2018"."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        seconds = number / 1000 if number > 10**11 else number  # milliseconds
        try:
            return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"no time in {value!r}: out of range") from None
    if isinstance(value, str):
        for layout in _iso_8601, _x_created_at:
            try:
                parsed = layout(value)
            except ValueError:
                continue
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).isoformat()
    raise ValueError(f"no time in {value!r}")


def _iso_8601(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _x_created_at(value: str) -> dt.datetime:  # "Wed Oct 10 20:19:24 +0000 2018"
    return dt.datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y")


def _name(person: Any) -> str | None:
    if not isinstance(person, dict):
        return None
    value = person.get("username") or person.get("name") or person.get("screen_name")
    value = value or person.get("id")
    return str(value) if value else None


def _list(parent: dict[str, Any], key: str) -> list[Any]:
    """`parent[key]` as a list (absent: empty); any other shape is refused naming the field."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {type(value).__name__}")
    return value


# --- Meta ------------------------------------------------------------------------------------

# Pages `feed` items that are an interaction with the Page, and the kind they count as. A like
# (Graph API v2.x) and a reaction (later versions) are one thing: one per person and target.
FEED_KINDS = {"comment": "comment", "reaction": "like", "like": "like", "share": "share"}
FEED_PREFIX = {"comment": "comment", "reaction": "reaction", "like": "reaction", "share": "share"}


def meta(payload: Any) -> Mapped:
    out = Mapped()
    if not isinstance(payload, dict) or payload.get("object") not in ("page", "instagram"):
        out.unmappable.append(("object: not a Page or Instagram notification", payload))
        return out
    network = "facebook" if payload["object"] == "page" else "instagram"
    for entry in _list(payload, "entry"):
        if not isinstance(entry, dict):
            out.unmappable.append(("entry: not an object", entry))
            continue
        owner = str(entry.get("id", ""))
        for change in _list(entry, "changes"):
            _meta_change(out, network, owner, entry, change)
        for item in _list(entry, "messaging"):
            _meta_message(out, network, owner, item)
    return out


def _meta_sender(value: dict[str, Any]) -> dict[str, Any]:
    """Who acted: `from`, or `sender_id` / `sender_name` in Graph API v2.5 deliveries."""
    if isinstance(value.get("from"), dict):
        return dict(value["from"])
    if value.get("sender_id") is not None:
        return {"id": value["sender_id"], "name": value.get("sender_name")}
    return {}


def _meta_change(out: Mapped, network: str, owner: str, entry: Any, change: Any) -> None:
    try:
        name, value = change["field"], change["value"]
        when = _iso(value.get("created_time") or entry.get("time"))
        if network == "facebook" and name == "feed":
            _meta_feed(out, owner, when, change, value)
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
                    "actor": _name(sender),
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
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.unmappable.append((f"change: {exc}", change))


def _meta_feed(out: Mapped, owner: str, when: str, change: Any, value: dict[str, Any]) -> None:
    item, verb = value.get("item"), value.get("verb")
    sender = _meta_sender(value)
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
        "actor": _name(sender),
        "post_id": post,
    }
    if attributes:
        event["attributes"] = attributes
    out.events.append(event)


def _meta_message(out: Mapped, network: str, owner: str, item: Any) -> None:
    try:
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
                "occurred_at": _iso(item["timestamp"]),
                "network": network,
                "kind": "message_sent" if echo else "message_received",
                "account": owner,
                "actor": None if echo else str(person),
                "conversation_id": f"{owner}:{person}",
            }
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.unmappable.append((f"messaging: {exc}", item))


# --- X -----------------------------------------------------------------------------------------


def x(payload: Any) -> Mapped:
    """One delivery is for one subscribed account (`for_user_id`): a tweet that concerns two
    subscribed brands comes twice, once for each, and is an event for each (the event ids
    carry `for_user_id`)."""
    out = Mapped()
    if not isinstance(payload, dict) or "for_user_id" not in payload:
        out.unmappable.append(("for_user_id: missing, not an Account Activity event", payload))
        return out
    brand = str(payload["for_user_id"])
    users = payload.get("users") or {}
    known = ("tweet_create_events", "favorite_events", "direct_message_events", "follow_events")
    for tweet in _list(payload, "tweet_create_events"):
        _x_guard(out, "tweet_create_events", tweet, lambda t=tweet: _x_tweet(out, brand, t))
    for favorite in _list(payload, "favorite_events"):
        _x_guard(out, "favorite_events", favorite, lambda f=favorite: _x_favorite(out, brand, f))
    for message in _list(payload, "direct_message_events"):
        _x_guard(
            out, "direct_message_events", message, lambda m=message: _x_dm(out, brand, users, m)
        )
    for follow in _list(payload, "follow_events"):
        _x_guard(out, "follow_events", follow, lambda f=follow: _x_follow(out, brand, f))
    if not any(k in payload for k in known):
        out.skipped += 1  # deletes, blocks, mutes, typing indicators: not interactions
    return out


def _x_guard(out: Mapped, where: str, part: Any, work: Any) -> None:
    try:
        work()
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.unmappable.append((f"{where}: {exc}", part))


def _x_person(user: Any) -> tuple[str | None, dict[str, str]]:
    """The actor is the handle (`screen_name`), the same in tweets, likes, DMs and follows;
    the display name, which a person changes at will, is kept as an attribute."""
    if not isinstance(user, dict):
        return None, {}
    handle = user.get("screen_name") or user.get("id_str") or user.get("id")
    named = {"display_name": str(user["name"])} if user.get("name") else {}
    return (str(handle) if handle else None), named


def _x_tweet(out: Mapped, brand: str, tweet: Any) -> None:
    author = tweet["user"]
    if str(author["id_str"]) == brand:
        out.skipped += 1  # the brand's own tweet, reply or retweet
        return
    retweeted, quoted = tweet.get("retweeted_status"), tweet.get("quoted_status")
    attributes: dict[str, str] = {}
    if retweeted is not None:
        if str(retweeted["user"]["id_str"]) != brand:
            out.skipped += 1  # a retweet of someone else's tweet: the tweet itself counted
            return
        kind, post = "share", str(retweeted["id_str"])  # a retweet shares the brand's post
    elif quoted is not None and str(quoted["user"]["id_str"]) == brand:
        # A quote is a post of its own that mentions the brand's post.
        kind, post = "mention", str(tweet["id_str"])
        attributes["quoted_post_id"] = str(quoted["id_str"])
    elif str(tweet.get("in_reply_to_user_id_str") or "") == brand:
        kind, post = "reply", str(tweet["in_reply_to_status_id_str"] or tweet["id_str"])
    else:
        # A mention, also one inside a reply to a third party: the post is the mention itself.
        kind, post = "mention", str(tweet["id_str"])
    actor, named = _x_person(author)
    event: Event = {
        "event_id": f"x:tweet:{brand}:{tweet['id_str']}",
        "occurred_at": _iso(tweet.get("timestamp_ms") or tweet["created_at"]),
        "network": "twitter",
        "kind": kind,
        "account": brand,
        "actor": actor,
        "post_id": post,
        "url": f"https://x.com/{actor}/status/{tweet['id_str']}" if actor else None,
    }
    if attributes or named:
        event["attributes"] = {**named, **attributes}
    out.events.append(event)


def _x_favorite(out: Mapped, brand: str, favorite: Any) -> None:
    liked = favorite["favorited_status"]
    if str(liked["user"]["id_str"]) != brand:
        out.skipped += 1  # the brand liked someone else's tweet
        return
    actor, named = _x_person(favorite.get("user"))
    event: Event = {
        "event_id": f"x:favorite:{favorite['id']}",
        "occurred_at": _iso(favorite.get("timestamp_ms") or favorite["created_at"]),
        "network": "twitter",
        "kind": "like",
        "account": brand,
        "actor": actor,
        "post_id": str(liked["id_str"]),
    }
    if named:
        event["attributes"] = named
    out.events.append(event)


def _x_dm(out: Mapped, brand: str, users: dict[str, Any], message: Any) -> None:
    if message.get("type") != "message_create":
        out.skipped += 1
        return
    create = message["message_create"]
    sender = str(create["sender_id"])
    sent = sender == brand
    person = str(create["target"]["recipient_id"]) if sent else sender
    actor, named = (None, {}) if sent else _x_person(users.get(sender))
    event: Event = {
        # A message between two subscribed accounts is sent for one, received for the other;
        # each account's thread with a person is a conversation of its own.
        "event_id": f"x:dm:{brand}:{message['id']}",
        "occurred_at": _iso(message["created_timestamp"]),
        "network": "twitter",
        "kind": "message_sent" if sent else "message_received",
        "account": brand,
        "actor": None if sent else (actor or sender),
        "conversation_id": f"dm:{brand}:{person}",
    }
    if named:
        event["attributes"] = named
    out.events.append(event)


def _x_follow(out: Mapped, brand: str, follow: Any) -> None:
    if follow.get("type") != "follow" or str(follow["target"]["id"]) != brand:
        out.skipped += 1  # unfollows, and the brand following others
        return
    actor, named = _x_person(follow.get("source"))
    event: Event = {
        "event_id": f"x:follow:{follow['source']['id']}:{follow['created_timestamp']}",
        "occurred_at": _iso(follow["created_timestamp"]),
        "network": "twitter",
        "kind": "follow",
        "account": brand,
        "actor": actor,
    }
    if named:
        event["attributes"] = named
    out.events.append(event)


# --- Chatwoot ------------------------------------------------------------------------------

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


def chatwoot(payload: Any, *, delivered_at: str | None = None) -> Mapped:
    out = Mapped()
    if not isinstance(payload, dict) or "event" not in payload:
        out.unmappable.append(("event: missing, not a Chatwoot webhook", payload))
        return out
    try:
        if payload["event"] == "message_created":
            _chatwoot_message(out, payload)
        elif payload["event"] == "conversation_status_changed":
            _chatwoot_status(out, payload, delivered_at)
        elif payload["event"] == "message_updated" and payload.get("content_type") == "input_csat":
            _chatwoot_csat(out, payload, delivered_at)
        else:
            # Contact, typing and other events; any other message_updated (a delivery status,
            # an edit): the message was counted when it was created.
            out.skipped += 1
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        out.unmappable.append((f"{payload.get('event')}: {exc}", payload))
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


def _chatwoot_message(out: Mapped, message: dict[str, Any]) -> None:
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
        "occurred_at": _iso(message["created_at"]),
        "network": CHANNELS.get(str(conversation.get("channel")), "other"),
        "kind": "message_received" if incoming else "message_sent",
        "account": _inbox_account(inbox.get("id") or conversation.get("inbox_id")),
        "actor": _name(sender) if incoming or sender.get("type") == "user" else None,
        "conversation_id": f"chatwoot:{account_id}:{conversation['id']}",
    }
    if inbox.get("name"):
        event["attributes"] = {"chatwoot_inbox": str(inbox["name"])}
    out.events.append(event)


def _chatwoot_status(out: Mapped, conversation: dict[str, Any], delivered_at: str | None) -> None:
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
        at = int(dt.datetime.fromisoformat(_iso(when)).timestamp())
    except ValueError as exc:
        raise ValueError(f"updated_at: {exc}") from None
    out.events.append(
        {
            "event_id": f"chatwoot:resolved:{account_id}:{conversation['id']}:{at}",
            "occurred_at": _iso(at),
            "network": CHANNELS.get(str(conversation.get("channel")), "other"),
            "kind": "conversation_resolved",
            "account": _inbox_account(conversation.get("inbox_id")),
            "actor": _name((conversation.get("meta") or {}).get("assignee")),
            "conversation_id": f"chatwoot:{account_id}:{conversation['id']}",
        }
    )


def _chatwoot_csat(out: Mapped, message: dict[str, Any], delivered_at: str | None) -> None:
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
        "occurred_at": _iso(when),
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


# --- Shopify ---------------------------------------------------------------------------------
# Order webhooks (topics orders/create, orders/updated, orders/paid, orders/cancelled; the
# payload is Shopify's REST Order resource). Money fields are decimal
# strings ("369.97"); `landing_site` is the first page's path with its query, `referring_site`
# the referrer's URL.

SHOPIFY_ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid"})
SHOPIFY_CANCELLED = "orders/cancelled"


def shopify(payload: Any, *, topic: str) -> Mapped:
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
    try:
        out.events.append(_shopify_order(payload, topic, network, utm))
    except ValueError as exc:
        out.unmappable.append((str(exc), payload))
    return out


def _shopify_order(order: dict[str, Any], topic: str, network: str, utm: dict[str, str]) -> Event:
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
        "occurred_at": _iso(order.get("created_at")),
        "network": network,
        "kind": "conversion",
        # Shopify sends orders/updated beside orders/cancelled, in no set order: any delivery
        # of a cancelled order says count 0, so whichever comes last, it stays cancelled.
        "count": 0 if cancelled else 1,
        "value": "0" if cancelled else str(total),
        "currency": order.get("currency"),
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
