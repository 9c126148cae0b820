"""Tests of the offline Slack itself: fake Web API, Block Kit validator, signed client and renderer.

Everything runs against loopback servers on OS-chosen ports, so the file is parallel-safe and needs no bot.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import types
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from slackfake import (
    FakeSlack,
    Message,
    SignedClient,
    blockkit,
    mrkdwn_to_text,
    server,
    to_text,
    validate_message,
    validate_view,
)
from slackfake.blockkit import (
    MAX_BUTTON_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_MODAL_TITLE,
    MAX_OPTION_VALUE,
    MAX_VIEW_BLOCKS,
)

TOKEN = "xoxb-test"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


# --- helpers -----------------------------------------------------------------------------------------
def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text), **extra}


def button(label: str, action_id: str, value: str | None = None, **extra: Any) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(label), "action_id": action_id, **extra}
    if value is not None:
        element["value"] = value
    return element


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def modal(*blocks: dict[str, Any], title: str = "Request", submit: str | None = "Send", **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"type": "modal", "title": plain(title), "blocks": list(blocks), **extra}
    if submit is not None:
        view["submit"] = plain(submit)
    return view


def text_input(action_id: str, label: str = "Why", **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": f"b_{action_id}",
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": action_id, **element},
    }


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TOKEN) as instance:
        instance.add_user("U0ALICE", "alice", real_name="Alice Smith", email="alice@acme.test", tz="Europe/Paris")
        instance.add_user("U0BOB", "bob", real_name="Bob Jones", email="Bob@Acme.test")
        yield instance


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[])


# --- Block Kit validation ----------------------------------------------------------------------------
def test_valid_message_and_views_have_no_violations() -> None:
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": plain("Reference request")},
            section("*Acme* wants a reference", accessory=button("Open", "open", url="https://x.test")),
            {"type": "section", "fields": [mrkdwn("*Stage*\nPOC"), plain("EMEA")]},
            {"type": "divider"},
            {
                "type": "context",
                "elements": [
                    mrkdwn("by <@U1>"),
                    {"type": "image", "image_url": "https://i", "alt_text": "i"},
                ],
            },
            {
                "type": "actions",
                "elements": [
                    button("Approve", "approve", "r1", style="primary"),
                    button(
                        "Decline",
                        "decline",
                        "r1",
                        style="danger",
                        confirm={
                            "title": plain("Sure?"),
                            "text": mrkdwn("Really"),
                            "confirm": plain("Yes"),
                            "deny": plain("No"),
                        },
                    ),
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "placeholder": plain("Pick"),
                        "option_groups": [{"label": plain("G"), "options": [option("A", "a")]}],
                    },
                    {
                        "type": "overflow",
                        "action_id": "more",
                        "options": [option("X", "x"), option("Y", "y")],
                    },
                ],
            },
        ],
    }
    assert validate_message(message) == []
    view = modal(
        text_input("why", max_length=200, initial_value="because", multiline=True),
        {
            "type": "input",
            "label": plain("When"),
            "element": {"type": "datepicker", "action_id": "when", "initial_date": "2024-11-23"},
        },
        {
            "type": "input",
            "label": plain("N"),
            "element": {"type": "number_input", "action_id": "n", "is_decimal_allowed": False},
        },
        close=plain("Cancel"),
        private_metadata="x" * 3000,
        callback_id="request",
    )
    assert validate_view(view) == []
    assert validate_view({"type": "home", "blocks": [section("hi")]}) == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"blocks": [section(str(i)) for i in range(MAX_MESSAGE_BLOCKS + 1)]}, "no more than 50 items"),
        (
            {"blocks": [{"type": "actions", "elements": [button("x" * (MAX_BUTTON_TEXT + 1), "a")]}]},
            "blocks[0].elements[0].text.text: must be at most 75 characters (got 76)",
        ),
        (
            {
                "blocks": [
                    {"type": "actions", "elements": [button("A", "same")]},
                    {"type": "actions", "elements": [button("B", "same")]},
                ]
            },
            "duplicate action_id 'same'",
        ),
        ({"blocks": [section("a", block_id="x"), section("b", block_id="x")]}, "duplicate block_id 'x'"),
        ({"blocks": [section("a", block_id="x" * 256)]}, "block_id: must be at most 255"),
        ({"text": "x" * 40001}, "text: must be at most 40000"),
        ({"text": ""}, "needs a non-empty `text` or `blocks`"),
        ({"blocks": [{"type": "header", "text": mrkdwn("*no*")}]}, "must be 'plain_text' here"),
        ({"blocks": [{"type": "header", "text": plain("h" * 151)}]}, "at most 150"),
        ({"blocks": [section("x" * 3001)]}, "at most 3000"),
        ({"blocks": [{"type": "section", "fields": [mrkdwn("f")] * 11}]}, "no more than 10 items"),
        ({"blocks": [{"type": "section", "fields": [mrkdwn("f" * 2001)]}]}, "at most 2000"),
        ({"blocks": [{"type": "context", "elements": [mrkdwn("c")] * 11}]}, "no more than 10 items"),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", f"a{i}") for i in range(26)]}]},
            "no more than 25 items",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", "a", "v" * 2001)]}]},
            "value: must be at most 2000",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", "a", style="green")]}]},
            "must be 'primary' or 'danger'",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", "a" * 256)]}]},
            "action_id: must be at most 255",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", "a", url="https://" + "x" * 3000)]}]},
            "url: must be at most 3000",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("b", "a", confirm={"title": plain("t")})]}]},
            "confirm.text: is required",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "static_select",
                                "action_id": "s",
                                "options": [option("o", "v" * (MAX_OPTION_VALUE + 1))],
                            }
                        ],
                    }
                ]
            },
            "value: must be at most 150",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [{"type": "static_select", "action_id": "s", "options": [option("o" * 76, "v")]}],
                    }
                ]
            },
            "at most 75",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "static_select",
                                "action_id": "s",
                                "options": [option(str(i), str(i)) for i in range(101)],
                            }
                        ],
                    }
                ]
            },
            "no more than 100 items",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "static_select",
                                "action_id": "s",
                                "options": [option("a", "a")],
                                "initial_option": option("b", "b"),
                            }
                        ],
                    }
                ]
            },
            "is not one of the element's options",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [
                            {
                                "type": "static_select",
                                "action_id": "s",
                                "placeholder": plain("p" * 151),
                                "options": [option("a", "a")],
                            }
                        ],
                    }
                ]
            },
            "placeholder.text: must be at most 150",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [{"type": "plain_text_input", "action_id": "t"}]}]},
            "'plain_text_input' is not allowed in an actions block",
        ),
        ({"blocks": [{"type": "sektion", "text": mrkdwn("typo")}]}, "unknown block type 'sektion'"),
        (
            {"blocks": [section("s", accessory={"type": "buton", "action_id": "x"})]},
            "unknown element type 'buton'",
        ),
        ({"blocks": [section("")]}, "text.text: must not be empty"),
        (
            {"blocks": [{"type": "section", "text": {"type": "markdown", "text": "x"}}]},
            "must be 'plain_text' or 'mrkdwn'",
        ),
        (
            {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}]},
            "emoji: is only allowed on plain_text",
        ),
    ],
)
def test_message_violations(payload: dict[str, Any], fragment: str) -> None:
    problems = validate_message(payload)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    ("view", "fragment"),
    [
        (modal(title="t" * (MAX_MODAL_TITLE + 1)), "title.text: must be at most 24 characters (got 25)"),
        (modal(title="ok", submit="s" * 25), "submit.text: must be at most 24"),
        (modal(text_input("a"), submit=None), "submit: is required when the modal contains an input block"),
        (modal(*[section(str(i)) for i in range(MAX_VIEW_BLOCKS + 1)]), "no more than 100 items"),
        ({"type": "home", "blocks": [section(str(i)) for i in range(101)]}, "no more than 100 items"),
        (modal(callback_id="c" * 256), "callback_id: must be at most 255"),
        (modal(private_metadata="m" * 3001), "private_metadata: must be at most 3000"),
        (modal(external_id="e" * 256), "external_id: must be at most 255"),
        ({"type": "dialog", "blocks": []}, "must be 'modal' or 'home'"),
        ({"type": "modal", "blocks": []}, "title: is required"),
        (modal(text_input("a", max_length=3001)), "max_length: must be between 1 and 3000"),
        (modal(text_input("a", min_length=3001)), "min_length: must be between 0 and 3000"),
        (modal(text_input("a", max_length=5, initial_value="toolong")), "initial_value: must be at most 5"),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("l" * 2001),
                    "element": {"type": "plain_text_input", "action_id": "a"},
                }
            ),
            "label.text: must be at most 2000",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("l"),
                    "hint": plain("h" * 2001),
                    "element": {"type": "plain_text_input", "action_id": "a"},
                }
            ),
            "hint.text: must be at most 2000",
        ),
        (
            modal({"type": "input", "label": plain("l"), "element": {"type": "button", "text": plain("b")}}),
            "'button' is not allowed in an input block",
        ),
        (
            modal({"type": "input", "label": plain("l"), "element": {"type": "number_input", "action_id": "n"}}),
            "is_decimal_allowed: is required",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("l"),
                    "element": {"type": "datepicker", "action_id": "d", "initial_date": "2024-02-30"},
                }
            ),
            "must be a real date",
        ),
        (
            modal(
                {
                    "type": "input",
                    "label": plain("l"),
                    "element": {
                        "type": "checkboxes",
                        "action_id": "c",
                        "options": [option(str(i), str(i)) for i in range(11)],
                    },
                }
            ),
            "no more than 10 items",
        ),
        (modal(text_input("dup"), text_input("dup") | {"block_id": "other"}), "duplicate action_id 'dup'"),
    ],
)
def test_view_violations(view: dict[str, Any], fragment: str) -> None:
    problems = validate_view(view)
    assert any(fragment in p for p in problems), problems


def test_limits_are_exposed_as_constants() -> None:
    assert (blockkit.MAX_MESSAGE_TEXT, blockkit.MAX_MESSAGE_BLOCKS, blockkit.MAX_VIEW_BLOCKS) == (
        40000,
        50,
        100,
    )
    assert (blockkit.MAX_BUTTON_TEXT, blockkit.MAX_BUTTON_VALUE, blockkit.MAX_ACTION_ID) == (75, 2000, 255)
    assert (blockkit.MAX_OPTION_TEXT, blockkit.MAX_OPTION_VALUE, blockkit.MAX_PLACEHOLDER) == (75, 150, 150)
    assert (blockkit.MAX_MODAL_TITLE, blockkit.MAX_PRIVATE_METADATA, blockkit.MAX_TEXT_INPUT_LENGTH) == (
        24,
        3000,
        3000,
    )


# --- Web API through a real WebClient ----------------------------------------------------------------
def test_auth_test_and_token_checks(fake: FakeSlack, client: WebClient) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}/api/"
    info = client.auth_test()
    assert info["team_id"] == "T0FAKE" and info["user_id"] == fake.bot_user_id and info["bot_id"]
    with pytest.raises(SlackApiError) as bad:
        WebClient(base_url=fake.url, token="xoxb-wrong").auth_test()
    assert bad.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=fake.url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("reactions.add", json={"name": "tada"})
    assert unknown.value.response["error"] == "unknown_method"
    assert [c.method for c in fake.calls()] == ["auth.test"] * 3 + ["reactions.add"]
    assert fake.calls("auth.test")[1].token == "xoxb-wrong"


def test_post_update_delete_message(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("Hello *Alice*"), {"type": "actions", "elements": [button("Approve", "approve", "r1")]}]
    posted = client.chat_postMessage(channel="U0ALICE", text="Hello Alice", blocks=blocks)
    dm = fake.dm_channel("U0ALICE")
    assert posted["channel"] == dm == "D0ALICE"
    assert posted["message"]["text"] == "Hello Alice" and posted["message"]["bot_id"] == fake.bot_id
    assert all(b.get("block_id") for b in posted["message"]["blocks"]), "Slack fills in block_ids"
    second = client.chat_postMessage(channel="C0GENERAL", text="second")
    assert float(second["ts"]) > float(posted["ts"])
    assert posted["ts"].count(".") == 1 and len(posted["ts"].split(".")[1]) == 6

    [message] = fake.messages("U0ALICE")
    assert isinstance(message, Message) and message.channel == dm and message.blocks[1]["elements"][0]["value"] == "r1"
    assert fake.messages(dm) == fake.messages("U0ALICE")

    updated = client.chat_update(channel=dm, ts=posted["ts"], text="Approved", blocks=[section("Approved ✅")])
    assert updated["ts"] == posted["ts"] and updated["text"] == "Approved"
    assert fake.last_message("U0ALICE").text == "Approved"
    assert fake.last_message("U0ALICE").blocks[0]["text"]["text"] == "Approved ✅"

    for kwargs, error in [
        ({"channel": dm, "ts": "1.000000", "text": "x"}, "message_not_found"),
        ({"channel": "U0ALICE", "ts": posted["ts"], "text": "x"}, "channel_not_found"),
    ]:
        with pytest.raises(SlackApiError) as exc:
            client.chat_update(**kwargs)
        assert exc.value.response["error"] == error

    client.chat_delete(channel=dm, ts=posted["ts"])
    assert fake.messages("U0ALICE") == []
    assert [m.text for m in fake.messages()] == ["second"]
    with pytest.raises(SlackApiError, match="message_not_found"):
        client.chat_delete(channel=dm, ts=posted["ts"])


def test_post_message_required_arguments(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", json={"channel": "C0GENERAL", "text": ""})
    assert no_text.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="#general", text="hi")
    assert no_channel.value.response["error"] == "channel_not_found"


def test_form_encoded_bodies_and_query_strings_are_decoded(fake: FakeSlack, client: WebClient) -> None:
    blocks = [section("form")]
    client.api_call("chat.postMessage", params={"channel": "C0GENERAL", "text": "f", "blocks": json.dumps(blocks)})
    call = fake.calls("chat.postMessage")[-1]
    assert call.args["blocks"] == blocks and call.token == TOKEN
    client.api_call("users.info", http_verb="GET", params={"user": "U0BOB"})
    assert fake.calls("users.info")[-1].response["user"]["name"] == "bob"

    request = urllib.request.Request(f"{fake.url}users.info?user=U0ALICE&token={TOKEN}", method="GET")
    with urllib.request.urlopen(request, timeout=5) as resp:
        assert json.loads(resp.read())["user"]["id"] == "U0ALICE"
    assert fake.calls("users.info")[-1].token == TOKEN and "token" not in fake.calls("users.info")[-1].args


def test_invalid_blocks_are_rejected_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    too_many = [section(str(i)) for i in range(51)]
    with pytest.raises(SlackApiError) as exc:
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=too_many)
    assert exc.value.response["error"] == "invalid_blocks"
    assert any("no more than 50 items" in e for e in exc.value.response["errors"])

    long_button = [{"type": "actions", "elements": [button("x" * 76, "a")]}]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C0GENERAL", text="x", blocks=long_button)
    duplicate = [{"type": "actions", "elements": [button("A", "go"), button("B", "go")]}]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="x", blocks=duplicate)

    trigger = fake.issue_trigger("U0ALICE")
    with pytest.raises(SlackApiError) as view_exc:
        client.views_open(trigger_id=trigger, view=modal(title="A title that is too long!"))
    assert view_exc.value.response["error"] == "invalid_blocks"

    assert fake.messages() == [] and fake.ephemerals() == [] and fake.views() == []
    assert len(fake.violations) == 4
    assert fake.violations[0].startswith("chat.postMessage: blocks: no more than 50 items")
    assert "chat.postMessage: blocks[0].elements[0].text.text: must be at most 75" in fake.violations[1]
    assert "chat.postEphemeral" in fake.violations[2] and "duplicate action_id 'go'" in fake.violations[2]
    assert fake.violations[3].startswith("views.open: title.text: must be at most 24 characters")

    with pytest.raises(SlackApiError) as too_long:
        client.chat_postMessage(channel="C0GENERAL", text="x" * 40001)
    assert too_long.value.response["error"] == "msg_too_long"


def test_ephemerals_and_conversations_open(fake: FakeSlack, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel="C0GENERAL", user="U0BOB", text="only you")
    assert sent["message_ts"]
    [ephemeral] = fake.ephemerals("U0BOB")
    assert ephemeral["text"] == "only you" and ephemeral["channel"] == "C0GENERAL"
    assert fake.ephemerals("U0ALICE") == []

    opened = client.conversations_open(users="U0BOB")
    assert opened["channel"]["id"] == fake.dm_channel("U0BOB")
    assert client.conversations_open(users=["U0BOB"])["already_open"] is True
    group = client.conversations_open(users="U0BOB,U0ALICE")["channel"]["id"]
    assert group.startswith("G") and group == client.conversations_open(users="U0ALICE,U0BOB")["channel"]["id"]
    with pytest.raises(SlackApiError, match="users_list_not_supplied"):
        client.api_call("conversations.open", params={})


def test_dm_channel_ids_are_stable_and_unique(fake: FakeSlack) -> None:
    assert fake.dm_channel("U123") == "D123" == fake.dm_channel("U123")
    assert fake.dm_channel("W123") == "D1232"


def test_users_directory(fake: FakeSlack, client: WebClient) -> None:
    alice = client.users_info(user="U0ALICE")["user"]
    assert alice["real_name"] == "Alice Smith" and alice["profile"]["email"] == "alice@acme.test"
    assert alice["tz"] == "Europe/Paris" and alice["tz_offset"] in (3600, 7200) and alice["deleted"] is False
    assert client.users_lookupByEmail(email="bob@acme.test")["user"]["id"] == "U0BOB"
    with pytest.raises(SlackApiError, match="user_not_found"):
        client.users_info(user="U0NOBODY")
    with pytest.raises(SlackApiError, match="users_not_found"):
        client.users_lookupByEmail(email="nobody@acme.test")
    fake.add_user("U0GONE", "gone", deleted=True)
    assert client.users_info(user="U0GONE")["user"]["deleted"] is True
    assert fake.user_names()["U0ALICE"] == "alice"


def test_views_open_update_push_and_publish(fake: FakeSlack, client: WebClient) -> None:
    view = modal(text_input("why"), callback_id="request", external_id="req-1", private_metadata='{"id": 7}')
    opened = client.views_open(trigger_id=fake.issue_trigger("U0ALICE"), view=view)["view"]
    assert opened["id"].startswith("V") and opened["state"] == {"values": {}} and opened["hash"]
    assert opened["callback_id"] == "request" and opened["root_view_id"] == opened["id"]
    assert fake.last_view("U0ALICE")["id"] == opened["id"]

    with pytest.raises(SlackApiError, match="hash_conflict"):
        client.views_update(view_id=opened["id"], hash="stale", view=modal(section("x")))
    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal(section("Thanks")))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    by_external = client.views_update(external_id="req-1", view=modal(section("Again"), external_id="req-1"))
    assert by_external["view"]["id"] == opened["id"]
    with pytest.raises(SlackApiError, match="not_found"):
        client.views_update(view_id="V0NOPE", view=modal(section("x")))

    pushed = client.views_push(trigger_id=fake.issue_trigger("U0ALICE"), view=modal(section("Step 2")))["view"]
    assert pushed["previous_view_id"] == opened["id"] and pushed["root_view_id"] == opened["id"]
    assert [v["id"] for v in fake.views("U0ALICE")] == [opened["id"], pushed["id"]]
    assert fake.views("U0ALICE")[0]["blocks"][0]["text"]["text"] == "Again"
    assert fake.views("U0BOB") == []

    home = client.views_publish(user_id="U0BOB", view={"type": "home", "blocks": [section("Your requests")]})
    assert fake.home("U0BOB")["id"] == home["view"]["id"]
    republished = client.views_publish(user_id="U0BOB", view={"type": "home", "blocks": [section("v2")]})
    assert republished["view"]["id"] == home["view"]["id"]
    assert fake.home("U0ALICE") is None
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.views_publish(user_id="U0BOB", view=modal(section("not a home")))
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.views_publish(user_id="", view={"type": "home", "blocks": []})


def test_trigger_ids_are_checked(fake: FakeSlack, client: WebClient, monkeypatch: pytest.MonkeyPatch) -> None:
    view = modal(section("hi"))
    with pytest.raises(SlackApiError, match="invalid_trigger_id"):
        client.views_open(trigger_id="123.456.abc", view=view)

    used = fake.issue_trigger("U0ALICE")
    client.views_open(trigger_id=used, view=view)
    with pytest.raises(SlackApiError, match="exchanged_trigger_id"):
        client.views_open(trigger_id=used, view=view)

    issued_at = time.monotonic()
    slow = fake.issue_trigger("U0ALICE")
    monkeypatch.setattr(server, "_monotonic", lambda: issued_at + 3.5)
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        client.views_open(trigger_id=slow, view=view)
    monkeypatch.setattr(server, "_monotonic", lambda: issued_at + 2.5)
    assert client.views_open(trigger_id=slow, view=view)["ok"]


def test_push_limit(fake: FakeSlack, client: WebClient) -> None:
    client.views_open(trigger_id=fake.issue_trigger("U0ALICE"), view=modal(section("1")))
    client.views_push(trigger_id=fake.issue_trigger("U0ALICE"), view=modal(section("2")))
    client.views_push(trigger_id=fake.issue_trigger("U0ALICE"), view=modal(section("3")))
    with pytest.raises(SlackApiError, match="push_limit_reached"):
        client.views_push(trigger_id=fake.issue_trigger("U0ALICE"), view=modal(section("4")))


def test_file_upload_v2(fake: FakeSlack, client: WebClient) -> None:
    result = client.files_upload_v2(channel="U0ALICE", content="a,b\n1,2\n", filename="refs.csv", title="Refs")
    assert result["file"]["title"] == "Refs"
    [upload] = fake.uploads()
    assert upload.data == b"a,b\n1,2\n" and upload.completed and upload.channel_id == fake.dm_channel("U0ALICE")
    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert fake.last_message("U0ALICE").files[0]["name"] == "refs.csv"


# --- faults ------------------------------------------------------------------------------------------
def test_rate_limit_is_retried_by_slack_sdk(fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(builtin_handlers, "time", types.SimpleNamespace(sleep=slept.append))
    client = WebClient(base_url=fake.url, token=TOKEN, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    fake.fail("chat.postMessage", status=429, retry_after=7)
    assert client.chat_postMessage(channel="C0GENERAL", text="eventually")["ok"]
    calls = fake.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[0].response == {"ok": False, "error": "ratelimited"}
    assert len(slept) == 1 and 7 <= slept[0] < 8, "the Retry-After header reached the retry handler"
    assert len(fake.messages()) == 1, "the rate-limited attempt had no side effect"


def test_rate_limit_without_retry_handler(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("*", retry_after=30)
    with pytest.raises(SlackApiError) as exc:
        client.auth_test()
    assert exc.value.response.status_code == 429
    assert exc.value.response.headers["Retry-After"] == "30"


def test_server_errors_and_error_bodies(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", status=500, times=2)
    fake.fail("chat.postMessage", error="channel_is_archived")
    for _ in range(2):
        with pytest.raises(SlackApiError) as exc:
            client.chat_postMessage(channel="C0GENERAL", text="x")
        assert exc.value.response.status_code == 500
    with pytest.raises(SlackApiError) as archived:
        client.chat_postMessage(channel="C0GENERAL", text="x")
    assert archived.value.response.status_code == 200
    assert archived.value.response["error"] == "channel_is_archived"
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]
    assert [c.status for c in fake.calls()] == [500, 500, 200, 200]
    assert [c.ok for c in fake.calls()] == [False, False, False, True]
    assert len(fake.messages()) == 1

    fake.fail("*", status=503, error="service_unavailable")
    with pytest.raises(SlackApiError) as unavailable:
        client.auth_test()
    assert unavailable.value.response.status_code == 503
    assert unavailable.value.response["error"] == "service_unavailable"


def test_delay_causes_client_timeout(fake: FakeSlack) -> None:
    fake.fail("chat.postMessage", delay=0.6)
    impatient = WebClient(base_url=fake.url, token=TOKEN, timeout=0.2, retry_handlers=[])  # type: ignore[arg-type]
    with pytest.raises(TimeoutError):
        impatient.chat_postMessage(channel="C0GENERAL", text="slow")
    fake.wait_for(lambda f: f.calls("chat.postMessage"), timeout=3)
    assert len(fake.messages()) == 1, "a delay alone still answers (late) and posts"
    assert impatient.chat_postMessage(channel="C0GENERAL", text="fast")["ok"]


def test_wait_for_and_reset(fake: FakeSlack, client: WebClient) -> None:
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="U0BOB", text="later")).start()
    message = fake.wait_for(lambda f: f.messages("U0BOB") and f.messages("U0BOB")[0], timeout=3)
    assert message.text == "later"
    with pytest.raises(AssertionError, match=r"(?s)not met within 0.1s.*chat.postMessage \[200\] ok"):
        fake.wait_for(lambda f: f.messages("U0ALICE"), timeout=0.1)
    fake.fail("*", status=500)
    fake.reset()
    assert fake.calls() == [] and fake.messages() == [] and fake.violations == []
    assert client.users_info(user="U0BOB")["ok"], "users survive reset and the fault was forgotten"


# --- response_url ------------------------------------------------------------------------------------
def test_response_url_semantics(fake: FakeSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U0ALICE", text="Approve?", blocks=[section("Approve?")])
    url = fake.response_url("U0ALICE", channel=posted["channel"], ts=posted["ts"])
    hook = WebhookClient(url)

    assert hook.send(text="Only you see this").status_code == 200
    assert fake.ephemerals("U0ALICE")[-1]["text"] == "Only you see this"
    assert hook.send(text="Approved", blocks=[section("*Approved*")], replace_original=True).body == "ok"
    [message] = fake.messages("U0ALICE")
    assert message.text == "Approved" and message.blocks[0]["text"]["text"] == "*Approved*"
    assert message.ts == posted["ts"] and message.edited

    bad = hook.send(text="x", blocks=[{"type": "actions", "elements": [button("x" * 80, "a")]}])
    assert bad.status_code == 400 and fake.violations[-1].startswith("response_url: blocks[0]")
    assert hook.send(text="Bye", delete_original=True).status_code == 200
    assert fake.messages("U0ALICE") == []
    assert hook.send(text="fifth").status_code == 200
    sixth = hook.send(text="sixth")
    assert (sixth.status_code, sixth.body) == (404, "used_url"), "Slack allows five posts per response_url"
    assert [c.status for c in fake.calls("response_url")] == [200, 200, 400, 200, 200, 404]
    assert fake.calls("response_url")[1].args["replace_original"] is True

    command_url = WebhookClient(fake.response_url("U0BOB", channel="C0GENERAL"))
    command_url.send(text="Everyone sees this", response_type="in_channel")
    assert fake.last_message("C0GENERAL").text == "Everyone sees this"


# --- signed client -----------------------------------------------------------------------------------
class _Echo:
    """A tiny bot stand-in that records each request and answers with a scripted status and body."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.body = ""
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                echo.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": raw})
                payload = echo.body.encode()
                self.send_response(echo.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"

    @property
    def last(self) -> dict[str, Any]:
        return self.requests[-1]

    def last_form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.last["body"], keep_blank_values=True).items()}

    def last_payload(self) -> dict[str, Any]:
        return json.loads(self.last_form()["payload"])

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo() -> Iterator[_Echo]:
    instance = _Echo()
    yield instance
    instance.close()


