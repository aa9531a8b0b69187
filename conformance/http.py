"""Every request of a run, whoever sends it, goes through one `Session`.

The rules' probes use `Client` (httpx); Schemathesis uses a `requests.Session` whose adapter is
`GuardedAdapter`. Both pass the same gate (tenant, ownership, read-only), the same guard (budget, rate limit,
429 back-off), and both record an `Exchange` that names the contract operation it called, registers the
records a create made, and can be replayed as a curl command with the token left out.

The session also keeps, per thread, the trace of the unit (or driver) running there: every exchange it sent,
in order. A failure then shows each step of a multi-step check, and the coverage view learns who reached
which operation, without the checks doing anything for it.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter

from collect_contract import Contract, Kind, Operation
from conformance.config import Config
from conformance.ledger import Ledger
from conformance.safety import TOKEN_VARIABLE, Gate, Guard, Redactor
from conformance.text import has_unprintable

Observer = Callable[["Exchange"], None]
Tap = Callable[["Exchange", str], None]
UNSET: Any = object()
# Headers a reproduction leaves to curl: they describe the connection, not the request.
CONNECTION_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})
TRACE_HEAD, TRACE_TAIL = 3, 200  # a trace keeps its first and its latest exchanges


@dataclass
class Exchange:
    """One request and its response, as plain data."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    operation: Operation | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0
    contract: Contract | None = field(default=None, repr=False)
    # Applied before a summary is cut, so that a cut never leaves half a token to see.
    redact: Callable[[str], str] = field(default=str, repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def label(self) -> str:
        return self.operation.label if self.operation else f"{self.method} {self.path}"

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None

    def summary(self, limit: int = 300) -> str:
        """`404 application/problem+json {"title": ...}`: what the API answered, for a failure message."""
        text = self.redact(self.body.decode("utf-8", "replace"))
        text = text if len(text) <= limit else text[:limit] + "..."
        return f"{self.status} {self.media_type or '(no content type)'} {text}".rstrip()

    def curl(self, secret: str = "") -> str:
        """The request as a command for a POSIX shell, exact to the byte; `secret` (the token) is written as
        `${COLLECT_CONFORMANCE_TOKEN}`, outside any quotes, so that the shell fills it in."""
        parts = ["curl", "-sS", "-i", "--globoff", "-X", shell_word(self.method), shell_word(self.url)]
        for name, value in self.request_headers.items():
            if name.lower() not in CONNECTION_HEADERS:
                parts += ["-H", shell_word(f"{name}: {value}", secret)]
        if not self.request_body:
            return " ".join(parts)
        try:
            text = self.request_body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not has_unprintable(text.replace("\n", "").replace("\t", "")):
            return " ".join([*parts, "--data-raw", shell_word(text, secret)])
        # Bytes a shell argument cannot carry (NUL, control characters, invalid UTF-8) go through printf.
        return f"printf '{_octal(self.request_body)}' | " + " ".join([*parts, "--data-binary", "@-"])


def shell_word(text: str, secret: str = "") -> str:
    """`text` as one POSIX shell word: single-quoted, with each occurrence of `secret` as the token variable."""
    if not secret or secret not in text:
        return _quoted(text)
    pieces = text.split(secret)
    return f'"{TOKEN_VARIABLE}"'.join(_quoted(piece) if piece else "" for piece in pieces)


def _quoted(text: str) -> str:
    if has_unprintable(text):
        # A header value with control characters: printf writes them (a shell word cannot show them raw).
        return f"\"$(printf '{_octal(text.encode('utf-8', 'surrogatepass'))}')\""
    return shlex.quote(text)


def _octal(data: bytes) -> str:
    """`data` for printf's format inside single quotes: printable ASCII as is, every other byte as \\ooo."""
    return "".join(chr(b) if 0x20 <= b < 0x7F and chr(b) not in "\\%'" else f"\\{b:03o}" for b in data)


@dataclass
class Trace:
    """The exchanges one unit (or driver) sent, in order: the first few and the latest, and how many in all."""

    unit: str
    head: list[Exchange] = field(default_factory=list)
    tail: deque[Exchange] = field(default_factory=lambda: deque(maxlen=TRACE_TAIL))
    total: int = 0

    def add(self, exchange: Exchange) -> None:
        self.total += 1
        (self.head if len(self.head) < TRACE_HEAD else self.tail).append(exchange)

    @property
    def exchanges(self) -> list[Exchange]:
        """What is kept, in order (the exchanges between head and tail of a very long trace are gone)."""
        return [*self.head, *self.tail]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self.tail)


