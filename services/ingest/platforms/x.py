"""X Account Activity API deliveries -> events: tweets that concern the brand, likes of its tweets,
direct messages and follows."""

from __future__ import annotations

from typing import Any

from services.ingest.platforms.mapped import Event, Mapped, as_list, iso


def mapped(payload: Any) -> Mapped:
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
    for tweet in as_list(payload, "tweet_create_events"):
        with out.guard("tweet_create_events", tweet):
            _tweet(out, brand, tweet)
    for favorite in as_list(payload, "favorite_events"):
        with out.guard("favorite_events", favorite):
            _favorite(out, brand, favorite)
    for message in as_list(payload, "direct_message_events"):
        with out.guard("direct_message_events", message):
            _dm(out, brand, users, message)
    for follow in as_list(payload, "follow_events"):
        with out.guard("follow_events", follow):
            _follow(out, brand, follow)
    if not any(k in payload for k in known):
        out.skipped += 1  # deletes, blocks, mutes, typing indicators: not interactions
    return out


def _person(user: Any) -> tuple[str | None, dict[str, str]]:
    """The actor is the handle (`screen_name`), the same in tweets, likes, DMs and follows;
    the display name, which a person changes at will, is kept as an attribute."""
    if not isinstance(user, dict):
        return None, {}
    handle = user.get("screen_name") or user.get("id_str") or user.get("id")
    named = {"display_name": str(user["name"])} if user.get("name") else {}
    return (str(handle) if handle else None), named


def _tweet(out: Mapped, brand: str, tweet: Any) -> None:
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
    actor, named = _person(author)
    event: Event = {
        "event_id": f"x:tweet:{brand}:{tweet['id_str']}",
        "occurred_at": iso(tweet.get("timestamp_ms") or tweet["created_at"]),
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


def _favorite(out: Mapped, brand: str, favorite: Any) -> None:
    liked = favorite["favorited_status"]
    if str(liked["user"]["id_str"]) != brand:
        out.skipped += 1  # the brand liked someone else's tweet
        return
    actor, named = _person(favorite.get("user"))
    event: Event = {
        "event_id": f"x:favorite:{favorite['id']}",
        "occurred_at": iso(favorite.get("timestamp_ms") or favorite["created_at"]),
        "network": "twitter",
        "kind": "like",
        "account": brand,
        "actor": actor,
        "post_id": str(liked["id_str"]),
    }
    if named:
        event["attributes"] = named
    out.events.append(event)


def _dm(out: Mapped, brand: str, users: dict[str, Any], message: Any) -> None:
    if message.get("type") != "message_create":
        out.skipped += 1
        return
    create = message["message_create"]
    sender = str(create["sender_id"])
    sent = sender == brand
    person = str(create["target"]["recipient_id"]) if sent else sender
    actor, named = (None, {}) if sent else _person(users.get(sender))
    event: Event = {
        # A message between two subscribed accounts is sent for one, received for the other;
        # each account's thread with a person is a conversation of its own.
        "event_id": f"x:dm:{brand}:{message['id']}",
        "occurred_at": iso(message["created_timestamp"]),
        "network": "twitter",
        "kind": "message_sent" if sent else "message_received",
        "account": brand,
        "actor": None if sent else (actor or sender),
        "conversation_id": f"dm:{brand}:{person}",
    }
    if named:
        event["attributes"] = named
    out.events.append(event)


def _follow(out: Mapped, brand: str, follow: Any) -> None:
    if follow.get("type") != "follow" or str(follow["target"]["id"]) != brand:
        out.skipped += 1  # unfollows, and the brand following others
        return
    actor, named = _person(follow.get("source"))
    event: Event = {
        "event_id": f"x:follow:{follow['source']['id']}:{follow['created_timestamp']}",
        "occurred_at": iso(follow["created_timestamp"]),
        "network": "twitter",
        "kind": "follow",
        "account": brand,
        "actor": actor,
    }
    if named:
        event["attributes"] = named
    out.events.append(event)