@pytest.fixture
def signed(echo: _Echo, fake: FakeSlack) -> SignedClient:
    return SignedClient(echo.url, SECRET, fake=fake)


def test_signatures_verify_with_slack_sdk(echo: _Echo, signed: SignedClient) -> None:
    verifier = SignatureVerifier(SECRET)
    signed.command("U0ALICE", "new acme")
    assert verifier.is_valid_request(echo.last["body"], echo.last["headers"])
    assert echo.last["path"] == "/slack/events"
    assert echo.last["headers"]["Content-Type"] == "application/x-www-form-urlencoded"

    signed.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
    assert verifier.is_valid_request(echo.last["body"], echo.last["headers"])
    assert echo.last["headers"]["Content-Type"] == "application/json"

    signed.command("U0ALICE", "x", timestamp=int(time.time()) - 360)
    assert not verifier.is_valid_request(echo.last["body"], echo.last["headers"]), "too old to be accepted"
    assert (
        signed.sign(echo.last["body"], int(echo.last["headers"]["X-Slack-Request-Timestamp"]))
        == (echo.last["headers"]["X-Slack-Signature"])
    )
    signed.command("U0ALICE", "x", signature="v0=deadbeef")
    assert not verifier.is_valid_request(echo.last["body"], echo.last["headers"])

    signed.command("U0ALICE", "x", retry_num=1, extra_headers={"X-Extra": "1"})
    assert echo.last["headers"]["X-Slack-Retry-Num"] == "1"
    assert echo.last["headers"]["X-Slack-Retry-Reason"] == "http_timeout"
    assert echo.last["headers"]["X-Extra"] == "1"

    signed.command("U0ALICE", "x", raw_body="not=a&real=command")
    assert echo.last["body"] == "not=a&real=command"
    assert verifier.is_valid_request(echo.last["body"], echo.last["headers"])


