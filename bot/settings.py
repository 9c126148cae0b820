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

from bot.crm.connector import HubSpotConfig, SalesforceConfig

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///refbot.db"

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

DEFAULT_SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_HUBSPOT_API_URL = "https://api.hubapi.com"
# A CRM account's billing country → refbot's region (REFBOT_CRM_REGIONS adds to or overrides it). Keys are
# matched case-insensitively, as ISO codes or English names.
DEFAULT_CRM_REGIONS: dict[str, str] = {
    **dict.fromkeys(["us", "usa", "united states", "united states of america", "ca", "canada"], "North America"),
    **dict.fromkeys(
        ["mx", "mexico", "br", "brazil", "ar", "argentina", "cl", "chile", "co", "colombia", "pe", "peru"], "LATAM"
    ),
    **dict.fromkeys(
        [
            *("gb", "uk", "united kingdom", "ie", "ireland", "de", "germany", "fr", "france", "es", "spain"),
            *("it", "italy", "nl", "netherlands", "be", "belgium", "ch", "switzerland", "at", "austria"),
            *("se", "sweden", "no", "norway", "dk", "denmark", "fi", "finland", "pl", "poland", "pt", "portugal"),
            *("ae", "united arab emirates", "sa", "saudi arabia", "il", "israel", "za", "south africa"),
        ],
        "EMEA",
    ),
    **dict.fromkeys(
        [
            *("au", "australia", "nz", "new zealand", "jp", "japan", "cn", "china", "in", "india"),
            *("sg", "singapore", "kr", "south korea", "hk", "hong kong"),
        ],
        "APAC",
    ),
}
# Segment by employee count: (lowest count, segment), ascending (REFBOT_CRM_SEGMENTS="0=SMB,200=Mid-Market,…").
DEFAULT_CRM_SEGMENTS: tuple[tuple[int, str], ...] = ((0, "SMB"), (200, "Mid-Market"), (1000, "Enterprise"))


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
    # The CRM (README "Connect your CRM"): Salesforce through a connected app (client credentials), or HubSpot
    # through a private app's token. Which one is connected follows from which credentials are set.
    salesforce_login_url: str = DEFAULT_SALESFORCE_LOGIN_URL
    salesforce_client_id: str = field(default="", repr=False)
    salesforce_client_secret: str = field(default="", repr=False)
    salesforce_customer_field: str = "Type"
    salesforce_customer_values: tuple[str, ...] = ("Customer",)
    hubspot_access_token: str = field(default="", repr=False)
    hubspot_api_url: str = DEFAULT_HUBSPOT_API_URL
    hubspot_customer_property: str = "lifecyclestage"
    hubspot_customer_values: tuple[str, ...] = ("customer",)
    crm_regions: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CRM_REGIONS))
    crm_segments: tuple[tuple[int, str], ...] = DEFAULT_CRM_SEGMENTS
    # Incremental sync every 15 minutes; a full pass (which also finds accounts deleted for good) nightly.
    schedule_crm: str = "*/15 * * * *"
    schedule_crm_full: str = "0 2 * * *"
    extra: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def is_manager(self, user_id: str) -> bool:
        return user_id in self.managers

    @property
    def crm_name(self) -> str | None:
        """The connected CRM ("salesforce" or "hubspot"), or None when neither has credentials."""
        if self.salesforce_client_id:
            return "salesforce"
        if self.hubspot_access_token:
            return "hubspot"
        return None

    @property
    def crm_secrets(self) -> tuple[str, ...]:
        """Values no log line, error or status may show."""
        return tuple(v for v in (self.salesforce_client_secret, self.hubspot_access_token) if v)

    def salesforce_config(self) -> SalesforceConfig:
        return SalesforceConfig(
            login_url=self.salesforce_login_url,
            client_id=self.salesforce_client_id,
            client_secret=self.salesforce_client_secret,
            customer_field=self.salesforce_customer_field,
            customer_values=self.salesforce_customer_values,
        )

    def hubspot_config(self) -> HubSpotConfig:
        return HubSpotConfig(
            api_url=self.hubspot_api_url,
            access_token=self.hubspot_access_token,
            customer_property=self.hubspot_customer_property,
            customer_values=self.hubspot_customer_values,
        )

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


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http(s) URL, not {raw!r}.")
    return raw.rstrip("/")


