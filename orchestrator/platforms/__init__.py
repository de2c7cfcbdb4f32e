"""Where the loop's work runs: ``local`` (the embedded engine and nbclient) or ``cloud`` (QuantConnect's
API v2, or the emulator through ``--api-url``). See ``base.py`` for the protocol."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from orchestrator.config import Settings
from orchestrator.errors import ConfigError
from orchestrator.platforms.base import Platform

PLATFORMS = ("local", "cloud")


def make_platform(
    settings: Settings, *, name: str, api_url: str | None = None, manual: bool = False,
    environ: Mapping[str, str] | None = None, home: Path | None = None,
) -> Platform:
    """The platform called ``name``; credentials are looked up only for the cloud."""
    if name == "local":
        if api_url:
            raise ConfigError("--api-url points the cloud platform somewhere; the local platform has no API",
                              field="--api-url", hint="add --platform cloud, or drop --api-url")
        from orchestrator.platforms.local import LocalPlatform

        return LocalPlatform(settings, manual=manual or settings.loop.manual_notebooks, environ=environ)
    if name == "cloud":
        from orchestrator.platforms.cloud import CloudPlatform

        return CloudPlatform.from_settings(settings, api_url=api_url, environ=environ, home=home)
    raise ConfigError(f"unknown platform '{name}'", field="loop.platform", hint=f"use one of {', '.join(PLATFORMS)}")
