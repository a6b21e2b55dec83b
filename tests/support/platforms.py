"""Local stand-ins for the platforms that call our webhooks: each signs a delivery exactly as the
platform documents it (written from the documentation, not from our verifier), and posts the
platforms' documented sample payloads and real deliveries (tests/ingest/samples/webhooks/, whose
README cites each one's source)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import httpx

SAMPLES = Path(__file__).parents[1] / "ingest" / "samples" / "webhooks"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def _body(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


class Meta:
    """Meta Webhooks: GET handshake with hub.* parameters, POST signed X-Hub-Signature-256
    (hex HMAC-SHA256 of the payload with the app secret)."""

    def __init__(self, client: Any, app_secret: str, verify_token: str) -> None:
        self.client, self.secret, self.verify_token = client, app_secret, verify_token

    def subscribe(self, challenge: str = "1158201444", token: str | None = None) -> httpx.Response:
        return self.client.get(
            "/v1/webhooks/meta",
            params={
                "hub.mode": "subscribe",
                "hub.challenge": challenge,
                "hub.verify_token": token or self.verify_token,
            },
        )

    def deliver(self, payload: Any, *, secret: str | None = None) -> httpx.Response:
        body = _body(payload)
        digest = hmac.new((secret or self.secret).encode(), body, hashlib.sha256).hexdigest()
        return self.client.post(
            "/v1/webhooks/meta",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"},
        )


class X:
    """X Account Activity API: CRC with crc_token, deliveries signed in
    x-twitter-webhooks-signature (base64 HMAC-SHA256 with the consumer secret)."""

    def __init__(self, client: Any, consumer_secret: str) -> None:
        self.client, self.secret = client, consumer_secret

    def expected_crc(self, token: str) -> str:
        digest = hmac.new(self.secret.encode(), token.encode(), hashlib.sha256).digest()
        return "sha256=" + base64.b64encode(digest).decode()

    def crc(self, token: str) -> httpx.Response:
        return self.client.get("/v1/webhooks/x", params={"crc_token": token})

    def deliver(self, payload: Any, *, secret: str | None = None) -> httpx.Response:
        body = _body(payload)
        digest = hmac.new((secret or self.secret).encode(), body, hashlib.sha256).digest()
        return self.client.post(
            "/v1/webhooks/x",
            content=body,
            headers={
                "Content-Type": "application/json",
                "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
            },
        )


class Chatwoot:
    """Chatwoot: X-Chatwoot-Signature = sha256=hex HMAC-SHA256 of "{timestamp}.{body}" with the
    webhook secret, the Unix timestamp in X-Chatwoot-Timestamp."""

    def __init__(self, client: Any, secret: str) -> None:
        self.client, self.secret = client, secret

    def deliver(
        self, payload: Any, *, at: float | None = None, secret: str | None = None
    ) -> httpx.Response:
        body = _body(payload)
        stamp = str(int(time.time() if at is None else at))
        digest = hmac.new(
            (secret or self.secret).encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return self.client.post(
            "/v1/webhooks/chatwoot",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Chatwoot-Timestamp": stamp,
                "X-Chatwoot-Signature": f"sha256={digest}",
            },
        )


class Shopify:
    """Shopify: X-Shopify-Hmac-Sha256 = base64 HMAC-SHA256 of the raw body with the app's client
    secret; the topic in X-Shopify-Topic."""

    def __init__(self, client: Any, secret: str) -> None:
        self.client, self.secret = client, secret

    def deliver(self, payload: Any, *, topic: str, secret: str | None = None) -> httpx.Response:
        body = _body(payload)
        digest = hmac.new((secret or self.secret).encode(), body, hashlib.sha256).digest()
        return self.client.post(
            "/v1/webhooks/shopify",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Shop-Domain": "rapport-demo.myshopify.com",
                "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            },
        )
