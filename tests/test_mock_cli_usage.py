"""What `collect-mock` tells its user: every command in the top-level help, every `MOCKSERVER_*` variable in
`serve --help` (and each one honoured), and a database path it cannot use named with the reason."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from collect_process import ServerProcess, free_port
from mockserver.cli import build_parser
from mockserver.settings import Settings

CLI = [sys.executable, "-m", "mockserver"]


def run(
    *args: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "COLUMNS": "80", **(env or {})}
    return subprocess.run([*prefix, *CLI, *args], capture_output=True, text=True, timeout=60, env=environ)


def commands() -> list[str]:
    """The subcommands the parser knows, so that one added later is held to the same rule."""
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    return list(subparsers.choices)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_the_top_level_help_lists_every_command_on_one_line(flag):
    result = run(flag)
    assert result.returncode == 0
    section = result.stdout.split("commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    listed = [line.split()[0] for line in section if line.startswith("    ") and not line.startswith("     ")]
    assert listed == commands() and {"serve", "seed", "reset", "export", "fixtures"} <= set(listed)
    assert len(section) == 1 + len(listed), section  # the COMMAND heading, then one line per command
    assert "--page-size" not in result.stdout  # serve's options are serve's help, not this one


def test_serve_help_lists_every_environment_variable_with_its_flag():
    help_text = run("serve", "--help").stdout
    section = help_text.split("environment variables", 1)[1]
    for setting in dataclasses.fields(Settings):
        assert f"MOCKSERVER_{setting.name.upper()} " in section, setting.name
    assert "MOCKSERVER_PORT                as --port" in section
    assert "MOCKSERVER_SEED                true or false (false: as --no-seed, true: as --seed)" in section


def test_a_setting_with_no_flag_is_still_listed():
    parser = build_parser()
    (subparsers,) = [a for a in parser._actions if a.dest == "command"]
    serve = subparsers.choices["serve"]
    serve._actions = [a for a in serve._actions if a.dest != "page_size"]
    from mockserver.cli import environment_help

    assert "MOCKSERVER_PAGE_SIZE           (no flag)" in environment_help(serve)


def test_the_environment_steers_serve_when_no_command_is_given():
    mock = ServerProcess(CLI, output=subprocess.PIPE)
    mock.env.update(
        MOCKSERVER_PORT=str(mock.port),
        MOCKSERVER_DB=":memory:",
        MOCKSERVER_SEED="false",
        MOCKSERVER_PAGE_SIZE="2",
        MOCKSERVER_TOKEN="env-token",
    )
    with mock.start():
        assert mock.process is not None and mock.process.stdout is not None
        banner = mock.process.stdout.readline().decode()
        assert banner == f"Collect mock serving {mock.base_url}\n"
        base, auth = mock.base_url, {"Authorization": "env-token"}
        mock.wait_ready(timeout=30)  # the banner comes once the port is bound, a moment before it accepts
        for _ in range(3):
            body = {
                "name": "n",
                "business_unit_id": "b",
                "fiscal_year_id": "f",
                "fiscal_period": 1,
                "date": "2025-01-01",
            }
            assert httpx.post(f"{base}/batches/acme", json=body, headers=auth, timeout=10).status_code == 200
        page = httpx.get(f"{base}/batches/acme", headers=auth, timeout=10)
        assert len(page.json()) == 2 and "X-Last-Evaluated-Key" in page.headers  # MOCKSERVER_PAGE_SIZE


@pytest.mark.parametrize(
    ("make", "db", "reason"),
    [
        (lambda tmp: (tmp / "afile").write_text(""), "afile/collect.json", "{tmp}/afile is a file, not a folder"),
        (lambda tmp: (tmp / "afile").write_text(""), "afile/sub/collect.json", "{tmp}/afile is a file, not a folder"),
        (lambda tmp: (tmp / "folder").mkdir(), "folder", "{tmp}/folder is a folder; give a file in it"),
    ],
    ids=["parent-is-a-file", "ancestor-is-a-file", "a-folder"],
)
@pytest.mark.parametrize("command", ["serve", "seed", "reset", "export"])
def test_an_unusable_database_path_names_what_is_in_the_way(tmp_path, make, db, reason, command):
    make(tmp_path)
    result = run(command, "--db", str(tmp_path / db), *(("--port", str(free_port())) if command == "serve" else ()))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"DatabasePathError: cannot keep the database at {tmp_path / db}: ")
    assert reason.format(tmp=tmp_path) in result.stderr


def as_other_user() -> tuple[str, ...]:
    """A command prefix that runs the CLI as `nobody`, for permission checks that root would bypass."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv (util-linux): cannot check permissions as another user")
    return ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


@pytest.fixture
def shared_dir():
    """A folder every user may enter (pytest's tmp_path sits in a folder only its owner may)."""
    folder = Path(tempfile.mkdtemp(prefix="collect-mock-perm-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.iterdir():
        path.chmod(0o755)
    shutil.rmtree(folder)


def test_no_permission_is_named_with_the_owner_and_mode(shared_dir):
    locked, closed = shared_dir / "locked", shared_dir / "closed"
    locked.mkdir(mode=0o555)
    closed.mkdir(mode=0o700)
    probe = run("--version", prefix=as_other_user())
    if probe.returncode != 0:
        pytest.skip(f"cannot run the CLI as another user here: {probe.stderr.strip()[:200]}")
    for db, expected in (
        (locked / "collect.json", f"no permission to write in {locked}, where the database and its log live (owned"),
        (locked / "new" / "collect.json", f"no permission to create {locked / 'new'} in {locked} (owned"),
        (closed / "sub" / "collect.json", f"no permission to enter {closed} (owned"),
    ):
        result = run("reset", "--db", str(db), prefix=as_other_user())
        assert result.returncode == 1 and expected in result.stderr, result.stderr
        assert "DatabasePathError" in result.stderr and "Traceback" not in result.stderr


def test_a_database_path_given_by_the_environment_is_checked_too(tmp_path):
    (tmp_path / "afile").write_text("")
    result = run("export", env={"MOCKSERVER_DB": str(tmp_path / "afile" / "x.json")})
    assert result.returncode == 1 and f"{tmp_path / 'afile'} is a file, not a folder" in result.stderr


def test_the_version_is_printed():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("collect-mock ")


def test_the_contract_and_database_options_are_offered_by_every_database_command():
    for command in ("serve", "seed", "reset", "export"):
        text = run(command, "--help").stdout
        assert "--db PATH" in text and "--spec PATH" in text, command
