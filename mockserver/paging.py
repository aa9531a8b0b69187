"""Opaque start keys: where a walk stopped, signed and bound to the walk that issued them.

A key is `base64url(payload).base64url(signature)`; the payload holds the last sequence number returned and a
fingerprint of the tenant, collection and query. A key that does not decode, whose signature does not match, or
that was issued for another walk is refused with 400 rather than silently restarting or leaking another walk.
Keys are signed with a key derived from the database's secret (kept in its snapshot), so the keys of a file-backed
mock survive its restarts; an in-memory mock's secret, like its records, lasts one run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from mockserver.errors import BadRequestProblem, FieldError

PARAM = "exclusiveStartKey"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive(secret: str, purpose: str) -> bytes:
    """A key for one purpose from a database's secret, so that no two uses share a key."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


class KeyCodec:
    def __init__(self, secret: bytes | None = None):
        self._secret = secret or secrets.token_bytes(32)

    @staticmethod
    def fingerprint(*parts: Any) -> str:
        """A short digest of what identifies a walk (tenant, collection, operation, filters)."""
        canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def encode(self, walk: str, seq: int) -> str:
        payload = _b64(json.dumps({"w": walk, "k": seq}, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def decode(self, key: str | None, walk: str) -> int:
        """The sequence number to resume after (0 without a key)."""
        if key is None:
            return 0
        payload, _, signature = key.partition(".")
        try:
            if not hmac.compare_digest(signature, self._sign(payload)):
                raise ValueError("bad signature")
            data = json.loads(_unb64(payload))
            seq, issued_for = int(data["k"]), data["w"]
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
            raise _bad(
                "is not a start key of this database: pass back LastEvaluatedKey unchanged (the keys of an "
                "in-memory mock last one run; a file-backed mock's survive restarts)"
            ) from None
        if issued_for != walk or seq < 0:
            raise _bad("was issued for another tenant, collection or query")
        return seq

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._secret, payload.encode(), hashlib.sha256).digest()[:16])


def _bad(message: str) -> BadRequestProblem:
    return BadRequestProblem.from_errors("Invalid query parameter", [FieldError("query", PARAM, message)])
