"""Who can reach the mock, and its admin API: the published default admin token is good on this machine only.

The admin API exports, resets and reseeds everything, and its default token (`dev-admin-token`) is printed in
the README. So:

- a server asked to listen beyond loopback (`--host 0.0.0.0`) refuses to start unless the admin token is one of
  the user's own and at least 16 characters long (`check`), and a request reaching the admin API through a
  non-loopback address is refused while the token is not fit for that (`unfit_for_exposure`), whatever the server
  was told: the second guard covers servers started some other way, such as `uvicorn --factory --host 0.0.0.0`.
  An admin token equal to one of the API's tokens is refused everywhere (`Settings`).
- DNS rebinding: a web page whose name the attacker points at 127.0.0.1 reaches a loopback server as its own
  origin, so the browser lets it send the published admin token and read the answer. A request that came
  through a loopback address reaches the admin API only when addressed (`Host`) to a loopback name
  (`localhost`, `*.localhost`), an IP address, or a name in `allowed_hosts` (`foreign_host`). Requests through
  other addresses come from a network the server was exposed to on purpose, with a token of the user's own.
- The admin API answers no other origin: it sends no CORS headers, refuses preflights (405), and refuses a
  request a browser marks as sent from another origin (`Origin`, `Sec-Fetch-Site`: `cross_origin`). The API
  itself keeps the CORS headers the reference pages list on every answer (`Access-Control-Allow-Origin: *`): a
  front end in development may call it from anywhere, with a token it must know; a rebinding page gains nothing
  more, so the API takes any `Host` (a local mock holding data worth hiding should run with a token of its own).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any, Protocol

from mockserver.errors import shown_value
from mockserver.settings import DEFAULT_ADMIN_TOKEN, DEFAULT_TOKEN, Settings, SettingsError

__all__ = [
    "DEFAULT_ADMIN_TOKEN",
    "MIN_EXPOSED_TOKEN",
    "Guarded",
    "admin_lines",
    "admin_refusal",
    "admits",
    "check",
    "cross_origin",
    "foreign_host",
    "host_name",
    "is_loopback",
    "is_loopback_scope",
    "presented_token",
    "refused_remotely",
    "unfit_for_exposure",
]

MIN_EXPOSED_TOKEN = 16
NEW_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe())'"
FOREIGN_HOST = (
    "The admin API answers requests through a loopback address only when they are addressed to this machine "
    "(localhost, an IP address, or a name given with --allowed-hosts), not to {host}: a web page whose name points "
    "at 127.0.0.1 (DNS rebinding) must not reach it"
)


class Guarded(Protocol):
    """The settings an admin API is guarded by: the mock's `Settings`, the validating recorder's `ProxySettings`."""

    @property
    def host(self) -> str: ...  # where the server listens

    @property
    def admin_token(self) -> str: ...  # "" turns the admin API off

    @property
    def allowed_hosts(self) -> frozenset[str]: ...  # names it answers through loopback besides localhost and IPs


def is_loopback(host: str) -> bool:
    """`127.0.0.1`, `::1`, `localhost`: reachable from this machine only. Any other name or address is not."""
    name = host.strip().lower().rstrip(".")
    if name in ("localhost", "localhost.localdomain") or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1, as a dual-stack listener reports it
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def is_loopback_scope(scope: Mapping[str, Any]) -> bool:
    """Whether an ASGI request arrived through a loopback address of this server."""
    server = scope.get("server")
    return server is not None and is_loopback(str(server[0]))


def unfit_for_exposure(settings: Guarded) -> str | None:
    """Why the admin token may not guard the admin API beyond this machine (None: it may, or the API is off)."""
    token = settings.admin_token
    if not token:
        return None
    if token == DEFAULT_ADMIN_TOKEN:
        return f"the admin token is the published '{DEFAULT_ADMIN_TOKEN}'"
    if len(token) < MIN_EXPOSED_TOKEN:
        return f"the admin token has {len(token)} characters, fewer than the {MIN_EXPOSED_TOKEN} it needs there"
    return None


def check(settings: Guarded, stake: str = "export, reset or reseed the database") -> None:
    """SettingsError when the settings would expose the admin API with a token anyone can guess; `stake` says what
    whoever guesses it could do."""
    reason = unfit_for_exposure(settings)
    if reason and not is_loopback(settings.host):
        raise SettingsError(
            f"Config 'host' has value '{settings.host}'. Listening beyond this machine, {reason}: anyone who reaches "
            f"{settings.host} could {stake}. Give --admin-token (or "
            f"MOCKSERVER_ADMIN_TOKEN) a token of your own of at least {MIN_EXPOSED_TOKEN} characters ({NEW_TOKEN}), "
            "give it '' to turn the admin API off, or listen on 127.0.0.1."
        )


def refused_remotely(settings: Guarded) -> str:
    """The detail of the 403 for an admin request through a non-loopback address with an unfit token."""
    return (
        f"The admin API answers through this address only with a token of your own of at least {MIN_EXPOSED_TOKEN} "
        f"characters, and {unfit_for_exposure(settings)}: start the server with --admin-token <a token of your own> "
        "to use it from elsewhere"
    )


def presented_token(authorization: str) -> str:
    """The token an `Authorization` header presents: `Bearer <token>`, or the token alone."""
    scheme, _, rest = authorization.strip().partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else authorization.strip()


def admits(authorization: str | None, admin_token: str) -> bool:
    """Whether the header presents the admin token (never, when the admin API is off)."""
    token = presented_token(authorization or "")
    return bool(admin_token) and hmac.compare_digest(token.encode(), admin_token.encode())


def admin_refusal(scope: Mapping[str, Any], settings: Guarded, token: bool = True) -> tuple[int, str] | None:
    """(status, detail) of the answer to an admin request refused for where it comes from or (unless `token` is
    False) for its token; None if it may go on. Every admin API of the package asks this first."""
    foreign = foreign_host(scope, settings.allowed_hosts)
    if foreign is not None:
        return 403, FOREIGN_HOST.format(host=shown_value(foreign))
    origin = cross_origin(scope)
    if origin is not None:
        return 403, f"The admin API does not answer web pages of other origins ({shown_value(origin)})"
    if not token:
        return None
    if not settings.admin_token:
        return 403, "The admin API is off: the server was started with an empty admin token"
    authorization = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
    if not admits(authorization, settings.admin_token):
        return 401, "The admin API needs 'Authorization: Bearer <admin token>'"
    if not is_loopback_scope(scope) and unfit_for_exposure(settings):
        return 403, refused_remotely(settings)
    return None


def host_name(host_header: str) -> str:
    """The name of a `Host` header, lowercased, without its port: `[::1]:8080` -> `::1`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    name, _, port = host.rpartition(":")
    return (name if name and port.isdigit() else host).rstrip(".")


