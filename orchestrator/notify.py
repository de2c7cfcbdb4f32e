"""Telling a person that qcloop waits for them: a desktop notification where one exists, and a webhook.

Desktop: ``notify-send`` on Linux (when a graphical session is there), ``osascript`` on macOS.
Webhook: ``notify.webhook_url`` in qcloop.yaml receives a JSON POST with ``text`` (Slack, Mattermost,
Rocket.Chat, Teams' simple connectors) and ``content`` (Discord), both holding the same message.

A notification that fails never stops the loop: the terminal output and ``qcloop status`` always
carry the same instructions, so the failure is logged and the loop carries on. The log names the
webhook's host only: a chat webhook's URL is its credential.
"""

from __future__ import annotations

import http.client
import json
import logging
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from orchestrator.config import NotifySettings

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5.0


def _desktop_command(title: str, message: str, environ: Mapping[str, str]) -> list[str] | None:
    if sys.platform == "darwin" and shutil.which("osascript"):
        script = f"display notification {json.dumps(message)} with title {json.dumps(title)}"
        return ["osascript", "-e", script]
    graphical = any(environ.get(k) for k in ("DISPLAY", "WAYLAND_DISPLAY"))
    if graphical and shutil.which("notify-send"):
        return ["notify-send", "--app-name=qcloop", title, message]
    return None


def post_webhook(url: str, title: str, message: str, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS) -> None:
    body = json.dumps({"text": f"*{title}*\n{message}", "content": f"**{title}**\n{message}",
                       "title": title, "message": message}).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "qcloop"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


@dataclass
class Notifier:
    """Sends one message through every configured channel; returns the channels that worked."""

    settings: NotifySettings
    environ: Mapping[str, str] = field(default_factory=dict)
    run: Callable[..., object] = subprocess.run
    webhook: Callable[[str, str, str], None] = post_webhook
    sent: list[tuple[str, str]] = field(default_factory=list)  # what was sent, for status and tests

    def notify(self, title: str, message: str) -> list[str]:
        channels = []
        if self.settings.desktop:
            command = _desktop_command(title, message, self.environ)
            if command is not None:
                try:
                    self.run(command, check=False, timeout=5, capture_output=True)
                    channels.append("desktop")
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("desktop notification failed: %s", exc)
        if self.settings.webhook_url:
            try:
                self.webhook(self.settings.webhook_url, title, message)
                channels.append("webhook")
            except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is an OSError
                url = self.settings.webhook_url
                host = urllib.parse.urlsplit(url).hostname or "the webhook"
                log.warning("webhook notification to %s failed: %s", host, str(exc).replace(url, host))
        self.sent.append((title, message))
        return channels
