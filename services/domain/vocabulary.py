"""The event vocabulary every service shares: networks, kinds, and which kinds count as what."""

from __future__ import annotations

from enum import StrEnum

from services.common.i18n import DEFAULT, N_, speaker


class Network(StrEnum):
    twitter = "twitter"
    facebook = "facebook"
    instagram = "instagram"
    linkedin = "linkedin"
    tiktok = "tiktok"
    youtube = "youtube"
    reddit = "reddit"
    threads = "threads"
    bluesky = "bluesky"
    pinterest = "pinterest"
    whatsapp = "whatsapp"
    email = "email"
    chat = "chat"
    other = "other"


NETWORK_ALIASES = {"x": "twitter"}
# How people read each network: as the platforms spell themselves (pages, CSVs for people, reports).
# Brand names stay as the platforms write them in every language; only the common nouns translate.
NETWORK_LABELS = {
    "twitter": "X (Twitter)",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "reddit": "Reddit",
    "threads": "Threads",
    "bluesky": "Bluesky",
    "pinterest": "Pinterest",
    "whatsapp": "WhatsApp",
    "email": N_("Email"),
    "chat": N_("Chat"),
    "other": N_("Other"),
}


def network_label(name: str, language: str = DEFAULT) -> str:
    """A network as people read it in the language (brand names as the platforms write them)."""
    label = NETWORK_LABELS.get(name)
    return speaker(language)._(label) if label else name


class Kind(StrEnum):
    impression = "impression"
    reach = "reach"
    like = "like"
    comment = "comment"
    reply = "reply"
    share = "share"
    mention = "mention"
    save = "save"
    click = "click"
    follow = "follow"
    profile_visit = "profile_visit"
    message_received = "message_received"
    message_sent = "message_sent"
    conversation_resolved = "conversation_resolved"
    # Outcomes: a follower-total snapshot, and what social brought to the brand's own site.
    followers = "followers"
    visit = "visit"
    lead = "lead"
    conversion = "conversion"
    # A customer's satisfaction with a support conversation, `count` 1..5 (docs/figures.md).
    rating = "rating"


MESSAGE_KINDS = frozenset({Kind.message_received, Kind.message_sent, Kind.conversation_resolved})
KIND_NAMES = tuple(k.value for k in Kind)
MESSAGE_KIND_NAMES = frozenset(k.value for k in MESSAGE_KINDS)
# The kinds that belong to one support conversation: its messages and its ratings. Each needs a
# `conversation_id`, makes the consumer recompute that conversation's facts, and is kept by
# retention (the facts are recomputed from them).
CONVERSATION_KIND_NAMES = MESSAGE_KIND_NAMES | {Kind.rating.value}
# A rating's scale: 1 (very unhappy) to 5 (very happy); 4 and 5 count as satisfied (CSAT).
RATING_SCALE = (1, 5)
SATISFIED_FROM = 4
ENGAGEMENT_KINDS = frozenset(
    {Kind.like, Kind.comment, Kind.reply, Kind.share, Kind.mention, Kind.save, Kind.click}
)
ENGAGEMENT_KIND_NAMES = frozenset(k.value for k in ENGAGEMENT_KINDS)
# Every spelling a client may send for a network, to the stored name.
NETWORK_NAMES = {n.value: n.value for n in Network} | NETWORK_ALIASES


# The moment vocabulary as people say it, one wording for the moments site, the reports, the
# CSVs and the audit trail.
MOMENT_WORDS = {
    "existing_customer": N_("Existing customer"),
    "prospect": N_("Prospect"),
    "not_customer": N_("Not a customer"),
    "unknown": N_("Unknown"),
    "retention": N_("Retention"),
    "expansion": N_("Expansion"),
    "advocacy": N_("Advocacy"),
    "product_feedback": N_("Product feedback"),
    "issue_resolved": N_("Issue resolved"),
    "referral": N_("Referral"),
    "other": N_("Other"),
    "customer": N_("Customer (they wrote first)"),
    "brand": N_("Brand (we reached out)"),
}


def moment_word(value: str, language: str = DEFAULT) -> str:
    """A customer status, outcome or initiator as people read it in the language (else the
    value itself)."""
    word = MOMENT_WORDS.get(value)
    return speaker(language)._(word) if word else value


OUTCOME_KIND_NAMES = frozenset({"followers", "visit", "lead", "conversion"})
# What social brought to the brand's own site, counted per network and campaign.
FUNNEL_KIND_NAMES = frozenset({"visit", "lead", "conversion"})
# Only these carry `value` and `currency`: money changes hands at a sign-up or a purchase.
VALUE_KIND_NAMES = frozenset({"lead", "conversion"})

# Where a campaign source (utm_source) or a referrer's host names a network instead of saying it.
SOURCE_NETWORKS = {
    "facebook": "facebook", "fb": "facebook", "facebook.com": "facebook", "fb.com": "facebook",
    "instagram": "instagram", "ig": "instagram", "instagram.com": "instagram",
    "twitter": "twitter", "x": "twitter", "t.co": "twitter", "x.com": "twitter",
    "twitter.com": "twitter",
    "linkedin": "linkedin", "lnkd.in": "linkedin", "linkedin.com": "linkedin",
    "tiktok": "tiktok", "tiktok.com": "tiktok",
    "youtube": "youtube", "youtu.be": "youtube", "youtube.com": "youtube",
    "reddit": "reddit", "reddit.com": "reddit",
}  # fmt: skip
_HOSTS = tuple(name for name in SOURCE_NETWORKS if "." in name)


# A conversion counts as following a moment when its person buys from the moment's day to
# this many days after (local dates).
INFLUENCE_DAYS = 90


def person_key(name: str) -> str:
    """How a person is matched across moments and events: case-insensitive, a leading @
    ignored, e-mail addresses compared whole."""
    key = name.strip().lower()
    return key[1:] if key.startswith("@") else key


def network_from_source(source: str | None) -> str | None:
    """The network a source name, host or URL stands for (a host with any subdomain), or None
    when it is not social: `m.facebook.com` and `https://t.co/x` -> facebook, twitter."""
    name = (source or "").strip().lower()
    if "://" in name:
        name = name.split("://", 1)[1]
        name = name.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        name = name.rsplit("@", 1)[-1].split(":", 1)[0]
    name = name.rstrip(".")
    if name in SOURCE_NETWORKS:
        return SOURCE_NETWORKS[name]
    for host in _HOSTS:
        if name.endswith("." + host):
            return SOURCE_NETWORKS[host]
    return None