def foreign_host(scope: Mapping[str, Any], allowed: frozenset[str]) -> str | None:
    """The `Host` a request through a loopback address names when it is not this machine's (DNS rebinding), else
    None: loopback names, IP addresses and the `allowed` names are this machine's."""
    if not is_loopback_scope(scope) or "*" in allowed:
        return None
    hosts: list[str] = [value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"]
    if not hosts:
        return None  # HTTP/1.0 without a Host: there is no name to rebind
    name = host_name(hosts[0])
    if is_loopback(name) or name in allowed:
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return hosts[0]
    return None


def cross_origin(scope: Mapping[str, Any]) -> str | None:
    """The origin of a web page of another origin that sent this request (as the browser says), else None."""
    headers: dict[bytes, str] = {name: value.decode("latin-1").strip() for name, value in scope.get("headers", [])}
    site = headers.get(b"sec-fetch-site", "").lower()
    origin = headers.get(b"origin")
    if site in ("cross-site", "same-site"):
        return origin or f"a {site} page"
    if origin is None:
        return None
    if origin.lower() == "null" or origin.lower().partition("://")[2] != headers.get(b"host", "").lower():
        return origin
    return None


def admin_lines(settings: Settings, base: str) -> str:
    """The start banner's admin line, and a warning when the server listens beyond this machine."""
    if not settings.admin_token:
        lines = [f"  admin API:  off (started with an empty admin token): only {base}/_mock/health answers"]
    else:
        shown = settings.admin_token if settings.admin_token == DEFAULT_ADMIN_TOKEN else "as given (not shown)"
        lines = [f"  admin API:  {base}/_mock/health  (token: {shown})"]
    if not is_loopback(settings.host):
        published = " with the published token dev-token" if settings.token == DEFAULT_TOKEN else ""
        admin = "is off" if not settings.admin_token else "takes only the admin token you gave"
        lines.append(
            f"  exposed:    listening on {settings.host}, beyond this machine: whoever reaches it can use the API"
            f"{published}; the admin API {admin}"
        )
    return "\n".join(lines)
