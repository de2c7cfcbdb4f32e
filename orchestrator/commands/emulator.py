"""`qcloop emulator serve|run-notebook`: QuantConnect's API v2 on 127.0.0.1, and its simulated person."""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from orchestrator.commands import Context
from orchestrator.config import find_workspace, load_settings
from orchestrator.credentials import find_credentials, register_secret
from orchestrator.errors import ConfigError, CredentialsError, QcloopError

if TYPE_CHECKING:
    from orchestrator.emulator.backend import EmulatorBackend
    from orchestrator.emulator.server import EmulatorServer

NAME = "emulator"
GROUP = "cloud"
HELP = "run a local emulator of QuantConnect's API v2, and its simulated Research user"
DESCRIPTION = """\
A local, offline emulator of QuantConnect's cloud API v2, for trying the cloud path without an
account, for tests, and for demos. Backtests and optimizations run on qcloop's embedded engine over a
LEAN data folder; research notebooks are run by a simulated person (`run-notebook`).

  qcloop emulator serve          serve the API on http://127.0.0.1:5612/api/v2/ (the lean CLI's QC_API=local)
  qcloop emulator run-notebook   click "Run All" on a project's notebook, as a person in Research would

Examples:
  qcloop emulator serve --data-folder ../data/lean --state-dir .emulator
  qcloop emulator serve --user-id 1 --token secret --backtest-delay-polls 3 \\
      --faults "seed=7; backtests/create: 503 @ 2,3; *: 429(retry-after=2) @ p=0.05"
  qcloop emulator run-notebook "My Project" research.ipynb --mode stripped

Run `qcloop emulator serve --help` for the fault syntax, and see docs/emulator.md for the lean CLI.
"""

SERVE_DESCRIPTION = """\
Serve QuantConnect's API v2 on HOST:PORT (default 127.0.0.1:5612, the address the lean CLI uses
with QC_API=local). Without --user-id/--token the emulator makes credentials and prints them once;
with --state-dir it keeps its state (and credentials it made) across restarts.

Point clients at it:
  qcloop      QCLOOP_CLOUD__API_URL=http://127.0.0.1:5612/api/v2/ QC_USER_ID=... QC_API_TOKEN=...
  lean CLI    QC_API=local lean login -u USER_ID -t TOKEN, then QC_API=local lean cloud backtest ...

Fault injection (--faults SPEC): rules separated by ';', each ENDPOINT: FAULT @ WHEN, plus seed=N.
  ENDPOINT  an API path such as backtests/create, or * for every endpoint
  FAULT     429 | 429(retry-after=S) | 500 | 502 | 503 | 504 | slow(S) | drop | drop-after | malformed
  WHEN      call numbers of that endpoint (2,3 or 2-4), or p=PROBABILITY (seeded per endpoint)
  e.g.      "seed=7; backtests/create: 503 @ 2,3; files/read: slow(1.5) @ p=0.2; compile/read: drop @ 1"
"""

RUN_NOTEBOOK_DESCRIPTION = """\
Do what a person does in QuantConnect Research: open the project's notebook, click Run All, and
save it. The notebook runs in a real Jupyter kernel with QuantBook on the emulator's data folder;
what it saves to the Object Store lands in the emulator's Object Store.

Modes (what people and Research do in the field):
  kept       the executed notebook is saved with its outputs
  stripped   saved with execution counts but empty outputs (the Research quirk)
  stale      nothing runs, the old copy stays (the person forgot)
  raises     a cell raises (--fail-cell N, default the last code cell) and execution stops there

By default it asks the running emulator (--url) to do it, signing the request with the credentials
qcloop finds (QC_USER_ID/QC_API_TOKEN, the workspace's .env, or ~/.lean/credentials). With
--state-dir it works on a stopped emulator's state folder directly.

Examples:
  qcloop emulator run-notebook 20000001
  qcloop emulator run-notebook "My Project" research.ipynb --mode raises --fail-cell 2
"""


