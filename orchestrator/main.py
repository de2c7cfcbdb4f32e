"""Argument parsing, dispatch, and the one error boundary. The commands in ``commands/`` do the work.

Exit codes: 0 success; 1 an expected error (one actionable sentence on stderr); 2 bad usage
(argparse); 70 an unexpected error (the traceback goes to a log file whose path is printed);
130 interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib
import logging
import os
import pkgutil
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator import __version__
from orchestrator import commands as commands_package
from orchestrator.commands import GROUPS, Context
from orchestrator.config import find_workspace
from orchestrator.credentials import redact
from orchestrator.errors import QcloopError

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_UNEXPECTED = 70
EXIT_INTERRUPTED = 130

PROLOG = """\
qcloop turns strategy hypotheses into QuantConnect backtests and research notebooks, decides what to
do with each (reject, optimize, validate walk-forward, accept) and commits every step to git.

Start here:
  qcloop init my-research          make a workspace (git repository, example hypotheses, qcloop.yaml)
  cd my-research && qcloop run     run the loop on the local platform (embedded engine, no account)
  qcloop status                    where every hypothesis stands, and what to do for those waiting
  qcloop history                   the story of each hypothesis, read back from git
"""

EPILOG = """\
Run `qcloop COMMAND --help` for a command's options and examples.
Exit codes: 0 ok, 1 error (the message says what to do), 2 bad usage, 70 bug (see the log it names),
130 interrupted."""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=30, width=100)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that writes help and usage errors to the command's streams, not sys's."""

    def __init__(self, *args: Any, streams: tuple[TextIO, TextIO] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.out: TextIO | None = streams[0] if streams else None
        self.err: TextIO | None = streams[1] if streams else None

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if not message:
            return
        target = self.err if file is sys.stderr else self.out
        (target or file or sys.stdout).write(message)


def discover_commands() -> list[ModuleType]:
    modules = []
    for info in pkgutil.iter_modules(commands_package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands_package.__name__}.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            modules.append(module)
    order = {group: index for index, (group, _) in enumerate(GROUPS)}
    return sorted(modules, key=lambda m: (order.get(getattr(m, "GROUP", ""), len(order)), m.NAME))


def _command_list(modules: Sequence[ModuleType]) -> str:
    lines = []
    width = max((len(m.NAME) for m in modules), default=10) + 2
    for group, heading in (*GROUPS, ("", "Other")):
        members = [m for m in modules if getattr(m, "GROUP", "") == group
                   or (group == "" and getattr(m, "GROUP", "") not in dict(GROUPS))]
        if not members:
            continue
        lines.append(f"{heading}:")
        lines.extend(f"  {m.NAME.ljust(width)}{getattr(m, 'HELP', '')}" for m in members)
        lines.append("")
    return "\n".join(lines)


def build_parser(
    modules: Sequence[ModuleType] | None = None, ctx: Context | None = None,
) -> argparse.ArgumentParser:
    modules = discover_commands() if modules is None else modules
    streams = (ctx.stdout, ctx.stderr) if ctx else None
    parser = _Parser(
        prog="qcloop", formatter_class=_Formatter, streams=streams,
        description=PROLOG + "\n" + _command_list(modules), epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"qcloop {__version__}")
    parser.add_argument(
        "-w", "--workspace", type=Path, default=None,
        help="the workspace folder (default: the nearest folder with a qcloop.yaml)",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    # The grouped command list is in the description; argparse's own flat list would repeat it, so
    # the subparsers get no per-command help (argparse lists a choice only when it has one).
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", help="one of the commands listed above",
        parser_class=functools.partial(_Parser, streams=streams),  # type: ignore[call-overload]
    )
    for module in modules:
        child = sub.add_parser(
            module.NAME, formatter_class=_Formatter,
            description=getattr(module, "DESCRIPTION", getattr(module, "HELP", None)),
        )
        module.add_arguments(child)
        child.set_defaults(_module=module)
    return parser


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def _configure_logging(verbosity: int, stream: TextIO) -> None:
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_RedactingFilter())
    root = logging.getLogger("orchestrator")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def crash_log_dir(ctx: Context) -> Path:
    """Where tracebacks go: the workspace's .qcloop/logs, else the user cache folder."""
    workspace = ctx.workspace_arg if ctx.workspace_arg is not None else find_workspace(ctx.cwd)
    if workspace is not None and workspace.is_dir():
        return workspace / ".qcloop" / "logs"
    cache = ctx.environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else ctx.home / ".cache") / "qcloop" / "logs"


def write_crash_log(ctx: Context, argv: Sequence[str], exc: BaseException) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    text = (
        f"qcloop {__version__} crashed at {dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"python {sys.version.split()[0]}, argv: {' '.join(argv)}\n\n"
        + "".join(traceback.format_exception(exc))
    )
    for folder in (crash_log_dir(ctx), Path("/tmp") / "qcloop-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash-{stamp}.log"
            path.write_text(redact(text), encoding="utf-8")
            return path
        except OSError:
            continue
    raise OSError("no writable folder for the crash log")


def main(
    argv: Sequence[str] | None = None, *, ctx: Context | None = None,
    commands: Sequence[ModuleType] | None = None,
) -> int:
    """Run one command and return its exit code.

    Tests call this with a Context of their own (and, for the error boundary, their own commands).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ctx = ctx if ctx is not None else Context(interactive=sys.stdin.isatty())
    try:
        parser = build_parser(commands, ctx)
        args = parser.parse_args(argv)
        if getattr(args, "workspace", None) is not None:
            ctx.workspace_arg = args.workspace
        _configure_logging(args.verbose, ctx.stderr)
        module = getattr(args, "_module", None)
        if module is None:
            parser.print_help(ctx.stdout)
            return EXIT_OK
        return int(module.run(args, ctx))
    except QcloopError as exc:
        ctx.err(f"qcloop: error: {redact(str(exc))}")
        return exc.exit_code
    except KeyboardInterrupt:
        ctx.err("qcloop: interrupted; everything recorded so far is kept, run the command again to resume")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `qcloop history | head` closed our stdout: not an error. Point stdout at devnull so that the
        # interpreter's final flush does not raise again.
        _silence_stdout()
        return EXIT_OK
    except SystemExit as exc:  # argparse usage errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    except Exception as exc:
        try:
            path = write_crash_log(ctx, argv, exc)
            where = f"the traceback is in {path}"
        except OSError:
            where = "and no log file could be written"
        ctx.err(
            f"qcloop: unexpected error ({type(exc).__name__}); this is a bug in qcloop, {where}. "
            "Please report it with that file."
        )
        return EXIT_UNEXPECTED


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests pass a StringIO)
        pass


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
