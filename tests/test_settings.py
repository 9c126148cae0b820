"""Settings are read once, validated, and explain a bad value in one sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "REFBOT_MANAGERS": "U012ABCDEF"}


def test_defaults_match_the_spec() -> None:
    settings = load_settings(BASE, dotenv_path=None)
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.slack_api_url == "https://slack.com/api/"
    assert (settings.checkin_max_age_days, settings.min_happy_days_public) == (30, 90)
    assert (settings.fatigue_limit, settings.fatigue_window_days) == (2, 90)
    assert (settings.contact_fatigue_limit, settings.contact_fatigue_window_days) == (2, 180)
    assert settings.timezone == "UTC"
    settings.require_slack_http()


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REFBOT_FATIGUE_LIMIT=5\nREFBOT_TIMEZONE=Europe/Berlin\nSLACK_API_URL=http://127.0.0.1:9/api\n")
    settings = load_settings(
        {**BASE, "REFBOT_FATIGUE_LIMIT": "3", "REFBOT_CONTACT_FATIGUE_LIMIT": "1"}, dotenv_path=env_file
    )
    assert settings.fatigue_limit == 3
    assert settings.contact_fatigue_limit == 1
    assert settings.timezone == "Europe/Berlin"
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"REFBOT_MANAGERS": "morgan"}, "REFBOT_MANAGERS must list Slack user IDs"),
        ({"REFBOT_TIMEZONE": "Mars/Olympus"}, "REFBOT_TIMEZONE must be an IANA time zone"),
        ({"REFBOT_FATIGUE_LIMIT": "two"}, "REFBOT_FATIGUE_LIMIT must be a whole number"),
        ({"REFBOT_CONTACT_FATIGUE_LIMIT": "0"}, "REFBOT_CONTACT_FATIGUE_LIMIT must be at least 1"),
        ({"REFBOT_CONTACT_FATIGUE_WINDOW_DAYS": "a week"}, "REFBOT_CONTACT_FATIGUE_WINDOW_DAYS must be a whole number"),
        ({"REFBOT_CHECKIN_MAX_AGE_DAYS": "0"}, "at least 1"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL must be an http(s) URL"),
        ({"REFBOT_CANDIDATES_SHOWN": "30"}, "10 or less"),
    ],
)
def test_bad_values_are_one_clear_sentence(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(fragment)):
        load_settings({**BASE, **env}, dotenv_path=None)


def test_missing_secrets_and_managers_are_named() -> None:
    with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set"):
        load_settings({"REFBOT_MANAGERS": "U012ABCDEF"}, dotenv_path=None).require_slack_http()
    with pytest.raises(SettingsError, match="REFBOT_MANAGERS is empty"):
        load_settings({"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "s"}, dotenv_path=None).require_slack_http()
    with pytest.raises(SettingsError, match="SLACK_APP_TOKEN"):
        load_settings(BASE, dotenv_path=None).require_socket_mode()


def test_managers_are_deduplicated_and_checked() -> None:
    settings = load_settings({**BASE, "REFBOT_MANAGERS": "U012ABCDEF, W0ZZZZZZ ,U012ABCDEF"}, dotenv_path=None)
    assert settings.managers == ("U012ABCDEF", "W0ZZZZZZ")
    assert settings.is_manager("W0ZZZZZZ") and not settings.is_manager("U0NOBODY")
