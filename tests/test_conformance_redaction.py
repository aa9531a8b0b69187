"""The token never shows: each whole occurrence replaced in one pass, idempotently, and a token too short to
redact safely refused before anything is sent (exit 2 from the command line)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conformance import Config, ConfigError
from conformance.safety import REDACTED, Redactor, unsafe_secret

TOKEN = "tok-123456"
TOKEN_ALPHABET = st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=")
TOKENS = st.text(TOKEN_ALPHABET, min_size=8, max_size=40).filter(lambda t: unsafe_secret(t) is None)


def test_every_whole_occurrence_is_replaced_and_nothing_else():
    redact = Redactor([TOKEN])
    assert redact(f"POST Bearer {TOKEN} and {TOKEN}{TOKEN}.") == "POST Bearer [REDACTED] and [REDACTED][REDACTED]."
    assert redact("tok-12345 tok-1234567") == "tok-12345 [REDACTED]7"
    assert Redactor([""])("nothing to hide") == "nothing to hide"


@pytest.mark.parametrize("token", ["T", "tok", "abc1234", "D]xxxxxxxx", "REDACTED", "COLLECT_CONFORMANCE_TOKEN"])
def test_a_token_that_cannot_be_redacted_safely_is_refused(token):
    assert unsafe_secret(token) is not None
    with pytest.raises(ValueError):
        Redactor([token])


def test_the_refusal_names_the_problem_never_the_token():
    with pytest.raises(ConfigError) as refused:
        Config(base_url="http://127.0.0.1:8080", token="T0k", tenant="acme")
    message = str(refused.value)
    assert "'token' cannot be kept out of the reports: it is 3 characters long" in message and "T0k" not in message


@settings(max_examples=200, deadline=None)
@given(token=TOKENS, text=st.text(max_size=200), pieces=st.lists(st.text(max_size=20), max_size=5))
def test_redaction_removes_the_token_and_is_idempotent(token, text, pieces):
    redact = Redactor([token])
    hostile = token.join([text, *pieces]) + REDACTED + token
    once = redact(hostile)
    assert token not in once
    assert redact(once) == once


@settings(max_examples=100, deadline=None)
@given(token=TOKENS, text=st.text(max_size=200))
def test_text_without_the_token_passes_unchanged(token, text):
    assume(token not in text)
    assert Redactor([token])(text) == text
