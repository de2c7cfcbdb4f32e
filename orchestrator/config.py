"""Workspace settings: ``qcloop.yaml`` plus environment overrides -> ``Settings``.

A workspace is a folder with a ``qcloop.yaml`` (found by walking up from the current directory, or
given with ``--workspace``). Every setting has a default, so an empty ``qcloop.yaml`` is valid.

Overrides use ``QCLOOP_<SECTION>__<FIELD>`` (double underscore), e.g.
``QCLOOP_DATA__FOLDER=/data/lean`` or ``QCLOOP_CLOUD__API_URL=http://127.0.0.1:5612/api/v2/``, from the
environment or from the workspace's ``.env`` file (the environment wins). ``.env`` is kept out of git,
so it is the place for settings that are secrets, such as ``QCLOOP_NOTIFY__WEBHOOK_URL`` (a chat
webhook's URL is its credential; qcloop masks it in logs and messages wherever it is set).
Credentials are not settings: see ``credentials.py``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestrator import yamlfile
from orchestrator.credentials import parse_dotenv, register_secret
from orchestrator.errors import ConfigError, WorkspaceError

CONFIG_FILE = "qcloop.yaml"
DOTENV_FILE = ".env"
ENV_PREFIX = "QCLOOP_"
DEFAULT_API_URL = "https://www.quantconnect.com/api/v2/"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GitSettings(_Section):
    """Who the ledger's commits are by when the machine has no git identity."""

    author_name: str = "qcloop"
    author_email: str = "qcloop@localhost"
    tag_prefix: str = "accepted/"


class DataSettings(_Section):
    """Market data for the embedded engine (local platform and emulator)."""

    # A LEAN-format data folder (e.g. the lean CLI's `data/`). None: the workspace's `data/`, which
    # qcloop fills with seeded synthetic data on first use (labelled synthetic wherever shown).
    folder: Path | None = None
    synthetic_seed: int = 7


class CloudSettings(_Section):
    """The QuantConnect API (or the emulator, with api_url pointing at 127.0.0.1)."""

    api_url: str = DEFAULT_API_URL
    organization_id: str | None = None
    project_prefix: str = "qcloop"
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    research_url: str = "https://www.quantconnect.com/project/{project_id}"
    backtest_timeout_seconds: float = Field(default=3600.0, gt=0)
    compile_timeout_seconds: float = Field(default=300.0, gt=0)

    @field_validator("api_url")
    @classmethod
    def _ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value if value.endswith("/") else value + "/"


class NotebookSettings(_Section):
    """Research notebooks: where people drop downloaded notebooks, how patiently qcloop waits."""

    inbox: Path = Path("inbox")
    execution_timeout_seconds: float = Field(default=900.0, gt=0)
    poll_initial_seconds: float = Field(default=5.0, gt=0)
    poll_max_seconds: float = Field(default=300.0, gt=0)
    remind_every_minutes: float = Field(default=60.0, gt=0)
    wait_timeout_hours: float = Field(default=72.0, gt=0)
    kernel_name: str = "python3"


class NotifySettings(_Section):
    """How qcloop tells you it waits for you: a desktop notification, and a chat webhook (JSON POST).
    A webhook URL is a credential: set QCLOOP_NOTIFY__WEBHOOK_URL in .env rather than here."""

    desktop: bool = True
    webhook_url: str | None = None


class RulesSettings(_Section):
    """The decision rule set: a YAML file (relative to the workspace) or the built-in default."""

    file: Path | None = None


class BudgetSettings(_Section):
    daily_backtests: int = Field(default=200, ge=0)
    money_usd: float = Field(default=0.0, ge=0)  # paid cloud optimizations need budget and approval


class GeneratorSettings(_Section):
    """Where new hypotheses come from besides the files in hypotheses/."""

    command: list[str] | None = None  # an external proposer (e.g. an LLM agent): history JSON on stdin
    command_timeout_seconds: float = Field(default=120.0, gt=0)
    max_output_bytes: int = Field(default=256_000, gt=0)
    variants_per_hypothesis: int = Field(default=2, ge=0)
    max_variants_total: int = Field(default=10, ge=0)


