"""The CRM's settings: which CRM is connected, its filter, the region map and segment bands, no secret shown."""

from __future__ import annotations

import re

import pytest

from bot.crm.connector import CrmAccount
from bot.crm.mapping import region_of, segment_of
from bot.settings import SettingsError, load_settings
from tests.crm_scripted import account


def settings(**env: str):
    return load_settings(env, dotenv_path=None)


def test_credentials_decide_the_crm_and_build_its_config_without_showing_the_secret() -> None:
    assert settings().crm_name is None
    sf = settings(
        SALESFORCE_CLIENT_ID="3MVG9x",
        SALESFORCE_CLIENT_SECRET="s3cr3t",
        SALESFORCE_CUSTOMER_VALUES="Customer - Direct, Customer - Channel",
    )
    assert sf.crm_name == "salesforce"
    config = sf.salesforce_config()
    assert (config.login_url, config.customer_values) == (
        "https://login.salesforce.com",
        ("Customer - Direct", "Customer - Channel"),
    )
    assert "s3cr3t" not in repr(config) and "s3cr3t" not in repr(sf)
    hs = settings(HUBSPOT_ACCESS_TOKEN="pat-na1-abc", HUBSPOT_API_URL="http://127.0.0.1:9/")
    assert hs.crm_name == "hubspot" and hs.hubspot_config().api_url == "http://127.0.0.1:9"
    assert "pat-na1-abc" not in repr(hs) and hs.crm_secrets == ("pat-na1-abc",)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SALESFORCE_CLIENT_ID": "x"}, "SALESFORCE_CLIENT_SECRET is not set"),
        (
            {"SALESFORCE_CLIENT_ID": "x", "SALESFORCE_CLIENT_SECRET": "y", "HUBSPOT_ACCESS_TOKEN": "z"},
            "refbot connects one CRM",
        ),
        ({"SALESFORCE_LOGIN_URL": "login.salesforce.com"}, "SALESFORCE_LOGIN_URL must be an http(s) URL"),
        ({"REFBOT_CRM_REGIONS": "Germany"}, "REFBOT_CRM_REGIONS must be Country=Region pairs"),
        ({"REFBOT_CRM_SEGMENTS": "big=Enterprise"}, "REFBOT_CRM_SEGMENTS must be Employees=Segment pairs"),
        ({"REFBOT_SCHEDULE_CRM": "every 15 minutes"}, "REFBOT_SCHEDULE_CRM must be a cron expression"),
    ],
)
def test_a_bad_crm_setting_is_one_sentence_naming_it(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(message)):
        settings(**env)


def test_region_from_the_billing_country_and_segment_from_employees_or_revenue() -> None:
    configured = settings(REFBOT_CRM_REGIONS="DE=DACH,Germany=DACH", REFBOT_CRM_SEGMENTS="0=Small,50=Mid,5000=Large")
    assert region_of("germany", configured.crm_regions) == "DACH"
    assert region_of("Japan", configured.crm_regions) == "APAC"  # the built-in map still applies
    assert region_of("Atlantis", configured.crm_regions) == ""
    bands = configured.crm_segments
    assert segment_of(account("1", "A", employees=49), bands) == "Small"
    assert segment_of(account("1", "A", employees=5000), bands) == "Large"
    from decimal import Decimal

    assert segment_of(account("1", "A", annual_revenue=Decimal(20_000_000)), bands) == "Mid"  # ~100 people
    assert segment_of(account("1", "A"), bands) == ""
    assert isinstance(account("1", "A"), CrmAccount)
