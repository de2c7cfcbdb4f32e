"""Kill `qcloop run` with SIGKILL at random moments, many times, and check that resuming always ends where
an uninterrupted run ends (issue 7, "Done when").

    .venv/bin/python benchmarks/kill_resume.py                       # 20 kills, local platform
    .venv/bin/python benchmarks/kill_resume.py --emulator --kills 25 # the cloud path, against the emulator

Steps:

1. make synthetic data and a workspace with three hypotheses that end in three different places
   (accepted after optimization and validation; rejected at the baseline; rejected at the walk-forward);
2. run a copy of it once without interruption: the reference;
3. in a fresh copy, start `python -m orchestrator run` as a subprocess, SIGKILL it after a random delay
   (seeded), start it again, ... until a run finishes by itself (an episode); repeat episodes in fresh
   copies until the requested number of kills has happened;
4. compare, after every episode: every hypothesis's final stage, decisions, figures and remote-job names must equal the
   reference's; no backtest may exist twice (on the emulator: listed by the service; locally: the
   engine's registry); every hypothesis's commits must carry Step 1..n without gap or repeat, git fsck
   must pass, and no tracked file may be left modified.

On the emulator, a thread plays the person: whenever a state file says a hypothesis waits for a
notebook, it runs that notebook in the emulator (Run All), like someone watching `qcloop status`.

The result (kills, timings, and each check) goes to benchmarks/results/kill_resume[-emulator].json.
Exit status 0 when every check passes.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from orchestrator.engine.synth import generate_synthetic_data  # noqa: E402
from orchestrator.ledger import Ledger  # noqa: E402
from orchestrator.models import HypothesisState  # noqa: E402
from orchestrator.store import Store  # noqa: E402
from orchestrator.workspace import init_workspace  # noqa: E402

LENIENT = ("min_trades: 0, min_sharpe: -10, min_psr: 0, max_drawdown: 1, min_oos_sharpe: -10, "
           "max_oos_degradation: 100, min_holdout_sharpe: -10, min_deflated_sharpe: 0, min_plateau_ratio: -10, "
           "max_optimization_gain: 100, tripwire_max_sharpe: 100, tripwire_sharpe: 100, tripwire_win_rate: 1")
HYPOTHESES = {
    "H-501": ("accepted after optimization and validation", ""),
    "H-502": ("rejected at the baseline", ", min_sharpe: 50"),
    "H-503": ("rejected at the walk-forward", ", min_oos_sharpe: 50"),
}
USER_ID, TOKEN = 7171, "kill-resume-benchmark-token-0123456789"


def hypothesis(hypothesis_id: str, title: str, extra_rules: str) -> str:
    return (f"id: {hypothesis_id}\ntitle: {title}\nrationale: Killed again and again.\ntemplate: ma_crossover\n"
            "universe: [SPY]\nstart: 2016-01-01\nend: 2019-12-31\nparameters:\n"
            "  fast: {default: 20, sweep: {min: 10, max: 30, step: 10}}\n"
            "  slow: {default: 75, sweep: {min: 50, max: 100, step: 25}}\n"
            f"rules: {{{LENIENT}{extra_rules}}}\n")


def make_workspace(folder: Path, data: Path, env: dict[str, str]) -> None:
    init_workspace(folder, examples=False)
    config = folder / "qcloop.yaml"
    config.write_text(config.read_text() + f"\ndata:\n  folder: {data}\n"
                      "notebooks:\n  poll_initial_seconds: 0.2\n  poll_max_seconds: 1\n"
                      # one variant of each decided hypothesis, two in all: the propose step is killed too
                      "generators:\n  variants_per_hypothesis: 1\n  max_variants_total: 2\n")
    for hypothesis_id, (title, rules) in HYPOTHESES.items():
        (folder / "hypotheses" / f"{hypothesis_id}.yaml").write_text(hypothesis(hypothesis_id, title, rules))
    git = ["git", "-C", str(folder), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "benchmark workspace"], check=True, env=env)


def signature(state: HypothesisState) -> dict[str, Any]:
    r = state.results
    return {
        "stage": state.stage.value, "seq": state.seq, "parameters": state.parameters,
        "decisions": [[d.step.value, d.action.value, d.summary] for d in state.decisions],
        "baseline": round(r.baseline.sharpe, 9) if r.baseline else None,
        "confirmation": round(r.confirmation.sharpe, 9) if r.confirmation else None,
        "holdout": round(r.holdout.sharpe, 9) if r.holdout else None,
        "trials": len(state.trials), "jobs": sorted(state.jobs),
    }


class Person(threading.Thread):
    """Runs, in the emulator, every notebook a state file says is waiting for a person."""

    def __init__(self, backend: Any, workspace: Path) -> None:
        super().__init__(daemon=True)
        self.backend, self.workspace = backend, workspace
        self.done: set[str] = set()
        self.stop = threading.Event()
        self.runs = 0

    def run(self) -> None:
        from orchestrator.emulator.operator import run_notebook

        while not self.stop.is_set():
            for path in sorted((self.workspace / "state").glob("H-*.json")):
                try:
                    state = HypothesisState.model_validate_json(path.read_text())
                except ValueError:
                    continue  # being replaced right now
                if state.awaiting is None or state.waiting is None or not state.waiting.for_person:
                    continue
                notebook = state.notebooks.get(state.awaiting.value)
                if notebook is None or notebook.nonce in self.done or state.project is None:
                    continue
                run_notebook(self.backend, int(state.project.project_id), notebook.file_name, timeout=600)
                self.done.add(notebook.nonce)
                self.runs += 1
            self.stop.wait(0.3)


def run_qcloop(workspace: Path, env: dict[str, str], api_url: str | None,
               kill_after: float | None) -> tuple[bool, float]:
    command = [sys.executable, "-m", "orchestrator", "run", "-w", str(workspace)]
    if api_url:
        command += ["--api-url", api_url]
    started = time.monotonic()
    # stderr goes to a file, not a pipe: a pipe nobody reads until the end can fill up and block the run,
    # which would then be "killed" for hanging rather than at a random moment.
    with tempfile.TemporaryFile(mode="w+") as stderr:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        killed = False
        try:
            child.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            killed = True
        if not killed and child.returncode != 0:
            stderr.seek(0)
            raise RuntimeError(f"qcloop run failed ({child.returncode}): {stderr.read()}")
    return killed, time.monotonic() - started


def remote_backtest_names(workspace: Path, backend: Any) -> list[str]:
    names: list[str] = []
    for state in Store(workspace).load_all():
        if state.project is None:
            continue
        if backend is not None:
            user = backend.user(USER_ID)
            names += [b.record.name for b in backend.list_backtests(user, int(state.project.project_id))]
        else:
            folder = workspace / ".qcloop" / "local" / "backtests" / state.project.project_id
            names += [json.loads(p.read_text())["name"] for p in folder.glob("*.json")]
    return names


def ledger_problems(workspace: Path, env: dict[str, str]) -> list[str]:
    problems = []
    ledger = Ledger(workspace)
    for state in Store(workspace).load_all():
        steps = [e.seq for e in ledger.history(state.id)]
        if steps != list(range(1, state.seq + 1)):
            problems.append(f"{state.id}: Step trailers {steps}, state seq {state.seq}")
    fsck = subprocess.run(["git", "-C", str(workspace), "fsck", "--no-progress"], capture_output=True, text=True,
                          env=env, check=False)
    if fsck.returncode != 0:
        problems.append(f"git fsck: {fsck.stderr.strip()}")
    dirty = subprocess.run(["git", "-C", str(workspace), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, env=env, check=True).stdout.strip()
    if dirty:
        problems.append(f"tracked files left modified: {dirty}")
    return problems


def _episode(workspace: Path, *, data: Path, env: dict[str, str], api_url: str | None, backend: Any,
             rng: random.Random, reference_seconds: float, expected: dict[str, Any]) -> dict[str, Any]:
    """Kill runs in one fresh workspace at random moments until a run finishes by itself; then check it."""
    make_workspace(workspace, data, env)
    person = Person(backend, workspace) if backend is not None else None
    if person:
        person.start()
    delays = []
    try:
        while True:
            delay = rng.uniform(0.3, max(1.0, reference_seconds * 0.8))
            killed, _ = run_qcloop(workspace, env, api_url, delay)
            if not killed:
                break
            delays.append(round(delay, 2))
    finally:
        if person:
            person.stop.set()
    states = Store(workspace).load_all()
    actual = {s.id: signature(s) for s in states}
    names = remote_backtest_names(workspace, backend)
    expected_names = sorted(j for s in states for j, job in s.jobs.items() if job.kind.value == "backtest")
    return {
        "kills": len(delays), "kill_delays_seconds": delays,
        "same_final_states": actual == expected,
        "final_stages": {h: s["stage"] for h, s in actual.items()},
        "differences": {h: {"expected": expected.get(h), "actual": actual.get(h)}
                        for h in sorted(set(expected) | set(actual)) if expected.get(h) != actual.get(h)},
        "remote_backtests": len(names),
        "duplicate_backtests": [n for n, c in collections.Counter(names).items() if c > 1],
        "backtests_match_jobs": sorted(names) == expected_names,
        "ledger_problems": ledger_problems(workspace, env),
    }


def _emulator(data: Path, env: dict[str, str]) -> tuple[Any, Any, str]:
    """An emulator on 127.0.0.1 with a user whose credentials go into ``env``."""
    from orchestrator.emulator import EmulatorBackend, EmulatorServer, Timing

    backend = EmulatorBackend(data_folder=data, timing=Timing.after_polls(2))
    user, _ = backend.register_user(USER_ID, TOKEN)
    server = EmulatorServer(backend)
    api_url = server.start()
    env.update({"QC_USER_ID": str(USER_ID), "QC_API_TOKEN": TOKEN, "QC_ORGANIZATION_ID": user.organization_id})
    return backend, server, api_url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--emulator", action="store_true", help="the cloud path against the emulator")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    output = args.output or ROOT / "benchmarks" / "results" / f"kill_resume{'-emulator' if args.emulator else ''}.json"
    scratch = Path(tempfile.mkdtemp(prefix="qcloop-kill-resume-"))
    home = scratch / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": str(home / "none")}
    os.environ.update({k: env[k] for k in ("HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL")})
    data = scratch / "data"
    generate_synthetic_data(data, seed=7, minute_days=0)  # every default symbol: variants change universes
    backend, server, api_url = _emulator(data, env) if args.emulator else (None, None, None)
    report: dict[str, Any] = {"kills_requested": args.kills, "seed": args.seed, "platform":
                              "cloud (emulator)" if args.emulator else "local"}
    try:
        reference = scratch / "reference"
        make_workspace(reference, data, env)
        person = Person(backend, reference) if backend is not None else None
        if person:
            person.start()
        _, reference_seconds = run_qcloop(reference, env, api_url, None)
        if person:
            person.stop.set()
        report["reference_seconds"] = round(reference_seconds, 1)
        expected = {s.id: signature(s) for s in Store(reference).load_all()}

        rng = random.Random(args.seed)
        episodes: list[dict[str, Any]] = []
        kills = 0
        while kills < args.kills:
            episode = _episode(scratch / f"killed-{len(episodes) + 1}", data=data, env=env, api_url=api_url,
                               backend=backend, rng=rng, reference_seconds=reference_seconds, expected=expected)
            episodes.append(episode)
            kills += episode["kills"]
        report.update({
            "kills": kills, "episodes": episodes,
            "same_final_states": all(e["same_final_states"] for e in episodes),
            "duplicate_backtests": [d for e in episodes for d in e["duplicate_backtests"]],
            "backtests_match_jobs": all(e["backtests_match_jobs"] for e in episodes),
            "ledger_problems": [p for e in episodes for p in e["ledger_problems"]],
        })
    finally:
        if server is not None:
            server.stop()
        if backend is not None:
            backend.close()
        shutil.rmtree(scratch, ignore_errors=True)
    report["ok"] = bool(report.get("same_final_states") and not report.get("duplicate_backtests")
                        and report.get("backtests_match_jobs") and not report.get("ledger_problems")
                        and report.get("kills", 0) >= args.kills)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "episodes"}, indent=2))
    print(f"written to {output}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
