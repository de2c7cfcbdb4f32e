"""The executor talks to its kernel over private Unix sockets, not TCP ports."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from orchestrator.notebooks.execute import _MAX_IPC_PREFIX, _kernel_transport, execute_notebook

pytestmark = pytest.mark.kernel


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_a_run_uses_ipc_and_the_kernel_prints_no_tcp_warning(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # The kernel is a child process writing to the inherited stderr, so capfd (file descriptors) sees
    # what a user would see on the terminal.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; print(os.getpid())")])
    executed = execute_notebook(notebook, data_folder=tmp_path, timeout=60)
    assert executed.cells[0].outputs[0]["text"].strip().isdigit()
    assert "without encryption" not in capfd.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_transport_falls_back_to_tcp_when_the_socket_path_would_be_too_long() -> None:
    short = _kernel_transport(Path("/tmp/qcloop-kernel-abc"))
    assert (short.KernelManager.transport, short.KernelManager.ip) == ("ipc", "/tmp/qcloop-kernel-abc/kernel")
    too_long = _kernel_transport(Path("/tmp") / ("x" * _MAX_IPC_PREFIX))
    assert "transport" not in too_long.KernelManager  # left to jupyter_client's default, TCP on 127.0.0.1
