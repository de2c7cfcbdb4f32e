"""`qcloop doctor`: check everything qcloop needs and say how to fix what is missing."""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from orchestrator import __version__
from orchestrator.commands import Context, add_workspace_argument
from orchestrator.config import CONFIG_FILE, Settings
from orchestrator.credentials import find_credentials
from orchestrator.errors import QcloopError

NAME = "doctor"
GROUP = "workspace"
HELP = "check credentials, workspace, git, market data and the Jupyter kernel"
DESCRIPTION = """\
Check what qcloop needs and say how to fix anything missing:

  credentials   where the QuantConnect user id and token come from (environment, the workspace's .env,
                or the lean CLI's ~/.lean/credentials, in that order); only the cloud platform needs them
  workspace     the qcloop.yaml and its settings
  git           the git executable and the workspace repository (the ledger)
  data          the market data folder the embedded engine reads (real LEAN data, or synthetic)
  kernel        a Jupyter kernel for running research notebooks locally

Exit code 0 when everything the configured platform needs is in place, 1 otherwise.

Examples:
  qcloop doctor
  qcloop doctor --json        machine-readable, for scripts
"""

SYNTHETIC_MARKER = ".qcloop-synthetic.json"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_workspace_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def _check_credentials(ctx: Context, workspace: Path | None, platform: str) -> Check:
    try:
        creds = find_credentials(workspace, environ=ctx.environ, home=ctx.home)
    except QcloopError as exc:
        return Check("credentials", Status.FAIL, str(exc))
    needed = platform == "cloud"
    if creds is None:
        return Check(
            "credentials", Status.FAIL if needed else Status.WARN,
            "none found" + ("" if needed else " (the local platform needs none)"),
            "set QC_USER_ID and QC_API_TOKEN, add them to the workspace's .env, or run `lean login`",
        )
    return Check("credentials", Status.OK, creds.describe())


def _check_workspace(ctx: Context) -> tuple[Check, Settings | None]:
    try:
        settings = ctx.settings()
    except QcloopError as exc:
        return Check("workspace", Status.FAIL, str(exc)), None
    detail = f"{settings.workspace} (platform: {settings.loop.platform})"
    return Check("workspace", Status.OK, detail), settings


def _check_git(settings: Settings | None) -> Check:
    exe = shutil.which("git")
    if exe is None:
        return Check("git", Status.FAIL, "the git executable is not on PATH", "install git")
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    if settings is None:
        return Check("git", Status.OK, version)
    inside = subprocess.run(
        [exe, "-C", str(settings.workspace), "rev-parse", "--is-inside-work-tree"],
        capture_output=True, text=True, check=False,
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return Check(
            "git", Status.FAIL, f"{settings.workspace} is not a git repository",
            f"run `git init` in {settings.workspace} (or re-create the workspace with `qcloop init`)",
        )
    return Check("git", Status.OK, f"{version}; the workspace is a repository")


def _check_data(settings: Settings | None) -> Check:
    if settings is None:
        return Check("data", Status.WARN, "no workspace, so no data folder to check")
    folder = settings.data_folder
    daily = folder / "equity" / "usa" / "daily"
    if not daily.is_dir():
        if settings.uses_synthetic_data:
            return Check(
                "data", Status.WARN, f"{folder} has no data yet",
                "`qcloop run` generates synthetic data there on first use, or run `qcloop data synth`",
            )
        return Check(
            "data", Status.FAIL, f"{folder} is not a LEAN data folder (no equity/usa/daily)",
            "set data.folder in qcloop.yaml to a LEAN data folder, or import CSVs with `qcloop data import`",
        )
    symbols = sorted(p.stem.upper() for p in daily.glob("*.zip"))
    marker = folder / SYNTHETIC_MARKER
    kind = "SYNTHETIC data" if marker.is_file() else "LEAN data"
    if marker.is_file():
        try:
            seed = json.loads(marker.read_text(encoding="utf-8")).get("seed")
            kind += f" (seed {seed})"
        except (OSError, ValueError):
            pass
    shown = ", ".join(symbols[:30]) + (" ..." if len(symbols) > 30 else "")
    return Check("data", Status.OK, f"{kind} in {folder}: {len(symbols)} daily symbols ({shown})")


def _check_kernel(settings: Settings | None) -> Check:
    wanted = settings.notebooks.kernel_name if settings else "python3"
    if importlib.util.find_spec("jupyter_client") is None or importlib.util.find_spec("ipykernel") is None:
        return Check(
            "kernel", Status.FAIL, "jupyter_client/ipykernel are not installed",
            "reinstall qcloop (`pip install -e .`), which brings nbclient and ipykernel",
        )
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if wanted not in specs:
        return Check(
            "kernel", Status.FAIL, f"no Jupyter kernel named '{wanted}' (found: {', '.join(sorted(specs))})",
            "run `python -m ipykernel install --user` or set notebooks.kernel_name in qcloop.yaml",
        )
    return Check("kernel", Status.OK, f"'{wanted}' at {specs[wanted]}")


def run(args: argparse.Namespace, ctx: Context) -> int:
    workspace_check, settings = _check_workspace(ctx)
    platform = settings.loop.platform if settings else "local"
    steps: list[Callable[[], Check]] = [
        lambda: _check_credentials(ctx, settings.workspace if settings else None, platform),
        lambda: workspace_check,
        lambda: _check_git(settings),
        lambda: _check_data(settings),
        lambda: _check_kernel(settings),
    ]
    checks = [step() for step in steps]
    failed = any(c.status is Status.FAIL for c in checks)
    if args.json:
        ctx.out(json.dumps(
            {"version": __version__, "ok": not failed,
             "checks": [{"name": c.name, "status": c.status.value, "detail": c.detail, "fix": c.fix}
                        for c in checks]},
            indent=2,
        ))
        return 1 if failed else 0
    ctx.out(f"qcloop {__version__}")
    for c in checks:
        ctx.out(f"  [{c.status.value:>4}] {c.name:<12} {c.detail}")
        if c.fix and c.status is not Status.OK:
            ctx.out(f"  {'':>6} {'':<12} fix: {c.fix}")
    if failed:
        ctx.err("qcloop: doctor found problems; fix the lines marked FAIL above")
    if settings is None and workspace_check.status is Status.FAIL:
        ctx.out(f"\n(no {CONFIG_FILE} found: most checks need a workspace; `qcloop init DIR` makes one)")
    return 1 if failed else 0
