"""Credentials: the three sources in their order, and the token never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.credentials import (
    CredentialsSource,
    find_credentials,
    parse_dotenv,
    redact,
    register_secret,
    require_credentials,
)
from orchestrator.errors import CredentialsError

TOKEN_ENV = "a" * 8 + "env-token"
TOKEN_DOTENV = "b" * 8 + "dotenv-token"
TOKEN_LEAN = "c" * 8 + "lean-token"


def _write_dotenv(workspace: Path, text: str) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / ".env"
    path.write_text(text)
    return path


def _write_lean(home: Path, user: str = "303", token: str = TOKEN_LEAN, org: str | None = None) -> Path:
    lean = home / ".lean"
    lean.mkdir(parents=True, exist_ok=True)
    (lean / "credentials").write_text(json.dumps({"user-id": user, "api-token": token}))
    if org:
        (lean / "config").write_text(json.dumps({"organization-id": org}))
    return lean / "credentials"


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    workspace, home = tmp_path / "ws", tmp_path / "home"
    _write_dotenv(workspace, f"QC_USER_ID=202\nQC_API_TOKEN={TOKEN_DOTENV}\n")
    _write_lean(home)
    return workspace, home


def test_environment_wins_over_dotenv_and_lean(places: tuple[Path, Path]) -> None:
    workspace, home = places
    env = {"QC_USER_ID": "101", "QC_API_TOKEN": TOKEN_ENV, "QC_ORGANIZATION_ID": "org1"}
    creds = find_credentials(workspace, environ=env, home=home)
    assert creds is not None
    assert (creds.user_id, creds.api_token.get_secret_value()) == ("101", TOKEN_ENV)
    assert creds.source is CredentialsSource.ENVIRONMENT
    assert creds.organization_id == "org1"


def test_dotenv_wins_over_lean(places: tuple[Path, Path]) -> None:
    workspace, home = places
    creds = find_credentials(workspace, environ={}, home=home)
    assert creds is not None
    assert (creds.user_id, creds.source, creds.source_path) == ("202", CredentialsSource.DOTENV, workspace / ".env")


def test_lean_cli_file_is_the_last_resort_and_brings_the_organization(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = _write_lean(home, org="5cad178b20a1d52567b534553413b691")
    creds = find_credentials(tmp_path / "ws", environ={}, home=home)
    assert creds is not None
    assert creds.source is CredentialsSource.LEAN_CLI and creds.source_path == path
    assert creds.organization_id == "5cad178b20a1d52567b534553413b691"
    assert "lean CLI credentials" in creds.describe() and TOKEN_LEAN not in creds.describe()


def test_none_found_is_none_and_require_explains_every_source(tmp_path: Path) -> None:
    assert find_credentials(tmp_path, environ={}, home=tmp_path) is None
    with pytest.raises(CredentialsError) as info:
        require_credentials(tmp_path, environ={}, home=tmp_path)
    message = str(info.value)
    assert "QC_USER_ID" in message and ".env" in message and "lean login" in message


def test_half_a_source_is_an_error_not_a_fallthrough(places: tuple[Path, Path]) -> None:
    workspace, home = places
    with pytest.raises(CredentialsError, match="QC_API_TOKEN is missing"):
        find_credentials(workspace, environ={"QC_USER_ID": "101"}, home=home)


def test_broken_lean_credentials_file_is_named(tmp_path: Path) -> None:
    (tmp_path / ".lean").mkdir()
    (tmp_path / ".lean" / "credentials").write_text("{not json")
    with pytest.raises(CredentialsError, match=r"credentials.*lean login"):
        find_credentials(None, environ={}, home=tmp_path)


def test_token_never_appears_in_repr_str_dump_or_describe(places: tuple[Path, Path]) -> None:
    workspace, home = places
    creds = find_credentials(workspace, environ={}, home=home)
    assert creds is not None
    for shown in (repr(creds), str(creds), creds.model_dump_json(), str(creds.model_dump()), creds.describe()):
        assert TOKEN_DOTENV not in shown


def test_found_tokens_are_registered_for_redaction(places: tuple[Path, Path]) -> None:
    workspace, home = places
    find_credentials(workspace, environ={}, home=home)
    assert redact(f"GET /projects?token={TOKEN_DOTENV}") == "GET /projects?token=***"


def test_redact_masks_basic_auth_headers_and_registered_values() -> None:
    register_secret("s3cr3t-value")
    text = "{'Authorization': 'Basic MTAxOmFiY2RlZg==', 'x': 's3cr3t-value'}"
    assert redact(text) == "{'Authorization': 'Basic ***', 'x': '***'}"
    register_secret("abc")  # too short to mask safely: ignored rather than masking every "abc"
    assert redact("abc") == "abc"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB=2", {"A": "1", "B": "2"}),
        ("# comment\n\nexport A=1", {"A": "1"}),
        ("A='quoted # not a comment'", {"A": "quoted # not a comment"}),
        ('A="x y"', {"A": "x y"}),
        ("A=value # trailing comment", {"A": "value"}),
        ("no equals sign here", {}),
        ("A = spaced ", {"A": "spaced"}),
    ],
)
def test_parse_dotenv(text: str, expected: dict[str, str]) -> None:
    assert parse_dotenv(text) == expected
