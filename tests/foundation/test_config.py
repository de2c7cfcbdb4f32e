"""qcloop.yaml + environment -> Settings, with errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.config import DEFAULT_API_URL, find_workspace, load_settings, require_workspace
from orchestrator.credentials import redact
from orchestrator.errors import ConfigError, WorkspaceError


def _workspace(tmp_path: Path, text: str) -> Path:
    (tmp_path / "qcloop.yaml").write_text(text)
    return tmp_path


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(_workspace(tmp_path, ""), environ={})
    assert settings.loop.platform == "local"
    assert settings.cloud.api_url == DEFAULT_API_URL
    assert settings.workspace == tmp_path.resolve()
    assert settings.data_folder == tmp_path.resolve() / "data"
    assert settings.uses_synthetic_data


def test_values_are_read_and_paths_resolved_against_the_workspace(tmp_path: Path) -> None:
    text = "data:\n  folder: lean-data\ncloud:\n  api_url: http://127.0.0.1:5612/api/v2\nloop:\n  platform: cloud\n"
    settings = load_settings(_workspace(tmp_path, text), environ={})
    assert settings.data_folder == tmp_path.resolve() / "lean-data"
    assert not settings.uses_synthetic_data
    assert settings.cloud.api_url == "http://127.0.0.1:5612/api/v2/"  # a trailing slash is added
    assert settings.loop.platform == "cloud"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "loop:\n  platform: cloud\n")
    env = {"QCLOOP_LOOP__PLATFORM": "local", "QCLOOP_DATA__FOLDER": "/srv/lean", "QCLOOP_NOPE__X": "1"}
    settings = load_settings(workspace, environ=env)
    assert settings.loop.platform == "local"
    assert settings.data_folder == Path("/srv/lean")


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "git:\n  author_name: me\ncloud:\n  api_urll: x\n")
    with pytest.raises(ConfigError) as info:
        load_settings(workspace, environ={})
    message = str(info.value)
    assert f"{workspace / 'qcloop.yaml'}:4" in message
    assert "field 'cloud.api_urll'" in message and "unknown field" in message


def test_invalid_value_names_the_line_of_the_value(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "loop:\n  platform: cluod\n")
    with pytest.raises(ConfigError, match=r"qcloop.yaml:2, field 'loop.platform'"):
        load_settings(workspace, environ={})


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "loop:\n  platform: [local\n")
    with pytest.raises(ConfigError, match=r"qcloop.yaml:\d+"):
        load_settings(workspace, environ={})


def test_code_execution_tags_are_refused(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "loop: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="unsafe or unknown YAML tag"):
        load_settings(workspace, environ={})


def test_a_list_at_the_top_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_settings(_workspace(tmp_path, "- a\n- b\n"), environ={})


def test_workspace_is_found_by_walking_up(tmp_path: Path) -> None:
    _workspace(tmp_path, "")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_workspace(deep) == tmp_path.resolve()
    assert require_workspace(None, deep) == tmp_path.resolve()


def test_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="qcloop init"):
        require_workspace(None, tmp_path)
    with pytest.raises(WorkspaceError, match="not a qcloop workspace"):
        require_workspace(tmp_path / "nope", tmp_path)


def test_dotenv_overrides_the_file_and_the_environment_overrides_dotenv(tmp_path: Path) -> None:
    workspace = _workspace(tmp_path, "loop:\n  platform: cloud\n")
    (tmp_path / ".env").write_text(
        "QC_USER_ID=1\nQCLOOP_LOOP__PLATFORM=local\nQCLOOP_DATA__FOLDER=/from/dotenv\n")
    settings = load_settings(workspace, environ={"QCLOOP_DATA__FOLDER": "/from/environment"})
    assert settings.loop.platform == "local"
    assert settings.data_folder == Path("/from/environment")


def test_a_webhook_url_is_masked_like_a_secret(tmp_path: Path) -> None:
    hook = "https://hooks.slack.invalid/services/T000/B000/abcdefghijklmnop"
    (tmp_path / ".env").write_text(f"QCLOOP_NOTIFY__WEBHOOK_URL={hook}\n")
    settings = load_settings(_workspace(tmp_path, ""), environ={})
    assert settings.notify.webhook_url == hook
    assert redact(f"POST {hook} failed") == "POST *** failed"


def test_yaml_aliases_are_refused_before_they_can_expand(tmp_path: Path) -> None:
    # Nine levels of nine aliases would expand to 9**9 strings; the loader refuses the first alias.
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    workspace = _workspace(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"qcloop.yaml:2: YAML anchors and aliases"):
        load_settings(workspace, environ={})
