"""Platform webhooks on the ingest HTTP service: Meta, X and Chatwoot
(docs/operating.md#live-data-platform-webhooks).

Every delivery is checked over its raw body before anything is parsed, in constant time, with
the secret from the environment. A source whose secret is unset answers 404: it is off, and
never takes unsigned data. Forged, unsigned or stale deliveries get 401 and nothing is
published. What is signed is mapped (platforms/) and published like any other event; what
cannot be mapped goes to the dead-letter topic with the reason, and the answer is still 200,
so the platform does not retry it forever. Redeliveries carry the same platform ids, so the
same event ids: they replace, never add.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute

from services.common.config import Settings
from services.common.deps import settings_of
from services.common.openapi import problems
from services.ingest import dead_letters
from services.ingest.deps import publisher_of
from services.ingest.metrics import WEBHOOK_LAST_DELIVERY, WEBHOOK_REQUESTS
from services.ingest.platforms import chatwoot, meta, shopify, x
from services.ingest.platforms.mapped import Mapped
from services.ingest.service import count_accepted, submit


class DeliveryRoute(APIRoute):
    """A route whose endpoint takes the Request and returns the Response itself. FastAPI still
    documents it (summary, responses) and runs every middleware and exception handler, but
    skips dependency solving, validation and serialization, which a delivery has no use for
    (it reads and checks its raw body itself): a quarter of a delivery's time, profiled."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])  # the handshakes (GET), with their query parameters
