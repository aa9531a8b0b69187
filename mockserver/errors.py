"""HTTP problems the mock raises, rendered in one place as the contract's `Problem` body.

    ProblemException (connexion)
    └── MockProblem                 our base: a status, a title and a list of FieldError
        ├── BadRequestProblem       400  invalid body, parameter, content type, start key, ...
        ├── ForbiddenProblem        403  credential not allowed for the tenant
        ├── NotFoundProblem         404  no such record in the tenant
        ├── ConflictProblem         409  missing reference, locked record, batch still referenced, version at its end
        └── StorageProblem          507  the disk refused the write: nothing was stored

Handlers raise these and never build error responses themselves. `problem_parts` renders any problem
(ours, or one connexion raised, such as its 401s) as `application/problem+json`; injected faults use the same
`problem_body`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from mockserver import http_titles
from mockserver.connexion_adapter import ProblemException

logger = logging.getLogger(__name__)


MAX_SHOWN = 80  # a value quoted in a message
MAX_FIELD = 200  # a field's path (field names may be 65,536 characters long)
MAX_MESSAGE = 1_000  # one message
MAX_DETAIL = 8_000  # a problem's detail: a few messages


def shown_value(value: Any) -> str:
    """A value as an error message quotes it: whole when short, else its start, so that an error about a
    100-item array or a 60,000-character string is a line, not a copy of the request."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 5]}...{text[-1]}"


def shortened(text: str, limit: int = MAX_MESSAGE) -> str:
    """Text an answer carries (a message, a field path, a detail): whole when short, else its start and its length.

    The last guard of the promise that a message quotes a large value by its start: a library's message that
    embeds a whole document (jsonpointer's "member 'x' not found in {...}") or a 60,000-character field name
    stays a line, in every problem and in every batch operation's `error_message`. At most `limit` characters, so
    that text shortened once is left as it is."""
    if len(text) <= limit:
        return text
    marker = f"…({len(text)} characters)"
    return text[: max(0, limit - len(marker))] + marker


@dataclass(frozen=True)
class FieldError:
    """One offending value: where it was (`body`, `path`, `query`, `header`), which field, and what is wrong."""

    location: str
    field: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "field", shortened(self.field, MAX_FIELD))
        object.__setattr__(self, "message", shortened(self.message))

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "field": self.field, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.location} {self.field}".strip() if self.field else self.location
        return f"{where}: {self.message}"


class MockProblem(ProblemException):  # type: ignore[misc]
    status = 500

    def __init__(self, detail: str, errors: list[FieldError] | None = None, headers: dict[str, str] | None = None):
        ext = {"errors": [e.as_dict() for e in errors]} if errors else None
        super().__init__(
            status=type(self).status,
            title=http_titles.title(type(self).status),
            detail=shortened(detail, MAX_DETAIL),
            type="about:blank",
            headers=headers,
            ext=ext,
        )
        self.errors = errors or []


class BadRequestProblem(MockProblem):
    status = 400

    @classmethod
    def from_errors(cls, what: str, errors: list[FieldError]) -> BadRequestProblem:
        """One problem for all errors found, its detail naming each of them."""
        shown = "; ".join(str(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        return cls(f"{what}: {shown}{more}", errors)


class ForbiddenProblem(MockProblem):
    status = 403


class NotFoundProblem(MockProblem):
    status = 404


class ConflictProblem(MockProblem):
    status = 409


class StorageProblem(MockProblem):
    """The mock's storage refused a write (a full disk, an I/O error, a read-only file system): nothing was stored,
    and the client may try again once the storage is back."""

    status = 507


class ResponseProblem(MockProblem):
    """The mock's own answer broke the contract (only with --validate-responses)."""

    status = 500


PROBLEM_JSON = "application/problem+json"


def problem_parts(exc: ProblemException) -> tuple[int, dict[str, str], bytes]:
    """A problem raised anywhere (by us or by connexion) as status, headers and `Problem` body."""
    status = exc.status
    detail = shortened(str(exc.detail or exc.title or http_titles.title(status)), MAX_DETAIL)
    # A client's mistake is routine for a mock (INFO); a 5xx is the mock's own (ERROR).
    (logger.info if status < 500 else logger.error)("%s %s", status, detail)
    headers = {"Content-Type": PROBLEM_JSON, **(exc.headers or {})}
    return status, headers, problem_body(status, detail, exc.title, exc.type, exc.ext)


def problem_body(
    status: int, detail: str, title: str | None = None, type_: str | None = None, ext: dict[str, Any] | None = None
) -> bytes:
    """The contract's `Problem`, serialised: every error answer of the mock is built here, so every text in it is
    bounded here (`shortened`), whoever raised the problem."""
    body: dict[str, Any] = {
        "type": type_ or "about:blank",
        "title": title or http_titles.title(status),
        "status": status,
        "detail": shortened(detail, MAX_DETAIL),
    }
    for name, value in (ext or {}).items():
        body[name] = [_short_error(e) for e in value] if name == "errors" and isinstance(value, list) else value
    return json_bytes(body)


def _short_error(error: Any) -> Any:
    if not isinstance(error, dict):
        return error
    limits = {"field": MAX_FIELD, "message": MAX_MESSAGE}
    return {k: shortened(v, limits.get(k, MAX_MESSAGE)) if isinstance(v, str) else v for k, v in error.items()}


def json_bytes(value: Any) -> bytes:
    """JSON as UTF-8, always: text that holds a lone surrogate (which UTF-8 cannot carry) is written escaped."""
    try:
        return json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


def server_error_parts() -> tuple[int, dict[str, str], bytes]:
    return 500, {"Content-Type": PROBLEM_JSON}, problem_body(500, "General server error.")
