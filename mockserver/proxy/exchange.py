"""One request the recorder forwarded and what the deployment answered, as plain data for the checker thread."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress,
    "x-gzip": gzip.decompress,
    "deflate": zlib.decompress,
}


@dataclass
class Observation:
    number: int
    at: float  # epoch seconds
    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]  # the request's, without Authorization
    credential: str | None  # the Authorization scheme ("Bearer", "" for a bare key), never its value
    body: bytes
    status: int
    response_headers: list[tuple[str, str]]  # lower-case names
    response_body: bytes
    url: str  # the upstream URL the request went to
    duration_ms: float = 0.0
    truncated: bool = False  # the answer was larger than the recorder checks
    _json: dict[str, Any] = field(default_factory=dict, repr=False)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.response_headers if k == name), None)

    def request_header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def projected(self) -> bool:
        """The request named the fields to answer (`fields`, `fieldsToReturn`)."""
        return "fields=" in self.query or "fieldsToReturn=" in self.query

    def request_json(self) -> Any:
        """The request body as JSON, or None (not JSON, or none)."""
        if "request" not in self._json:
            try:
                self._json["request"] = orjson.loads(self.body) if self.body.strip() else None
            except orjson.JSONDecodeError:
                self._json["request"] = None
        return self._json["request"]

    def response_json(self) -> Any:
        """The answer's body as JSON (decoded from its Content-Encoding), or None."""
        if "response" not in self._json:
            self._json["response"] = _decoded_json(self) if not self.truncated else None
        return self._json["response"]


def _decoded_json(observation: Observation) -> Any:
    body = observation.response_body
    encoding = (observation.header("content-encoding") or "").strip().lower()
    if encoding and encoding != "identity":
        decoder = DECODERS.get(encoding)
        if decoder is None:
            return None
        try:
            body = decoder(body)
        except (OSError, zlib.error, EOFError):
            return None
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
