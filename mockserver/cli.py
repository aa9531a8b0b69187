"""`collect-mock`: serve the mock, and manage its database and seed data.

    collect-mock serve    [--host H] [--port P] [--db PATH|:memory:] [--spec PATH] [--seed/--no-seed] ...
    collect-mock seed     [--db PATH] [--from DIR]
    collect-mock reset    [--db PATH]
    collect-mock export   [--db PATH] [--out FILE]
    collect-mock check    [--db PATH]
    collect-mock repair   [--db PATH]
    collect-mock fixtures --scale N --seed S --out DIR
    collect-mock proxy    --upstream URL [--port N] [--record DIR]

Errors are printed as `Type: message` with exit status 1 (2 for a bad command line), never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from mockserver import database_path
from mockserver.proxy import cli as proxy_cli
from mockserver.settings import (
    DEFAULT_TOKEN,
    MEMORY,
    Settings,
    SettingsError,
    parse_hosts,
    parse_tokens,
)

ENV_PREFIX = "MOCKSERVER_"
TOP_LEVEL_EPILOG = """\
With no command, or with options only, collect-mock serves: `collect-mock --port 8081` is
`collect-mock serve --port 8081`. `collect-mock COMMAND --help` shows a command's options; `collect-mock
serve --help` also lists the MOCKSERVER_* environment variables."""


def _database_options(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    """--db and --spec: every command that opens a database reads it through the contract."""
    parser.add_argument("--db", metavar="PATH", help=f"TinyDB file, or {MEMORY} (default: {defaults.db})")
    parser.add_argument(
        "--spec",
        dest="spec_path",
        metavar="PATH",
        type=Path,
        help="the contract: an OpenAPI 3.0 file following the conventions in docs/architecture.md "
        "(default: the packaged openapi/collect.yaml)",
    )


def build_parser() -> argparse.ArgumentParser:
    defaults = Settings()
    parser = argparse.ArgumentParser(
        prog="collect-mock",
        description="Serve the Collect mock, and manage its database and seed data.",
        epilog=TOP_LEVEL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    serve = commands.add_parser(
        "serve",
        help="serve the mock API (the default command)",
        description="Serve the mock API, its Swagger UI at /ui/ and its admin API at /_mock/.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help=f"address to listen on (default: {defaults.host})")
    serve.add_argument("--port", type=int, help=f"port to listen on, 0 for any free one (default: {defaults.port})")
    _database_options(serve, defaults)
    serve.add_argument(
        "--seed",
        dest="seed",
        action="store_true",
        default=None,
        help="load the fixtures into an empty database (default)",
    )
    serve.add_argument("--no-seed", dest="seed", action="store_false", help="start with an empty database")
    serve.add_argument("--fixtures", type=Path, help="fixture directory to seed from (default: the shipped set)")
    serve.add_argument("--token", help="the development token, valid for every tenant (default: dev-token)")
    serve.add_argument("--tokens", type=_tokens, help="more tokens limited to tenants: TOKEN=TENANT[+TENANT],...")
    serve.add_argument(
        "--admin-token", help="token of the /_mock admin API (default: dev-admin-token; '' turns the admin API off)"
    )
    serve.add_argument(
        "--allowed-hosts",
        type=parse_hosts,
        metavar="NAMES",
        help="names besides localhost and IP addresses under which the admin API answers through loopback "
        "(a local reverse proxy's): NAME,NAME or '*'",
    )
    serve.add_argument("--page-size", type=int, help=f"records per page (default: {defaults.page_size})")
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        default=None,
        help="check every response against the contract (slower)",
    )
    serve.add_argument("--fsync", action="store_true", default=None, help="fsync every write (survive power loss)")
    serve.add_argument(
        "--compact-every",
        type=int,
        help="fold the write-ahead log into the snapshot, in the background, every N writes "
        "(default: 50000; 0: only at start and stop)",
    )
    serve.add_argument("--journal-size", type=int, help="requests kept in the journal, 0 for none (default: 10000)")
    serve.add_argument("--faults", type=_fault_file, help="JSON file with a list of fault rules to start with")
    serve.add_argument(
        "--no-swagger-ui", dest="swagger_ui", action="store_false", default=None, help="serve no Swagger UI at /ui/"
    )
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    serve.epilog = environment_help(serve)

    seed = commands.add_parser("seed", help="load seed data into a database file", epilog=_DB_EPILOG)
    _database_options(seed, defaults)
    seed.add_argument("--from", dest="source", type=Path, help="fixture directory (default: the shipped set)")

    reset = commands.add_parser("reset", help="delete every record of a database file", epilog=_DB_EPILOG)
    _database_options(reset, defaults)

    export = commands.add_parser("export", help="write a database's records as JSON", epilog=_DB_EPILOG)
    _database_options(export, defaults)
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")

    check = commands.add_parser(
        "check", help="report what of a database file is damaged, changing nothing", epilog=_DB_EPILOG
    )
    _database_options(check, defaults)
    repair = commands.add_parser(
        "repair", help="keep every readable record of a damaged database file", epilog=_DB_EPILOG
    )
    _database_options(repair, defaults)

    proxy_cli.add_parser(commands)
    fixtures = commands.add_parser("fixtures", help="generate a consistent fixture set of any size", add_help=False)
    fixtures.add_argument("args", nargs=argparse.REMAINDER)
    return parser


_DB_EPILOG = f"{ENV_PREFIX}DB and {ENV_PREFIX}SPEC_PATH stand for --db and --spec when those are not given."


def environment_help(parser: argparse.ArgumentParser) -> str:
    """The epilog naming every `MOCKSERVER_*` variable `Settings.from_env` reads, derived from `Settings` so that
    a new setting is listed with no edit here: with its flag where one has the setting's name as dest."""
    flags: dict[str, dict[Any, str]] = {}
    for action in parser._actions:
        if action.option_strings:
            flags.setdefault(action.dest, {})[action.const if action.nargs == 0 else None] = action.option_strings[0]
    lines = ["environment variables (read at start; a flag given on the command line wins):"]
    for setting in dataclasses.fields(Settings):
        name, flag = ENV_PREFIX + setting.name.upper(), flags.get(setting.name, {})
        if str(setting.type) == "bool":
            meaning = ", ".join(f"{str(value).lower()}: as {option}" for value, option in sorted(flag.items()))
            meaning = f"true or false ({meaning})" if meaning else "true or false"
        else:
            meaning = f"as {flag[None]}" if None in flag else "(no flag)"
        lines.append(f"  {name:<30} {meaning}")
    return "\n".join(lines)


def _version() -> str:
    try:
        return version("collect-mock")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        return "(not installed)"


def _tokens(raw: str) -> dict[str, frozenset[str]]:
    try:
        return parse_tokens(raw)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fault_file(raw: str) -> tuple[dict[str, Any], ...]:
    from mockserver.faults import FaultError, read_rules

    try:
        return read_rules(Path(raw))
    except FaultError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["fixtures"]:
        from collect_fixtures.generator import main as generate

        return int(generate(argv[1:]) or 0)
    args = build_parser().parse_args(with_command(argv))
    try:
        return int(COMMANDS[args.command](args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI reports, it does not crash
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def with_command(argv: list[str]) -> list[str]:
    """`serve` is the default command: `collect-mock --port 8081` is `collect-mock serve --port 8081`."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["serve", *argv]
    return argv


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    """`MOCKSERVER_*` variables, then every command-line flag named like a `Settings` field, then `extra`."""
    flags = {f.name: getattr(args, f.name) for f in dataclasses.fields(Settings) if hasattr(args, f.name)}
    settings = Settings.from_env().replace(**flags).replace(**extra)
    database_path.check(settings.db)
    return settings


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockserver import create_app, exposure
    from mockserver.serving import listen, uvicorn_config

    settings = _settings(args)
    exposure.check(settings)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    listener = listen(settings.host, settings.port)
    app = create_app(settings)
    port = listener.getsockname()[1]
    tenants = ", ".join(app.state.db.tenants()) or "none yet (create records in any tenant)"
    base = f"http://{settings.host}:{port}"
    token = _shown(settings.token, DEFAULT_TOKEN)
    example = settings.token if settings.token == DEFAULT_TOKEN else "<token>"
    print(
        f"Collect mock serving {base}\n"
        f"  database:   {settings.db}\n"
        f"  tenants:    {tenants}\n"
        f"  token:      {token}   (curl -H 'Authorization: Bearer {example}' {base}/batches/<tenant>)\n"
        f"  Swagger UI: {base}/ui/\n" + exposure.admin_lines(settings, base),
        flush=True,
    )
    config = uvicorn_config(app, settings, log_level=args.log_level, access_log=args.log_level in ("debug", "info"))
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0


def _shown(token: str, default: str) -> str:
    """The well-known default token is shown; one the user chose is never echoed (logs and CI output leak)."""
    return token if token == default else "as given (not shown)"


def seed(args: argparse.Namespace) -> int:
    from mockserver import create_app, seeding

    settings = _settings(args, seed=False)
    app = create_app(settings)
    state = app.state
    source = args.source or settings.fixtures
    counts = seeding.load(
        state.db, state.contract, seeding.read_directory(source, state.contract), state.clock, durable=False
    )
    state.db.save()
    state.db.close()
    total = sum(n for per in counts.values() for n in per.values())
    print(f"seeded {total} records into {settings.db} from {source}: {json.dumps(counts)}")
    return 0


def reset(args: argparse.Namespace) -> int:
    from mockserver import create_app

    app = create_app(_settings(args, seed=False))
    app.state.db.clear()
    app.state.db.close()  # the deletions are folded into a new snapshot
    print(f"reset {app.state.settings.db}: no records left")
    return 0


def export(args: argparse.Namespace) -> int:
    """The records as they are stored, read without changing the database (no fold of its log, no new file)."""
    db_path = _settings(args, seed=False).db
    from mockserver.testing import quiet_import_app

    quiet_import_app()  # the web stack's import-time warnings are not the user's business
    from mockserver import seeding
    from mockserver.database import Database
    from mockserver.storage import MemoryStore, Store
    from mockserver.tinystore import ReadOnlyStore

    store: Store = MemoryStore() if db_path == MEMORY else ReadOnlyStore(db_path)
    db = Database(store)
    db.load()
    text = json.dumps(seeding.export(db), indent=2, ensure_ascii=False)
    db.close()
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def check(args: argparse.Namespace) -> int:
    from mockserver.tinystore import check_database

    db = _settings(args).db
    contents = check_database(db)
    print(f"{db}: {len(contents.latest)} records readable, {contents.changes} changes in the write-ahead log")
    if contents.active.torn:
        print(
            f"  the log ends with {contents.active.torn} bytes of a write cut short "
            "(never acknowledged; dropped at start)"
        )
    if contents.unchecked:
        print(
            f"  {contents.unchecked} log lines have no checksum (written by an older version): they are replayed as "
            "they are, and the next start folds them into the current format"
        )
    if contents.voided:
        print(f"  {contents.voided} writes the disk refused are voided in the log (skipped at start)")
    if contents.log_missing:
        print("  there is no log beside it: the snapshot alone is read (if the log was deleted, its changes are lost)")
    for damage in contents.damage:
        print(f"  damaged: {damage}")
    if contents.damage:
        print(f"Run `collect-mock repair --db {db}` to keep every readable record (damaged files are copied aside).")
    return 1 if contents.damage else 0


def repair(args: argparse.Namespace) -> int:
    from mockserver.tinystore import repair_database

    db = _settings(args).db
    dropped, kept = repair_database(db)
    for damage in dropped:
        print(f"  dropped: {damage}")
    print(f"repaired {db}: {kept} records kept, {len(dropped)} damaged places dropped (copies kept beside it)")
    return 0


COMMANDS = {
    "serve": serve,
    "seed": seed,
    "reset": reset,
    "export": export,
    "check": check,
    "repair": repair,
    "proxy": proxy_cli.run,
}