def test_command_body_matches_slack(echo: _Echo, signed: SignedClient, fake: FakeSlack) -> None:
    signed.command("U0ALICE", "new Acme Corp", channel_id="C0SALES")
    form = echo.last_form()
    assert {
        k: form[k] for k in ("team_id", "team_domain", "channel_id", "user_id", "user_name", "command", "text")
    } == {
        "team_id": "T0FAKE",
        "team_domain": "acme",
        "channel_id": "C0SALES",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": "/reference",
        "text": "new Acme Corp",
    }
    assert form["api_app_id"] == "A0FAKE" and form["is_enterprise_install"] == "false" and form["token"]
    assert form["response_url"].startswith(fake.base_url + "/response/")
    client = WebClient(base_url=fake.url, token=TOKEN)
    assert client.views_open(trigger_id=form["trigger_id"], view=modal(section("x")))["ok"]
    assert fake.last_view("U0ALICE")["blocks"][0]["text"]["text"] == "x"
    signed.command("U0BOB", "x", team_id="T0OTHER", trigger_id="1337.42.abc")
    assert echo.last_form()["team_id"] == "T0OTHER" and echo.last_form()["trigger_id"] == "1337.42.abc"


def test_responses_are_returned_not_raised(echo: _Echo) -> None:
    plain_client = SignedClient(echo.url, SECRET)
    echo.status, echo.body = 401, '{"error": "invalid signature"}'
    response = plain_client.command("U1", "x")
    assert response.status == 401 and response.json() == {"error": "invalid signature"}
    echo.status, echo.body = 200, ""
    ok = plain_client.post_raw("garbage", {"Content-Type": "text/plain"})
    assert ok.status == 200 and ok.json() is None
    assert echo.last["body"] == "garbage" and "X-Slack-Signature" not in echo.last["headers"]
    form = echo.requests[0]["body"]
    assert "trigger_id=" in form and "hooks.slack.com" in parse_qs(form)["response_url"][0]


