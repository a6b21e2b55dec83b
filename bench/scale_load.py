"""The scale bench's loader: a PostgreSQL database filled as the consumer would have filled it,
in minutes instead of days, and the check that holds it to the consumer's own code.

Rows are made inside PostgreSQL (`INSERT ... SELECT` over `generate_series`), not in Python and
sent by COPY: the consumer's COPY costs about 3 us a row of Python (services/ingest/dialect.py),
5 minutes of one core at 100M rows on a machine with two, and every value here is a function of
the row's number anyway (`hashint8extended`, so a run is repeatable). Each slice of time is one
statement whose data-modifying CTEs insert the events and add them to the hourly, daily and
monthly outcome rollups with the consumer's own upsert (`ON CONFLICT ... count + excluded.count`),
and store the facts of the conversations that start in it (every event of a conversation is
made in the slice of its first message). Slices follow time, so the table's physical order
follows `occurred_at` as the consumer's arrivals do. The event table's indexes are dropped
before and made again after (one sort each instead of 100M random insertions), then VACUUM
ANALYZE, as autovacuum leaves a table that has been written for a while.

`check` runs the real consumer (`sink.write_batch`, records of 2,000 events, 20,000 a batch)
on a sample of the loaded events into an empty database and compares its rollups and
conversation facts with the loaded ones.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from google.protobuf.timestamp_pb2 import Timestamp
from rapport.ingest.v1 import ingest_pb2

from services.common.db import make_engine
from services.domain.migrate import migrate
from services.ingest.rows import EVENT_COLUMNS
from services.ingest.sink import write_batch

TIMEZONE = "Europe/Berlin"  # whole-hour offsets, two DST changes a year
END = dt.datetime(2026, 12, 1)  # naive UTC, as stored: the data runs to November's end
DAYS = 699  # from 1 January 2025
SLICE_ROWS = 500_000
RECORD = 2_000  # events per Kafka record (services/ingest/publisher.py)
BATCH = 20_000  # events per consumer batch (consumer.BatchPolicy)

BRANDS = ("acme", "globex", "initech", "umbrella")
BRAND_NETWORKS = ("twitter", "instagram", "facebook", "linkedin", "tiktok", "youtube")
PAIRS = [(n, f"{b}.{n}") for b in BRANDS for n in BRAND_NETWORKS]  # 24 brand accounts
COMPETITORS = [("twitter", "rival.twitter"), ("instagram", "rival.instagram")]
# Support: social inboxes of three networks, a chat widget and an e-mail address per brand.
SOCIAL_SUPPORT = [(n, f"{b}.{n}") for b in BRANDS for n in ("twitter", "instagram", "facebook")]
SOCIAL_SUPPORT += [("chat", f"{b}.chat") for b in BRANDS]
EMAIL_SUPPORT = [("email", f"support@{b}.example") for b in BRANDS]
CAMPAIGNS = ("spring", "summer-sale", "launch", "always-on")
AGENTS = 40
# One interaction per event, by weight in a hundred (impressions and reach are snapshots that
# carry counts); 2 in 1,000 are orders (`conversion`), 3 in 1,000 lead forms.
KIND_WEIGHTS = {
    "impression": 20, "reach": 8, "like": 30, "comment": 8, "reply": 3, "share": 5,
    "mention": 6, "save": 4, "click": 10, "follow": 3, "profile_visit": 3,
}  # fmt: skip
WITH_ACTOR = ("like", "comment", "reply", "share", "mention", "follow", "save")
WITH_POST = ("impression", "reach", "like", "comment", "share", "save", "click")


def _array(values: Sequence[Any]) -> str:
    def one(v: Any) -> str:
        return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"

    return "(ARRAY[" + ", ".join(one(v) for v in values) + "]::text[])"


def _time(fraction: str) -> str:
    """The instant at `fraction` (0..1) of the span: volume grows linearly over the span (the
    last day has three times the first's), so the later year holds about 60 % of the events."""
    return (
        "(CAST(:start AS timestamp) + make_interval(secs => "
        f"CAST(:span AS float8) * ((-1 + sqrt(1 + 8 * ({fraction}))) / 2)))"
    )


def _h(column: str, seed: int) -> str:
    return f"abs(hashint8extended({column}, {seed}))"


KINDS = [kind for kind, weight in KIND_WEIGHTS.items() for _ in range(weight)]
SCALED = f"""
SELECT substr(md5(i::text || 'e'), 1, 26) AS event_id,
  date_trunc('milliseconds', {_time(":m_frac")} + make_interval(secs => (h1 % 1000) / 1000.0))
    AS occurred_at,
  0 AS utc_offset_minutes, network, kind,
  CASE kind WHEN 'impression' THEN 1 + h3 % 2000 WHEN 'reach' THEN 1 + h3 % 1500
    WHEN 'conversion' THEN CASE WHEN h4 % 100 = 0 THEN 0 ELSE 1 END ELSE 1 END AS count,
  account,
  CASE WHEN kind = 'conversion' THEN CASE WHEN h4 % 200 = 1 THEN 'Customer' || (h3 % 50000)
      || '@Example.com' ELSE 'customer' || (h3 % 50000) || '@example.com' END
    WHEN kind = ANY({_array(WITH_ACTOR)}) THEN 'user' || (h3 % 2000000) END AS actor,
  NULL::text AS conversation_id,
  CASE WHEN kind = ANY({_array(WITH_POST)}) THEN 'post:' || (i / 5000) END AS post_id,
  NULL::text AS url,
  CASE WHEN campaign IS NOT NULL THEN '{{"utm_campaign":"' || campaign || '"}}' END
    AS attributes,
  0::bigint AS ingested_at_us, md5(i::text) AS content_hash,
  CASE WHEN kind = 'conversion' THEN
    CASE WHEN h4 % 100 = 0 THEN 0 ELSE (500 + h4 % 50000) * 100 END END AS value_e4,
  CASE WHEN kind = 'conversion' THEN (ARRAY['EUR', 'USD'])[1 + h4 % 2] END AS currency,
  campaign
FROM (
  SELECT i, h1, h3, h4, kind,
    CASE WHEN kind = 'mention' AND h2 % 10 = 0 THEN {_array([n for n, _ in COMPETITORS])}[1 + h2 / 10 % 2]
      ELSE {_array([n for n, _ in PAIRS])}[1 + h2 % {len(PAIRS)}] END AS network,
    CASE WHEN kind = 'mention' AND h2 % 10 = 0 THEN {_array([a for _, a in COMPETITORS])}[1 + h2 / 10 % 2]
      ELSE {_array([a for _, a in PAIRS])}[1 + h2 % {len(PAIRS)}] END AS account,
    CASE WHEN kind IN ('lead', 'conversion') AND h3 % 5 <> 0
      THEN {_array(CAMPAIGNS)}[1 + h3 % 4] END AS campaign
  FROM (
    SELECT i, {_h("i", 1)} AS h1, {_h("i", 2)} AS h2, {_h("i", 3)} AS h3, {_h("i", 4)} AS h4,
      CASE WHEN {_h("i", 5)} % 1000 < 2 THEN 'conversion' WHEN {_h("i", 5)} % 1000 < 5 THEN 'lead'
        ELSE {_array(KINDS)}[1 + {_h("i", 6)} % 100] END AS kind
    FROM generate_series(CAST(:m0 AS bigint), CAST(:m1 AS bigint) - 1) AS i
  ) AS hashed
) AS chosen
""".replace(":m_frac", "(i + 0.5) / :m")

# Each conversation's hashes and what happens in it (shared by CONVERSATION and the count).
CONV_HASHED = f"""
    SELECT c, {_h("c", 1)} AS h1, {_h("c", 2)} AS h2, {_h("c", 3)} AS h3, {_h("c", 4)} AS h4,
      {_h("c", 5)} AS h5, {_h("c", 6)} AS h6, {_h("c", 7)} AS h7,
      date_trunc('milliseconds', {_time("(c + 0.5) / :c")}
        + make_interval(secs => {_h("c", 8)} % 1000 / 1000.0)) AS t_in,
      {_h("c", 1)} % 100 < 92 AS answered,
      {_h("c", 1)} % 100 < 92 AND {_h("c", 4)} % 2 = 0 AS follow,
      {_h("c", 1)} % 100 < 92 AND {_h("c", 5)} % 100 < 85 AS resolved,
      {_h("c", 1)} % 100 < 92 AND {_h("c", 5)} % 100 < 85 AND {_h("c", 6)} % 100 < 30 AS rated,
      {_h("c", 1)} % 100 < 92 AND {_h("c", 5)} % 100 < 85 AND {_h("c", 2)} % 100 < 6 AS reopened,
      {_h("c", 1)} % 50 = 0 AS outreach
    FROM generate_series(CAST(:c0 AS bigint), CAST(:c1 AS bigint) - 1) AS c
"""

# A support conversation: the customer writes; 92 % are answered (an agent of 40), half of
# those write again and are answered again; 85 % of the answered are resolved, 30 % of those
# rated (a comment on a quarter), 6 % reopened; one in 50 began with a message from the brand
# an hour before the customer's (which is no response).
CONVERSATION = f"""
SELECT 'cw:' || c || ':' || slot AS event_id, at AS occurred_at, 0 AS utc_offset_minutes,
  network, kind, cnt AS count, account, actor, 'chatwoot:7:' || c AS conversation_id,
  NULL::text AS post_id, url, attributes, 0::bigint AS ingested_at_us,
  md5('c' || c || ':' || slot) AS content_hash, NULL::bigint AS value_e4, NULL::text AS currency,
  NULL::text AS campaign
FROM (
  SELECT c, h1, h2, h3, h4, h5, h6,
    CASE WHEN h7 % 3 = 0 THEN {_array([n for n, _ in EMAIL_SUPPORT])}[1 + h7 / 3 % {len(EMAIL_SUPPORT)}]
      ELSE {_array([n for n, _ in SOCIAL_SUPPORT])}[1 + h7 / 3 % {len(SOCIAL_SUPPORT)}] END AS network,
    CASE WHEN h7 % 3 = 0 THEN {_array([a for _, a in EMAIL_SUPPORT])}[1 + h7 / 3 % {len(EMAIL_SUPPORT)}]
      ELSE {_array([a for _, a in SOCIAL_SUPPORT])}[1 + h7 / 3 % {len(SOCIAL_SUPPORT)}] END AS account,
    t_in, answered, follow, resolved, rated, reopened, outreach,
    t_in + make_interval(secs => 20 + (h2 % 1000) * (h2 % 1000) / 20) AS t_sent,
    'agent' || (h3 % {AGENTS}) AS agent
  FROM ({CONV_HASHED}) AS hashed
) AS conv
CROSS JOIN LATERAL (
  SELECT t_sent + make_interval(secs => 60 + h3 % 7200) AS t_in2
) AS a
CROSS JOIN LATERAL (
  SELECT t_in2 + make_interval(secs => 30 + h4 % 3600) AS t_sent2
) AS b
CROSS JOIN LATERAL (
  SELECT CASE WHEN follow THEN t_sent2 ELSE t_sent END
    + make_interval(secs => 300 + h5 % 86400) AS t_res
) AS r
CROSS JOIN LATERAL (VALUES
  (0, 'message_received', t_in, 'customer' || c, 1::bigint,
    CASE WHEN network <> 'email' THEN 'https://support.example/c/' || c END, NULL::text),
  (1, 'message_sent', CASE WHEN answered THEN t_sent END, agent, 1, NULL, NULL),
  (2, 'message_received', CASE WHEN follow THEN t_in2 END, 'customer' || c, 1, NULL, NULL),
  (3, 'message_sent', CASE WHEN follow THEN t_sent2 END,
    'agent' || ((h3 + 1) % {AGENTS}), 1, NULL, NULL),
  (4, 'conversation_resolved', CASE WHEN resolved THEN t_res END, agent, 1, NULL, NULL),
  (5, 'rating', CASE WHEN rated THEN t_res + make_interval(secs => 60 + h6 % 3600) END,
    'customer' || c, (ARRAY[5, 5, 5, 4, 4, 3, 2, 1, 5, 4])[1 + h6 / 100 % 10], NULL,
    CASE WHEN h6 % 4 = 0 THEN '{{"comment":"thanks ' || (h6 % 97) || '"}}' END),
  (6, 'message_received', CASE WHEN reopened THEN t_res + make_interval(secs => 600 + h2 % 86400)
    END, 'customer' || c, 1, NULL, NULL),
  (7, 'message_sent', CASE WHEN outreach THEN t_in - INTERVAL '1 hour' END, agent, 1,
    NULL, NULL)
) AS m(slot, kind, at, actor, cnt, url, attributes)
WHERE at IS NOT NULL
"""

# A day of each brand account: its follower total at 06:00 UTC, and its site's visits from
# social per campaign (a GA4 report's row: one event carrying the day's count).
FIXED = f"""
SELECT event_id, at AS occurred_at, 0 AS utc_offset_minutes, network, kind, count, account,
  NULL::text AS actor, NULL::text AS conversation_id, NULL::text AS post_id, NULL::text AS url,
  CASE WHEN campaign IS NOT NULL THEN '{{"utm_campaign":"' || campaign || '"}}' END
    AS attributes,
  0::bigint AS ingested_at_us, md5(event_id) AS content_hash, NULL::bigint AS value_e4,
  NULL::text AS currency, campaign
FROM (
  SELECT 'fx:' || d || ':' || p AS event_id, at, net AS network, 'followers' AS kind,
    (10000 * p + 13 * d + {_h("(d * 100 + p)", 9)} % 50)::bigint AS count, acc AS account,
    NULL::text AS campaign
  FROM days, pairs
  UNION ALL
  SELECT 'ga:' || d || ':' || p || ':' || k, at, net, 'visit',
    ({_h("(d * 10000 + p * 10 + k)", 10)} % 400)::bigint, acc,
    ({_array([*CAMPAIGNS, None])})[k]
  FROM days, pairs, generate_series(1, {len(CAMPAIGNS) + 1}) AS k
) AS fixed
"""
FIXED_CTES = f"""
days AS (
  SELECT d, CAST(:start AS timestamp) + make_interval(days => d, hours => 6) AS at
  FROM generate_series(0, CAST(:days AS int) - 1) AS d
  WHERE (d * 86400 + 21600)::float8 / :span >= :t0 AND (d * 86400 + 21600)::float8 / :span < :t1
),
pairs AS (
  SELECT p, net, acc FROM unnest({_array([n for n, _ in PAIRS])}, {_array([a for _, a in PAIRS])})
    WITH ORDINALITY AS x(net, acc, p)
)
"""

COLUMNS = ", ".join(EVENT_COLUMNS)
LOCAL_DAY = f"(occurred_at AT TIME ZONE 'UTC' AT TIME ZONE '{TIMEZONE}')::date"
SLICE = f"""
WITH {FIXED_CTES},
ev AS (
  INSERT INTO interaction_event ({COLUMNS})
  SELECT event_id, occurred_at, utc_offset_minutes, network, kind, count, account, actor,
    conversation_id, post_id, url, attributes,
    (extract(epoch FROM occurred_at) * 1000000)::bigint + 2000000, content_hash, value_e4,
    currency, campaign
  FROM ({SCALED} UNION ALL {CONVERSATION} UNION ALL {FIXED}) AS made
  RETURNING event_id, occurred_at, network, kind, count, account, actor, conversation_id, url,
    attributes, value_e4, currency, campaign
),
hourly AS (
  INSERT INTO rollup_hourly (hour, network, account, kind, count, events)
  SELECT date_trunc('hour', occurred_at), network, account, kind, sum(count), count(*)
  FROM ev GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (hour, network, account, kind) DO UPDATE
  SET count = rollup_hourly.count + excluded.count, events = rollup_hourly.events + excluded.events
),
daily AS (
  INSERT INTO rollup_daily (day, network, account, kind, count, events)
  SELECT {LOCAL_DAY}, network, account, kind, sum(count), count(*)
  FROM ev GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (day, network, account, kind) DO UPDATE
  SET count = rollup_daily.count + excluded.count, events = rollup_daily.events + excluded.events
),
outcomes AS (
  INSERT INTO rollup_outcome_monthly
    (month, network, account, kind, campaign, currency, count, value_e4, events)
  SELECT date_trunc('month', {LOCAL_DAY})::date, network, account, kind, COALESCE(campaign, ''),
    CASE WHEN value_e4 IS NULL THEN '' ELSE COALESCE(currency, '') END,
    sum(count), sum(COALESCE(value_e4, 0)), count(*)
  FROM ev WHERE kind IN ('visit', 'lead', 'conversion') GROUP BY 1, 2, 3, 4, 5, 6
  ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (month, network, account, kind, campaign, currency) DO UPDATE
  SET count = rollup_outcome_monthly.count + excluded.count,
    value_e4 = rollup_outcome_monthly.value_e4 + excluded.value_e4,
    events = rollup_outcome_monthly.events + excluded.events
),
engagement AS (
  INSERT INTO rollup_engagement_hourly (hour, network, account, count, events)
  SELECT date_trunc('hour', occurred_at), network, account, sum(count), count(*)
  FROM ev WHERE kind IN ('click', 'comment', 'like', 'mention', 'reply', 'save', 'share')
  GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (hour, network, account) DO UPDATE
  SET count = rollup_engagement_hourly.count + excluded.count,
    events = rollup_engagement_hourly.events + excluded.events
),
outcome_days AS (
  INSERT INTO rollup_outcome_daily
    (day, network, account, kind, campaign, currency, count, value_e4, events)
  SELECT {LOCAL_DAY}, network, account, kind, COALESCE(campaign, ''),
    CASE WHEN value_e4 IS NULL THEN '' ELSE COALESCE(currency, '') END,
    sum(count), sum(COALESCE(value_e4, 0)), count(*)
  FROM ev WHERE kind IN ('visit', 'lead', 'conversion') GROUP BY 1, 2, 3, 4, 5, 6
  ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (day, network, account, kind, campaign, currency) DO UPDATE
  SET count = rollup_outcome_daily.count + excluded.count,
    value_e4 = rollup_outcome_daily.value_e4 + excluded.value_e4,
    events = rollup_outcome_daily.events + excluded.events
),
facts AS (
  INSERT INTO support_conversation SELECT * FROM ({{facts}}) AS f
)
SELECT count(*) FROM ev
"""

# services/ingest/conversations.py's conversation_facts, in SQL, over one slice's events (each
# conversation's events are all made in one slice). With no schedule stored, the business
# seconds are the calendar ones to the millisecond and the target is 3600 s, as
# conversation_levels.stored_levels gives them.
FACTS = """
WITH msg AS (
  SELECT ev.*, min(occurred_at) FILTER (WHERE kind = 'message_received')
    OVER (PARTITION BY network, conversation_id) AS fi
  FROM ev WHERE conversation_id IS NOT NULL
),
firsts AS (
  SELECT network, conversation_id,
    COALESCE((array_agg(account ORDER BY occurred_at) FILTER (
      WHERE kind = 'message_received'))[1], (array_agg(account) FILTER (
      WHERE kind <> 'rating'))[1], 'default') AS account,
    (array_agg(url ORDER BY occurred_at) FILTER (WHERE url IS NOT NULL AND kind <> 'rating'))[1]
      AS url,
    min(fi) AS fi,
    min(occurred_at) FILTER (WHERE kind = 'message_sent' AND occurred_at >= fi) AS fr,
    min(occurred_at) FILTER (WHERE kind = 'conversation_resolved' AND occurred_at >= fi) AS ra,
    count(*) FILTER (WHERE kind = 'message_received') AS received,
    count(*) FILTER (WHERE kind = 'message_sent') AS sent,
    (array_agg(actor ORDER BY occurred_at) FILTER (
      WHERE kind = 'message_sent' AND occurred_at >= fi))[1] AS agent,
    (array_agg(count ORDER BY occurred_at DESC, event_id DESC) FILTER (
      WHERE kind = 'rating'))[1] AS rating,
    max(occurred_at) FILTER (WHERE kind = 'rating') AS rated_at,
    (array_agg(attributes ORDER BY occurred_at DESC, event_id DESC) FILTER (
      WHERE kind = 'rating'))[1] AS rating_attributes
  FROM msg GROUP BY network, conversation_id
),
reopen AS (
  SELECT f.network, f.conversation_id, min(m.occurred_at) AS at
  FROM firsts f JOIN msg m ON m.network = f.network AND m.conversation_id = f.conversation_id
  WHERE f.ra IS NOT NULL AND m.kind = 'message_received' AND m.occurred_at > f.ra
  GROUP BY f.network, f.conversation_id
)
SELECT f.network, f.conversation_id, f.account, f.url, f.fi, f.fr, f.ra, f.received, f.sent,
  extract(epoch FROM f.fr - f.fi)::float8, extract(epoch FROM f.ra - f.fi)::float8,
  f.agent,
  round(extract(epoch FROM f.fr - f.fi), 3)::float8,
  round(extract(epoch FROM f.ra - f.fi), 3)::float8, 3600::float8,
  r.at, f.rating, f.rated_at,
  NULLIF(btrim(f.rating_attributes::json ->> 'comment'), '')
FROM firsts f LEFT JOIN reopen r ON r.network = f.network AND r.conversation_id = f.conversation_id
"""

CONVERSATION_COLUMNS = (
    "network", "conversation_id", "account", "url", "first_inbound_at", "first_response_at",
    "resolved_at", "messages_received", "messages_sent", "first_response_s", "resolution_s",
    "agent", "first_response_business_s", "resolution_business_s", "sla_target_s",
    "reopened_at", "rating", "rated_at", "rating_comment",
)  # fmt: skip
SLICE_SQL = SLICE.replace(
    "INSERT INTO support_conversation SELECT * FROM ({facts}) AS f",
    f"INSERT INTO support_conversation ({', '.join(CONVERSATION_COLUMNS)}) "
    f"SELECT * FROM ({FACTS}) AS f",
)


@dataclass(frozen=True)
class Size:
    events: int
    conversations: int
    days: int = DAYS  # up to END

    @property
    def start(self) -> dt.datetime:
        return END - dt.timedelta(days=self.days)

    @property
    def span_s(self) -> int:
        return self.days * 86_400

    @property
    def label(self) -> str:
        n = self.events
        return f"{n // 1_000_000}m" if n >= 1_000_000 else f"{n // 1000}k"

    @property
    def stamp(self) -> str:
        return (
            f"bench scale: {self.events} events, {self.conversations} conversations, "
            f"{self.days} days, v1"
        )


def say(message: str) -> None:
    print(f"  bench scale: {message}", file=sys.stderr, flush=True)


def admin_dsn(base: str) -> str:
    return base.replace("postgresql+psycopg://", "postgresql://")


def database_url(base: str, name: str) -> str:
    return admin_dsn(base).rsplit("/", 1)[0] + f"/{name}"


def create_database(base: str, name: str) -> str:
    """A new, empty, migrated database of ours (dropped first when it exists)."""
    with psycopg.connect(admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(base, name)
    migrate(url)
    return url


def loaded(base: str, name: str, size: Size) -> bool:
    """Whether `name` holds a complete load of `size` (the stamp is set last)."""
    with psycopg.connect(admin_dsn(base), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    return row is not None and row[0] == size.stamp


def conversation_events(url: str, size: Size) -> int:
    """How many events the conversations make (counted in the database, without storing)."""
    n = size.conversations
    params = {"c": n, "c0": 0, "c1": n, "start": size.start, "span": size.span_s}
    slots = (
        "1 + answered::int + 2 * follow::int + resolved::int + rated::int + reopened::int "
        "+ outreach::int"
    )
    sql = f"SELECT COALESCE(sum({slots}), 0) FROM ({_psycopg(CONV_HASHED)}) AS h"
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]


def _psycopg(sql: str) -> str:
    """`:name` parameters as psycopg's `%(name)s` (casts `::` left alone)."""
    out, i = [], 0
    while i < len(sql):
        if sql[i] == ":" and i + 1 < len(sql) and sql[i + 1].isalpha() and sql[i - 1] != ":":
            j = i + 1
            while j < len(sql) and (sql[j].isalnum() or sql[j] == "_"):
                j += 1
            out.append(f"%({sql[i + 1 : j]})s")
            i = j
        else:
            out.append("%%" if sql[i] == "%" else sql[i])
            i += 1
    return "".join(out)


def load(url: str, size: Size, *, progress: Callable[[str], None] = say) -> dict[str, Any]:
    """Fill the (migrated, empty) database at `url`; returns what was made and how long it took."""
    fixed = size.days * len(PAIRS) * (2 + len(CAMPAIGNS))
    in_conversations = conversation_events(url, size)
    scaled = size.events - in_conversations - fixed
    if scaled < 0:
        raise ValueError(
            f"--events {size.events}: the conversations alone make {in_conversations} events "
            f"and the daily snapshots {fixed}; ask for more events or fewer conversations"
        )
    slices = max(1, math.ceil(size.events / SLICE_ROWS))
    sql = _psycopg(SLICE_SQL)
    started = time.perf_counter()
    workers = 2 if size.events >= 20_000_000 else 1
    with psycopg.connect(url) as conn:
        indexes = _drop_event_indexes(conn)
    done = {"rows": 0, "slices": 0}
    lock = threading.Lock()

    def params_of(k: int) -> dict[str, Any]:
        return {
            "m": scaled,
            "m0": scaled * k // slices,
            "m1": scaled * (k + 1) // slices,
            "c": size.conversations,
            "c0": size.conversations * k // slices,
            "c1": size.conversations * (k + 1) // slices,
            # The fixed rows are placed by time; their slice by the same growth curve.
            "t0": _span_fraction(k / slices),
            "t1": _span_fraction((k + 1) / slices) if k + 1 < slices else 2.0,
            "start": size.start,
            "span": size.span_s,
            "days": size.days,
        }

    def worker(first: int) -> None:
        with psycopg.connect(url) as conn:
            conn.execute("SET synchronous_commit = off")
            conn.execute("SET work_mem = '256MB'")
            conn.commit()
            for k in range(first, slices, workers):
                for attempt in range(5):
                    try:
                        made = int(conn.execute(sql, params_of(k)).fetchone()[0])  # type: ignore[index]
                        conn.commit()
                        break
                    except psycopg.errors.DeadlockDetected:
                        conn.rollback()  # two workers' rollup upserts met: the slice again
                        if attempt == 4:
                            raise
                with lock:
                    done["rows"] += made
                    done["slices"] += 1
                    elapsed = time.perf_counter() - started
                    rate = done["rows"] / elapsed
                    eta = (size.events - done["rows"]) / rate if rate else 0
                    if done["slices"] % max(1, slices // 20) == 0 or done["slices"] == slices:
                        progress(
                            f"{size.label}: {done['rows']:,} of ~{size.events:,} events, "
                            f"{rate:,.0f} rows/s, ETA {eta / 60:.1f} min"
                        )

    # Two sessions on a large load: PostgreSQL runs a statement on one core.
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker, first) for first in range(workers)]:
            future.result()
    made = done["rows"]
    with psycopg.connect(url) as conn:
        load_s = time.perf_counter() - started
        progress(f"{size.label}: indexes of interaction_event ({len(indexes)})")
        conn.execute("SET maintenance_work_mem = '1GB'")
        started_index = time.perf_counter()
        for statement in indexes:
            conn.execute(statement)
            conn.commit()
        index_s = time.perf_counter() - started_index
    progress(f"{size.label}: VACUUM ANALYZE")
    started_vacuum = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    vacuum_s = time.perf_counter() - started_vacuum
    _moments_and_settings(url)
    return {
        "events": made,
        "conversation_events": in_conversations,
        "conversations": size.conversations,
        "slices": slices,
        "insert_s": round(load_s, 1),
        "index_s": round(index_s, 1),
        "vacuum_s": round(vacuum_s, 1),
        "rows_per_s": round(made / load_s),
    }


def _span_fraction(u: float) -> float:
    """The fraction of the span's time at which a fraction `u` of the events has happened (the
    inverse of the growth curve of `_time`), so fixed daily rows fall in their time's slice."""
    if u >= 1:
        return 2.0
    return (-1 + math.sqrt(1 + 8 * u)) / 2


def _drop_event_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    """Drop interaction_event's primary key and indexes; returns the statements that make them
    again exactly as the migrations made them."""
    again = [
        f"ALTER TABLE interaction_event ADD CONSTRAINT {name} {definition}"
        for name, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'interaction_event'::regclass AND contype = 'p'"
        )
    ]
    others = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'interaction_event' "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
        "WHERE conrelid = 'interaction_event'::regclass)"
    ).fetchall()
    again += [definition for _, definition in others]
    conn.execute("ALTER TABLE interaction_event DROP CONSTRAINT interaction_event_pkey")
    for name, _ in others:
        conn.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return again


