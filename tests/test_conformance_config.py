"""The run's configuration: defaults in one place, values checked with messages that name key and value."""

from __future__ import annotations

import pytest

from collect_contract import SPEC_PATH
from conformance import Config, ConfigError

BASE = {"base_url": "http://127.0.0.1:8080", "token": "s3cr3t-token", "tenant": "acme"}


def test_the_token_stays_out_of_repr_and_tracebacks():
    assert "s3cr3t-token" not in repr(Config(**BASE))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_url": "ftp://host"}, "'base_url' has value 'ftp://host'. Not an http(s) URL."),
        ({"tenant": "a/b"}, "'tenant' has value 'a/b'. Not a tenant id"),
        ({"other_tenant": "acme"}, "'other_tenant' has value 'acme'. Must differ from 'tenant'."),
        ({"max_examples": 0}, "'max_examples' has value '0'. Must be at least 1."),
        ({"tolerate": ("everything",)}, "'tolerate' has value 'everything'. Not one of: date-format, unicode-word."),
        ({"token": ""}, "Pass --token or set COLLECT_CONFORMANCE_TOKEN"),
        ({"token": "short"}, "'token' cannot be kept out of the reports: it is 5 characters long"),
        (
            {"accept_partial": ("read-only", "sometimes")},
            "'accept_partial' has value 'sometimes'. Not one of: no-records",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_value(change, message):
    with pytest.raises(ConfigError) as raised:
        Config(**{**BASE, **change})
    assert message in str(raised.value)


def test_the_environment_supplies_the_target_and_options_override_it():
    environ = {"COLLECT_CONFORMANCE_BASE_URL": "https://collect.example.com", "COLLECT_CONFORMANCE_TOKEN": "t-0123456"}
    environ["COLLECT_CONFORMANCE_TENANT"] = "acme"
    config = Config.from_env(environ, tenant="globex", seed=None)
    assert (config.base_url, config.token, config.tenant, config.seed) == (
        "https://collect.example.com",
        "t-0123456",
        "globex",
        None,
    )


def test_a_missing_target_names_both_the_flag_and_the_variable():
    with pytest.raises(ConfigError, match=r"--token \(or COLLECT_CONFORMANCE_TOKEN\)"):
        Config.from_env({}, base_url="http://x", tenant="acme")


def test_a_run_fixes_its_seed_once():
    unseeded = Config(**BASE)
    assert unseeded.seed is None and isinstance(unseeded.with_seed().seed, int)
    seeded = unseeded.replace(seed=5)
    assert seeded.with_seed() is seeded


def test_partial_coverage_is_accepted_only_when_asked_for_and_for_the_reasons_named():
    from conformance import Reason

    assert Config(**BASE).accepted == frozenset()
    assert Config(**BASE, accept_partial=True).accepted == frozenset(Reason)
    assert Config(**BASE, accept_partial=("read-only",)).accepted == {Reason.READ_ONLY}


def test_the_log_goes_beside_the_report_unless_named(tmp_path):
    assert Config(**BASE).log_path is None
    assert Config(**BASE, report=tmp_path / "r.html").log_path == tmp_path / "r.log"
    assert Config(**BASE, junit_xml=tmp_path / "j.xml").log_path == tmp_path / "j.log"
    assert Config(**BASE, report=tmp_path / "r.md", log=tmp_path / "x.txt").log_path == tmp_path / "x.txt"


def test_file_options_given_as_text_are_paths(tmp_path):
    # A library user writes Config(report="reports/run.md"): the run must not end, after every request, in an
    # AttributeError of str.with_suffix.
    config = Config(**BASE, report=str(tmp_path / "r.md"), junit_xml=str(tmp_path / "j.xml"), spec=str(SPEC_PATH))

    assert config.report == tmp_path / "r.md" and config.junit_xml == tmp_path / "j.xml"
    assert config.log_path == tmp_path / "r.log" and config.spec == SPEC_PATH
    assert Config(**BASE, log=str(tmp_path / "x.txt")).log_path == tmp_path / "x.txt"