def _values(env: Mapping[str, str], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def _regions(raw: str) -> dict[str, str]:
    """REFBOT_CRM_REGIONS="DE=DACH,AT=DACH,Germany=DACH": added to (and overriding) the default map."""
    regions = dict(DEFAULT_CRM_REGIONS)
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        country, sep, region = part.partition("=")
        if not sep or not country.strip() or not region.strip():
            raise SettingsError(f"REFBOT_CRM_REGIONS must be Country=Region pairs like DE=EMEA, not {part!r}.")
        regions[country.strip().casefold()] = region.strip()
    return regions


def _segments(raw: str) -> tuple[tuple[int, str], ...]:
    """REFBOT_CRM_SEGMENTS="0=SMB,200=Mid-Market,1000=Enterprise": the lowest employee count of each band."""
    if not raw.strip():
        return DEFAULT_CRM_SEGMENTS
    bands: list[tuple[int, str]] = []
    for part in (p.strip() for p in raw.split(",") if p.strip()):
        low, sep, segment = part.partition("=")
        if not sep or not low.strip().isdigit() or not segment.strip():
            raise SettingsError(
                f"REFBOT_CRM_SEGMENTS must be Employees=Segment pairs like 200=Mid-Market, not {part!r}."
            )
        bands.append((int(low), segment.strip()))
    return tuple(sorted(bands))


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
        salesforce_login_url=_url(env, "SALESFORCE_LOGIN_URL", DEFAULT_SALESFORCE_LOGIN_URL),
        salesforce_client_id=env.get("SALESFORCE_CLIENT_ID", "").strip(),
        salesforce_client_secret=env.get("SALESFORCE_CLIENT_SECRET", "").strip(),
        salesforce_customer_field=env.get("SALESFORCE_CUSTOMER_FIELD", "").strip() or "Type",
        salesforce_customer_values=_values(env, "SALESFORCE_CUSTOMER_VALUES", ("Customer",)),
        hubspot_access_token=env.get("HUBSPOT_ACCESS_TOKEN", "").strip(),
        hubspot_api_url=_url(env, "HUBSPOT_API_URL", DEFAULT_HUBSPOT_API_URL),
        hubspot_customer_property=env.get("HUBSPOT_CUSTOMER_PROPERTY", "").strip() or "lifecyclestage",
        hubspot_customer_values=_values(env, "HUBSPOT_CUSTOMER_VALUES", ("customer",)),
        crm_regions=_regions(env.get("REFBOT_CRM_REGIONS", "")),
        crm_segments=_segments(env.get("REFBOT_CRM_SEGMENTS", "")),
        schedule_crm=_cron(env, "REFBOT_SCHEDULE_CRM", "*/15 * * * *", timezone),
        schedule_crm_full=_cron(env, "REFBOT_SCHEDULE_CRM_FULL", "0 2 * * *", timezone),
        extra=env,
    )
    if settings.salesforce_client_id and not settings.salesforce_client_secret:
        raise SettingsError(
            "SALESFORCE_CLIENT_SECRET is not set: the connected app's consumer secret goes with SALESFORCE_CLIENT_ID."
        )
    if settings.salesforce_client_id and settings.hubspot_access_token:
        raise SettingsError(
            "Both SALESFORCE_CLIENT_ID and HUBSPOT_ACCESS_TOKEN are set: refbot connects one CRM; unset the other."
        )
    if settings.candidates_shown > 10:
        raise SettingsError("REFBOT_CANDIDATES_SHOWN must be 10 or less (a Slack message holds 50 blocks).")
    return settings
