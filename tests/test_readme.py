"""The READMEs run as pasted: their curl sessions against a fresh mock, answer by answer as their `# -> ...`
lines show them (status, keys, values), and twice in a row, as a user pasting again would; every other shell
block parses, names existing make targets and passes the real command-line parsers. The blocks are read from
the READMEs themselves (tests/support/shell_docs.py), so the docs cannot drift from what the code does."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.process import MockProcess
from tests.support.shell_docs import Block, Step, expectation, inline_commands, mismatches, shell_blocks, text_matches

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", ROOT / "examples" / "client" / "README.md"]
MOCK = "localhost:8080"  # a block that talks to it is run against a fresh mock
STEP = "\x1estep "
PLACEHOLDER = re.compile(r"<[A-Za-z][\w .-]*>")

# Runs the real curl and notes, per call, the HTTP status and curl's exit status: the README shows outputs, a
# test also needs the statuses it promises and the calls that failed silently (curl -s hides exit 3).
CURL_WRAPPER = """import os, subprocess, sys
MARK = b"\\n@@status "
command = [os.environ["REAL_CURL"], *sys.argv[1:], "-w", "\\n@@status %{http_code}"]
done = subprocess.run(command, stdout=subprocess.PIPE)
body, _, code = done.stdout.rpartition(MARK)
sys.stdout.buffer.write(body if code else done.stdout)
sys.stdout.flush()
with open(os.environ["CURL_LOG"], "a") as log:
    log.write(f"curl {code.decode() or '000'} {done.returncode}\\n")
