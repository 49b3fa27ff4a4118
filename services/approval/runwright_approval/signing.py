"""Signing a delivery so its receiver can tell it came from Runwright and was not replayed late.

``X-Runwright-Signature: sha256=<hex>`` is the HMAC-SHA256 of ``<timestamp>.<raw body>`` keyed
with the webhook's secret; ``X-Runwright-Timestamp`` is that timestamp (Unix seconds), so a
receiver can refuse old ones.
"""

from __future__ import annotations

import hashlib
import hmac

from runwright_proto.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def signed_headers(
    secret: str, timestamp: str, body: bytes, *, delivery_id: str, event: str
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
