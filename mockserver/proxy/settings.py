"""The recorder's configuration: the defaults live only in `ProxySettings`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collect_contract import SPEC_PATH
from mockserver.settings import DEFAULT_ADMIN_TOKEN, Settings, SettingsError


@dataclass(frozen=True)
class ProxySettings:
    # The deployment every API request is forwarded to, e.g. https://collect.api.rhythmsoftware.com
    upstream: str
    host: str = "127.0.0.1"
    port: int = 8081
    admin_token: str = DEFAULT_ADMIN_TOKEN
    # Names (besides localhost, *.localhost and IP addresses) under which the admin API answers a request that came
    # through a loopback address; "*" for any. Against DNS rebinding: see mockserver/exposure.py.
    allowed_hosts: frozenset[str] = frozenset()
    # Write what was seen as fixtures here at exit (`collect-mock seed --from DIR` loads them).
    record: Path | None = None
    # Fields whose values never reach a recording or the drift report (besides the credential-like ones).
    redact: tuple[str, ...] = ()
    # Write the drift report here at exit (.md, .html or .json).
    report: Path | None = None
    # The journal's bounds, the mock's (`mockserver.journal`): entries, and bytes of its answer.
    journal_size: int = Settings.journal_size
    journal_bytes: int = Settings.journal_bytes
    timeout: float = 30.0
    spec_path: Path = SPEC_PATH
    # Exchanges waiting for their check; beyond it an exchange is forwarded but not checked (and counted).
    backlog: int = 10_000
    # Bodies larger than this are forwarded whole but not checked.
    max_checked_body: int = 8 * 1_048_576

    def __post_init__(self) -> None:
        parsed = urlsplit(self.upstream)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise SettingsError(f"Config 'upstream' has value '{self.upstream}'. Not an http(s) base URL.")
        if not 0 <= self.port <= 65_535:
            raise SettingsError(f"Config 'port' has value '{self.port}'. Not a TCP port.")
        if self.timeout <= 0 or self.backlog < 1:
            raise SettingsError("Config 'timeout' must be > 0 and 'backlog' at least 1.")

    @property
    def base(self) -> str:
        """The upstream without a trailing slash: request paths are appended to it."""
        return self.upstream.rstrip("/")

    def replace(self, **changes: Any) -> ProxySettings:
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})
