"""Who can reach the mock: the published default admin token is good on this machine only.

The admin API exports, resets and reseeds everything, and its default token (`dev-admin-token`) is printed in
the README. So a server asked to listen beyond loopback (`--host 0.0.0.0`) with that token refuses to start until
an admin token of the user's own is given (`check`), and a request reaching the admin API through a non-loopback
address while the default token is in force is refused whatever the server was told (`is_loopback_scope`): the
second guard covers servers started some other way, such as `uvicorn --factory --host 0.0.0.0`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from mockserver.settings import DEFAULT_ADMIN_TOKEN, DEFAULT_TOKEN, Settings, SettingsError

__all__ = ["DEFAULT_ADMIN_TOKEN", "REMOTE_DEFAULT_TOKEN", "admin_lines", "check", "is_loopback", "is_loopback_scope"]

REMOTE_DEFAULT_TOKEN = (
    "The admin API takes the published default token only from this machine (a loopback address); "
    "start the mock with --admin-token <a token of your own> to use it from elsewhere"
)


def is_loopback(host: str) -> bool:
    """`127.0.0.1`, `::1`, `localhost`: reachable from this machine only. Any other name or address is not."""
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_scope(scope: Mapping[str, Any]) -> bool:
    """Whether an ASGI request arrived through a loopback address of this server."""
    server = scope.get("server")
    return server is not None and is_loopback(str(server[0]))


def check(settings: Settings) -> None:
    """SettingsError when the settings would expose the admin API with its published token."""
    if not is_loopback(settings.host) and settings.admin_token == DEFAULT_ADMIN_TOKEN:
        raise SettingsError(
            f"Config 'host' has value '{settings.host}'. Listening beyond this machine with the published admin token "
            f"'{DEFAULT_ADMIN_TOKEN}' would let anyone who reaches {settings.host} export, reset or reseed the "
            "database: give --admin-token (or MOCKSERVER_ADMIN_TOKEN) a token of your own, or listen on 127.0.0.1."
        )


def admin_lines(settings: Settings, base: str) -> str:
    """The start banner's admin line, and a warning when the server listens beyond this machine."""
    admin = settings.admin_token if settings.admin_token == DEFAULT_ADMIN_TOKEN else "as given (not shown)"
    lines = [f"  admin API:  {base}/_mock/health  (token: {admin})"]
    if not is_loopback(settings.host):
        published = " with the published token dev-token" if settings.token == DEFAULT_TOKEN else ""
        lines.append(
            f"  exposed:    listening on {settings.host}, beyond this machine: whoever reaches it can use the API"
            f"{published}; the admin API takes only the admin token you gave"
        )
    return "\n".join(lines)