def test_block_action_looks_up_the_button(echo: _Echo, signed: SignedClient, fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token=TOKEN)
    blocks = [
        section("Approve reference for Acme?", block_id="req"),
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [
                button("Approve", "approve", "req-1", style="primary"),
                button("Decline", "decline", "req-1"),
            ],
        },
    ]
    client.chat_postMessage(channel="U0ALICE", text="Approve?", blocks=blocks)
    message = fake.last_message("U0ALICE")

    signed.click("U0ALICE", message, "approve")
    payload = echo.last_payload()
    assert payload["type"] == "block_actions"
    assert payload["user"] == {"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": "T0FAKE"}
    assert payload["container"] == {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": False,
    }
    assert payload["channel"]["id"] == message.channel and payload["message"]["ts"] == message.ts
    assert payload["message"]["blocks"] == message.blocks and "channel" not in payload["message"]
    [action] = payload["actions"]
    assert action["action_id"] == "approve" and action["block_id"] == "decide" and action["value"] == "req-1"
    assert action["text"] == plain("Approve") and action["type"] == "button" and float(action["action_ts"])

    WebhookClient(payload["response_url"]).send(text="Done", replace_original=True)
    assert fake.last_message("U0ALICE").text == "Done", "response_url is bound to the clicked message"

    with pytest.raises(LookupError, match="buttons present"):
        signed.click("U0ALICE", message, "nope")

    signed.block_action("U0BOB", "unknown", value="v")
    assert echo.last_payload()["actions"][0]["value"] == "v"
    assert echo.last_payload()["container"]["is_ephemeral"] is True