class Session:
    """The gate, guard, ledger and redactor of a run, and the clients that use them."""

    def __init__(self, config: Config, contract: Contract):
        self.config, self.contract = config, contract
        self.guard = Guard(config.budget, config.rate_limit, config.retries)
        self.ledger = Ledger()
        readable = [config.other_tenant] if config.other_tenant else []
        self.gate = Gate(contract, self.ledger, config.tenant, readable, config.read_only)
        self.redact = Redactor([config.token])
        self.secret = config.token
        self.observers: list[Observer] = []
        # Called with every exchange of the run (Schemathesis' too) and the unit or driver that sent it.
        self.taps: list[Tap] = []
        self.auth_header = f"Bearer {config.token}"
        self._local = threading.local()

    # -- the two ways out -----------------------------------------------------------------------------------

    def client(self) -> Client:
        return Client(self)

    def requests_session(self) -> requests.Session:
        """A requests.Session for Schemathesis: every request passes the gate and guard, and is recorded."""
        session = requests.Session()
        adapter = GuardedAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    # -- shared steps -------------------------------------------------------------------------------------------

    def exchange(
        self, method: str, url: str, req_headers: dict[str, str], req_body: bytes | None, **resp: Any
    ) -> Exchange:
        found = self.contract.match(method, urlsplit(url).path)
        operation, params = found if found else (None, {})
        return Exchange(
            method,
            url,
            req_headers,
            req_body,
            operation=operation,
            path_params=params,
            contract=self.contract,
            redact=self.redact,
            **resp,
        )

    def record(self, exchange: Exchange, observe: bool) -> None:
        """Register what a create made (or a delete removed), add it to the thread's trace, then let the
        response rules judge it."""
        register_changes(self.ledger, exchange)
        self._local.last = exchange
        trace = self.trace
        if trace is not None:
            trace.add(exchange)
        for tap in list(self.taps):
            tap(exchange, trace.unit if trace else "")
        if observe:
            for observer in list(self.observers):
                observer(exchange)

    @contextmanager
    def tracing(self, unit: str) -> Iterator[Trace]:
        """Record the exchanges this thread sends, until the block ends, as `unit`'s trace (traces nest: a
        driver started from inside a unit has its own)."""
        outer, trace = self.trace, Trace(unit)
        self._local.trace = trace
        try:
            yield trace
        finally:
            self._local.trace = outer

    @property
    def trace(self) -> Trace | None:
        """The trace of the unit running in the calling thread, if any."""
        return getattr(self._local, "trace", None)

    @property
    def last(self) -> Exchange | None:
        """The last exchange of the calling thread (for failures that need a reproduction)."""
        return getattr(self._local, "last", None)


class Client:
    """The probes' HTTP client: `call("getBatch", id=...)` or `request("GET", "/batches/t")`."""

    def __init__(self, session: Session):
        self.session = session
        self.config = session.config
        self.http = httpx.Client(base_url=self.config.base_url, timeout=self.config.timeout)

    def call(self, operation_id: str, *, tenant: str | None = None, **kwargs: Any) -> Exchange:
        """Call an operation of the contract; path parameters by name, `tenantId` defaults to the tenant."""
        operation = self.session.contract.operations[operation_id]
        path_args = {k: kwargs.pop(k) for k in list(kwargs) if k in operation.parameters and k != "params"}
        path_args.setdefault("tenantId", tenant or self.config.tenant)
        return self.request(operation.method.upper(), operation.url(**path_args), **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = UNSET,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: bool | str | None = True,
        observe: bool = True,
    ) -> Exchange:
        """Send one request (retrying 429s); `auth`: True for the token, None for none, or a header value."""
        sent_headers = dict(headers or {})
        if auth is True:
            sent_headers["Authorization"] = self.session.auth_header
        elif isinstance(auth, str):
            sent_headers["Authorization"] = auth
        if json is not UNSET:
            content = _dumps(json)
            sent_headers.setdefault("Content-Type", "application/json")
        request = self.http.build_request(method, path, params=params, content=content, headers=sent_headers)
        self.session.gate.check(method, request.url.path, content)
        response, elapsed = self._send(request)
        exchange = self.session.exchange(
            method,
            str(request.url),
            dict(request.headers),
            content,
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
            elapsed=elapsed,
        )
        self.session.record(exchange, observe)
        return exchange

    def _send(self, request: httpx.Request) -> tuple[httpx.Response, float]:
        """Send through the guard; the time is that of the last try."""
        started = 0.0

        def attempt() -> httpx.Response:
            nonlocal started
            started = time.monotonic()
            return self.http.send(request)

        response = self.session.guard.send(attempt)
        return response, time.monotonic() - started

    def close(self) -> None:
        self.http.close()


