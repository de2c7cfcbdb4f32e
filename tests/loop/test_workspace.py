"""`qcloop init`: a workspace that git, the config loader and the loop all accept."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from orchestrator.config import CONFIG_FILE, Settings, load_settings
from orchestrator.ledger import Ledger
from orchestrator.workspace import commented_config, init_workspace


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_init_makes_a_committed_workspace_with_examples(tmp_path: Path, cli: Callable[..., object]) -> None:
    result = cli(["init", "research"], cwd=tmp_path)
    assert result.code == 0, result.stderr  # type: ignore[attr-defined]
    ws = tmp_path / "research"
    assert (ws / ".git").is_dir() and (ws / "state").is_dir()
    committed = git(ws, "ls-files").split()
    assert {CONFIG_FILE, ".gitignore", "README.md", "state/.gitkeep"} <= set(committed)
    examples = [f for f in committed if f.startswith("hypotheses/H-")]
    assert examples, "the example hypotheses are copied and committed"
    assert git(ws, "status", "--porcelain") == ""
    ignored = (ws / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and ".qcloop/" in ignored and "data/" in ignored
    # A .env with a token is never picked up by git.
    (ws / ".env").write_text("QC_API_TOKEN=secret\n")
    assert git(ws, "status", "--porcelain") == ""


def test_the_commented_config_loads_to_the_defaults(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(commented_config())
    settings = load_settings(tmp_path, environ={})
    assert settings.model_dump() == Settings().model_dump()
    text = commented_config()
    for section in ("git", "data", "cloud", "notebooks", "notify", "rules", "budget", "loop"):
        assert f"# {section}:" in text
    # Uncommenting a section's lines gives a valid file with the same values.
    uncommented = "\n".join(line[2:] for line in text.splitlines() if line.startswith("# ") and
                            (line.startswith("#   ") or (line.rstrip().endswith(":") and " " not in line[2:].strip())))
    (tmp_path / CONFIG_FILE).write_text(uncommented)
    assert load_settings(tmp_path, environ={}).model_dump() == Settings().model_dump()


def test_init_refuses_an_existing_workspace(tmp_path: Path, cli: Callable[..., object]) -> None:
    assert cli(["init", "ws", "--no-examples"], cwd=tmp_path).code == 0  # type: ignore[attr-defined]
    again = cli(["init", "ws"], cwd=tmp_path)
    assert again.code == 1  # type: ignore[attr-defined]
    assert "already a qcloop workspace" in again.stderr  # type: ignore[attr-defined]


def test_a_workspace_inside_another_repository_gets_its_own(tmp_path: Path) -> None:
    Ledger.init(tmp_path)  # e.g. a dotfiles repository in the home folder
    init_workspace(tmp_path / "research", examples=False)
    assert (tmp_path / "research" / ".git").is_dir()
    assert Ledger(tmp_path / "research").root == (tmp_path / "research").resolve()


def test_init_leaves_the_folders_own_files_out_of_its_commit(tmp_path: Path) -> None:
    folder = tmp_path / "research"
    folder.mkdir()
    (folder / "README.md").write_text("my own notes, not qcloop's\n")
    init_workspace(folder, examples=False)
    assert (folder / "README.md").read_text() == "my own notes, not qcloop's\n"
    committed = git(folder, "show", "--name-only", "--format=", "HEAD").split()
    assert "README.md" not in committed and CONFIG_FILE in committed
    assert "?? README.md" in git(folder, "status", "--porcelain")
