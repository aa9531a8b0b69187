"""The pytest plugin `collect_conformance`: `pytest conformance --base-url URL --token T --tenant ID`.

One runner per session (its target, ledger and cleanup); every rule on every resource becomes a test
(`conformance/test_catalog.py`), and the how-to scenarios in `conformance/scenarios/` get the `collect`
fixture: a context whose records are removed when the session ends. Without a target the tests are skipped,
so the plugin stays inert in any other pytest session. Heavy imports wait until a test asks for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

OPTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "base_url": ("--base-url", {"help": "the Collect API to check"}),
    "token": ("--token", {"help": "its token (better: COLLECT_CONFORMANCE_TOKEN)"}),
    "tenant": ("--tenant", {"help": "the one tenant the suite may write to"}),
    "other_tenant": ("--other-tenant", {"help": "a tenant the token must not reach"}),
    "rules": ("--rules", {"help": "rule ids or areas to run, comma-separated"}),
    "skip_rules": ("--skip-rules", {"help": "rule ids or areas to leave out"}),
    "max_examples": ("--max-examples", {"type": int, "help": "Schemathesis examples per operation and mode"}),
    "seed": ("--seed", {"type": int, "help": "fixes every random choice of the suite"}),
    "read_only": ("--read-only", {"action": "store_true", "default": None, "help": "send GET requests only"}),
    "tolerate": ("--tolerate", {"help": "known deviations to count instead of fail"}),
    "spawn_mock": ("--spawn-mock", {"action": "store_true", "help": "check a fresh mock server"}),
}
LISTS = ("rules", "skip_rules", "tolerate")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("collect-conformance", "Collect API conformance")
    for flag, kwargs in OPTIONS.values():
        group.addoption(flag, dest=f"conformance_{flag[2:].replace('-', '_')}", **kwargs)


def _option(config: pytest.Config, name: str) -> Any:
    value = config.getoption(f"conformance_{name}")
    if name in LISTS and value:
        return tuple(part.strip() for part in str(value).split(",") if part.strip())
    return value


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per rule and resource that the selection keeps."""
    if "conformance_unit" not in metafunc.fixturenames:
        return
    from collect_contract import SPEC_PATH, Contract
    from conformance import rules  # noqa: F401  (registers the catalog)
    from conformance.registry import REGISTRY

    selected = REGISTRY.select(_option(metafunc.config, "rules") or (), _option(metafunc.config, "skip_rules") or ())
    resources = list(Contract.from_path(SPEC_PATH).resources.values())
    units = [(rule.id, r.collection) for rule in selected for r in resources if rule.applies_to(r)]
    metafunc.parametrize("conformance_unit", units, ids=[f"{rule}[{resource}]" for rule, resource in units])


@pytest.fixture(scope="session")
def conformance_runner(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The session's runner; at the end it removes every record the session created."""
    from conformance.config import Config
    from conformance.errors import ConfigError
    from conformance.runner import Runner
    from conformance.spawn import spawned_mock

    with ExitStack() as stack:
        values = {name: _option(pytestconfig, name) for name in OPTIONS if name != "spawn_mock"}
        if _option(pytestconfig, "spawn_mock"):
            mock = stack.enter_context(spawned_mock())
            values = {"rate_limit": 0.0, **vars(mock), **{k: v for k, v in values.items() if v is not None}}
        try:
            config = Config.from_env(**values)
        except ConfigError as exc:
            pytest.skip(f"no conformance target: {exc}")
        runner = Runner(config)
        stack.callback(runner.close)
        runner.preflight()
        yield runner
        report = runner.finish([])
        if report.cleanup.left:
            print(f"\ncollect-conformance: {len(report.cleanup.left)} records could not be removed")


@pytest.fixture
def collect(conformance_runner: Any) -> Any:
    """The suite's context: `collect.create("batches")`, `collect.call("batches", "list")`, ..."""
    return conformance_runner.ctx
