"""Run a notebook in a real Jupyter kernel with nbclient: the one executor of qcloop.

The local platform calls it to run notebooks automatically, and the emulator's operator (the
simulated person who clicks Run All) calls it too, so both see exactly what a kernel does.

The kernel gets the engine's ``AlgorithmImports`` shim on ``PYTHONPATH`` (so the notebooks'
``from AlgorithmImports import *`` works as in QuantConnect Research) and ``QCLOOP_DATA_FOLDER`` (which
``QuantBook()`` reads). ``extra_env`` adds more, e.g. ``QCLOOP_OBJECT_STORE_DIR``, the folder the
notebook saves its result record into (see docs/notebooks.md, "Object Store").

A cell that raises stops the run, like Run All in Jupyter; the executed notebook is returned with the
error in that cell's outputs, so that classification reports FAILED with the cell and the traceback.
Problems of the kernel itself (it cannot start, dies, or a cell exceeds the timeout) raise
NotebookError.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets.config import Config

import orchestrator
from orchestrator.errors import NotebookError

ENGINE_SHIM = Path(orchestrator.__file__).resolve().parent / "engine" / "shim"
DATA_FOLDER_ENV = "QCLOOP_DATA_FOLDER"
OBJECT_STORE_DIR_ENV = "QCLOOP_OBJECT_STORE_DIR"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def kernel_environment(data_folder: Path, extra_env: Mapping[str, str] | None = None,
                       base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a notebook kernel starts with."""
    env = dict(os.environ if base is None else base)
    paths = [str(ENGINE_SHIM)] if ENGINE_SHIM.is_dir() else []
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    env[DATA_FOLDER_ENV] = str(Path(data_folder).resolve())
    env["MPLBACKEND"] = INLINE_BACKEND  # charts become image outputs, whatever the caller's backend is
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # silences a debugger warning on every kernel start
    env.update(extra_env or {})
    return env


# A Unix socket path must fit in sockaddr_un (108 bytes on Linux, 104 on macOS), with room for the
# "-<port>" suffixes jupyter_client appends.
_MAX_IPC_PREFIX = 90


def _kernel_transport(scratch: Path) -> Config:
    """Talk to the kernel over Unix sockets in the scratch folder where possible.

    Over TCP the kernel warns on every start that its traffic is unencrypted (and any local user
    could connect to its ports); IPC sockets in a private temporary folder avoid both. Windows, or a
    temporary folder whose path is too long for a socket name, falls back to TCP on 127.0.0.1.
    """
    config = Config()
    prefix = str(scratch / "kernel")
    if os.name == "posix" and len(prefix) <= _MAX_IPC_PREFIX:
        config.KernelManager.transport = "ipc"
        config.KernelManager.ip = prefix
    return config


def execute_notebook(notebook: NotebookNode, *, data_folder: Path, timeout: float,
                     kernel_name: str = "python3", extra_env: Mapping[str, str] | None = None,
                     workdir: Path | None = None) -> NotebookNode:
    """Run every cell of a copy of ``notebook`` in a fresh kernel and return the executed copy.

    ``timeout`` is per cell, in seconds. ``workdir`` is the kernel's working directory (default: a
    temporary folder, removed afterwards).
    """
    executed = copy.deepcopy(notebook)
    env = kernel_environment(data_folder, extra_env)
    with tempfile.TemporaryDirectory(prefix="qcloop-kernel-") as scratch:
        client = NotebookClient(
            executed, timeout=int(timeout), kernel_name=kernel_name, allow_errors=False,
            record_timing=False, resources={"metadata": {"path": str(workdir or scratch)}},
            config=_kernel_transport(Path(scratch)),
        )
        try:
            client.execute(env=env)
        except CellExecutionError:
            pass  # the error output is in the notebook; classification reports it as FAILED
        except CellTimeoutError as exc:
            raise NotebookError(
                f"a notebook cell did not finish within {timeout:g} s",
                hint="raise notebooks.execution_timeout_seconds in qcloop.yaml, or shorten the grid or period",
            ) from exc
        except DeadKernelError as exc:
            raise NotebookError(f"the notebook's kernel died while running: {exc}",
                                hint="check memory use; run the notebook in Jupyter to see what happens") from exc
        except NoSuchKernel as exc:
            raise NotebookError(f"no Jupyter kernel named '{kernel_name}'",
                                hint="install ipykernel or set notebooks.kernel_name in qcloop.yaml") from exc
    return executed
