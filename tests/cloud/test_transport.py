"""The transport: every error form of the service, retries with backoff, and no blind repeat of creates."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from orchestrator.cloud.client import QCClient
from orchestrator.cloud.transport import UNSAFE_TO_REPEAT, RetryPolicy, join_url, parse_retry_after
from orchestrator.errors import (
    AuthenticationError,
    CloudError,
    OutcomeUnknownError,
    RateLimitedError,
    RequestFailedError,
    TransportError,
)

from .fakes import FakeClock, Reply, ScriptedAdapter, closed_port, failed, misbehaving_server, ok

ECHOED_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def call(client: QCClient, endpoint: str = "projects/read") -> dict[str, object]:
    return client.transport.call(endpoint, {"projectId": 1})


# ------------------------------------------------------------------------------------------------
# URLs and timeouts


@pytest.mark.parametrize(("base", "endpoint"), [
    ("http://127.0.0.1:5612/api/v2/", "projects/read"),
    ("http://127.0.0.1:5612/api/v2/", "/projects/read"),
    ("http://127.0.0.1:5612/api/v2", "projects/read"),
    ("http://127.0.0.1:5612/api/v2//", "//projects/read/"),
])
def test_endpoints_join_the_base_url_with_one_slash(base: str, endpoint: str) -> None:
    assert join_url(base, endpoint) == "http://127.0.0.1:5612/api/v2/projects/read"


def test_requests_go_to_the_base_url_as_json_posts_with_a_timeout(
    make_client: Callable[..., QCClient], adapter: ScriptedAdapter,
) -> None:
    client = make_client(base_url="http://127.0.0.1:5612/api/v2", timeout=7.5)
    adapter.add("projects/read", ok(projects=[]))
    call(client, "/projects/read")
    sent = adapter.sent[0]
    assert (sent.method, sent.url) == ("POST", "http://127.0.0.1:5612/api/v2/projects/read")
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.json() == {"projectId": 1}
    assert sent.timeout == 7.5


def test_a_base_url_that_is_not_http_is_refused(make_client: Callable[..., QCClient]) -> None:
    with pytest.raises(CloudError, match="not an http"):
        make_client(base_url="ftp://example.invalid/api/v2/")


# ------------------------------------------------------------------------------------------------
# authentication failures: both forms


def test_http_401_is_an_authentication_error_with_a_hint(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", Reply(None, status=401, body=b"", headers={"www-authenticate": "Basic"}))
    with pytest.raises(AuthenticationError) as caught:
        call(client)
    assert "HTTP 401" in str(caught.value)
    assert "clock" in str(caught.value) and "QC_API_TOKEN" in str(caught.value)
    assert len(adapter.sent) == 1  # never retried


def test_200_hash_doesnt_match_is_an_authentication_error_without_the_echoed_hash(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    # the body shape of the 2017 forum post quoted in qc-api.md §1
    adapter.add("projects/read", failed(f"Hash doesn't match. UID: 123456 Hash: {ECHOED_HASH} Timestamp: ''"))
    with pytest.raises(AuthenticationError) as caught:
        call(client)
    assert "Hash doesn't match." in str(caught.value)
    assert ECHOED_HASH not in str(caught.value) and ECHOED_HASH not in repr(caught.value.errors)
    assert caught.value.endpoint == "projects/read"


def test_user_id_not_valid_is_an_authentication_error(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("authenticate", failed("UserID not valid"))
    with pytest.raises(AuthenticationError):
        client.authenticate()


# ------------------------------------------------------------------------------------------------
# success:false in its three shapes, and other statuses


@pytest.mark.parametrize(("body", "expected"), [
    ({"success": False, "errors": ["Project not found", "try another id"]}, ["Project not found", "try another id"]),
    ({"success": False, "messages": ["Backtest name is required"]}, ["Backtest name is required"]),
    ({"success": False, "Message": "Internal Error 21"}, ["Internal Error 21"]),
    ({"Message": "An error has occurred."}, ["An error has occurred."]),
    ({"success": False}, ["(no reason given)"]),
])
def test_success_false_is_a_request_failure_carrying_the_services_errors(
    client: QCClient, adapter: ScriptedAdapter, body: dict[str, object], expected: list[str],
) -> None:
    adapter.add("backtests/read", Reply(body))
    with pytest.raises(RequestFailedError) as caught:
        client.transport.call("backtests/read", {"projectId": 1, "backtestId": "x"})
    error = caught.value
    assert (error.endpoint, error.status_code, error.errors) == ("backtests/read", 200, expected)
    assert str(error).startswith("backtests/read: ")
    assert expected[0] in str(error)
    assert len(adapter.sent) == 1


@pytest.mark.parametrize(("status", "hint_word"), [(404, "base URL"), (413, "size limit"), (400, "ids")])
def test_other_4xx_statuses_fail_at_once_with_a_hint(
    client: QCClient, adapter: ScriptedAdapter, status: int, hint_word: str,
) -> None:
    adapter.add("files/update", Reply(None, status=status, body=b"<html>nope</html>",
                                      headers={"Content-Type": "text/html"}))
    with pytest.raises(RequestFailedError) as caught:
        client.transport.call("files/update", {"projectId": 1, "name": "main.py", "content": "x"})
    assert caught.value.status_code == status
    assert f"HTTP {status}" in str(caught.value) and hint_word in str(caught.value)
    assert len(adapter.sent) == 1


def test_invalid_json_on_a_read_is_a_transport_error(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", Reply(body=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(TransportError) as caught:
        call(client)
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert "not JSON" in str(caught.value) and "text/html" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValueError)


def test_json_that_is_not_an_object_is_a_transport_error(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("projects/read", Reply([1, 2, 3]))
    with pytest.raises(TransportError, match="not an object"):
        call(client)


# ------------------------------------------------------------------------------------------------
# retries: 5xx, 429, backoff with full jitter


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_a_read_is_retried_with_backoff_then_succeeds(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock, status: int,
) -> None:
    adapter.add("projects/read", Reply(None, status=status, body=b""), Reply(None, status=status, body=b""),
                ok(projects=[]))
    assert call(client) == {"success": True, "projects": []}
    # full jitter with random() = 0.5: retry n sleeps 0.5 * min(30, 0.5 * 2**(n-1)) -> 0.25, 0.5
    assert clock.sleeps == [0.25, 0.5]
    assert len(adapter.sent) == 3


def test_backoff_is_capped_and_within_the_jitter_bounds(
    make_client: Callable[..., QCClient], adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    draws = iter([0.99, 0.0, 0.7, 0.999, 0.3])
    client = make_client(retry=RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=5.0),
                         random=lambda: next(draws))
    adapter.add("projects/read", *[Reply(None, status=503, body=b"")] * 6)
    with pytest.raises(RequestFailedError) as caught:
        call(client)
    assert caught.value.status_code == 503
    # ceilings: min(5, 1 * 2**(n-1)) for n = 1..5 -> 1, 2, 4, 5, 5 (capped); sleep = draw * ceiling
    ceilings = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert clock.sleeps == pytest.approx([0.99 * 1, 0.0 * 2, 0.7 * 4, 0.999 * 5, 0.3 * 5])
    assert all(0 <= sleep <= ceiling for sleep, ceiling in zip(clock.sleeps, ceilings, strict=True))
    assert len(adapter.sent) == 6


def test_retry_policy_backoff_formula() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.backoff(n, 1.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.backoff(3, 0.0) == 0.0


def test_429_honours_retry_after_in_seconds(client: QCClient, adapter: ScriptedAdapter, clock: FakeClock) -> None:
    adapter.add("projects/read", Reply({"success": False}, status=429, headers={"Retry-After": "7"}), ok())
    call(client)
    assert clock.sleeps == [7.0]


def test_429_honours_retry_after_as_an_http_date(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    when = email.utils.formatdate(clock.now + 30, usegmt=True)  # 30 s after the fake "now"
    adapter.add("projects/read", Reply(None, status=429, body=b"", headers={"Retry-After": when}), ok())
    call(client)
    assert clock.sleeps == [30.0]


def test_429_without_retry_after_backs_off_then_gives_up_as_rate_limited(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("projects/read", *[Reply(None, status=429, body=b"")] * 4)
    with pytest.raises(RateLimitedError) as caught:
        call(client)
    assert caught.value.status_code == 429 and caught.value.retry_after is None
    assert clock.sleeps == [0.25, 0.5, 1.0]  # 0.5 * (0.5, 1, 2)


def test_a_retry_after_beyond_the_cap_is_not_slept_through(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("projects/read", Reply(None, status=429, body=b"", headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as caught:
        call(client)
    assert caught.value.retry_after == 3600.0
    assert "3600" in str(caught.value)
    assert clock.sleeps == []


def test_parse_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("12", now) == 12.0
    assert parse_retry_after(email.utils.formatdate(now - 50, usegmt=True), now) == 0.0  # in the past
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize("form", ["Tue, 14 Nov 2023 22:14:20 GMT",     # RFC 7231's preferred form
                                  "Tuesday, 14-Nov-23 22:14:20 GMT",   # obsolete RFC 850
                                  "Tue Nov 14 22:14:20 2023"])         # obsolete asctime: no zone
def test_an_http_date_is_gmt_whatever_the_local_time_zone(form: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2023-11-14 22:13:20 UTC is Unix 1_700_000_000 (datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    # so each date above is 60 s later; RFC 7231 §7.1.1.1: every HTTP-date is GMT, even asctime's.
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert parse_retry_after(form, 1_700_000_000.0) == 60.0
    finally:
        monkeypatch.undo()
        time.tzset()


# ------------------------------------------------------------------------------------------------
# create calls are never repeated blindly


@pytest.mark.parametrize("endpoint", sorted(UNSAFE_TO_REPEAT))
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_a_create_call_is_outcome_unknown_and_not_retried(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock, endpoint: str, status: int,
) -> None:
    adapter.add(endpoint, Reply(None, status=status, body=b""), ok())
    with pytest.raises(OutcomeUnknownError) as caught:
        client.transport.call(endpoint, {"name": "qcloop/H-001/baseline/1"}, object_name="qcloop/H-001/baseline/1")
    assert len(adapter.sent) == 1 and clock.sleeps == []
    assert isinstance(caught.value, TransportError)
    assert "qcloop/H-001/baseline/1" in str(caught.value) and "by name" in str(caught.value)


def test_a_compile_is_free_and_is_retried_after_a_5xx(client: QCClient, adapter: ScriptedAdapter,
                                                      clock: FakeClock) -> None:
    # Repeating compile/create costs nothing and only yields another compile id, so a lost answer is
    # retried instead of failing the whole backtest workflow.
    adapter.add("compile/create", Reply(None, status=503, body=b""), ok(compileId="c-2", state="InQueue"))
    data = client.transport.call("compile/create", {"projectId": 1})
    assert data["compileId"] == "c-2"
    assert len(adapter.sent) == 2 and len(clock.sleeps) == 1


@pytest.mark.parametrize("failure", [
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))),
    requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
])
def test_a_failure_after_sending_a_create_call_is_outcome_unknown(
    client: QCClient, adapter: ScriptedAdapter, failure: Exception,
) -> None:
    adapter.add("backtests/create", failure, ok())
    with pytest.raises(OutcomeUnknownError) as caught:
        client.transport.call("backtests/create", {}, object_name="bt")
    assert caught.value.__cause__ is failure
    assert len(adapter.sent) == 1


def test_invalid_json_in_reply_to_a_create_call_is_outcome_unknown(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    adapter.add("optimizations/create", Reply(body=b"{truncated"))
    with pytest.raises(OutcomeUnknownError):
        client.transport.call("optimizations/create", {})


def test_a_429_on_a_create_call_is_retried_because_nothing_happened(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    adapter.add("backtests/create", Reply(None, status=429, body=b"", headers={"Retry-After": "2"}),
                ok(backtest={"backtestId": "b"}))
    assert client.transport.call("backtests/create", {})["backtest"] == {"backtestId": "b"}
    assert clock.sleeps == [2.0]


def test_a_refused_connection_on_a_create_call_is_retried_because_nothing_was_sent(
    client: QCClient, adapter: ScriptedAdapter, clock: FakeClock,
) -> None:
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/api/v2/backtests/create",  # type: ignore[arg-type]
                      NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")))  # type: ignore[arg-type]
    adapter.add("backtests/create", refused, requests.exceptions.ConnectTimeout("connect timed out"),
                ok(backtest={"backtestId": "b"}))
    client.transport.call("backtests/create", {})
    assert len(adapter.sent) == 3 and clock.sleeps == [0.25, 0.5]


def test_timeouts_and_resets_on_reads_are_retried(client: QCClient, adapter: ScriptedAdapter) -> None:
    adapter.add("backtests/read", requests.exceptions.ReadTimeout("read timed out"),
                requests.exceptions.ConnectionError(ProtocolError("Connection aborted.")), ok(backtest={}))
    client.transport.call("backtests/read", {})
    assert len(adapter.sent) == 3


def test_exhausted_read_retries_raise_a_transport_error_from_the_requests_exception(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    failures = [requests.exceptions.ReadTimeout(f"read timed out {i}") for i in range(4)]
    adapter.add("backtests/read", *failures)
    with pytest.raises(TransportError, match=r"no reply within 12\.5 s") as caught:
        client.transport.call("backtests/read", {})
    assert caught.value.__cause__ is failures[-1]


# ------------------------------------------------------------------------------------------------
# the same over real sockets on 127.0.0.1 (requests' real exception structure)


def test_real_connection_refused_is_retried_then_a_transport_error(
    make_client: Callable[..., QCClient], clock: FakeClock,
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port()}/api/v2/", session=requests.Session(),
                         retry=RetryPolicy(max_attempts=3, base_delay=0.1))
    with pytest.raises(TransportError, match="could not connect") as caught:
        client.transport.call("backtests/create", {}, object_name="bt")  # safe: nothing was sent
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert isinstance(caught.value.__cause__, requests.exceptions.ConnectionError)
    assert len(clock.sleeps) == 2


def test_real_hangup_after_sending_a_create_is_outcome_unknown(make_client: Callable[..., QCClient]) -> None:
    with misbehaving_server("hangup") as (port, received):
        client = make_client(base_url=f"http://127.0.0.1:{port}/api/v2/", session=requests.Session())
        with pytest.raises(OutcomeUnknownError):
            client.transport.call("backtests/create", {"backtestName": "bt"}, object_name="bt")
    assert len(received) == 1 and b"POST /api/v2/backtests/create" in received[0]


def test_real_silent_server_times_out_reads_with_retries_and_creates_without(
    make_client: Callable[..., QCClient], clock: FakeClock,
) -> None:
    with misbehaving_server("silent") as (port, received):
        client = make_client(base_url=f"http://127.0.0.1:{port}/api/v2/", session=requests.Session(),
                             timeout=0.2, retry=RetryPolicy(max_attempts=2, base_delay=0.1))
        with pytest.raises(TransportError, match=r"no reply within 0\.2 s") as read_error:
            client.transport.call("projects/read", {})
        assert not isinstance(read_error.value, OutcomeUnknownError)
        assert len(clock.sleeps) == 1
        with pytest.raises(OutcomeUnknownError):
            client.transport.call("projects/create", {"name": "p"}, object_name="p")
    assert len(received) == 3  # two reads, one create


# ------------------------------------------------------------------------------------------------
# downloads


def test_downloads_send_no_quantconnect_credentials(client: QCClient, adapter: ScriptedAdapter) -> None:
    url = "https://objects.qc.test/archive.zip?signature=abc"
    adapter.add(url, Reply(body=b"PK-bytes"))
    assert client.transport.download(url) == b"PK-bytes"
    sent = adapter.sent[0]
    assert sent.method == "GET"
    assert "Authorization" not in sent.headers and "Timestamp" not in sent.headers


def test_a_failed_download_names_the_host_not_the_signed_url(client: QCClient, adapter: ScriptedAdapter) -> None:
    url = "https://objects.qc.test/archive.zip?signature=secret-signature"
    adapter.add(url, Reply(None, status=403, body=b"expired"))
    with pytest.raises(RequestFailedError) as caught:
        client.transport.download(url)
    assert "objects.qc.test" in str(caught.value) and "secret-signature" not in str(caught.value)


def test_a_download_that_cannot_connect_names_the_download_host_not_the_api(
    client: QCClient, adapter: ScriptedAdapter,
) -> None:
    url = "https://objects.qc.test/archive.zip?signature=secret-signature"
    refused = requests.exceptions.ConnectionError(
        MaxRetryError(None, "/archive.zip",  # type: ignore[arg-type]
                      NewConnectionError(None, "Failed to establish a new connection: [Errno 111]")))  # type: ignore[arg-type]
    adapter.add(url, *[refused] * 4)
    with pytest.raises(TransportError, match=r"could not connect to objects\.qc\.test") as caught:
        client.transport.download(url)
    assert "qc.test/api" not in str(caught.value) and "secret-signature" not in str(caught.value)
