"""Reproductions: a request as a command for a POSIX shell, with the credential read from a variable."""

from __future__ import annotations

import shlex

SKIPPED_HEADERS = frozenset({"host", "content-length", "accept-encoding", "connection", "user-agent", "accept"})


def curl(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    credential: str | None = None,
    variable: str = "COLLECT_TOKEN",
) -> str:
    """`curl` sending the same request; `credential` is the Authorization scheme ("Bearer", or "" for a bare
    key), written as `${variable}` outside any quotes, so that the shell fills it in. None: no credential."""
    parts = ["curl", "-sS", "-i", "--globoff", "-X", shlex.quote(method), shlex.quote(url)]
    if credential is not None:
        prefix = f"Authorization: {credential} " if credential else "Authorization: "
        parts += ["-H", f'{shlex.quote(prefix)}"${{{variable}}}"']
    for name, value in headers:
        if name.lower() not in SKIPPED_HEADERS and name.lower() != "authorization":
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        text = body.decode("utf-8", "replace")
        parts += ["--data-binary", shlex.quote(text)]
    return " ".join(parts)
