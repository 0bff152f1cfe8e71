"""Standard Webhooks signing of a replay (https://www.standardwebhooks.com/).

* ``webhook-id``: the delivery id, the same on every attempt, so a receiver that
  de-duplicates by it sees a replay as the same message.
* ``webhook-timestamp``: seconds since the epoch when the replay is sent (fresh each time).
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` with the
  endpoint's secret (``endpoints.signing_secret``, ``whsec_<base64>``), only when one is set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

SECRET_PREFIX = "whsec_"


class BadSecret(ValueError):
    """The endpoint's signing secret is not a Standard Webhooks secret."""


def secret_bytes(secret: str) -> bytes:
    """The key inside a ``whsec_<base64>`` secret (the prefix is optional)."""
    text = secret.strip()
    if text.startswith(SECRET_PREFIX):
        text = text[len(SECRET_PREFIX):]
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise BadSecret("the endpoint's signing secret is not whsec_<base64>") from None
    if not key:
        raise BadSecret("the endpoint's signing secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 signature>``."""
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class Message:
    body: bytes
    content_type: str


def encode_payload(payload: object) -> Message | None:
    """The bytes a replay sends for a stored payload, or None when there is none.

    An object or list is sent as compact JSON; a string is sent as it is (JSON content
    type when it parses as JSON, plain text otherwise).
    """
    if payload is None:
        return None
    if isinstance(payload, str):
        try:
            json.loads(payload)
            content_type = "application/json"
        except ValueError:
            content_type = "text/plain; charset=utf-8"
        return Message(payload.encode("utf-8"), content_type)
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str)
    return Message(text.encode("utf-8"), "application/json")


def webhook_headers(delivery_id: str, body: bytes, at: datetime, secret: str | None) -> dict:
    """The Standard Webhooks headers for one send at ``at``."""
    timestamp = int(at.timestamp())
    headers = {"webhook-id": delivery_id, "webhook-timestamp": str(timestamp)}
    if secret:
        headers["webhook-signature"] = sign(secret, delivery_id, timestamp, body)
    return headers
