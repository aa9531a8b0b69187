"""The run's configuration: defaults in one place, values checked with messages that name key and value."""

from __future__ import annotations

import pytest

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
    ],
)
def test_bad_values_name_the_key_and_the_value(change, message):
    with pytest.raises(ConfigError) as raised:
        Config(**{**BASE, **change})
    assert message in str(raised.value)


def test_the_environment_supplies_the_target_and_options_override_it():
    environ = {"COLLECT_CONFORMANCE_BASE_URL": "https://collect.example.com", "COLLECT_CONFORMANCE_TOKEN": "t"}
    environ["COLLECT_CONFORMANCE_TENANT"] = "acme"
    config = Config.from_env(environ, tenant="globex", seed=None)
    assert (config.base_url, config.token, config.tenant, config.seed) == (
        "https://collect.example.com",
        "t",
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
