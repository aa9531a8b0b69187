"""The shell blocks of a Markdown file, cut into steps, and the answers their `# -> ...` lines promise.

A step is the code between two comment lines of a block (a command, with its continuation lines). The comment
lines right below it that start with `# ->` (continued by lines starting `#    `) say what it answers:

    # -> 200 x-record-id: inv-…
    #    {"executionArn": "arn:aws:states:…:execution:collect-invoices-create:inv-…", ...}

an HTTP status, then headers (`name: value`), then a body: JSON in which `...` stands for more members or items
and a bare `…` for any value, or plain text. In any string, `…` (or `...`) matches any text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

SHELLS = ("sh", "bash", "shell", "console")
ANY = "\0any"  # a bare `…` where a value goes
MORE = "\0more"  # `...` among an object's members
EXPECT, CONTINUED = "# -> ", "#    "


@dataclass
class Step:
    code: str
    expected: str | None = None
    line: int = 0  # in the Markdown file, for messages


@dataclass
class Block:
    code: str
    line: int
    steps: list[Step] = field(default_factory=list)


def shell_blocks(path: Path) -> list[Block]:
    """Every fenced shell block of the file, in order, cut into steps."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    blocks = []
    for token in tokens:
        if token.type == "fence" and token.info.split()[:1] and token.info.split()[0] in SHELLS:
            first = (token.map[0] + 2) if token.map else 0
            blocks.append(Block(token.content, first, steps(token.content, first)))
    return blocks


def inline_commands(path: Path, programs: tuple[str, ...]) -> list[str]:
    """Inline code spans of the prose that are a command of `programs`, e.g. `collect-mock serve --db :memory:`."""
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    spans = [
        child.content for t in tokens if t.type == "inline" for child in t.children or [] if child.type == "code_inline"
    ]
    return [span for span in spans if span.split()[:1] and span.split()[0] in programs]


def steps(code: str, first_line: int = 0) -> list[Step]:
    found: list[Step] = []
    pending: list[str] = []
    in_expectation = False
    for number, line in enumerate(code.splitlines(), start=first_line):
        if line.lstrip().startswith("#") or not line.strip():
            if pending:
                found.append(Step("\n".join(pending), line=number - len(pending)))
                pending = []
            if line.startswith(EXPECT) and found:
                found[-1].expected, in_expectation = line[len(EXPECT) :], True
            elif line.startswith(CONTINUED) and in_expectation:
                found[-1].expected = f"{found[-1].expected}\n{line[len(CONTINUED) :]}"
            else:
                in_expectation = False
        else:
            pending.append(line)
            in_expectation = False
    if pending:
        found.append(Step("\n".join(pending), line=first_line + len(code.splitlines()) - len(pending)))
    return found


# -- expectations ----------------------------------------------------------------------------------------------


@dataclass
class Expected:
    status: int | None
    headers: dict[str, str]
    body: Any  # parsed JSON shape, a text pattern, or None
    json: bool = False  # whether `body` is a JSON shape (else a text pattern)


def expectation(text: str) -> Expected:
    status = None
    match = re.match(r"(\d{3})\b\s*", text)
    if match:
        status, text = int(match[1]), text[match.end() :]
    headers = {}
    lines = text.splitlines()
    while lines and re.match(r"^[A-Za-z][A-Za-z0-9-]*: ", lines[0]):
        name, _, value = lines.pop(0).partition(": ")
        headers[name.lower()] = value.strip()
    rest = "\n".join(lines).strip()
    if rest[:1] in ("{", "[", '"'):
        return Expected(status, headers, json.loads(_json_with_ellipses(rest)), json=True)
    return Expected(status, headers, rest or None)


def _json_with_ellipses(text: str) -> str:
    """JSON with `...`/`…` turned into markers: a member `"\\0more": 0` in objects, the string ANY elsewhere."""
    out, stack, expect_key, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
            expect_key = False
            continue
        ellipsis = 3 if text.startswith("...", i) else 1 if char == "…" else 0
        if ellipsis:
            out.append(f"{json.dumps(MORE)}: 0" if expect_key else json.dumps(ANY))
            i += ellipsis
            expect_key = False
            continue
        if char in "{[":
            stack.append(char)
        elif char in "}]":
            stack.pop()
        if char in "{[]}:,":
            expect_key = char == "{" or (char == "," and bool(stack) and stack[-1] == "{")
        elif not char.isspace():
            expect_key = False
        out.append(char)
        i += 1
    return "".join(out)


def mismatches(expected: Any, actual: Any, where: str = "body") -> list[str]:
    """How `actual` differs from the shape `expected`, as `where: what` lines (none: it matches)."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {_short(actual)}"]
        problems = [f"{where}: no key {key!r}" for key in expected if key != MORE and key not in actual]
        if MORE not in expected:
            problems += [f"{where}: unexpected key {key!r}" for key in actual if key not in expected]
        for key, value in expected.items():
            if key != MORE and key in actual:
                problems += mismatches(value, actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array, got {_short(actual)}"]
        open_ended = bool(expected) and expected[-1] == ANY
        shown = expected[:-1] if open_ended else expected
        if len(actual) < len(shown) or (not open_ended and len(actual) != len(shown)):
            return [f"{where}: expected {len(shown)}{'+' if open_ended else ''} items, got {len(actual)}"]
        return [p for i, item in enumerate(shown) for p in mismatches(item, actual[i], f"{where}[{i}]")]
    if isinstance(expected, str):
        if not isinstance(actual, str) or not text_matches(expected, actual):
            return [f"{where}: expected {expected!r}, got {_short(actual)}"]
        return []
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return [f"{where}: expected {expected!r}, got {_short(actual)}"]
    return []


def text_matches(pattern: str, text: str) -> bool:
    """`…` and `...` in `pattern` match any text."""
    parts = re.split(r"…|\.\.\.", pattern)
    return re.fullmatch(".*".join(map(re.escape, parts)), text, flags=re.DOTALL) is not None


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) < 200 else text[:200] + "..."