EMULATOR_CREDENTIALS_HINT = "set QC_USER_ID and QC_API_TOKEN to what `qcloop emulator serve` printed"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="emulator_command", metavar="SUBCOMMAND", required=True)
    serve = sub.add_parser("serve", help="serve the API", description=SERVE_DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=5612, help="port (default 5612; 0 picks a free one)")
    serve.add_argument("--data-folder", type=Path, default=None,
                       help="LEAN data folder for backtests (default: the workspace's data folder)")
    serve.add_argument("--state-dir", type=Path, default=None, help="keep state here across restarts")
    serve.add_argument("--user-id", type=int, default=None, help="the user id clients authenticate as")
    serve.add_argument("--token", default=None, help="that user's API token (never printed)")
    serve.add_argument("--auth-failure", type=int, choices=(200, 401), default=200,
                       help="answer a bad signature with HTTP 200 success:false (default, as observed) or 401")
    delay = serve.add_mutually_exclusive_group()
    delay.add_argument("--backtest-delay-polls", type=int, default=None, metavar="N",
                       help="jobs show as running until the Nth read")
    delay.add_argument("--backtest-delay-seconds", type=float, default=None, metavar="S",
                       help="jobs show as running for S seconds after create")
    serve.add_argument("--faults", default=None, metavar="SPEC", help="fault injection rules (see above)")
    serve.add_argument("--workers", type=int, default=2, help="backtests run at once (default 2)")
    serve.add_argument("--live-replay-days", type=int, default=90,
                       help="a paper deployment replays this many days of the newest data (default 90)")
    serve.set_defaults(handler=_serve)

    notebook = sub.add_parser("run-notebook", help="run a project's notebook as a person would",
                              description=RUN_NOTEBOOK_DESCRIPTION,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    notebook.add_argument("project", metavar="PROJECT", help="project id or name")
    notebook.add_argument("file", nargs="?", default="research.ipynb", metavar="FILE",
                          help="the notebook (default research.ipynb)")
    notebook.add_argument("--mode", choices=("kept", "stripped", "stale", "raises"), default="kept")
    notebook.add_argument("--fail-cell", type=int, default=None, metavar="N",
                          help="with --mode raises: the index of the cell that raises")
    notebook.add_argument("--timeout", type=float, default=600.0, help="seconds the notebook may run")
    notebook.add_argument("--url", default="http://127.0.0.1:5612/", help="the running emulator")
    notebook.add_argument("--state-dir", type=Path, default=None,
                          help="work on this stopped emulator's state folder instead of --url")
    notebook.add_argument("--data-folder", type=Path, default=None, help="with --state-dir: the data folder")
    notebook.set_defaults(handler=_run_notebook)


def run(args: argparse.Namespace, ctx: Context) -> int:
    return int(args.handler(args, ctx))


# ------------------------------------------------------------------------------------------------
# serve


def _default_data_folder(ctx: Context) -> Path | None:
    workspace = ctx.workspace_arg or find_workspace(ctx.cwd)
    if workspace is None:
        return None
    return load_settings(workspace, environ=ctx.environ).data_folder


def _timing(args: argparse.Namespace) -> Any:
    from orchestrator.emulator.timing import Timing

    if args.backtest_delay_polls is not None:
        if args.backtest_delay_polls < 1:
            raise ConfigError("must be at least 1", field="--backtest-delay-polls")
        return Timing.after_polls(args.backtest_delay_polls)
    if args.backtest_delay_seconds is not None:
        if args.backtest_delay_seconds < 0:
            raise ConfigError("must not be negative", field="--backtest-delay-seconds")
        return Timing.after_seconds(args.backtest_delay_seconds)
    return Timing.real()


def _credentials(args: argparse.Namespace, backend: EmulatorBackend) -> tuple[int, str, str]:
    """(user id, token, how they were obtained); generated ones are saved in the state dir."""
    if (args.user_id is None) != (args.token is None):
        raise CredentialsError("give both --user-id and --token, or neither (the emulator then makes some)")
    if args.user_id is not None:
        return args.user_id, args.token, "given"
    saved = backend.store.load_credentials()
    if saved is not None:
        return saved[0], saved[1], "saved"
    user_id = 100_000 + secrets.randbelow(900_000)
    token = secrets.token_hex(32)
    backend.store.save_credentials(user_id, token)
    return user_id, token, "generated"


def build_server(args: argparse.Namespace, ctx: Context) -> tuple[EmulatorServer, list[str]]:
    """The configured server (not started) and the banner lines to print once."""
    from orchestrator.emulator.backend import EmulatorBackend
    from orchestrator.emulator.faults import parse_fault_spec
    from orchestrator.emulator.server import EmulatorServer

    faults = parse_fault_spec(args.faults) if args.faults else None
    data_folder = args.data_folder or _default_data_folder(ctx)
    if data_folder is not None and not data_folder.is_dir():
        raise ConfigError("is not a folder", field="--data-folder", hint="pass a LEAN data folder")
    backend = EmulatorBackend(data_folder=data_folder, state_dir=args.state_dir, timing=_timing(args),
                              workers=args.workers, live_replay_days=args.live_replay_days)
    user_id, token, origin = _credentials(args, backend)
    register_secret(token)
    user, _ = backend.register_user(user_id, token)
    server = EmulatorServer(backend, args.host, args.port, auth_failure_status=args.auth_failure,
                            faults=faults)  # with the simulated person's endpoint, as every server has
    lines = [
        f"data folder: {data_folder or 'none (backtests will fail: pass --data-folder)'}",
        f"state: {args.state_dir or 'in memory (pass --state-dir to keep it)'}",
        f"jobs: {backend.timing.describe()}; faults: {len(faults.rules) if faults else 0} rule(s)",
        f"user id: {user.user_id}, organization id: {user.organization_id}",
    ]
    if origin == "generated":
        lines += [
            f"generated API token (shown once{', saved in ' + str(args.state_dir) if args.state_dir else ''}): "
            f"{token}",
        ]
    elif origin == "saved":
        lines += [f"API token: the one saved in {args.state_dir}/credentials.json"]
    shown = token if origin == "generated" else "<your token>"
    lines += [
        "use it from qcloop:   QCLOOP_CLOUD__API_URL=<url> QC_USER_ID="
        f"{user.user_id} QC_API_TOKEN={shown} QC_ORGANIZATION_ID={user.organization_id}",
        f"use it from lean:    QC_API=local lean login -u {user.user_id} -t {shown}   (needs port 5612)",
    ]
    return server, lines


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace, ctx: Context) -> int:
    server, lines = build_server(args, ctx)
    try:
        server.start()
    except OSError as exc:
        server.backend.close()  # its workers may already be re-running jobs of the state dir
        raise ConfigError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}", field="--port",
                          hint="stop whatever uses that port, or choose another with --port") from exc
    ctx.out(f"qcloop emulator: QuantConnect API v2 at {server.url}")
    for line in lines:
        ctx.out("  " + line.replace("<url>", server.url))
    ctx.out("  press Ctrl-C to stop")
    # Stop cleanly on SIGTERM too, and on SIGINT even when the shell started us with it ignored
    # (a background job of a non-interactive shell): both end the wait below.
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            previous[stop_signal] = signal.signal(stop_signal, _raise_interrupt)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        ctx.out("qcloop emulator: stopping")
    finally:
        for stop_signal, handler in previous.items():
            signal.signal(stop_signal, handler)
        server.stop()
        server.backend.close()
    return 0


