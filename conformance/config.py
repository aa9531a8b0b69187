"""The run's configuration. The defaults live only in `Config`; the CLI, the pytest plugin and the
`COLLECT_CONFORMANCE_*` environment variables override them (the token is best passed that way, so that it
never shows in a process list)."""

from __future__ import annotations

import dataclasses
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from collect_contract import SPEC_PATH
from conformance.errors import ConfigError, Reason
from conformance.safety import unsafe_secret
from conformance.tolerance import KNOWN
from conformance.validators import ID_PATTERN

ENV_PREFIX = "COLLECT_CONFORMANCE_"


@dataclass(frozen=True)
class Config:
    """Everything a run needs. `token` is kept out of `repr` so that it cannot leak through a traceback."""

    base_url: str
    token: str = field(repr=False)
    tenant: str
    # A tenant the token must NOT reach: enables the 403 and isolation rules (not verified without it).
    other_tenant: str | None = None
    spec: Path = SPEC_PATH
    rules: tuple[str, ...] = ()
    skip_rules: tuple[str, ...] = ()
    # Examples per operation and generation mode (Schemathesis), and scenarios for the stateful run.
    max_examples: int = 10
    # Fixes Hypothesis, Schemathesis and every choice the suite makes; None picks one and reports it.
    seed: int | None = None
    read_only: bool = False
    junit_xml: Path | None = None
    report: Path | None = None
    # Where the tracebacks of the suite's own errors go; None: next to `report` (or `junit_xml`) as `.log`.
    log: Path | None = None
    # Not-verified units a pipeline accepts: True for any reason, or the reasons (`Reason` values) it accepts.
    # An accepted partial run exits 0 instead of 4, and its summary still says PARTIAL.
    accept_partial: bool | tuple[str, ...] = False
    workers: int = 2
    # Politeness towards a real deployment: at most `budget` requests, at most `rate_limit` per second (0: no
    # limit); a 429 is retried up to `retries` times after its Retry-After (or an exponential backoff).
    budget: int = 10_000
    rate_limit: float = 20.0
    retries: int = 5
    timeout: float = 30.0
    # Records the paging rules create per walk; more than the server's page size exercises the paging keys.
    paging_records: int = 7
    # A list-all walk stops after this many pages (and checks what it walked).
    max_pages: int = 200
    # The command line's progress display (`--quiet` turns it off); `run()` reports progress to its callback only.
    progress: bool = True
    # Known deviations whose negative-fuzzing findings are counted instead of failed (see conformance.tolerance).
    tolerate: tuple[str, ...] = ()
    # Compare the target with the model (a fresh mock, or the mock at `oracle`) instead of checking rules.
    differential: bool = False
    oracle: str | None = None

    def __post_init__(self) -> None:
        for key in ("spec", "junit_xml", "report", "log"):  # a path given as text (the library's users write them)
            if isinstance(getattr(self, key), str):
                object.__setattr__(self, key, Path(getattr(self, key)))
        parsed = urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError.bad_value("base_url", self.base_url, "Not an http(s) URL.")
        if self.oracle is not None and (urlparse(self.oracle).scheme not in ("http", "https") or not self.differential):
            raise ConfigError.bad_value("oracle", self.oracle, "Needs --differential and an http(s) URL.")
        if not self.token:
            raise ConfigError("Config 'token' is empty. Pass --token or set COLLECT_CONFORMANCE_TOKEN.")
        unsafe = unsafe_secret(self.token)
        if unsafe:
            raise ConfigError(f"Config 'token' cannot be kept out of the reports: {unsafe}. Use a longer token.")
        for key in ("tenant", "other_tenant"):
            value = getattr(self, key)
            if value is not None and not _is_id(value):
                raise ConfigError.bad_value(key, value, "Not a tenant id (ASCII letters, digits, _, | and -).")
        if self.other_tenant == self.tenant:
            raise ConfigError.bad_value("other_tenant", self.other_tenant, "Must differ from 'tenant'.")
        for key in ("max_examples", "budget", "workers", "paging_records", "max_pages"):
            if getattr(self, key) < 1:
                raise ConfigError.bad_value(key, getattr(self, key), "Must be at least 1.")
        unknown = set(self.tolerate) - set(KNOWN)
        if unknown:
            raise ConfigError.bad_value("tolerate", ",".join(sorted(unknown)), f"Not one of: {', '.join(KNOWN)}.")
        if not isinstance(self.accept_partial, bool):
            unknown = set(self.accept_partial) - {r.value for r in Reason}
            if unknown or not self.accept_partial:
                known = ", ".join(r.value for r in Reason)
                shown = ",".join(sorted(unknown))
                raise ConfigError.bad_value("accept_partial", shown, f"Not one of: {known} (or True for all).")
        if self.rate_limit < 0 or self.retries < 0 or self.timeout <= 0:
            raise ConfigError("Config 'rate_limit' and 'retries' must be >= 0 and 'timeout' > 0.")

    @property
    def accepted(self) -> frozenset[Reason]:
        """The reasons for which a unit may stay unverified and the run still exit 0."""
        if isinstance(self.accept_partial, bool):
            return frozenset(Reason) if self.accept_partial else frozenset()
        return frozenset(Reason(r) for r in self.accept_partial)

    @property
    def log_path(self) -> Path | None:
        return log_path(self.log, self.report, self.junit_xml)

    def with_seed(self) -> Config:
        """This config with its seed fixed: the configured one, or a random one that the report then names."""
        return self if self.seed is not None else dataclasses.replace(self, seed=secrets.randbelow(2**31))

    def replace(self, **changes: object) -> Config:
        """A copy with the given values; None means 'keep the current one'."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Config:
        """A Config from `COLLECT_CONFORMANCE_BASE_URL`, `_TOKEN`, `_TENANT`, `_OTHER_TENANT`, then `overrides`."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for name in ("base_url", "token", "tenant", "other_tenant"):
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        missing = [name for name in ("base_url", "token", "tenant") if not values.get(name)]
        if missing:
            flags = ", ".join(f"--{m.replace('_', '-')} (or {ENV_PREFIX}{m.upper()})" for m in missing)
            raise ConfigError(f"Missing configuration: {flags}")
        return cls(**values)  # type: ignore[arg-type]


def log_path(log: Path | None, report: Path | None, junit_xml: Path | None) -> Path | None:
    """The log file: `log`, or else beside the report (or the JUnit file) with the suffix `.log`; none when no
    file is written at all."""
    beside = report or junit_xml
    return log or (beside.with_suffix(".log") if beside else None)


def _is_id(value: str) -> bool:
    """The contract's id pattern (ASCII, as `tenantId` is written), matched by the whole value."""
    return ID_PATTERN.fullmatch(value) is not None
