"""HTTP problems the mock raises, rendered in one place as the contract's `Problem` body.

    ProblemException (connexion)
    └── MockProblem                 our base: a status, a title and a list of FieldError
        ├── BadRequestProblem       400  invalid body, parameter, content type, start key, ...
        ├── UnauthorizedProblem     401  no or unknown credential
        ├── ForbiddenProblem        403  credential not allowed for the tenant
        ├── NotFoundProblem         404  no such record in the tenant
        ├── ConflictProblem         409  missing reference, locked record, batch still referenced
        └── TooManyRequestsProblem  429  injected tenant limit, with Retry-After

Handlers raise these and never build error responses themselves. `problem_parts` renders any problem
(ours, or one connexion raised) as `application/problem+json`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from connexion.exceptions import ProblemException

from mockserver import http_titles

logger = logging.getLogger(__name__)


MAX_SHOWN = 80


def shown_value(value: Any) -> str:
    """A value as an error message quotes it: whole when short, else its start, so that an error about a
    100-item array or a 60,000-character string is a line, not a copy of the request."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 5]}...{text[-1]}"


@dataclass(frozen=True)
class FieldError:
    """One offending value: where it was (`body`, `path`, `query`, `header`), which field, and what is wrong."""

    location: str
    field: str
    message: str

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
            detail=detail,
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


class UnauthorizedProblem(MockProblem):
    status = 401


class ForbiddenProblem(MockProblem):
    status = 403


class NotFoundProblem(MockProblem):
    status = 404


class ConflictProblem(MockProblem):
    status = 409


class TooManyRequestsProblem(MockProblem):
    status = 429


class ResponseProblem(MockProblem):
    """The mock's own answer broke the contract (only with --validate-responses)."""

    status = 500


PROBLEM_JSON = "application/problem+json"


def problem_parts(exc: ProblemException) -> tuple[int, dict[str, str], bytes]:
    """A problem raised anywhere (by us or by connexion) as status, headers and `Problem` body."""
    status = exc.status
    body: dict[str, Any] = {
        "type": exc.type or "about:blank",
        "title": exc.title or http_titles.title(status),
        "status": status,
        "detail": exc.detail or exc.title or http_titles.title(status),
    }
    body.update(exc.ext or {})
    # A client's mistake is routine for a mock (INFO); a 5xx is the mock's own (ERROR).
    (logger.info if status < 500 else logger.error)("%s %s", status, body["detail"])
    headers = {"Content-Type": PROBLEM_JSON, **(exc.headers or {})}
    return status, headers, json.dumps(body, ensure_ascii=False).encode()


def server_error_parts() -> tuple[int, dict[str, str], bytes]:
    body = {"type": "about:blank", "title": http_titles.title(500), "status": 500, "detail": "General server error."}
    return 500, {"Content-Type": PROBLEM_JSON}, json.dumps(body).encode()