def test_click_picks_by_value_and_works_on_views(echo: _Echo, signed: SignedClient) -> None:
    row = {"type": "actions", "elements": [button("A", "pick", "a"), button("B", "pick", "b")]}
    signed.click("U0ALICE", {"channel": "C0GENERAL", "ts": "1.000100", "blocks": [row]}, "pick", value="b")
    assert echo.last_payload()["actions"][0]["text"]["text"] == "B"
    view = modal(section("Home", accessory=button("Refresh", "refresh", "1")), submit=None) | {"id": "V0HOME"}
    signed.click("U0ALICE", view, "refresh")
    payload = echo.last_payload()
    assert payload["container"] == {"type": "view", "view_id": "V0HOME"} and "response_url" not in payload
    assert payload["view"]["id"] == "V0HOME" and payload["actions"][0]["value"] == "1"
    signed.block_action(
        "U0ALICE",
        "sel",
        view=modal(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "sel",
                        "options": [option("One", "1"), option("Two", "2")],
                    }
                ],
            }
        ),
        value="2",
    )
    assert echo.last_payload()["actions"][0]["selected_option"] == option("Two", "2")


def test_view_submission_state_for_each_element_type(echo: _Echo, signed: SignedClient) -> None:
    def input_block(element: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": "b_" + element["action_id"],
            "label": plain("L"),
            "element": element,
            **extra,
        }

    opts = [option("Gold", "gold"), option("Silver", "silver")]
    view = modal(
        input_block({"type": "plain_text_input", "action_id": "why"}),
        input_block({"type": "email_text_input", "action_id": "email"}),
        input_block({"type": "url_text_input", "action_id": "link"}),
        input_block({"type": "number_input", "action_id": "count", "is_decimal_allowed": False}),
        input_block(
            {
                "type": "static_select",
                "action_id": "tier",
                "option_groups": [{"label": plain("Metals"), "options": opts}],
            }
        ),
        input_block({"type": "external_select", "action_id": "customer"}),
        input_block({"type": "multi_static_select", "action_id": "tiers", "options": opts}),
        input_block({"type": "multi_external_select", "action_id": "customers"}),
        input_block({"type": "datepicker", "action_id": "when"}),
        input_block({"type": "timepicker", "action_id": "at"}),
        input_block({"type": "datetimepicker", "action_id": "deadline"}),
        input_block({"type": "users_select", "action_id": "owner"}),
        input_block({"type": "multi_users_select", "action_id": "people"}),
        input_block({"type": "conversations_select", "action_id": "conv"}),
        input_block({"type": "channels_select", "action_id": "chan"}),
        input_block({"type": "checkboxes", "action_id": "flags", "options": opts}),
        input_block({"type": "radio_buttons", "action_id": "choice", "options": opts}),
        input_block({"type": "plain_text_input", "action_id": "untouched"}, optional=True),
        input_block({"type": "plain_text_input", "action_id": "prefilled", "initial_value": "kept"}),
        input_block({"type": "static_select", "action_id": "unpicked", "options": opts}, optional=True),
        callback_id="new_request",
        private_metadata="meta",
    ) | {"id": "V0SUBMIT", "hash": "123.abc"}
    assert validate_view(view) == []
    signed.view_submission(
        "U0ALICE",
        view,
        {
            "why": "Big deal",
            "email": "a@b.test",
            "link": "https://acme.test",
            "count": 3,
            "tier": "silver",
            "customer": ("C-42", "Acme Corp"),
            "tiers": ["gold", "silver"],
            "customers": ["C-1"],
            "when": dt.date(2024, 11, 23),
            "at": dt.time(14, 5),
            "deadline": dt.datetime(2024, 11, 23, 12, 0, tzinfo=dt.UTC),
            "owner": "U0BOB",
            "people": ["U0BOB", "U0ALICE"],
            "conv": "C0GENERAL",
            "chan": "C0SALES",
            "flags": ["gold"],
            "choice": "gold",
        },
    )
    payload = echo.last_payload()
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    assert payload["view"]["id"] == "V0SUBMIT" and payload["view"]["hash"] == "123.abc"
    assert payload["view"]["callback_id"] == "new_request" and payload["view"]["private_metadata"] == "meta"
    values = payload["view"]["state"]["values"]
    assert values["b_why"]["why"] == {"type": "plain_text_input", "value": "Big deal"}
    assert values["b_email"]["email"] == {"type": "email_text_input", "value": "a@b.test"}
    assert values["b_link"]["link"]["value"] == "https://acme.test"
    assert values["b_count"]["count"] == {"type": "number_input", "value": "3"}
    assert values["b_tier"]["tier"] == {
        "type": "static_select",
        "selected_option": option("Silver", "silver"),
    }
    assert values["b_customer"]["customer"]["selected_option"] == {
        "text": {"type": "plain_text", "text": "Acme Corp", "emoji": True},
        "value": "C-42",
    }
    assert [o["value"] for o in values["b_tiers"]["tiers"]["selected_options"]] == ["gold", "silver"]
    assert values["b_customers"]["customers"]["selected_options"][0]["value"] == "C-1"
    assert values["b_when"]["when"] == {"type": "datepicker", "selected_date": "2024-11-23"}
    assert values["b_at"]["at"] == {"type": "timepicker", "selected_time": "14:05"}
    assert values["b_deadline"]["deadline"]["selected_date_time"] == 1732363200
    assert values["b_owner"]["owner"] == {"type": "users_select", "selected_user": "U0BOB"}
    assert values["b_people"]["people"]["selected_users"] == ["U0BOB", "U0ALICE"]
    assert values["b_conv"]["conv"]["selected_conversation"] == "C0GENERAL"
    assert values["b_chan"]["chan"]["selected_channel"] == "C0SALES"
    assert values["b_flags"]["flags"] == {"type": "checkboxes", "selected_options": [option("Gold", "gold")]}
    assert values["b_choice"]["choice"] == {
        "type": "radio_buttons",
        "selected_option": option("Gold", "gold"),
    }
    assert values["b_untouched"]["untouched"] == {"type": "plain_text_input", "value": None}
    assert values["b_prefilled"]["prefilled"] == {"type": "plain_text_input", "value": "kept"}
    assert values["b_unpicked"]["unpicked"] == {"type": "static_select", "selected_option": None}

    with pytest.raises(ValueError, match="not an option"):
        signed.view_submission("U0ALICE", view, {"tier": "bronze"})
    with pytest.raises(ValueError, match="no input element with action_id 'typo'"):
        signed.view_submission("U0ALICE", view, {"typo": "x"})