sys.exit(done.returncode)
"""


def runnable(path: Path) -> list[Block]:
    return [block for block in shell_blocks(path) if MOCK in block.code]


@dataclass
class Ran:
    step: Step
    output: str
    curls: list[tuple[int, int]]  # (HTTP status, curl exit status) of each call


def run_blocks(blocks: list[Block], base_url: str, workdir: Path) -> tuple[list[Ran], str]:
    """Run the blocks in one bash, as pasted into one terminal, against `base_url`; the steps' outputs."""
    bin_dir, log = workdir / "bin", workdir / "curl.log"
    bin_dir.mkdir(exist_ok=True)
    (workdir / "curl.py").write_text(CURL_WRAPPER)
    wrapper = shlex.join([sys.executable, str(workdir / "curl.py")])
    (bin_dir / "curl").write_text(f'#!/bin/sh\nexec {wrapper} "$@"\n')
    (bin_dir / "curl").chmod(0o755)
    log.write_text("")
    steps = [step for block in blocks for step in block.steps]
    script = ["exec 2>&1", "set -euo pipefail"]
    for number, step in enumerate(steps):
        script += [f"printf '\\n{STEP}{number}\\n'; echo '{STEP}{number}' >> \"$CURL_LOG\"", step.code]
    host = base_url.removeprefix("http://")
    done = subprocess.run(
        ["bash", "-c", "\n".join(script).replace(MOCK, host)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": f"{bin_dir}:{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "REAL_CURL": shutil.which("curl") or "curl",
            "CURL_LOG": str(log),
        },
    )
    outputs = done.stdout.split(f"\n{STEP}")[1:]
    calls = log.read_text().split(STEP)[1:]
    ran = []
    for number, step in enumerate(steps[: len(outputs)]):
        output = outputs[number].split("\n", 1)[1] if "\n" in outputs[number] else ""
        curls = [(int(s), int(e)) for s, e in re.findall(r"^curl (\d+) (\d+)$", calls[number], re.M)]
        ran.append(Ran(step, output, curls))
    failed = (
        ""
        if done.returncode == 0
        else f"the session stopped (exit {done.returncode}) at: {steps[len(outputs) - 1].code}"
    )
    return ran, failed


def problems(ran: Ran, where: str) -> list[str]:
    """How a step's run differs from what the README promises."""
    found = [f"{where}: curl exited {code} (e.g. a malformed URL)" for _, code in ran.curls if code != 0]
    found += [f"{where}: answered {status}" for status, _ in ran.curls if status >= 500]
    if ran.step.expected is None:
        return found
    expected = expectation(ran.step.expected)
    if expected.status is not None:
        status = ran.curls[-1][0] if ran.curls else None
        if status != expected.status:
            found.append(f"{where}: status {status}, the README shows {expected.status}")
    text = ran.output.replace("\r\n", "\n").strip()
    headers: dict[str, str] = {}
    if text.startswith("HTTP/"):
        head, _, text = text.partition("\n\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head.splitlines()[1:])}
    for name, value in expected.headers.items():
        if name not in headers or not text_matches(value, headers[name]):
            found.append(f"{where}: header {name}: {headers.get(name)!r}, the README shows {value!r}")
    if expected.body is not None and not expected.json:
        if not text_matches(expected.body, text):
            found.append(f"{where}: printed {text[:300]!r}, the README shows {expected.body!r}")
    elif expected.body is not None:
        try:
            actual = json.loads(text)
        except ValueError:
            return [*found, f"{where}: printed no JSON: {text[:300]!r}"]
        found += [f"{where}: {m}" for m in mismatches(expected.body, actual)]
    return found


@pytest.fixture(scope="module")
def fresh_mock(tmp_path_factory):
    """The mock as `make serve` starts it: a database file, seeded, the default tokens."""
    if shutil.which("curl") is None or shutil.which("bash") is None:
        pytest.skip("the README's sessions need curl and bash")
    db = tmp_path_factory.mktemp("readme") / "collect.json"
    with MockProcess("--db", str(db), "--admin-token", "dev-admin-token") as mock:
        yield mock.base_url


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_curl_sessions_answer_as_shown_twice_in_a_row(doc, fresh_mock, tmp_path):
    blocks = runnable(doc)
    if doc.name == "README.md" and doc.parent == ROOT:
        assert len(blocks) >= 2 and sum(s.expected is not None for b in blocks for s in b.steps) >= 10
    found = []
    for attempt in ("first", "second"):
        ran, failed = run_blocks(blocks, fresh_mock, tmp_path)
        found += [p for r in ran for p in problems(r, f"{doc.name}:{r.step.line} ({attempt} run)")]
        if failed:
            found.append(f"{doc.name} ({attempt} run): {failed}")
    assert not found, "\n".join(found)


def all_blocks() -> list[tuple[str, Block]]:
    return [(f"{doc.relative_to(ROOT)}:{block.line}", block) for doc in DOCS for block in shell_blocks(doc)]


@pytest.mark.parametrize(("where", "block"), all_blocks(), ids=[w for w, _ in all_blocks()])
def test_every_shell_block_parses_and_has_no_placeholder(where, block):
    checked = subprocess.run(["bash", "-n"], input=block.code, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"{where}: {checked.stderr}"
    code_lines = [line for line in block.code.splitlines() if not line.lstrip().startswith("#")]
    for line in code_lines:
        assert not PLACEHOLDER.search(line.split(" # ")[0]), f"{where}: a placeholder to edit: {line}"


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.search(r"^\.PHONY: (.+)$", makefile, re.M)[1].split())  # type: ignore[index]


def simple_commands(code: str) -> list[list[str]]:
    """The words of each simple command of a shell script (split at newlines, ;, &&, |, ( and ))."""
    lexer = shlex.shlex(code.replace("\\\n", " "), posix=True, punctuation_chars="();<>|&\n")
    lexer.whitespace, lexer.whitespace_split = " \t\r", True
    found: list[list[str]] = [[]]
    for token in lexer:
        if token and set(token) <= set("();<>|&\n"):
            found.append([])
        else:
            found[-1].append(token)
    return [words for words in found if words]


def commands(program: str) -> list[tuple[str, list[str]]]:
    """Each use of `program` in the docs: in shell blocks and in inline code."""
    found = []
    for doc in DOCS:
        name = doc.relative_to(ROOT)
        for block in shell_blocks(doc):
            found += [(f"{name}:{block.line}", w[1:]) for w in simple_commands(block.code) if w[0] == program]
        for span in inline_commands(doc, (program,)):
            # Not a command line: pseudo-syntax (`reset|seed`, `[--x]`, `<x>`, `...`) or a requirement (`x @ url`).
            if not re.search(r"[|\[<…@]|\.\.\.", span):
                found.append((f"{name} `{span}`", shlex.split(span)[1:]))
    return found


def test_every_make_command_names_a_target():
    uses = commands("make")
    assert len(uses) >= 5
    for where, words in uses:
        targets = [w for w in words if "=" not in w and not w.startswith("-")]
        assert set(targets) <= make_targets(), f"{where}: make {' '.join(words)}"


def parses(parser, argv: list[str]) -> str | None:
    """None if argparse accepts `argv`, else what it printed."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            parser.parse_args(argv)
    except SystemExit as exit:
        return None if exit.code == 0 else out.getvalue()
    return None


def test_every_collect_mock_command_line_is_accepted_by_its_parser():
    from collect_fixtures.generator import _parser as fixtures_parser
    from mockserver.cli import build_parser, with_command

    uses = commands("collect-mock")
    assert len(uses) >= 6
    for where, argv in uses:
        argv = [re.sub(r"\$\{?\w+\}?", "x", word) for word in argv]
        if argv[:1] == ["fixtures"]:
            error = parses(fixtures_parser(), argv[1:])
        else:
            error = parses(build_parser(), with_command(argv))
        assert error is None, f"{where}: collect-mock {' '.join(argv)}\n{error}"


def test_every_collect_conformance_command_line_is_accepted_by_its_parser():
    from conformance.cli import build_parser

    uses = commands("collect-conformance")
    assert len(uses) >= 3
    for where, argv in uses:
        argv = [re.sub(r"\$\{?\w+\}?", "x", word) for word in argv]
        assert parses(build_parser(), argv) is None, f"{where}: collect-conformance {' '.join(argv)}"


def test_the_example_client_installs_from_this_checkout():
    (block,) = shell_blocks(ROOT / "examples" / "client" / "README.md")
    words = shlex.split(block.code, comments=True)
    assert "collect-mock" not in words  # not on any package index
    install = words[words.index("install") + 1 :]
    target = Path(ROOT / "examples" / "client", install[install.index("-e") + 1]).resolve()
    assert target == ROOT and "collect-mock" in (target / "pyproject.toml").read_text()
    constraints = Path(ROOT / "examples" / "client", install[install.index("-c") + 1]).resolve()
    assert constraints == ROOT / "requirements.lock"