class GuardedAdapter(HTTPAdapter):
    """The requests transport Schemathesis sends through: gate, guard, 429 back-off and recording."""

    def __init__(self, session: Session):
        super().__init__()
        self.session = session

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        body = body if isinstance(body, bytes) else None
        self.session.gate.check(str(request.method), urlsplit(str(request.url)).path, body)
        response = self.session.guard.send(lambda: super(GuardedAdapter, self).send(request, *args, **kwargs))
        exchange = self.session.exchange(
            str(request.method),
            str(request.url),
            {str(k): str(v) for k, v in request.headers.items()},
            body,
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
            elapsed=response.elapsed.total_seconds(),
        )
        # Schemathesis runs the response rules itself (as checks), so they do not observe this exchange.
        self.session.record(exchange, observe=False)
        return response


def register_changes(ledger: Ledger, exchange: Exchange) -> None:
    """Tell the ledger what a successful (any 2xx) create made and a delete removed.

    The ledger decides whether a record a create answered is the run's own (see `Ledger.claim`); a 2xx create
    that names no record is remembered too, since whatever it stored cannot be cleaned up.
    """
    operation = exchange.operation
    if operation is None or operation.collection is None or not 200 <= exchange.status < 300:
        return
    collection = operation.collection
    if operation.kind is Kind.CREATE:
        created = created_id(exchange)
        if created is None:
            ledger.unidentified(collection, f"{operation.label} answered {exchange.status} {unnamed(exchange)}")
        else:
            ledger.claim(collection, created, _record_named(exchange.json_or_none(), created), _sent(exchange))
    elif operation.kind is Kind.DELETE:
        ledger.discard(collection, exchange.path_params.get("id", ""))
    elif operation.kind in (Kind.REPLACE, Kind.PATCH):
        ledger.revive(collection, exchange.path_params.get("id", ""))  # a server that revives a deleted record
    elif operation.kind is Kind.BATCH:
        _register_batch(ledger, collection, exchange)


def _register_batch(ledger: Ledger, collection: str, exchange: Exchange) -> None:
    body, sent = exchange.json_or_none(), _sent(exchange)
    objects = (
        [o.get("object") for o in sent.get("operations", []) if isinstance(o, dict)] if isinstance(sent, dict) else []
    )
    creates = iter(o for o in objects if o is not None)
    for result in (body or {}).get("results", []) if isinstance(body, dict) else []:
        if not isinstance(result, dict):
            continue
        sent_object = next(creates, None) if result.get("operation") == "create" else None
        if result.get("outcome") != "success":
            continue
        record_id = result.get("id")
        if result.get("operation") == "create":
            if isinstance(record_id, str) and record_id:
                ledger.claim(collection, record_id, _record_named(result.get("object"), record_id), sent_object)
            else:
                ledger.unidentified(collection, f"a batch create succeeded without naming a record ({exchange.label})")
        elif result.get("operation") == "delete" and isinstance(record_id, str):
            ledger.discard(collection, record_id)


def _record_named(body: Any, record_id: str) -> dict[str, Any] | None:
    """`body` when it is the record `record_id` (a create's answer may be an execution token instead)."""
    return body if isinstance(body, dict) and body.get("id") == record_id else None


def _sent(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.request_body or b"null")
    except ValueError:
        return None


def unnamed(exchange: Exchange) -> str:
    """Why a 2xx create answer names no record, as observed: no id at all, or an id that is not text."""
    body = exchange.json_or_none()
    value = body.get("id") if isinstance(body, dict) else None
    if value is not None and not isinstance(value, str):
        return f"with an id that is not a string ('{_dumps(value).decode()}', a JSON {json_kind(value)})"
    return "without naming a record"


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value: number, boolean, object, array, string or null."""
    kinds = ((bool, "boolean"), ((int, float), "number"), (dict, "object"), (list, "array"), (str, "string"))
    return next((name for types, name in kinds if isinstance(value, types)), "null")


def created_id(exchange: Exchange) -> str | None:
    """The id a create answer names: X-Record-Id, the record's id, or the last segment of executionArn."""
    if exchange.headers.get("x-record-id"):
        return exchange.headers["x-record-id"]
    body = exchange.json_or_none()
    if isinstance(body, dict):
        if isinstance(body.get("id"), str) and body["id"]:
            return str(body["id"])
        if isinstance(body.get("executionArn"), str):
            return str(body["executionArn"]).rsplit(":", 1)[-1] or None
    return None


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