def test_block_suggestion_and_event(echo: _Echo, signed: SignedClient) -> None:
    view = modal(
        {
            "type": "input",
            "block_id": "cust",
            "label": plain("Customer"),
            "element": {"type": "external_select", "action_id": "customer", "min_query_length": 2},
        }
    )
    signed.block_suggestion("U0ALICE", "customer", "ac", view=view)
    payload = echo.last_payload()
    assert payload["type"] == "block_suggestion" and payload["value"] == "ac"
    assert payload["block_id"] == "cust" and payload["container"]["view_id"] == payload["view"]["id"]

    signed.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}, event_id="Ev123")
    envelope = json.loads(echo.last["body"])
    assert envelope["type"] == "event_callback" and envelope["event_id"] == "Ev123"
    assert envelope["event"]["type"] == "app_home_opened" and envelope["event"]["event_ts"]
    assert envelope["authorizations"][0]["user_id"] == "U0FAKEBOT" and envelope["team_id"] == "T0FAKE"


# --- rendering ---------------------------------------------------------------------------------------
def test_mrkdwn_to_text() -> None:
    users = {"U123": "Alice"}
    text = (
        "Hi <@U123> and <@U999>, see <#C42|sales> and <#C43> at <!date^1732350000^{time}|14:02 UTC>: "
        "<https://acme.test/r/1|the request> or <https://plain.test>. <!here> <!channel> "
        "<!subteam^S1|@refs> 1 &lt; 2 &amp;&amp; 3 &gt; 2"
    )
    assert mrkdwn_to_text(text, users) == (
        "Hi @Alice and @U999, see #sales and #C43 at 14:02 UTC: the request (https://acme.test/r/1) or "
        "https://plain.test. @here @channel @refs 1 < 2 && 3 > 2"
    )
    assert mrkdwn_to_text("&amp;lt;") == "&lt;", "unescape once, ampersand last"


