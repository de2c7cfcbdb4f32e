"""The request signature, checked exactly: sha256 of token:timestamp, Basic user id, a 1800 s window."""

from __future__ import annotations

import base64
import hashlib

import pytest

from orchestrator.emulator.auth import AUTH_WINDOW_SECONDS, Signature, parse_signature, signature_hash, verify
from orchestrator.emulator.errors import AuthenticationFailedError

TOKEN = "my-token"
NOW = 1_700_000_000


def tokens(user_id: int) -> str | None:
    return TOKEN if user_id == 7 else None


def signed(timestamp: int, user_id: str = "7", token: str = TOKEN) -> Signature:
    return Signature(user_id, hashlib.sha256(f"{token}:{timestamp}".encode()).hexdigest(), str(timestamp))


def test_the_hash_is_plain_sha256_of_token_colon_timestamp() -> None:
    # Computed independently: printf 'my-token:1700000000' | sha256sum
    assert signature_hash(TOKEN, "1700000000") == hashlib.sha256(b"my-token:1700000000").hexdigest()


def test_a_correct_signature_authenticates_the_user() -> None:
    assert verify(signed(NOW), tokens, now=NOW) == 7


@pytest.mark.parametrize("age", [AUTH_WINDOW_SECONDS, -AUTH_WINDOW_SECONDS])
def test_timestamps_at_the_edge_of_the_window_are_accepted(age: int) -> None:
    assert verify(signed(NOW - age), tokens, now=NOW) == 7


@pytest.mark.parametrize("age", [AUTH_WINDOW_SECONDS + 1, -(AUTH_WINDOW_SECONDS + 1)])
def test_timestamps_outside_the_window_fail_like_a_bad_hash(age: int) -> None:
    with pytest.raises(AuthenticationFailedError, match=r"^Hash doesn't match\. UID: 7 Hash: [0-9a-f]{64}"):
        verify(signed(NOW - age), tokens, now=NOW)


def test_the_wrong_token_fails_and_the_message_echoes_uid_hash_and_timestamp_but_no_token() -> None:
    bad = signed(NOW, token="other")
    with pytest.raises(AuthenticationFailedError) as caught:
        verify(bad, tokens, now=NOW)
    assert caught.value.errors == [f"Hash doesn't match. UID: 7 Hash: {bad.hashed} Timestamp: {NOW}"]
    assert TOKEN not in str(caught.value)


def test_an_uppercase_hash_is_not_the_same_signature() -> None:
    upper = signed(NOW)
    with pytest.raises(AuthenticationFailedError):
        verify(Signature(upper.user_id, upper.hashed.upper(), upper.timestamp), tokens, now=NOW)


@pytest.mark.parametrize("user_id", ["8", "", "seven"])
def test_unknown_or_malformed_user_ids_fail(user_id: str) -> None:
    with pytest.raises(AuthenticationFailedError, match="Hash doesn't match"):
        verify(signed(NOW, user_id=user_id), tokens, now=NOW)


def test_missing_headers_show_an_empty_timestamp_as_the_forum_post_does() -> None:
    with pytest.raises(AuthenticationFailedError) as caught:
        verify(parse_signature(None, None), tokens, now=NOW)
    assert caught.value.errors == ["Hash doesn't match. UID:  Hash:  Timestamp: ''"]


def test_basic_header_parsing() -> None:
    header = "Basic " + base64.b64encode(b"7:abc").decode()
    assert parse_signature(header, " 123 ") == Signature("7", "abc", "123")
    assert parse_signature("Basic !!!", "1") == Signature("", "", "1")
