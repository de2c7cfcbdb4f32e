"""Waits (backoff, reminders, timeouts, notifications) and the scheduler's choices, with a fake clock."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from orchestrator.config import NotifySettings, Settings
from orchestrator.loop.context import LoopContext
from orchestrator.loop.runner import _due, _idle, _pick
from orchestrator.loop.waiting import describe, expired, machine_wait, person_wait, remind_if_due
from orchestrator.models import HypothesisState, Stage, Waiting
from orchestrator.notify import Notifier
from tests.loop.helpers import T0, Clock


def state(hypothesis_id: str = "H-001", **changes: Any) -> HypothesisState:
    return HypothesisState(id=hypothesis_id, family="ma_crossover", spec_path="x", spec_sha256="0" * 64, **changes)


def context(clock: Clock, sent: list[tuple[str, str]]) -> LoopContext:
    settings = Settings.model_validate({"notebooks": {"poll_initial_seconds": 5, "poll_max_seconds": 60,
                                                      "remind_every_minutes": 30, "wait_timeout_hours": 2}})
    notifier = Notifier(NotifySettings(desktop=False), webhook=lambda *a: None)
    notifier.sent = sent
    return LoopContext(workspace=Path("."), settings=settings, store=None, ledger=None, platform=None,  # type: ignore[arg-type]
                       rules=None, registry=None, notifier=notifier, say=lambda _: None, clock=clock)  # type: ignore[arg-type]


def test_a_person_wait_backs_off_to_its_maximum_reminds_and_times_out() -> None:
    clock, sent = Clock(), []
    ctx = context(clock, sent)
    s = state()
    w = person_wait(ctx, s, "the sweep notebook to be run", ["Open it", "Run All"])
    assert (w.interval_seconds, w.next_check_at, w.deadline) == (5, T0 + dt.timedelta(seconds=5),
                                                                 T0 + dt.timedelta(hours=2))
    w = remind_if_due(ctx, s, w)
    assert sent == [("qcloop: H-001 waits for you", "the sweep notebook to be run\nOpen it\nRun All")]
    intervals = []
    for _ in range(8):  # 5 * 1.6^k, capped at 60 s
        w = person_wait(ctx, s.model_copy(update={"waiting": w}), "the sweep notebook to be run", ["Open it"])
        intervals.append(round(w.interval_seconds, 2))
    assert intervals == [8.0, 12.8, 20.48, 32.77, 52.43, 60, 60, 60]
    clock.advance(29 * 60)
    assert remind_if_due(ctx, s, w) == w and len(sent) == 1  # not yet: every 30 minutes
    clock.advance(60)
    w = remind_if_due(ctx, s, w)
    assert w.reminders == 1 and sent[-1][0] == "qcloop: H-001 still waits for you"
    assert not expired(ctx, w)
    clock.advance(2 * 3600)
    assert expired(ctx, w)
    assert describe(w, clock.now).startswith("waiting 2h30m for you: the sweep notebook to be run")


def test_a_machine_wait_backs_off_from_one_second_to_thirty() -> None:
    clock = Clock()
    ctx = context(clock, [])
    s = state()
    intervals = []
    for k in range(10):  # the progress in the text changes; it is still the same wait
        w = machine_wait(ctx, s, f"baseline backtest ({10 * k}%)")
        s = s.model_copy(update={"waiting": w})
        intervals.append(round(w.interval_seconds, 3))
        clock.advance(w.interval_seconds)
    assert intervals[:3] == [1.0, 1.6, 2.56] and intervals[-1] == 30.0
    assert s.waiting is not None and s.waiting.since == T0
    assert s.waiting.deadline == T0 + dt.timedelta(seconds=3600)  # cloud.backtest_timeout_seconds
    other = machine_wait(ctx, s, "confirmation backtest (0%)")
    assert other.interval_seconds == 1.0 and other.since == clock.now


def test_the_scheduler_moves_the_least_advanced_due_hypothesis_first() -> None:
    later = Waiting(for_person=True, what="x", next_check_at=T0 + dt.timedelta(minutes=1))
    states = [state("H-003", seq=1, stage=Stage.GENERATED), state("H-002", seq=3, stage=Stage.OPTIMIZING),
              state("H-001", seq=1, stage=Stage.AWAITING_RESULTS, waiting=later),
              state("H-004", seq=2, stage=Stage.REJECTED), state("H-010", seq=0), state("H-011", seq=0)]
    # H-001 waits, H-004 is decided; three are in progress (H-001..H-003), so with at most four in
    # progress only one of the two new ones may start, and with three none.
    assert [s.id for s in _due(states, T0, max_active=3)] == ["H-003", "H-002"]
    due = _due(states, T0, max_active=4)
    assert [s.id for s in due] == ["H-003", "H-002", "H-010"]
    assert _pick(due).id == "H-010"  # fewest steps first
    assert [s.id for s in _due(states, T0, max_active=3, check_all=True)] == ["H-003", "H-002", "H-001"]
    assert not _idle(states, T0)
    quota = Waiting(for_person=False, what="quota", next_check_at=T0 + dt.timedelta(hours=8))
    waiting_people = [state("H-001", waiting=later), state("H-002", stage=Stage.ACCEPTED),
                      state("H-003", waiting=quota)]
    assert _idle(waiting_people, T0)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Hook.received.append({"type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_the_webhook_gets_a_json_post_chat_tools_understand() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        channels = Notifier(NotifySettings(desktop=False, webhook_url=url)).notify("qcloop: H-007", "Run the notebook")
    finally:
        server.shutdown()
    assert channels == ["webhook"]
    body = _Hook.received[-1]["body"]
    assert _Hook.received[-1]["type"] == "application/json"
    assert body["text"] == "*qcloop: H-007*\nRun the notebook"  # Slack, Mattermost
    assert body["content"] == "**qcloop: H-007**\nRun the notebook"  # Discord


def test_a_failing_notification_never_stops_the_loop() -> None:
    notifier = Notifier(NotifySettings(desktop=True, webhook_url="http://127.0.0.1:9/unreachable"),
                        environ={"DISPLAY": ":0"}, run=lambda *a, **k: (_ for _ in ()).throw(OSError("no notify-send")))
    assert notifier.notify("title", "message") == []
    assert notifier.sent == [("title", "message")]


@pytest.mark.parametrize("environ", [{}, {"DISPLAY": ":0"}])
def test_desktop_notifications_need_a_graphical_session(environ: dict[str, str]) -> None:
    from orchestrator.notify import _desktop_command

    command = _desktop_command("t", "m", environ)
    if not environ:
        assert command is None or command[0] == "osascript"
    else:
        assert command is None or command[:2] in (["notify-send", "--app-name=qcloop"], ["osascript", "-e"])


def test_a_webhook_that_answers_garbage_is_logged_without_its_url(caplog: pytest.LogCaptureFixture) -> None:
    # Not HTTP at all (a misconfigured proxy, a port that speaks something else): http.client raises
    # BadStatusLine, which is no OSError. The loop must carry on, and the log must not show the URL,
    # which for a chat webhook is its credential.
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_garbage() -> None:
        connection, _ = listener.accept()
        connection.recv(65536)
        connection.sendall(b"garbage\r\n\r\n")
        connection.close()

    thread = threading.Thread(target=answer_garbage, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/services/T000/B000/secret-path"
    try:
        with caplog.at_level("WARNING", logger="orchestrator.notify"):
            assert Notifier(NotifySettings(desktop=False, webhook_url=url)).notify("t", "m") == []
    finally:
        thread.join(timeout=5)
        listener.close()
    assert "webhook notification to 127.0.0.1 failed" in caplog.text
    assert "secret-path" not in caplog.text