def test_to_text_message_and_modal(fake: FakeSlack) -> None:
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": plain("Reference request")},
            section(
                "<@U0ALICE> needs a reference from *Acme* by <!date^1732350000^{date}|Nov 23>",
                fields=[mrkdwn("*Stage:*\nPOC"), mrkdwn("*Region:*\nEMEA")],
            ),
            {"type": "divider"},
            {"type": "context", "elements": [mrkdwn("Requested by <@U0BOB>"), plain("2 days ago")]},
            {
                "type": "actions",
                "elements": [
                    button("Approve", "approve"),
                    button("Decline", "decline"),
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "placeholder": plain("Delegate"),
                        "options": [option("a", "a")],
                    },
                ],
            },
        ],
    }
    rendered = to_text(message, fake.user_names())
    assert rendered.splitlines() == [
        "━" * len("Reference request"),
        "Reference request",
        "@alice needs a reference from *Acme* by Nov 23",
        "*Stage:* POC   *Region:* EMEA",
        "─" * 40,
        "Requested by @bob · 2 days ago",
        "[ Approve ]  [ Decline ]  [ Delegate ▾ ]",
    ]
    assert to_text({"text": "Hi <@U0ALICE> &amp; co"}, fake.user_names()) == "Hi @alice & co"

    view = modal(
        text_input("why", label="Why this customer?"),
        text_input("who", label="Contact", initial_value="Dana"),
        {
            "type": "input",
            "label": plain("Tier"),
            "optional": True,
            "element": {
                "type": "static_select",
                "action_id": "t",
                "options": [option("Gold", "g")],
                "initial_option": option("Gold", "g"),
            },
        },
        title="New request",
        submit="Send",
        close=plain("Cancel"),
    )
    assert to_text(view).splitlines() == [
        "╔═ New request ═╗",
        "Why this customer?: ____",
        "Contact: Dana",
        "Tier (optional): Gold",
        "[ Cancel ]  [ Send ]",
    ]


