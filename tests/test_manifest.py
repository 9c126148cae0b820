"""manifest.yml is a valid Slack app manifest, and asks for what refbot uses and no more."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot import ids, workflows

ROOT = Path(__file__).resolve().parent.parent


def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema(shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "slack" / "manifest.schema.1.0.0.json").read_text())
    jsonschema.validate(manifest(), schema)


def test_schema_validation_really_rejects_a_broken_manifest(shared_dir: Path) -> None:
    schema = json.loads((shared_dir / "slack" / "manifest.schema.1.0.0.json").read_text())
    broken = manifest()
    broken["settings"]["socket_mode_enabled"] = "yes"
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        return
    raise AssertionError("the schema accepted a string for socket_mode_enabled")


def test_manifest_has_what_refbot_needs_and_no_more() -> None:
    data = manifest()
    assert data["settings"]["socket_mode_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in data["features"]["slash_commands"]] == ["/reference"]
    # Messages tab: managers, owners and reps receive refbot's DMs there.
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    # chat:write posts and updates DMs (to a user ID, no im:write needed); commands for /reference;
    # users:read + users:read.email let `refbot import` resolve owners given by e-mail (users.lookupByEmail).
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == [
        "channels:history",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "im:history",
        "im:write",
        "users:read",
        "users:read.email",
    ]
    assert data["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "message.channels",
        "function_executed",
    ]
    # The custom steps refbot listens for, and what Slack needs for them.
    assert sorted(data["functions"]) == sorted([workflows.REQUEST_STEP, workflows.CONSENT_STEP])
    assert data["settings"]["function_runtime"] == "remote" and data["settings"]["org_deploy_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    # The message shortcut's callback_id is the one refbot listens for.
    assert [(s["type"], s["callback_id"]) for s in data["features"]["shortcuts"]] == [
        ("message", ids.REQUEST_FROM_MESSAGE)
    ]
    # The type-ahead for "specific customer" needs the options load URL in HTTP mode.
    assert data["settings"]["interactivity"]["message_menu_options_url"].endswith("/slack/events")


def test_every_web_api_method_the_bot_calls_exists_with_its_required_arguments(shared_dir: Path) -> None:
    spec = json.loads((shared_dir / "slack" / "web_api_openapi_v2.json").read_text())
    calls = {
        "chat.postMessage": {"channel", "text", "blocks", "unfurl_links"},
        "chat.update": {"channel", "ts", "text", "blocks"},
        "chat.postEphemeral": {"channel", "user", "text", "blocks", "thread_ts"},
        "views.open": {"trigger_id", "view"},
        "views.publish": {"user_id", "view"},
        "conversations.open": {"users"},
        "conversations.history": {"channel", "oldest", "limit"},
        "auth.test": set(),
        "users.lookupByEmail": {"email"},
        "chat.getPermalink": {"channel", "message_ts"},
        "files.info": {"file"},
        "users.info": {"user"},
    }
    for method, args in calls.items():
        operation = spec["paths"][f"/{method}"]
        op = operation.get("post") or operation.get("get")
        params = {p["name"]: p for p in op.get("parameters", [])}
        required = {name for name, p in params.items() if p.get("required") and name != "token"}
        assert required <= args, (method, required - args)
        assert args <= set(params), (method, args - set(params))
