"""The Block Kit both renderers must draw: one sample per block, element and piece of mrkdwn refbot uses.

`slackfake.render.to_text` (the terminal) and `slackfake.html.to_html` (the playground's page) are tested
against this one list, so a new kind of element is added here once and both renderers must then show it.
Each sample says what a person must be able to read in either rendering (`shows`), and what only one of
them shows its own way (`text_shows`: the terminal's brackets and fallbacks; `html_shows`: the page's
controls and the viewer's local time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

USERS = {"U0RILEY": "Riley Chen", "U0MORGAN": "Morgan Lee"}
"""The names the samples' mentions resolve to."""

MOMENT = 1_795_081_600
"""2026-11-19 09:46:40 UTC: the `<!date^…>` samples' timestamp (10:46 AM in Berlin, 4:46 AM in New York)."""


@dataclass(frozen=True)
class Sample:
    name: str
    payload: dict[str, Any]
    shows: tuple[str, ...] = ()
    text_shows: tuple[str, ...] = ()
    html_shows: tuple[str, ...] = ()
    hidden: tuple[str, ...] = field(default=())
    """Raw markup neither rendering may let through."""


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _plain(label), "value": value}


def _message(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"text": "fallback", "blocks": list(blocks)}


SAMPLES: tuple[Sample, ...] = (
    Sample("header", _message({"type": "header", "text": _plain("Request #12: Reference call")}), ("Request #12",)),
    Sample(
        "section with fields",
        _message(
            {
                "type": "section",
                "text": _md("Needs a *reference call*"),
                "fields": [_md("*Type:* Reference call"), _md("*Region:* EMEA")],
            }
        ),
        ("reference call", "Type:", "Reference call", "Region:", "EMEA"),
        html_shows=("<b>reference call</b>", 'class="bk-fields"'),
    ),
    Sample(
        "section with a button accessory",
        _message(
            {
                "type": "section",
                "block_id": "profile",
                "text": _md("Acme Corp"),
                "accessory": {
                    "type": "button",
                    "text": _plain("Profile"),
                    "action_id": "customer.profile",
                    "value": "7",
                },
            }
        ),
        ("Acme Corp", "Profile"),
        text_shows=("[ Profile ]",),
        html_shows=('data-action-id="customer.profile"', 'data-value="7"', 'class="bk-accessory"'),
    ),
    Sample(
        "context",
        _message({"type": "context", "elements": [_md("Requested by <@U0RILEY>"), _plain("today")]}),
        ("Requested by", "@Riley Chen", "today"),
        hidden=("<@U0RILEY>",),
    ),
    Sample("divider", _message({"type": "divider"}), text_shows=("────",), html_shows=('<hr class="bk-divider"',)),
    Sample(
        "actions with styled buttons and a confirm dialog",
        _message(
            {
                "type": "actions",
                "block_id": "decide",
                "elements": [
                    {
                        "type": "button",
                        "text": _plain("Approve"),
                        "action_id": "approve",
                        "value": "1",
                        "style": "primary",
                    },
                    {
                        "type": "button",
                        "text": _plain("Cancel request"),
                        "action_id": "cancel",
                        "value": "1",
                        "style": "danger",
                        "confirm": {
                            "title": _plain("Cancel request #1?"),
                            "text": _plain("The reference team stops working on it."),
                            "confirm": _plain("Cancel it"),
                            "deny": _plain("Keep it"),
                        },
                    },
                ],
            }
        ),
        ("Approve", "Cancel request"),
        text_shows=("[ Approve ]", "[ Cancel request ]"),
        html_shows=("bk-button-primary", "bk-button-danger", "Cancel request #1?", "Keep it", 'data-block-id="decide"'),
    ),
    Sample(
        "static select",
        _message(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "placeholder": _plain("Pick a type"),
                        "options": [_option("call", "Reference call"), _option("logo", "Logo")],
                        "initial_option": _option("logo", "Logo"),
                    }
                ],
            }
        ),
        ("Logo",),
        text_shows=("[ Logo ▾ ]",),
        html_shows=('<option value="logo" selected>Logo</option>', "Reference call", 'data-kind="static_select"'),
    ),
    Sample(
        "external select",
        {
            "type": "modal",
            "title": _plain("Request"),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "customer",
                    "label": _plain("Customer"),
                    "element": {
                        "type": "external_select",
                        "action_id": "customer",
                        "placeholder": _plain("Search customers"),
                        "min_query_length": 1,
                    },
                }
            ],
        },
        ("Customer",),
        text_shows=("Customer: ____",),
        html_shows=('data-kind="external_select"', "Search customers", 'name="customer/customer"'),
    ),
    Sample(
        "users select",
        {
            "type": "modal",
            "title": _plain("Customer"),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "owner",
                    "label": _plain("Account owner"),
                    "element": {"type": "users_select", "action_id": "owner", "initial_user": "U0MORGAN"},
                }
            ],
        },
        ("Account owner", "Morgan Lee"),
        text_shows=("Account owner: @Morgan Lee",),
        html_shows=('<option value="U0MORGAN" selected>Morgan Lee</option>', "Riley Chen"),
    ),
    Sample(
        "overflow",
        _message(
            {
                "type": "section",
                "text": _md("Request #3"),
                "accessory": {
                    "type": "overflow",
                    "action_id": "more",
                    "options": [_option("profile", "See the profile"), _option("cancel", "Cancel")],
                },
            }
        ),
        ("Request #3",),
        text_shows=("[ ⋯ ]",),
        html_shows=("bk-overflow", "See the profile", 'data-kind="overflow"'),
    ),
    Sample(
        "datepicker",
        {
            "type": "modal",
            "title": _plain("Request"),
            "submit": _plain("Send request"),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "needed_by",
                    "optional": True,
                    "label": _plain("Needed by"),
                    "hint": _plain("When the prospect needs it"),
                    "element": {"type": "datepicker", "action_id": "needed_by", "initial_date": "2026-12-14"},
                }
            ],
        },
        ("Request", "Needed by", "(optional)", "2026-12-14", "When the prospect needs it", "Send request"),
        html_shows=('type="date"', 'value="2026-12-14"', "bk-modal-submit"),
    ),
    Sample(
        "text, number, checkbox and radio inputs",
        {
            "type": "modal",
            "title": _plain("Check-in"),
            "blocks": [
                {
                    "type": "input",
                    "block_id": "note",
                    "label": _plain("Note"),
                    "element": {"type": "plain_text_input", "action_id": "note", "multiline": True},
                },
                {
                    "type": "input",
                    "block_id": "nps",
                    "label": _plain("NPS"),
                    "element": {"type": "number_input", "action_id": "nps", "is_decimal_allowed": False},
                },
                {
                    "type": "input",
                    "block_id": "answer",
                    "label": _plain("Answer"),
                    "element": {
                        "type": "radio_buttons",
                        "action_id": "answer",
                        "options": [_option("happy", "Happy"), _option("unhappy", "Unhappy")],
                        "initial_option": _option("happy", "Happy"),
                    },
                },
                {
                    "type": "input",
                    "block_id": "consents",
                    "label": _plain("Consents"),
                    "element": {
                        "type": "checkboxes",
                        "action_id": "consents",
                        "options": [_option("logo", "Logo"), _option("quote", "Quote")],
                    },
                },
            ],
        },
        ("Note", "NPS", "Answer", "Happy", "Unhappy", "Consents", "Logo", "Quote"),
        text_shows=("◉ Happy", "☐ Logo"),
        html_shows=("<textarea", 'type="number"', 'type="radio"', 'type="checkbox"', 'value="happy" checked'),
    ),
    Sample(
        "image block and context image",
        _message(
            {
                "type": "image",
                "image_url": "https://example.com/chart.png",
                "alt_text": "Requests per week",
                "title": _plain("Last 8 weeks"),
            },
            {
                "type": "context",
                "elements": [{"type": "image", "image_url": "https://example.com/a.png", "alt_text": "Acme logo"}],
            },
        ),
        ("Last 8 weeks", "Acme logo"),
        html_shows=('<img class="bk-picture" src="https://example.com/chart.png" alt="Requests per week"',),
    ),
    Sample(
        "rich text",
        _message(
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [
                            {"type": "text", "text": "Hello "},
                            {"type": "user", "user_id": "U0RILEY"},
                            {"type": "text", "text": " bold", "style": {"bold": True}},
                            {"type": "link", "url": "https://example.com", "text": "the guide"},
                        ],
                    },
                    {
                        "type": "rich_text_list",
                        "style": "bullet",
                        "elements": [
                            {"type": "rich_text_section", "elements": [{"type": "text", "text": "first point"}]}
                        ],
                    },
                    {"type": "rich_text_quote", "elements": [{"type": "text", "text": "quoted words"}]},
                ],
            }
        ),
        ("Hello", "@Riley Chen", "bold", "the guide", "first point", "quoted words"),
        html_shows=("<b> bold</b>", '<a class="bk-link" href="https://example.com"', "<li>", "<blockquote"),
    ),
    Sample(
        "mrkdwn emphasis, code, quotes and links",
        _message(
            {
                "type": "section",
                "text": _md(
                    "*Acme* is _happy_ ~no longer~ at `NPS 9`\n&gt; Open escalation &amp; settlement delays\n"
                    "<https://example.com/guide|Read the guide> :white_check_mark:"
                ),
            }
        ),
        ("Acme", "happy", "NPS 9", "Open escalation & settlement delays", "Read the guide"),
        text_shows=("*Acme*", "_happy_"),
        html_shows=(
            "<b>Acme</b>",
            "<i>happy</i>",
            "<s>no longer</s>",
            '<code class="bk-code">NPS 9</code>',
            '<blockquote class="bk-quote">Open escalation &amp; settlement delays</blockquote>',
            '<a class="bk-link" href="https://example.com/guide"',
            "✅",
        ),
        hidden=("&amp;amp;", "<https://"),
    ),
    Sample(
        "mentions and dates",
        _message(
            {
                "type": "section",
                "text": _md(
                    f"Approved by <@U0MORGAN> <!date^{MOMENT}^{{date_short_pretty}} at {{time}}|2026-11-19 09:46 UTC>"
                ),
            }
        ),
        ("Approved by", "@Morgan Lee"),
        text_shows=("2026-11-19 09:46 UTC",),
        html_shows=("yesterday at 10:46 AM",),  # for a viewer in Europe/Berlin, the next day
        hidden=("<@U0MORGAN>", "<!date"),
    ),
    Sample(
        "user text stays text",
        _message({"type": "section", "text": _md("Prospect: &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co")}),
        ("alert(1)",),
        text_shows=("<script>alert(1)</script> & Co",),
        html_shows=("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co",),
    ),
)

COVERED_BLOCKS = frozenset({"header", "section", "context", "divider", "actions", "input", "image", "rich_text"})
"""The block types the samples exercise (a test checks the samples really contain each)."""
COVERED_ELEMENTS = frozenset(
    {
        "button",
        "static_select",
        "external_select",
        "users_select",
        "overflow",
        "datepicker",
        "plain_text_input",
        "number_input",
        "radio_buttons",
        "checkboxes",
        "image",
    }
)
"""The element types the samples exercise."""
