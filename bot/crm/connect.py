"""The connector for the CRM the settings name, built on demand (no network call until it is used)."""

from __future__ import annotations

from bot.crm.connector import Connector
from bot.settings import Settings

NOT_CONNECTED = (
    "no CRM is connected: set SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET (a connected app), or "
    "HUBSPOT_ACCESS_TOKEN (a private app); see the README, 'Connect your CRM'"
)


class NotConnected(Exception):
    """Neither CRM has credentials; the message says what to set."""


def connect(settings: Settings) -> Connector:
    """The Salesforce or HubSpot connector, configured from the settings."""
    if settings.crm_name == "salesforce":
        from bot.crm.salesforce import SalesforceConnector

        return SalesforceConnector(settings.salesforce_config())
    if settings.crm_name == "hubspot":
        from bot.crm.hubspot import HubSpotConnector

        return HubSpotConnector(settings.hubspot_config())
    raise NotConnected(NOT_CONNECTED)
