"""The mock's configuration: defaults live only in `Settings`; the CLI and `MOCKSERVER_*` variables override them."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collect_contract import SPEC_PATH
from collect_fixtures import DATA_DIR

MEMORY = ":memory:"
DEFAULT_TOKEN = "dev-token"
DEFAULT_ADMIN_TOKEN = "dev-admin-token"


class SettingsError(ValueError):
    """A configuration value is unusable; the message names the key and the value."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    # A TinyDB file (with a write-ahead log next to it), or ":memory:" for state that dies with the process.
    db: str = "data/collect.json"
    # Load the fixtures into an empty database on start.
    seed: bool = True
    fixtures: Path = DATA_DIR / "default"
    # The development token works for every tenant; `tokens` adds tokens limited to some tenants.
    token: str = DEFAULT_TOKEN
    tokens: dict[str, frozenset[str]] = field(default_factory=dict)
    # The admin API's token ("" turns the admin API off, all but /_mock/health); never one of the API's tokens.
    admin_token: str = DEFAULT_ADMIN_TOKEN
    # Names (besides localhost, *.localhost and IP addresses) under which the admin API answers a request that came
    # through a loopback address, e.g. a local reverse proxy's; "*" for any. Against DNS rebinding: see exposure.py.
    allowed_hosts: frozenset[str] = frozenset()
    page_size: int = 100
    spec_path: Path = SPEC_PATH
    # Validate every response against the contract (slower; a wrong response becomes a 500).
    validate_responses: bool = False
    # fsync the write-ahead log on every write: survives power loss, not only a killed process.
    fsync: bool = False
    swagger_ui: bool = True
    # Fold the write-ahead log into a new snapshot, in a forked process, once it holds this many writes
    # (0: only at start and at a clean stop) ...
    compact_every: int = 50_000
    # ... or this many bytes (at least as many as the last snapshot holds).
    compact_bytes: int = 64 * 1_048_576
    # Requests kept in the journal (0 turns it off), and the bytes of paths, queries and bodies they may hold.
    journal_size: int = 10_000
    journal_bytes: int = 32 * 1_048_576
    # Slow clients: seconds a connection may take to send a request's headers (counted from when it connects or
    # finished its previous request) and then its body; connections served at once (0: as many as the open-file
    # limit allows, at most 1000). At the limit a new connection displaces the one idling longest, or gets a 503.
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 0
    # Fault rules active from the start (see mockserver/faults.py); the admin API changes them at run time.
    faults: tuple[dict[str, object], ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.page_size <= 10_000:
            raise SettingsError(f"Config 'page_size' has value '{self.page_size}'. Not between 1 and 10000.")
        if not 0 <= self.port <= 65_535:
            raise SettingsError(f"Config 'port' has value '{self.port}'. Not a TCP port.")
        for name in ("compact_every", "compact_bytes", "journal_size", "journal_bytes", "max_connections"):
            if getattr(self, name) < 0:
                raise SettingsError(f"Config '{name}' has value '{getattr(self, name)}'. Not 0 or more.")
        for name in ("header_timeout", "body_timeout"):
            if not 0 < getattr(self, name) <= 3600:
                raise SettingsError(f"Config '{name}' has value '{getattr(self, name)}'. Not between 0 and 3600 s.")
        if not self.token:
            raise SettingsError("Config 'token' has value ''. A token cannot be empty.")
        if self.admin_token and (self.admin_token == self.token or self.admin_token in self.tokens):
            raise SettingsError(
                "Config 'admin_token' has the value of a token of the API. Whoever may call the API could then export, "
                "reset or reseed everything: give the admin API a token of its own."
            )

    def replace(self, **changes: Any) -> Settings:
        """A copy with the given values; None means 'keep the current one'."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, prefix: str = "MOCKSERVER_") -> Settings:
        """Settings with every `MOCKSERVER_<NAME>` variable applied, e.g. `MOCKSERVER_PAGE_SIZE=20`."""
        environ = dict(os.environ if environ is None else environ)
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(prefix + f.name.upper())
            if raw is not None:
                changes[f.name] = _parse(f.name, raw, str(f.type))
        return cls().replace(**changes)


def parse_tokens(raw: str) -> dict[str, frozenset[str]]:
    """`token1=acme+globex,token2=acme` -> {token: tenants}."""
    tokens: dict[str, frozenset[str]] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        token, sep, tenants = item.partition("=")
        if not sep or not token or not tenants:
            raise SettingsError(f"Config 'tokens' has value '{item}'. Expected TOKEN=TENANT[+TENANT...].")
        tokens[token] = frozenset(filter(None, tenants.split("+")))
    return tokens


def parse_hosts(raw: str) -> frozenset[str]:
    """`mock.test,proxy.example` -> the names, lowercased."""
    return frozenset(filter(None, (part.strip().lower().rstrip(".") for part in raw.split(","))))


def _parse(name: str, raw: str, kind: str) -> object:
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"Config '{name}' has value '{raw}'. Not a valid bool.")
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"Config '{name}' has value '{raw}'. Not a valid integer.") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"Config '{name}' has value '{raw}'. Not a valid number.") from None
    if kind == "Path":
        return Path(raw)
    if name == "tokens":
        return parse_tokens(raw)
    if name == "allowed_hosts":
        return parse_hosts(raw)
    if name == "faults":
        from mockserver.faults import FaultError, read_rules

        try:
            return read_rules(Path(raw))
        except FaultError as exc:
            raise SettingsError(f"Config 'faults' has value '{raw}'. {exc}") from None
    return raw