class LoopSettings(_Section):
    platform: Literal["local", "cloud"] = "local"
    manual_notebooks: bool = False  # local platform: a person runs notebooks in Jupyter (inbox channel)
    max_active: int = Field(default=4, ge=1)
    # The last part of every hypothesis's period that no search sees; one backtest of the chosen
    # parameters reads it, once, at validation (0 disables the holdout).
    holdout_fraction: float = Field(default=0.2, ge=0, lt=0.5)
    walk_forward_windows: int = Field(default=4, ge=1, le=24)  # out-of-sample windows of the walk-forward
    walk_forward_anchored: bool = False  # anchored (growing) in-sample windows instead of rolling ones


class Settings(_Section):
    """All settings of one workspace. ``workspace`` is where the file was found, not a setting."""

    schema_version: int = 1
    workspace: Path = Field(default=Path("."), exclude=True)
    git: GitSettings = Field(default_factory=GitSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    cloud: CloudSettings = Field(default_factory=CloudSettings)
    notebooks: NotebookSettings = Field(default_factory=NotebookSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    generators: GeneratorSettings = Field(default_factory=GeneratorSettings)
    loop: LoopSettings = Field(default_factory=LoopSettings)

    def resolve(self, path: Path) -> Path:
        """A path from the settings, relative to the workspace unless absolute (``~`` expanded)."""
        path = path.expanduser()
        return path if path.is_absolute() else self.workspace / path

    @property
    def data_folder(self) -> Path:
        return self.resolve(self.data.folder) if self.data.folder is not None else self.workspace / "data"

    @property
    def uses_synthetic_data(self) -> bool:
        return self.data.folder is None

    @property
    def inbox(self) -> Path:
        return self.resolve(self.notebooks.inbox)


def find_workspace(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds a qcloop.yaml."""
    current = start.resolve()
    for folder in (current, *current.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def require_workspace(explicit: Path | None, cwd: Path) -> Path:
    if explicit is not None:
        if not (explicit / CONFIG_FILE).is_file():
            raise WorkspaceError(
                f"{explicit} is not a qcloop workspace (no {CONFIG_FILE})",
                hint=f"create one with `qcloop init {explicit}`",
            )
        return explicit.resolve()
    found = find_workspace(cwd)
    if found is None:
        raise WorkspaceError(
            f"no {CONFIG_FILE} in {cwd} or any folder above it",
            hint="run inside a workspace, pass --workspace DIR, or create one with `qcloop init DIR`",
        )
    return found


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    sections = set(Settings.model_fields) - {"schema_version", "workspace"}
    overrides: dict[str, dict[str, Any]] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or "__" not in key:
            continue
        section, _, name = key[len(ENV_PREFIX):].lower().partition("__")
        if section not in sections:
            continue
        overrides.setdefault(section, {})[name] = value
    return overrides


def _dotenv_overrides(workspace: Path) -> dict[str, str]:
    """The ``QCLOOP_*`` lines of the workspace's ``.env`` (its QC_* credentials are read elsewhere)."""
    path = workspace / DOTENV_FILE
    if not path.is_file():
        return {}
    try:
        values = parse_dotenv(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read it ({exc})", file=path) from exc
    return {k: v for k, v in values.items() if k.startswith(ENV_PREFIX)}


def load_settings(workspace: Path, *, environ: Mapping[str, str] | None = None) -> Settings:
    """Read ``workspace/qcloop.yaml``, then apply overrides from ``.env`` and the environment (which wins).

    Errors name file, line and field.
    """
    path = workspace / CONFIG_FILE
    env = {**_dotenv_overrides(workspace), **(os.environ if environ is None else environ)}
    try:
        doc = yamlfile.load(path) if path.is_file() else yamlfile.loads("", source=str(path))
    except yamlfile.YamlError as exc:
        raise ConfigError(exc.reason, file=f"{path}:{exc.line}" if exc.line else path) from exc
    raw = doc.data if doc.data is not None else {}
    if not isinstance(raw, dict):
        raise ConfigError("must be a mapping of sections (git, data, cloud, ...)", file=path)
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for section, values in _env_overrides(env).items():
        current = merged.get(section)
        merged[section] = {**(current if isinstance(current, dict) else {}), **values}
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        problem = yamlfile.describe_validation_error(exc, doc)[0]
        where = f"{path}:{problem.line}" if problem.line else str(path)
        raise ConfigError(
            problem.message, file=where, field=problem.field,
            hint=f"see the commented defaults that `qcloop init` writes to {CONFIG_FILE}",
        ) from exc
    register_secret(settings.notify.webhook_url)
    return settings.model_copy(update={"workspace": workspace.resolve()})