def _moments_and_settings(url: str) -> None:
    """What the figures read besides events: 2,000 moments whose people buy (influenced
    conversions), the competitors, goals and a value model for 2026."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO moment (id, occurred_on, network, link, people, customer_status, change, "
            "tags, logged_by, created_at, updated_at, version) "
            "SELECT 'm' || m, DATE '2025-01-01' + (m * 7 % 690), 'twitter', "
            "'https://x.com/a/status/' || m, '[\"customer' || (m * 29 % 50000) || '@example.com\"]', "
            "'existing_customer', 'Stayed', '[]', 'bench', now(), now(), 1 "
            "FROM generate_series(1, 2000) AS m"
        )
        for network, account in COMPETITORS:
            conn.execute(
                "INSERT INTO competitor (network, account, name, added_by, added_at) "
                "VALUES (%s, %s, %s, 'bench', now())",
                (network, account, account.split(".")[0].title()),
            )
        for metric, target in (("impressions", 1e9), ("responded_within_1h_rate", 0.5),
                               ("conversions", 50000), ("csat", 0.8)):  # fmt: skip
            conn.execute(
                "INSERT INTO goal (year, metric, target, updated_by, updated_at) "
                "VALUES (2026, %s, %s, 'bench', now())",
                (metric, target),
            )
        conn.execute(
            "INSERT INTO value_model (year, currency, cost_per_email_contact, "
            "cost_per_social_contact, cpm, cpc, value_per_moment, program_cost, updated_by, "
            "updated_at) VALUES (2026, 'EUR', 6, 2, 5, 0.4, 150, 250000, 'bench', now())"
        )
        conn.commit()


def stamp(base: str, name: str, size: Size) -> None:
    with psycopg.connect(admin_dsn(base), autocommit=True) as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{size.stamp}'")


# --- the check against the consumer ---------------------------------------------------------


def _interaction(row: Sequence[Any]) -> ingest_pb2.Interaction:
    """A stored event row (EVENT_COLUMNS order) as the Kafka message it came from."""
    values = dict(zip(EVENT_COLUMNS, row, strict=True))
    at = Timestamp()
    at.FromDatetime(values["occurred_at"].replace(tzinfo=dt.UTC))
    event = ingest_pb2.Interaction(
        event_id=values["event_id"],
        occurred_at=at,
        utc_offset_minutes=values["utc_offset_minutes"],
        network=values["network"],
        kind=values["kind"],
        count=values["count"],
        account=values["account"],
        actor=values["actor"] or "",
        conversation_id=values["conversation_id"] or "",
        post_id=values["post_id"] or "",
        url=values["url"] or "",
        currency=values["currency"] or "",
    )
    if values["attributes"]:
        event.attributes.update(orjson.loads(values["attributes"]))
    if values["value_e4"] is not None:
        event.value = _decimal(values["value_e4"])
    return event


def _decimal(value_e4: int) -> str:
    whole, part = divmod(value_e4, 10_000)
    return f"{whole}.{part:04d}"


def _records(rows: Sequence[Sequence[Any]]) -> Iterator[list[ingest_pb2.InteractionBatch]]:
    """Consumer batches of BATCH events, in records of RECORD, each stamped as ingest stamps."""
    for start in range(0, len(rows), BATCH):
        part = rows[start : start + BATCH]
        yield [
            ingest_pb2.InteractionBatch(
                events=[_interaction(r) for r in part[i : i + RECORD]],
                ingested_at_us=max(r[EVENT_COLUMNS.index("ingested_at_us")] for r in part),
                source="bench",
            )
            for i in range(0, len(part), RECORD)
        ]


@dataclass(frozen=True)
class Sample:
    """Which stored rows to compare: every row when `everything`, else the rollups of one local
    day and one local month's outcomes, and the facts of some conversations."""

    everything: bool
    day: dt.date | None = None
    month: dt.date | None = None
    conversations: tuple[tuple[str, str], ...] = ()