deliveries = APIRouter(tags=["webhooks"], route_class=DeliveryRoute)  # the signed POSTs
CHATWOOT_MAX_AGE_S = 300
# X signs the CRC token with the same key and scheme as a delivery's body, so answering any token
# would sign any body (a forged delivery). X sends an opaque token that changes at every check (X's
# webhook guide, "How the CRC works"): letters, digits and the base64 / base64url signs, short. A
# delivery is a JSON object, never that shape, so a token of it can never be a delivery's signature.
CRC_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{1,256}")
DELIVERY = problems(
    401, 404, 408, 413, 503,
    s401="Unsigned, forged or stale: nothing was published",
    s404="Off: its secret is not set",
    s503="Kafka unavailable; the platform retries",
)  # fmt: skip


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def meta_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`, keyed with the app
    secret."""
    expected = "sha256=" + _hmac(secret, body).hex()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def x_response_token(secret: str, crc_token: str) -> str:
    """The CRC answer: `sha256=<base64 HMAC-SHA256 of crc_token>`, keyed with the consumer
    secret."""
    return "sha256=" + base64.b64encode(_hmac(secret, crc_token.encode())).decode()


def x_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """`x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the raw body>`."""
    expected = "sha256=" + base64.b64encode(_hmac(secret, body)).decode()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


def chatwoot_signature_ok(
    secret: str, body: bytes, timestamp: str | None, header: str | None, now: float
) -> str | None:
    """None when the delivery is signed and fresh, else why not. Chatwoot signs
    `"{X-Chatwoot-Timestamp}.{raw body}"`: `X-Chatwoot-Signature: sha256=<hex HMAC-SHA256>`."""
    if not timestamp or not timestamp.strip().isdigit():
        return "unsigned"
    expected = "sha256=" + _hmac(secret, timestamp.strip().encode() + b"." + body).hex()
    if not hmac.compare_digest(expected.encode(), (header or "").strip().encode()):
        return "forged"
    if abs(now - int(timestamp)) > CHATWOOT_MAX_AGE_S:
        return "stale"
    return None


def configured(settings: Settings) -> list[str]:
    """The sources whose secret is set (those are on)."""
    secrets = {
        "meta": settings.meta_app_secret,
        "x": settings.x_consumer_secret,
        "chatwoot": settings.chatwoot_webhook_secret,
        "shopify": settings.shopify_webhook_secret,
    }
    return [source for source, secret in secrets.items() if secret]


def start_clock(settings: Settings) -> None:
    """Each configured source counts as heard from at start: the silent-source alert then
    fires a day after the last delivery, or a day after start, never at once."""
    for source in configured(settings):
        WEBHOOK_LAST_DELIVERY.labels(source).set_to_current_time()


def _off(source: str) -> Response:
    WEBHOOK_REQUESTS.labels(source, "off").inc()
    return JSONResponse({"detail": f"The {source} webhook is off on this server."}, 404)


def _refused(source: str, outcome: str) -> Response:
    WEBHOOK_REQUESTS.labels(source, outcome).inc()
    return JSONResponse(
        {"detail": f"Refused: the delivery is {outcome} (signature checked over the raw body)."},
        401,
    )


async def _publish(request: Request, source: str, mapped: Mapped) -> Response:
    """Publish what was mapped; dead-letter what was not, with the reason; answer 200."""
    publisher = publisher_of(request)
    submitted = submit(publisher, mapped.events, transport="webhook", source=f"webhook:{source}")
    letters = [
        dead_letters.letter(source=f"webhook:{source}", reason="unmappable", error=why, item=part)
        for why, part in mapped.unmappable
    ]
    futures = submitted.futures + (publisher.send_dead_letters(letters) if letters else [])
    await publisher.wait_async(futures)
    count_accepted(submitted.outcome, "webhook")
    rejected = len(submitted.outcome.rejected)
    outcome = "accepted" if not (letters or rejected) else "dead_lettered"
    WEBHOOK_REQUESTS.labels(source, outcome).inc()
    WEBHOOK_LAST_DELIVERY.labels(source).set_to_current_time()
    answer = {
        "accepted": submitted.outcome.accepted,
        "dead_lettered": len(letters) + rejected,
        "skipped": mapped.skipped,
    }
    return Response(orjson.dumps(answer), media_type="application/json")


def _mapped(source: str, mapper: Callable[[Any], Mapped], payload: Any) -> Mapped:
    """What the mapper made of a signed payload. A shape no mapper foresaw is dead-lettered with
    the reason, never answered 500: the platform would retry it for ever."""
    try:
        return mapper(payload)
    except Exception as exc:
        log.warning("%s webhook: a payload no mapping foresaw, dead-lettered: %r", source, exc)
        out = Mapped()
        out.unmappable.append((f"{type(exc).__name__}: {exc}", payload))
        return out


def _parsed(body: bytes) -> tuple[Any, Mapped | None]:
    try:
        return orjson.loads(body), None
    except orjson.JSONDecodeError as exc:
        out = Mapped()
        out.unmappable.append((f"not JSON: {exc}", body.decode(errors="replace")[:10_000]))
        return None, out


@router.get(
    "/v1/webhooks/meta",
    summary="Meta's subscription handshake (hub.challenge)",
    responses={
        200: {"content": {"text/plain": {}}, "description": "The hub.challenge"},
        403: {"content": {"text/plain": {}}, "description": "Wrong hub.mode or verify token"},
        **problems(404, s404="Off: its secret is not set"),
    },
)
def meta_handshake(request: Request) -> Response:
    settings = settings_of(request)
    if not settings.meta_app_secret or not settings.meta_verify_token:
        return _off("meta")
    query = request.query_params
    token = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        token.encode(), settings.meta_verify_token.encode()
    ):
        WEBHOOK_REQUESTS.labels("meta", "handshake_refused").inc()
        return PlainTextResponse("Wrong hub.mode or hub.verify_token.", 403)
    WEBHOOK_REQUESTS.labels("meta", "handshake").inc()
    return PlainTextResponse(query.get("hub.challenge", ""))


@deliveries.post(
    "/v1/webhooks/meta",
    summary="Meta deliveries: Pages, Messenger, Instagram",
    responses=DELIVERY,
)
async def meta_delivery(request: Request) -> Response:
    secret = settings_of(request).meta_app_secret
    return await _signed(
        request, "meta", secret, "x-hub-signature-256", meta_signature_ok, meta.mapped
    )


async def _signed(
    request: Request,
    source: str,
    secret: str | None,
    header_name: str,
    signed: Callable[[str, bytes, str], bool],
    mapper: Callable[[Any], Mapped],
) -> Response:
    """A delivery signed in one header over the raw body (Meta, X): off, refused or mapped."""
    if not secret:
        return _off(source)
    body = await request.body()
    header = request.headers.get(header_name)
    if not header:
        return _refused(source, "unsigned")
    if not signed(secret, body, header):
        return _refused(source, "forged")
    payload, failed = _parsed(body)
    return await _publish(request, source, failed or _mapped(source, mapper, payload))


@router.get(
    "/v1/webhooks/x",
    summary="X's challenge-response check (crc_token)",
    responses=problems(
        400, 404, s400="crc_token missing or not of X's shape", s404="Off: its secret is not set"
    ),
)
def x_crc(request: Request, crc_token: str | None = None) -> Response:
    settings = settings_of(request)
    if not settings.x_consumer_secret:
        return _off("x")
    if not crc_token:
        return JSONResponse({"detail": "crc_token: required"}, 400)
    if not CRC_TOKEN.fullmatch(crc_token):
        WEBHOOK_REQUESTS.labels("x", "handshake_refused").inc()
        return JSONResponse(
            {"detail": "crc_token: not a token X sends (letters, digits, + / = _ -; 256 at most)"},
            400,
        )
    WEBHOOK_REQUESTS.labels("x", "handshake").inc()
    return JSONResponse({"response_token": x_response_token(settings.x_consumer_secret, crc_token)})


@deliveries.post("/v1/webhooks/x", summary="X Account Activity deliveries", responses=DELIVERY)
async def x_delivery(request: Request) -> Response:
    secret = settings_of(request).x_consumer_secret
    return await _signed(
        request, "x", secret, "x-twitter-webhooks-signature", x_signature_ok, x.mapped
    )


@deliveries.post(
    "/v1/webhooks/chatwoot",
    summary="Chatwoot deliveries (messages, resolutions)",
    responses=DELIVERY,
)
async def chatwoot_delivery(request: Request) -> Response:
    settings = settings_of(request)
    if not settings.chatwoot_webhook_secret:
        return _off("chatwoot")
    body = await request.body()
    timestamp = request.headers.get("x-chatwoot-timestamp")
    problem = chatwoot_signature_ok(
        settings.chatwoot_webhook_secret,
        body,
        timestamp,
        request.headers.get("x-chatwoot-signature"),
        time.time(),
    )
    if problem:
        return _refused("chatwoot", problem)
    payload, failed = _parsed(body)
    mapper = functools.partial(chatwoot.mapped, delivered_at=timestamp)
    return await _publish(request, "chatwoot", failed or _mapped("chatwoot", mapper, payload))


def shopify_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """`X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the raw body>`, keyed with the app's
    client secret, as Shopify signs every webhook delivery."""
    expected = base64.b64encode(_hmac(secret, body))
    return hmac.compare_digest(expected, header.strip().encode())


@deliveries.post(
    "/v1/webhooks/shopify",
    summary="Shopify order deliveries (orders/create, updated, paid, cancelled)",
    responses=DELIVERY,
)
async def shopify_delivery(request: Request) -> Response:
    secret = settings_of(request).shopify_webhook_secret
    topic = request.headers.get("x-shopify-topic", "")
    return await _signed(
        request,
        "shopify",
        secret,
        "x-shopify-hmac-sha256",
        shopify_signature_ok,
        lambda payload: shopify.mapped(payload, topic=topic),
    )
