"""refbot's own offline Slack: a fake Web API server, a signed request client, and text and HTML renderers.

The bot reaches Slack only through ``slack_sdk.WebClient(base_url=SLACK_API_URL)`` and signed HTTP requests to
``POST /slack/events``; this package stands in for both sides so tests and ``refbot demo`` run without a
workspace, while still holding the bot to Slack's rules (signatures, Block Kit limits, 3-second triggers).
"""

from slackfake.blockkit import validate_message, validate_view
from slackfake.client import Response, SendOptions, SignedClient, build_state_values
from slackfake.html import to_html
from slackfake.render import mrkdwn_to_text, to_text
from slackfake.server import Call, FakeSlack, Message, Upload

__all__ = [
    "Call",
    "FakeSlack",
    "Message",
    "Response",
    "SendOptions",
    "SignedClient",
    "Upload",
    "build_state_values",
    "mrkdwn_to_text",
    "to_html",
    "to_text",
    "validate_message",
    "validate_view",
]
