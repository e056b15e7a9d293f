"""Modes: replay by default, live only when asked, and one clear sentence when a credential is missing."""

from __future__ import annotations

import pytest

import labs
from labs.config import ConfigError, MissingCredentialError, settings


def test_replay_is_the_default_even_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABS_MODE")
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder-key-must-not-switch-to-live")
    client = labs.openai_client()
    assert settings().mode == "replay"
    assert str(client.base_url).startswith("http://127.0.0.1:")
    assert client.api_key != "placeholder-key-must-not-switch-to-live"


@pytest.mark.parametrize(
    ("factory", "variable"),
    [
        (labs.openai_client, "OPENAI_API_KEY"),
        (labs.async_openai_client, "OPENAI_API_KEY"),
        (labs.configure_agents_sdk, "OPENAI_API_KEY"),
        (labs.sk_chat_completion, "OPENAI_API_KEY"),
        (labs.azure_agents_client, "PROJECT_ENDPOINT"),
        (labs.async_azure_agents_client, "PROJECT_ENDPOINT"),
    ],
)
def test_live_mode_names_the_missing_variable(monkeypatch: pytest.MonkeyPatch, factory, variable: str) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    with pytest.raises(MissingCredentialError, match=f"needs {variable} ") as info:
        factory()
    message = str(info.value)
    assert "\n" not in message and message.endswith(".") and ".env" in message


def test_live_mode_uses_the_real_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://models.github.ai/inference")
    client = labs.openai_client()
    assert str(client.base_url).startswith("https://models.github.ai/inference")
    assert client.api_key == "sk-live-test"


def test_a_github_token_alone_means_github_models_as_the_course_material_uses_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    monkeypatch.setenv("GITHUB_TOKEN", "github-token-placeholder")
    client = labs.openai_client()
    assert str(client.base_url).startswith("https://models.github.ai/inference") and client.api_key == "github-token-placeholder"
    assert labs.model() == "openai/gpt-4o-mini"
    monkeypatch.setenv("OPENAI_API_KEY", "openai-key-placeholder")  # an OpenAI key wins, with OpenAI's own endpoint
    client = labs.openai_client()
    assert client.api_key == "openai-key-placeholder" and "github" not in str(client.base_url) and labs.model() == "gpt-4o-mini"


def test_a_missing_key_names_both_ways_to_set_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABS_MODE", "live")
    with pytest.raises(MissingCredentialError, match="needs OPENAI_API_KEY .*GITHUB_TOKEN for GitHub Models"):
        labs.openai_client()


@pytest.mark.parametrize(("name", "value"), [("LABS_MODE", "offline"), ("LABS_REPLAY_SPEED", "fast"), ("LABS_REPLAY_SPEED", "-1")])
def test_bad_settings_are_explained(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        settings()


def test_env_file_is_read_but_environment_wins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text("LABS_REPLAY_SPEED=3\nLABS_FIXTURES=/somewhere/else\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABS_FIXTURES", raising=False)
    monkeypatch.delenv("LABS_REPLAY_SPEED")
    current = settings()
    assert current.speed == 3
    assert str(current.fixture_dirs[-1]) == "/somewhere/else"
    monkeypatch.setenv("LABS_REPLAY_SPEED", "0")
    assert settings().speed == 0


def test_a_bad_setting_from_env_file_says_where_to_change_it_and_to_restart(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text("LABS_MODE=offline\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABS_MODE")
    with pytest.raises(ConfigError) as info:
        settings()
    message = str(info.value)
    assert "set LABS_MODE in " in message and ".env, then restart the kernel" in message
    assert info.value._render_traceback_() == [f"ConfigError: {message}"]  # one line in a notebook, no traceback


def test_a_missing_key_in_live_mode_from_env_file_says_how_to_go_back_offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    (tmp_path / ".env").write_text("LABS_MODE=live\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LABS_MODE")
    with pytest.raises(MissingCredentialError) as info:
        labs.openai_client()
    assert "to work offline, set LABS_MODE=replay in " in str(info.value) and ".env, then restart the kernel" in str(info.value)
    assert "unset" not in str(info.value)


def test_a_bad_setting_from_the_environment_is_not_blamed_on_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABS_MODE", "offline")
    with pytest.raises(ConfigError, match="is set in the environment .* which wins over .env"):
        settings()
