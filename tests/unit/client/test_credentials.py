"""The stored credentials: owner-only files, no password, the token never shown."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from ansim.client import Credentials, credentials_path, normalise_server
from ansim.errors import AccessDenied, InvalidSpecError

TOKEN = "ansim_" + "t" * 43


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config" / "ansim"
    monkeypatch.setenv("ANSIM_CONFIG_DIR", str(directory))
    return directory


def test_saved_with_owner_only_modes_and_read_back(config_dir: Path) -> None:
    path = Credentials("http://127.0.0.1:8000/", TOKEN, "tok-7", "analyst").save()
    assert path == credentials_path() == config_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert set(json.loads(path.read_text())) == {"server", "token", "token_id", "user"}
    loaded = Credentials.load()
    assert loaded == Credentials("http://127.0.0.1:8000", TOKEN, "tok-7", "analyst")
    assert TOKEN not in repr(loaded) and TOKEN not in str(loaded)


def test_an_existing_wider_directory_is_narrowed(config_dir: Path) -> None:
    config_dir.mkdir(parents=True, mode=0o755)
    os.chmod(config_dir, 0o755)  # noqa: S103  # the wide mode under test
    Credentials("https://hub.example.org", TOKEN).save()
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700


def test_a_file_others_may_read_is_refused(config_dir: Path) -> None:
    path = Credentials("https://hub.example.org", TOKEN).save()
    path.chmod(0o644)
    with pytest.raises(AccessDenied, match="read by others"):
        Credentials.load()


def test_not_logged_in_says_what_to_do() -> None:
    with pytest.raises(AccessDenied, match="ansim login"):
        Credentials.load()
    assert Credentials.delete() is False


def test_a_garbled_file_is_an_invalid_spec(config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "credentials.json"
    path.write_text("{not json")
    path.chmod(0o600)
    with pytest.raises(InvalidSpecError, match="log in again"):
        Credentials.load()
    path.write_text(json.dumps({"server": "http://127.0.0.1", "token": "password123"}))
    with pytest.raises(InvalidSpecError, match="not an Ansim API token"):
        Credentials.load()


def test_delete_removes_the_file() -> None:
    Credentials("https://hub.example.org", TOKEN).save()
    assert Credentials.delete() is True
    assert not credentials_path().exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:8000/", "http://localhost:8000"),
        ("https://hub.example.org/ansim/", "https://hub.example.org/ansim"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_server_addresses(url: str, expected: str) -> None:
    assert normalise_server(url) == expected


@pytest.mark.parametrize(
    "url", ["http://hub.example.org", "ftp://127.0.0.1", "127.0.0.1:8000", "https://h/?t=1"]
)
def test_plain_http_to_another_machine_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidSpecError):
        normalise_server(url)


def test_default_location_is_the_users_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSIM_CONFIG_DIR")
    assert credentials_path() == Path.home() / ".config" / "ansim" / "credentials.json"
