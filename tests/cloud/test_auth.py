"""Request signing: the exact headers of reference/qc-api.md §1, checked against hand-made vectors."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

from pydantic import SecretStr

from orchestrator.cloud.auth import RequestSigner, auth_headers, password_hash, request_timestamp
from orchestrator.cloud.client import QCClient
from orchestrator.credentials import Credentials

from .conftest import TOKEN, USER_ID
from .fakes import FakeClock, ScriptedAdapter, ok

# Vector 1, derived outside Python with coreutils:
#   printf '%s' 'qc-test-token-5f2b8c:1700000000' | sha256sum
#   -> 36d096d7e24c416bee052b3b2bbd215b67086237b854030fb2a0e4558e306d58
#   printf '%s' '123456:36d096d7e24c416bee052b3b2bbd215b67086237b854030fb2a0e4558e306d58' | base64 -w0
#   -> MTIzNDU2OjM2ZDA5NmQ3ZTI0YzQxNmJlZTA1MmIzYjJiYmQyMTViNjcwODYyMzdiODU0MDMwZmIyYTBlNDU1OGUzMDZkNTg=
VECTOR_TIMESTAMP = "1700000000"
VECTOR_HASH = "36d096d7e24c416bee052b3b2bbd215b67086237b854030fb2a0e4558e306d58"
VECTOR_BASIC = "MTIzNDU2OjM2ZDA5NmQ3ZTI0YzQxNmJlZTA1MmIzYjJiYmQyMTViNjcwODYyMzdiODU0MDMwZmIyYTBlNDU1OGUzMDZkNTg="
# Vector 2 (seven seconds later): printf '%s' 'qc-test-token-5f2b8c:1700000007' | sha256sum
VECTOR2_HASH = "270c56c1055fe64a18f5a6face2b3395ae56aa8f85fe075b12c207ec84fa51cd"


def test_password_is_plain_sha256_hex_of_token_colon_timestamp() -> None:
    assert password_hash(SecretStr(TOKEN), VECTOR_TIMESTAMP) == VECTOR_HASH
    # the same value computed independently here with hashlib (plain SHA-256, not HMAC)
    assert hashlib.sha256(f"{TOKEN}:{VECTOR_TIMESTAMP}".encode()).hexdigest() == VECTOR_HASH


def test_headers_are_basic_user_id_and_hash_plus_timestamp() -> None:
    headers = auth_headers(USER_ID, SecretStr(TOKEN), VECTOR_TIMESTAMP)
    assert headers == {"Authorization": f"Basic {VECTOR_BASIC}", "Timestamp": VECTOR_TIMESTAMP}
    assert base64.b64decode(VECTOR_BASIC).decode() == f"{USER_ID}:{VECTOR_HASH}"


def test_timestamp_is_whole_seconds_truncated_not_rounded() -> None:
    assert request_timestamp(lambda: 1_700_000_000.999) == "1700000000"


def test_every_request_is_signed_afresh_with_the_injected_clock(
    make_client: Callable[..., QCClient], adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    client = make_client()
    adapter.add("authenticate", ok(), ok())
    clock.now = 1_700_000_000.4
    client.authenticate()
    clock.now += 7
    client.authenticate()
    first, second = adapter.sent
    assert first.headers["Timestamp"] == "1700000000"
    assert first.headers["Authorization"] == f"Basic {VECTOR_BASIC}"
    assert second.headers["Timestamp"] == "1700000007"
    expected = base64.b64encode(f"{USER_ID}:{VECTOR2_HASH}".encode()).decode()
    assert second.headers["Authorization"] == f"Basic {expected}"
    # the token itself never travels
    assert all(TOKEN not in sent.body.decode() and TOKEN not in str(sent.headers) for sent in adapter.sent)


def test_signer_and_client_reprs_hide_the_token(credentials: Credentials, client: QCClient) -> None:
    signer = RequestSigner(credentials, lambda: 1_700_000_000)
    for text in (repr(signer), str(signer), repr(client), repr(client.transport), repr(credentials)):
        assert TOKEN not in text
        assert VECTOR_HASH not in text
    assert USER_ID in repr(signer)
