"""`collect-mock proxy`: the validating recorder from the command line.

    collect-mock proxy --upstream URL [--port 8081] [--record DIR] [--redact FIELDS] [--report FILE]

Point a client at it instead of the deployment: every request is forwarded unchanged and its answer streamed
back unchanged, while each exchange is checked against the contract and its state rules; the drift seen so far
is at /_mock/drift, and at exit (Ctrl-C) a summary is printed, the drift report written (--report) and the
recording written as fixtures (--record DIR) that `collect-mock seed --from DIR` loads.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

from mockserver.proxy.settings import ProxySettings
from mockserver.settings import parse_hosts

ADMIN_TOKEN_ENV = "MOCKSERVER_ADMIN_TOKEN"


def add_parser(commands: Any) -> None:
    """Register `proxy` on the subcommands of `collect-mock`."""
    defaults = ProxySettings(upstream="http://127.0.0.1")
    proxy = commands.add_parser(
        "proxy",
        help="forward to a deployment, validating every answer",
        description=(__doc__ or "").split("\n\n")[2],
    )
    proxy.add_argument(
        "--upstream", required=True, help="the deployment to forward to, e.g. https://collect.api.example.com"
    )
    proxy.add_argument("--host", help=f"address to listen on (default: {defaults.host})")
    proxy.add_argument("--port", type=int, help=f"port to listen on (default: {defaults.port})")
    proxy.add_argument("--record", type=Path, metavar="DIR", help="write what was seen as fixtures into DIR at exit")
    proxy.add_argument(
        "--redact", type=_names, metavar="FIELDS", help="fields never recorded or reported, comma-separated"
    )
    proxy.add_argument("--report", type=Path, metavar="FILE", help="write the drift report at exit (.md, .html, .json)")
    proxy.add_argument("--admin-token", help="token of /_mock/* (default: $MOCKSERVER_ADMIN_TOKEN or dev-admin-token)")
    proxy.add_argument(
        "--allowed-hosts",
        type=parse_hosts,
        metavar="NAMES",
        help="names besides localhost and IP addresses under which /_mock/* answers through loopback: NAME,NAME or '*'",
    )
    proxy.add_argument(
        "--journal-size", type=int, help=f"exchanges kept in the journal (default: {defaults.journal_size})"
    )
    proxy.add_argument(
        "--timeout", type=float, help=f"seconds to wait for the upstream (default: {defaults.timeout:g})"
    )
    proxy.add_argument("--spec", type=Path, dest="spec_path", help="the contract (default: the packaged collect.yaml)")
    proxy.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def settings_from(args: argparse.Namespace) -> ProxySettings:
    names = (
        *("host", "port", "record", "redact", "report", "admin_token", "allowed_hosts"),
        *("journal_size", "timeout", "spec_path"),
    )
    values = {name: getattr(args, name) for name in names}
    values["admin_token"] = values["admin_token"] or os.environ.get(ADMIN_TOKEN_ENV) or None
    return ProxySettings(upstream=args.upstream).replace(**values)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from mockserver.testing import quiet_import_app

    quiet_import_app()
    from mockserver import exposure
    from mockserver.proxy.app import ProxyApp
    from mockserver.serving import listen

    settings = settings_from(args)
    exposure.check(settings, "read the journal (what clients sent the deployment) and the drift report")
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    listener = listen(settings.host, settings.port)
    app = ProxyApp(settings)
    base = f"http://{settings.host}:{listener.getsockname()[1]}"
    print(
        f"Collect validating recorder on {base}, forwarding to {settings.base}\n"
        f"  drift so far: {base}/_mock/drift  (admin token: "
        f"{'dev-admin-token' if settings.admin_token == 'dev-admin-token' else 'as given (not shown)'})\n"
        f"  recording:    {settings.record or 'off (--record DIR)'}\n"
        "  stop with Ctrl-C: a summary follows",
        flush=True,
    )
    config = uvicorn.Config(app, log_level=args.log_level, access_log=False, server_header=False, date_header=False)
    signal.signal(signal.SIGTERM, _interrupt)  # a stop, like Ctrl-C: the summary and the files still come
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn raises the signal again once it has shut down: the normal way to stop
        pass
    return finish(app)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def finish(app: Any) -> int:
    """At exit: every exchange checked, the report and the recording written, the summary printed."""
    from mockserver.proxy.worker import CheckerGone

    try:
        lines = app.checker.ask("finish")
    except CheckerGone as exc:
        print(f"collect-mock proxy: no summary: {exc}", file=sys.stderr)
        return 1
    finally:
        app.close()
    print("\n".join(lines), flush=True)
    failed = [line for line in lines if line.strip().startswith("could not write")]
    for line in failed:
        print(f"collect-mock proxy: {line.strip()}", file=sys.stderr)
    return 1 if failed else 0