def test_to_text_accepts_fake_messages(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="U0BOB", text="Plain <@U0BOB>")
    assert to_text(fake.last_message("U0BOB"), fake.user_names()) == "Plain @bob"


def test_tokenless_fake_and_frozen_time() -> None:
    freezegun = pytest.importorskip("freezegun")
    with FakeSlack(token=None) as open_fake:
        anyone = WebClient(base_url=open_fake.url, token="xoxb-whatever", retry_handlers=[])
        with freezegun.freeze_time("2024-11-23 08:20:00"):
            first = anyone.chat_postMessage(channel="C0GENERAL", text="one")["ts"]
            second = WebClient(base_url=open_fake.url, retry_handlers=[]).chat_postMessage(
                channel="C0GENERAL", text="two"
            )["ts"]
            assert first == "1732350000.000000" and second == "1732350000.000001", "still strictly increasing"
            with pytest.raises(AssertionError, match="not met within"):
                open_fake.wait_for(lambda f: f.messages("C0NOWHERE"), timeout=0.1)


def test_clicking_an_ephemeral_message(echo: _Echo, signed: SignedClient, fake: FakeSlack, client: WebClient) -> None:
    client.chat_postEphemeral(
        channel="C0GENERAL",
        user="U0ALICE",
        text="Pick one",
        blocks=[{"type": "actions", "elements": [button("Yes", "yes", "1"), button("No", "no", "0")]}],
    )
    [ephemeral] = fake.ephemerals("U0ALICE")
    signed.click("U0ALICE", ephemeral, "no")
    payload = echo.last_payload()
    assert payload["container"]["is_ephemeral"] is True and payload["container"]["channel_id"] == "C0GENERAL"
    assert payload["actions"][0]["value"] == "0"
    WebhookClient(payload["response_url"]).send(text="Noted", replace_original=True)
    assert fake.ephemerals("U0ALICE")[-1]["text"] == "Noted"
    assert fake.ephemerals("U0ALICE")[-1]["replace_original"] is True
    assert fake.messages() == []