def sample_for(url: str, size: Size, *, conversations: int = 500) -> Sample:
    """Everything of a small load; of a large one, a local day (the spring DST change, 23
    hours), a local month's outcomes (with the autumn change) and `conversations` of them."""
    if size.events <= 300_000:
        return Sample(everything=True)
    step = max(1, size.conversations // conversations)
    ids = [f"chatwoot:7:{c}" for c in range(0, size.conversations, step)]
    with psycopg.connect(url) as conn:
        keys = tuple(
            (str(n), str(c))
            for n, c in conn.execute(
                "SELECT network, conversation_id FROM support_conversation "
                "WHERE conversation_id = ANY(%s)",
                (ids,),
            )
        )
    return Sample(False, day=dt.date(2026, 3, 29), month=dt.date(2026, 10, 1), conversations=keys)


def _sample_events(url: str, sample: Sample) -> list[tuple[Any, ...]]:
    tz = ZoneInfo(TIMEZONE)
    with psycopg.connect(url) as conn:
        if sample.everything:
            return [tuple(r) for r in conn.execute(f"SELECT {COLUMNS} FROM interaction_event")]
        assert sample.day is not None and sample.month is not None
        rows: dict[str, tuple[Any, ...]] = {}
        day_start, day_end = _local_range(sample.day, sample.day + dt.timedelta(days=1), tz)
        next_month = (sample.month + dt.timedelta(days=32)).replace(day=1)
        month_start, month_end = _local_range(sample.month, next_month, tz)
        prefixed = ", ".join(f"e.{c}" for c in EVENT_COLUMNS)
        queries: list[tuple[str, Any]] = [
            (f"SELECT {COLUMNS} FROM interaction_event "
             "WHERE occurred_at >= %s AND occurred_at < %s", (day_start, day_end)),
            (f"SELECT {COLUMNS} FROM interaction_event WHERE (kind = 'followers' OR "
             "kind = 'visit' OR kind = 'lead' OR kind = 'conversion') "
             "AND kind IN ('visit', 'lead', 'conversion') "
             "AND occurred_at >= %s AND occurred_at < %s", (month_start, month_end)),
            (f"SELECT {prefixed} FROM interaction_event e JOIN unnest(%s::text[], %s::text[]) "
             "AS k(network, conversation_id) ON e.network = k.network "
             "AND e.conversation_id = k.conversation_id WHERE e.conversation_id IS NOT NULL",
             ([n for n, _ in sample.conversations], [c for _, c in sample.conversations])),
        ]  # fmt: skip
        for sql, params in queries:
            for r in conn.execute(sql, params):
                rows[r[0]] = tuple(r)
        return list(rows.values())


def _local_range(first: dt.date, end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    def utc(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(), tz)
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    return utc(first), utc(end)


def _compared(url: str, sample: Sample) -> dict[str, list[tuple[Any, ...]]]:
    """The stored rows the sample decides, per table, sorted."""
    tz = ZoneInfo(TIMEZONE)
    facts = ", ".join(CONVERSATION_COLUMNS)
    if sample.everything:
        where: dict[str, tuple[str, tuple[Any, ...]]] = {
            "rollup_hourly": ("TRUE", ()),
            "rollup_daily": ("TRUE", ()),
            "rollup_outcome_monthly": ("TRUE", ()),
            "rollup_outcome_daily": ("TRUE", ()),
            "rollup_engagement_hourly": ("TRUE", ()),
            "support_conversation": ("TRUE", ()),
        }
    else:
        assert sample.day is not None and sample.month is not None
        start, end = _local_range(sample.day, sample.day + dt.timedelta(days=1), tz)
        where = {
            "rollup_hourly": ("hour >= %s AND hour < %s", (start, end)),
            "rollup_engagement_hourly": ("hour >= %s AND hour < %s", (start, end)),
            "rollup_daily": ("day = %s", (sample.day,)),
            "rollup_outcome_monthly": ("month = %s", (sample.month,)),
            "rollup_outcome_daily": (
                "day >= %s AND day < %s",
                (sample.month, (sample.month + dt.timedelta(days=32)).replace(day=1)),
            ),
            "support_conversation": (
                "(network, conversation_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
                ([n for n, _ in sample.conversations], [c for _, c in sample.conversations]),
            ),
        }
    out = {}
    with psycopg.connect(url) as conn:
        for table, (condition, params) in where.items():
            columns = facts if table == "support_conversation" else "*"
            found = conn.execute(f"SELECT {columns} FROM {table} WHERE {condition}", params)
            out[table] = sorted((tuple(r) for r in found), key=repr)
    return out


def check(url: str, scratch_url: str, sample: Sample) -> dict[str, Any]:
    """Run the consumer's write on the sample's events into the empty database at
    `scratch_url` and compare what both hold for the sample; returns the rows compared and
    the differences (none when the loader builds what the consumer builds)."""
    tz = ZoneInfo(TIMEZONE)
    events = sorted(_sample_events(url, sample), key=lambda r: (r[1], r[0]))
    engine = make_engine(scratch_url)
    try:
        started = time.perf_counter()
        for records in _records(events):
            write_batch(engine, records, tz)
        consumer_s = time.perf_counter() - started
    finally:
        engine.dispose()
    mine, theirs = _compared(url, sample), _compared(scratch_url, sample)
    differences = {}
    for table in mine:
        a, b = mine[table], theirs[table]
        if not _same_rows(a, b):
            only_loader = [r for r in a if r not in b][:3]
            only_consumer = [r for r in b if r not in a][:3]
            differences[table] = {"loader": only_loader, "consumer": only_consumer,
                                  "rows": [len(a), len(b)]}  # fmt: skip
    return {
        "events": len(events),
        "consumer_s": round(consumer_s, 1),
        "rows_compared": {table: len(rows) for table, rows in mine.items()},
        "differences": differences,
    }


def _same_rows(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                if not math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-6):
                    return False
            elif u != v:
                return False
    return True