# ------------------------------------------------------------------------------------------------
# run-notebook


def _run_notebook(args: argparse.Namespace, ctx: Context) -> int:
    report = _run_locally(args) if args.state_dir is not None else _run_remotely(args, ctx)
    _print_report(ctx, report)
    return 0 if report.get("error") is None or args.mode == "raises" else 1


def _run_locally(args: argparse.Namespace) -> dict[str, Any]:
    from orchestrator.emulator.backend import EmulatorBackend
    from orchestrator.emulator.errors import ServiceError
    from orchestrator.emulator.operator import run_notebook

    if not (args.state_dir / "state.json").is_file():
        raise ConfigError("holds no emulator state (no state.json)", field="--state-dir")
    # Only the notebook runs: jobs the stopped emulator left unfinished wait for its next `serve`.
    backend = EmulatorBackend(data_folder=args.data_folder, state_dir=args.state_dir, workers=1,
                              resume_jobs=False)
    try:
        return run_notebook(backend, args.project, args.file, mode=args.mode, fail_cell=args.fail_cell,
                            timeout=args.timeout).to_json()
    except ServiceError as exc:
        raise QcloopError("; ".join(exc.errors)) from exc
    finally:
        backend.close()


def _run_remotely(args: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    from orchestrator.cloud.auth import auth_headers, request_timestamp
    from orchestrator.emulator.urls import OPERATOR_PATH

    workspace = ctx.workspace_arg or find_workspace(ctx.cwd)
    creds = find_credentials(workspace, environ=ctx.environ, home=ctx.home)
    if creds is None:
        raise CredentialsError("no credentials for the emulator", hint=EMULATOR_CREDENTIALS_HINT)
    register_secret(creds.api_token)
    signature = auth_headers(creds.user_id, creds.api_token, request_timestamp(time.time))
    body = json.dumps({"project": args.project, "file": args.file, "mode": args.mode,
                       "failCell": args.fail_cell, "timeout": args.timeout}).encode()
    url = args.url.split("/api/v2")[0].rstrip("/") + OPERATOR_PATH
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **signature})
    try:
        with urllib.request.urlopen(request, timeout=args.timeout + 30) as response:
            reply = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        reply = _json_or_none(exc.read())
        if reply is None:
            raise QcloopError(f"the emulator at {args.url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise QcloopError(f"cannot reach the emulator at {args.url}: {exc}",
                          hint="start it with `qcloop emulator serve`, or pass --url or --state-dir") from exc
    if not reply.get("success"):
        _refused(reply)
    report: dict[str, Any] = reply["report"]
    return report


def _refused(reply: dict[str, Any]) -> None:
    """Raise the error for a refusal; the emulator quotes the signature hash on a bad signature, as
    the service does, so its texts are scrubbed before they are shown."""
    from orchestrator.cloud.transport import AUTH_ERROR_PREFIXES, service_errors

    errors = service_errors(reply) or ["no reason given"]
    if any(error.startswith(AUTH_ERROR_PREFIXES) for error in errors):
        raise CredentialsError("the emulator refused the credentials: " + "; ".join(errors),
                               hint=EMULATOR_CREDENTIALS_HINT)
    raise QcloopError("the emulator refused: " + "; ".join(errors))


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _print_report(ctx: Context, report: dict[str, Any]) -> None:
    what = "ran and saved" if report.get("saved") else "left unchanged (mode stale)"
    ctx.out(f"project {report['project_id']}: {report['file']} {what} (mode {report['mode']}, "
            f"{report.get('seconds', 0):g} s)")
    if report.get("error"):
        ctx.out(f"  cell {report.get('failed_cell')} raised {report['error']}")
    for key in report.get("objects_written") or []:
        ctx.out(f"  Object Store: wrote {key}")
    for key in report.get("objects_deleted") or []:
        ctx.out(f"  Object Store: deleted {key}")
