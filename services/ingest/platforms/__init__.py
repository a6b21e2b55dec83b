"""Platform webhook payloads -> interaction events
(docs/operating.md#live-data-platform-webhooks), one module a platform, each with one entry,
`mapped(payload)`:

- `meta`: Meta Webhooks: Pages `feed`, Messenger `messaging`, Instagram `comments` /
  `mentions` and messaging.
- `x`: X Account Activity API: `for_user_id`, `tweet_create_events`, `favorite_events`,
  `direct_message_events`, `follow_events`.
- `chatwoot`: Chatwoot webhooks: the conversation payload (`id`, `inbox_id`, `channel`,
  `status`, `timestamp` = last activity, `updated_at`, `meta.assignee`), the message payload
  (`account`, `inbox`, `conversation`, `sender`) and CSAT answers.
- `shopify`: Shopify order webhooks.

Pure functions, no I/O. Each returns `Mapped` (mapped.py): the events (event ids derived from
the platform's own ids, so a redelivery replaces instead of adding), what could not be mapped (it
goes to the dead-letter topic with the reason) and how many known non-interactions were skipped
(delivery and read receipts, the brand's own posts). Layouts as the platforms document and send
them; the real deliveries these are tested with, and where each comes from:
tests/ingest/samples/webhooks/README.md.
"""
