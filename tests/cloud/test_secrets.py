"""The token and the signatures derived from it never reach a log line, an exception, a repr or a file.

A whole session runs with a known fake token and debug logging into a file; every failure mode that
builds a message is provoked (the service even echoes the signature hash back, as the real one does).
Then the log file, every exception's text, repr and formatted traceback, and every repr are searched
for the token, each hash the session signed with, and each Authorization header value.
"""

from __future__ import annotations

import base64
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from orchestrator.cloud.auth import RequestSigner
from orchestrator.cloud.client import QCClient
from orchestrator.cloud.transport import RetryPolicy
from orchestrator.cloud.workflow import CloudWorkflow
from orchestrator.credentials import Credentials
from orchestrator.errors import CloudError, WaitTimeoutError

from . import payloads as p
from .conftest import TOKEN
from .fakes import Reply, ScriptedAdapter, Sent, failed, ok


def echo_hash(sent: Sent) -> Reply:
    """The real service's bad-hash reply quotes the hash it received."""
    _, _, signature = base64.b64decode(sent.headers["Authorization"].split()[1]).decode().partition(":")
    return failed(f"Hash doesn't match. UID: 123456 Hash: {signature} Timestamp: {sent.headers['Timestamp']}")


def run_session(client: QCClient, adapter: ScriptedAdapter) -> list[BaseException]:
    """Drive the client through successes and every failure that formats a message."""
    adapter.add("authenticate", echo_hash, Reply(None, status=401, body=b""), ok())
    adapter.add("projects/read", ok(projects=[p.project()]), Reply(None, status=503, body=b""),
                requests.exceptions.ReadTimeout("read timed out"), ok(projects=[p.project()]),
                ok(projects=[p.project()]))
    adapter.add("files/update", ok())
    adapter.add("backtests/list", ok(backtests=[]), ok(backtests=[]))  # before create, and reconciling after
    adapter.add("compile/create", ok(compileId=p.COMPILE_ID, state="BuildSuccess"))
    adapter.add("backtests/create", Reply(None, status=500, body=b""))
    adapter.add("backtests/read", *[ok(backtest=p.backtest_running())] * 8)
    adapter.add("optimizations/read", Reply({"success": False, "Message": "Internal Error 21"}))
    adapter.add("object/set", requests.exceptions.ConnectionError("Connection aborted."))
    adapter.add("files/read", Reply(body=b"<html>"))

    errors: list[BaseException] = []

    def attempt(action: Callable[[], object]) -> None:
        try:
            action()
        except CloudError as exc:
            errors.append(exc)

    workflow = CloudWorkflow(client)
    attempt(client.authenticate)                    # 200 "Hash doesn't match." with the hash echoed
    attempt(client.authenticate)                    # 401
    attempt(client.authenticate)                    # fine
    attempt(lambda: workflow.ensure_project("qcloop/H-001"))
    attempt(client.list_projects)                   # 503, timeout, then fine (retries logged)
    attempt(lambda: workflow.backtest_code("qcloop/H-001", "code", "qcloop/H-001/baseline/1"))  # 500 on create
    attempt(lambda: client.wait_for_backtest(p.PROJECT_ID, p.BACKTEST_ID, timeout=2))
    attempt(lambda: client.read_optimization(p.OPTIMIZATION_ID))
    attempt(lambda: client.set_object("k", b"v"))
    attempt(lambda: client.read_file(p.PROJECT_ID, "main.py"))
    return errors


def test_no_token_or_signature_anywhere(
    make_client: Callable[..., QCClient], adapter: ScriptedAdapter, credentials: Credentials, tmp_path: Path,
) -> None:
    log_file = tmp_path / "session.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("orchestrator")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        client = make_client(retry=RetryPolicy(max_attempts=3, base_delay=0.1))
        errors = run_session(client, adapter)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()

    kinds = {type(error).__name__ for error in errors}
    assert {"AuthenticationError", "OutcomeUnknownError", "RequestFailedError", "WaitTimeoutError",
            "TransportError"} <= kinds, kinds
    assert any(isinstance(error, WaitTimeoutError) for error in errors)
    assert any("Hash doesn't match." in str(error) for error in errors)

    # everything the session signed with: the token, each hash, each Authorization header value
    secrets = {TOKEN}
    for sent in adapter.sent:
        if "Authorization" in sent.headers:
            value = sent.headers["Authorization"].split()[1]
            secrets.add(value)
            secrets.add(base64.b64decode(value).decode().partition(":")[2])
    assert len(secrets) >= 3

    texts = [log_file.read_text(encoding="utf-8")]
    for error in errors:
        texts += [str(error), repr(error), "".join(traceback.format_exception(error)), repr(vars(error))]
    texts += [repr(client), repr(client.transport), repr(RequestSigner(credentials)), repr(credentials),
              str(credentials), credentials.model_dump_json(), repr(client.credentials)]
    texts += [path.read_text(encoding="utf-8", errors="replace") for path in tmp_path.rglob("*") if path.is_file()]

    assert "POST backtests/create" in texts[0]                    # the log really captured the session
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret leaked into: {text[:200]!r}"


@pytest.mark.parametrize("field", ["api_token"])
def test_credentials_dump_masks_the_token(credentials: Credentials, field: str) -> None:
    assert TOKEN not in str(credentials.model_dump()[field])
