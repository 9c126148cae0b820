"""One typed settings object, read once from the environment (and `.env`), validated up front.

Everything configurable lives here so that no other module reads `os.environ`. A bad value is a
`SettingsError` with one sentence that says which variable is wrong and what it should look like.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from dotenv import dotenv_values

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///refbot.db"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


class SettingsError(Exception):
    """A configuration problem, phrased for the person who deploys refbot."""


@dataclass(frozen=True)
class Settings:
    """Everything refbot can be configured with; see the README's configuration table."""

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    managers: tuple[str, ...] = ()
    digest_channel: str = ""
    timezone: str = "UTC"
    checkin_max_age_days: int = 30
    min_happy_days_public: int = 90
    fatigue_limit: int = 2
    fatigue_window_days: int = 90
    # Fatigue per person, apart from the customer's: at most this many uses of one contact per window.
    # A person remembers longer than a quarter, so the default window is longer than the customer's: a
    # contact used twice in half a year rests, and the customer's next use goes through another contact.
    contact_fatigue_limit: int = 2
    contact_fatigue_window_days: int = 180
    candidates_shown: int = 5
    checkin_remind_days: int = 3
    approval_sla_hours: int = 48
    outcome_followup_days: int = 14
    outcome_remind_days: int = 3
    consent_notice_days: int = 30
    # When each job runs: standard 5-field cron (minute hour day month weekday), or 6 fields with seconds
    # first; in REFBOT_TIMEZONE.
    schedule_checkins: str = "0 9 * * mon-fri"
    schedule_reminders: str = "15 * * * *"
    schedule_consents: str = "0 8 * * *"
    schedule_digest: str = "0 9 * * mon"
    schedule_cleanup: str = "30 3 * * *"
    # Outgoing pace: Slack allows about one message per second per channel.
    rate_per_channel: float = 1.0
    rate_global: float = 20.0
    # Off in tests that drive jobs by hand; on in `serve` and `socket`.
    run_scheduler: bool = True
    outbox_poll_seconds: float = 2.0
    outbox_lease_seconds: float = 60.0
    slack_timeout_seconds: int = 10
    # `serve`/`socket` wait this long for an unreachable database at start-up, retrying with backoff.
    db_startup_wait: int = 60
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def is_manager(self, user_id: str) -> bool:
        return user_id in self.managers

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the demo use this; production reads the env)."""
        return replace(self, **changes)

    def require_slack_http(self) -> None:
        """`serve` cannot verify Slack's requests or answer them without these two secrets."""
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: copy .env.example "
                "to .env and fill in the values from your Slack app's settings (see README, 'Create the Slack app')."
            )
        self._require_managers()

    def require_socket_mode(self) -> None:
        """`socket` needs the bot token and an app-level token with `connections:write`."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set: copy .env.example to .env and fill it in.")
        if not self.slack_app_token.startswith("xapp-"):
            raise SettingsError(
                "SLACK_APP_TOKEN is not set (or does not start with xapp-): Socket Mode needs an app-level "
                "token with the connections:write scope (Slack app settings → Basic Information → App-Level Tokens)."
            )
        self._require_managers()

    def _require_managers(self) -> None:
        if not self.managers:
            raise SettingsError(
                "REFBOT_MANAGERS is empty: set it to the comma-separated Slack user IDs of your reference "
                "managers (e.g. REFBOT_MANAGERS=U012ABCDEF,U034GHIJKL), or no request can ever be approved."
            )


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, not {value}.")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}.") from None
    if value <= 0:
        raise SettingsError(f"{name} must be greater than 0, not {raw}.")
    return value


def cron_trigger(expression: str, timezone: str) -> CronTrigger:
    """A trigger from 5-field cron, or 6 fields with seconds first (handy for tests and demos)."""
    fields = expression.split()
    if len(fields) == 6:
        second, minute, hour, day, month, weekday = fields
        return CronTrigger(
            second=second, minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone=timezone
        )
    return CronTrigger.from_crontab(expression, timezone=timezone)


def _cron(env: Mapping[str, str], name: str, default: str, timezone: str) -> str:
    raw = env.get(name, "").strip() or default
    try:
        cron_trigger(raw, timezone)
    except ValueError as exc:
        raise SettingsError(
            f"{name} must be a cron expression like '0 9 * * mon-fri' (minute hour day month weekday), "
            f"not {raw!r}: {exc}."
        ) from None
    return raw


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be on or off, not {raw!r}.")


def _managers(raw: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    bad = [value for value in ids if not _USER_ID.match(value)]
    if bad:
        raise SettingsError(
            f"REFBOT_MANAGERS must list Slack user IDs such as U012ABCDEF, not {', '.join(map(repr, bad))} "
            "(in Slack: a person's profile → ⋮ → Copy member ID)."
        )
    return ids


def load_settings(environ: Mapping[str, str] | None = None, dotenv_path: str | Path | None = ".env") -> Settings:
    """Read settings from `environ` (default: the process environment) over an optional `.env` file."""
    env: dict[str, str] = {}
    if dotenv_path is not None and Path(dotenv_path).is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    timezone = env.get("REFBOT_TIMEZONE", "").strip() or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"REFBOT_TIMEZONE must be an IANA time zone such as Europe/Berlin, not {timezone!r}."
        ) from None

    api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise SettingsError(f"SLACK_API_URL must be an http(s) URL, not {api_url!r}.")
    if not api_url.endswith("/"):
        api_url += "/"

    settings = Settings(
        slack_bot_token=env.get("SLACK_BOT_TOKEN", "").strip(),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", "").strip(),
        slack_app_token=env.get("SLACK_APP_TOKEN", "").strip(),
        slack_api_url=api_url,
        database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        managers=_managers(env.get("REFBOT_MANAGERS", "")),
        digest_channel=env.get("REFBOT_DIGEST_CHANNEL", "").strip(),
        timezone=timezone,
        checkin_max_age_days=_int(env, "REFBOT_CHECKIN_MAX_AGE_DAYS", 30, minimum=1),
        min_happy_days_public=_int(env, "REFBOT_MIN_HAPPY_DAYS_PUBLIC", 90),
        fatigue_limit=_int(env, "REFBOT_FATIGUE_LIMIT", 2, minimum=1),
        fatigue_window_days=_int(env, "REFBOT_FATIGUE_WINDOW_DAYS", 90, minimum=1),
        contact_fatigue_limit=_int(env, "REFBOT_CONTACT_FATIGUE_LIMIT", 2, minimum=1),
        contact_fatigue_window_days=_int(env, "REFBOT_CONTACT_FATIGUE_WINDOW_DAYS", 180, minimum=1),
        candidates_shown=_int(env, "REFBOT_CANDIDATES_SHOWN", 5, minimum=1),
        checkin_remind_days=_int(env, "REFBOT_CHECKIN_REMIND_DAYS", 3, minimum=1),
        approval_sla_hours=_int(env, "REFBOT_APPROVAL_SLA_HOURS", 48, minimum=1),
        outcome_followup_days=_int(env, "REFBOT_OUTCOME_FOLLOWUP_DAYS", 14, minimum=1),
        outcome_remind_days=_int(env, "REFBOT_OUTCOME_REMIND_DAYS", 3, minimum=1),
        consent_notice_days=_int(env, "REFBOT_CONSENT_NOTICE_DAYS", 30, minimum=1),
        schedule_checkins=_cron(env, "REFBOT_SCHEDULE_CHECKINS", "0 9 * * mon-fri", timezone),
        schedule_reminders=_cron(env, "REFBOT_SCHEDULE_REMINDERS", "15 * * * *", timezone),
        schedule_consents=_cron(env, "REFBOT_SCHEDULE_CONSENTS", "0 8 * * *", timezone),
        schedule_digest=_cron(env, "REFBOT_SCHEDULE_DIGEST", "0 9 * * mon", timezone),
        schedule_cleanup=_cron(env, "REFBOT_SCHEDULE_CLEANUP", "30 3 * * *", timezone),
        rate_per_channel=_float(env, "REFBOT_RATE_PER_CHANNEL", 1.0),
        rate_global=_float(env, "REFBOT_RATE_GLOBAL", 20.0),
        run_scheduler=_flag(env, "REFBOT_SCHEDULER", True),
        outbox_poll_seconds=_float(env, "REFBOT_OUTBOX_POLL_SECONDS", 2.0),
        outbox_lease_seconds=_float(env, "REFBOT_OUTBOX_LEASE_SECONDS", 60.0),
        slack_timeout_seconds=_int(env, "REFBOT_SLACK_TIMEOUT_SECONDS", 10, minimum=1),
        db_startup_wait=_int(env, "REFBOT_DB_STARTUP_WAIT", 60),
        log_level=(env.get("REFBOT_LOG_LEVEL", "").strip() or "INFO").upper(),
        extra=env,
    )
    if settings.candidates_shown > 10:
        raise SettingsError("REFBOT_CANDIDATES_SHOWN must be 10 or less (a Slack message holds 50 blocks).")
    return settings
