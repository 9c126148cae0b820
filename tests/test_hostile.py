"""Hostile and bad input: forged, replayed and malformed requests, and user text that tries to break out.

Two halves. The first drives the running server with signed (and wrongly signed) requests: bad signatures and
timestamps, replays, oversized and malformed bodies, unknown types and ids, forms with missing or extra
state, values naming other people's or deleted records, and another workspace's team id. None of it may
cause a 5xx, a traceback, or a change in the database it was not entitled to.

The second is property-based: hypothesis fills every text field of in-memory model objects with mentions,
channel pings, links, mrkdwn markup, 4-byte emoji, right-to-left overrides and 10,000-character strings,
runs every pure renderer in `bot/views/` over them, and checks the output with the Slack fake's Block Kit
validator (the limits Slack enforces) and for any `<…>` token that did not come from refbot itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import socket
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import ids, shadow
from bot.customers import CanUse, PastUse, Profile, Saved, SearchPage, SearchQuery, SearchResult
from bot.eligibility import Assessment
from bot.errors import CannotUse, Ineligible, InvalidTransition, NotAllowed, OnlyOwner, RequestStands
from bot.matching import Candidate
from bot.server import MAX_BODY, HttpServer, RefbotWSGI
from bot.settings import Settings
from bot.views import audit as audit_views
from bot.views import checkins as checkin_views
from bot.views import crm as crm_views
from bot.views import customers as customer_views
from bot.views import followups as followup_views
from bot.views import forms as form_views
from bot.views import help as help_views
from bot.views import imports as import_views
from bot.views import incidents as incident_views
from bot.views import notices as notice_views
from bot.views import outcomes as outcome_views
from bot.views import refusals as refusal_views
from bot.views import requests as request_views
from bot.views.text import ELLIPSIS, escape, md, mention, quote, safe
from handlers.fallback import STALE_BUTTON, stale_form
from handlers.forms import form_values, ids_from, record_id
from handlers.middleware import screen_request
from models import AuditEntry, CheckIn, Consent, Contact, Customer, Incident, ReferenceRequest, ReferenceUse
from models.db import Database
from models.enums import (
    CheckInPurpose,
    CheckInStatus,
    Happiness,
    Outcome,
    RefType,
    RequestStatus,
)
from slackfake.blockkit import validate_message, validate_view
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, MANAGER_2, OTHER, OWNER, REP, SIGNING_SECRET
from tests.test_request_flow import blob, request_submitted, settle, status_of, wait_card

# =====================================================================================================
# Part 1: hostile requests against the running server
# =====================================================================================================


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing logged an exception: an answered refusal is not an error."""
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]


def _ephemerals_with(fake: FakeSlack, user: str, text: str) -> list[dict[str, Any]]:
    return [e for e in fake.ephemerals(user) if text in blob(e)]


def _deliveries(db: Database) -> int:
    from models import InboundDelivery

    with db.reading() as session:
        return int(session.scalar(select(func.count()).select_from(InboundDelivery)) or 0)


# -- signatures and timestamps ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        "v0=" + "0" * 64,  # well-formed, wrong
        "v1=" + "0" * 64,  # another scheme
        "v0=",  # no digest
        "garbage",
        "v0=" + "Z" * 64,  # not hex
    ],
)
def test_wrong_signature_is_401_and_does_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database, signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = slack.command(REP, "request Globex", signature=signature)
    assert response.status == 401
    assert "Traceback" not in response.body
    assert fake.calls("views.open") == []
    assert _deliveries(db) == 0
    _no_traceback(caplog)


def test_missing_signature_headers_are_401(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    body = urllib.parse.urlencode({"command": "/reference", "text": "help", "user_id": REP, "team_id": "T0FAKE"})
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert slack.post_raw(body, form).status == 401
    assert slack.post_raw(body, {**form, "X-Slack-Request-Timestamp": str(int(time.time()))}).status == 401
    signed_ts = int(time.time())
    signature = slack.sign(body, signed_ts)
    assert slack.post_raw(body, {**form, "X-Slack-Signature": signature}).status == 401
    empty = {**form, "X-Slack-Signature": "", "X-Slack-Request-Timestamp": str(signed_ts)}
    assert slack.post_raw(body, empty).status == 401
    assert fake.calls() == []


def test_signature_over_another_body_is_401(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """A valid signature lifted from one request does not carry over to a tampered body."""
    ts = int(time.time())
    original = urllib.parse.urlencode({"command": "/reference", "text": "help", "user_id": REP, "team_id": "T0FAKE"})
    tampered = original.replace("help", "cancel+1")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack.sign(original, ts),
    }
    assert slack.post_raw(tampered, headers).status == 401


@pytest.mark.parametrize("skew", [-6 * 60, 6 * 60, -3600, 10**9])
def test_timestamp_outside_five_minutes_is_401(
    slack: SignedClient, fake: FakeSlack, db: Database, skew: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Correctly signed, but for a moment more than five minutes away: a replay, or a clock far off."""
    response = slack.command(REP, "request Globex", timestamp=int(time.time()) + skew)
    assert response.status == 401
    assert fake.calls("views.open") == []
    assert _deliveries(db) == 0
    _no_traceback(caplog)


def test_timestamp_within_five_minutes_is_accepted(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    assert slack.command(REP, "help", timestamp=int(time.time()) - 4 * 60).status == 200
    assert slack.command(REP, "help", timestamp=int(time.time()) + 4 * 60).status == 200


def test_replayed_click_within_five_minutes_has_one_effect(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """The same signed body sent again: the dedupe middleware recognises its trigger_id and drops it."""
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    request_id = request_submitted(slack, fake)
    payload = {
        "type": "block_actions",
        "user": {"id": REP, "username": "riley", "name": "riley", "team_id": "T0FAKE"},
        "team": {"id": "T0FAKE", "domain": "acme"},
        "trigger_id": "4242.1.replayed",
        "api_app_id": "A0FAKE",
        "container": {"type": "message", "message_ts": "1.2", "channel_id": "C0GENERAL", "is_ephemeral": False},
        "channel": {"id": "C0GENERAL", "name": "general"},
        "response_url": fake.response_url(REP, channel="C0GENERAL"),
        "actions": [{"action_id": ids.CANCEL, "block_id": "receipt", "type": "button", "value": str(request_id)}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    ts = int(time.time())
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack.sign(body, ts),
    }
    assert slack.post_raw(body, headers).status == 200
    wait_card(fake, MANAGER, "Cancelled by")
    settle(db)
    with db.reading() as session:
        audit_before = session.scalar(select(func.count()).select_from(AuditEntry))
        version_before = session.get(ReferenceRequest, request_id).version
    # Byte for byte the same request, a few seconds later: acknowledged, and nothing happens.
    time.sleep(1.1)
    assert slack.post_raw(body, headers).status == 200
    time.sleep(0.5)
    settle(db)
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before
        assert session.get(ReferenceRequest, request_id).version == version_before
    assert status_of(db, request_id) == RequestStatus.CANCELLED
    assert not [e for e in fake.ephemerals(REP) if "already" in blob(e) or "cancelled by" in blob(e).lower()]


def test_replay_after_five_minutes_is_rejected_by_the_timestamp(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    """Outside the window the signature check refuses it before the dedupe table is even consulted."""
    old = int(time.time()) - 5 * 60 - 30
    response = slack.command(REP, "cancel 1", timestamp=old, trigger_id="4242.2.replayed")
    assert response.status == 401
    assert _deliveries(db) == 0


# -- size and shape ----------------------------------------------------------------------------------------


def _raw_http(server: HttpServer, head: str, body: bytes) -> tuple[int, bytes]:
    """Send a request over a plain socket and read the reply, even one sent before the body was read."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(head.encode())
        # The server may answer and hang up without reading it all: the reply is what matters.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(body)
        chunks = []
        while True:
            try:
                chunk = conn.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    reply = b"".join(chunks)
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/") else 0
    return status, reply


def test_body_over_one_megabyte_is_refused(server: HttpServer, fake: FakeSlack, db: Database) -> None:
    """Refused on its declared length: waitress answers 413 without reading (or buffering) the body."""
    length = MAX_BODY + 10
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
        f"Content-Length: {length}\r\nConnection: close\r\n\r\n"
    )
    started = time.monotonic()
    status, reply = _raw_http(server, head, b"payload=" + b"a" * 4096)
    assert status == 413, reply[:300]
    assert time.monotonic() - started < 5
    assert fake.calls() == []
    assert _deliveries(db) == 0


def test_chunked_body_over_one_megabyte_is_refused(server: HttpServer, fake: FakeSlack, db: Database) -> None:
    """No Content-Length to judge by: waitress counts the chunks as they come and stops at the limit."""
    chunk = b"a" * 65536
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // len(chunk) + 2)) + b"0\r\n\r\n"
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    status, reply = _raw_http(server, head, body)
    assert status == 413, reply[:300]
    assert fake.calls() == []


def test_wsgi_refuses_a_declared_length_over_the_limit(refbot: Any) -> None:
    """The application's own check, whatever server is in front of it (and a length that is not a number)."""
    app = RefbotWSGI(refbot)
    seen: list[str] = []
    for length in (str(MAX_BODY + 1), "12abc"):
        seen.clear()
        environ = {
            "PATH_INFO": "/slack/events",
            "REQUEST_METHOD": "POST",
            "CONTENT_LENGTH": length,
            "wsgi.input": None,
        }
        body = b"".join(app(environ, lambda status, headers, *_: seen.append(status)))
        assert len(seen) == 1 and seen[0].startswith("413 ")
        assert json.loads(body) == {"ok": False, "error": "payload_too_large"}


def test_body_just_under_the_limit_is_read_and_answered(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """A big but allowed body goes through the signature check like any other (here: an unknown type)."""
    padding = "x" * (MAX_BODY - 2000)
    response = slack._send_payload({"type": "weird_type", "team": {"id": "T0FAKE"}, "padding": padding}, {})
    assert response.status == 200


# Bodies Slack never sends. Bolt would raise on them (it parses before it checks the signature), so bot/server.py
# screens every request with handlers.middleware.screen_request first: 401 unsigned, 400 signed but malformed.
MALFORMED = [
    ("payload=%7Bnot-json", "application/x-www-form-urlencoded"),
    ("payload=", "application/x-www-form-urlencoded"),
    ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),  # a JSON array
    ("payload=%22just+a+string%22", "application/x-www-form-urlencoded"),
    ("payload=null", "application/x-www-form-urlencoded"),
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ('{"type": "event_callback", "event": "not an object", "team_id": "T0FAKE"}', "application/json"),
    ('{"type": "view_submission", "team": {"id": "T0FAKE"}, "view": {"callback_id": "x"}}', "application/json"),
]


def _signed_bytes(slack: SignedClient, body: bytes, content_type: str, timestamp: str | None = None) -> Any:
    ts = timestamp or str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}
    return slack._post(body, headers)


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_signed_malformed_body_is_a_client_error_not_a_crash(
    slack: SignedClient,
    fake: FakeSlack,
    db: Database,
    body: str,
    content_type: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = slack._send(body, content_type, {})
    assert response.status == 400, response.body
    assert "Traceback" not in response.body
    assert [c.method for c in fake.calls()] in ([], ["auth.test"])
    assert _deliveries(db) == 0
    _no_traceback(caplog)


def test_timestamp_that_is_not_a_number_is_401(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    body = "command=%2Freference&text=help&user_id=UREP00001&team_id=T0FAKE"
    response = _signed_bytes(slack, body.encode(), "application/x-www-form-urlencoded", timestamp="soon")
    assert response.status == 401
    _no_traceback(caplog)


def test_body_that_is_not_utf8_is_400(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    response = _signed_bytes(slack, b"payload=\xff\xfe\x00garbage", "application/x-www-form-urlencoded")
    assert response.status == 400
    _no_traceback(caplog)


@pytest.mark.parametrize(("body", "content_type"), MALFORMED)
def test_unsigned_malformed_body_is_never_processed(
    slack: SignedClient, fake: FakeSlack, db: Database, body: str, content_type: str
) -> None:
    """Whatever the server answers to unsigned garbage, nothing reaches a listener, Slack, or the database."""
    response = slack._send(body, content_type, {"signature": "v0=" + "0" * 64})
    assert response.status not in (200, 404)
    assert "Traceback" not in response.body
    assert fake.calls() == []
    assert _deliveries(db) == 0


def test_screen_request_checks_signature_then_shape() -> None:
    secret = "s3cret"
    now = str(int(time.time()))

    def sign(body: bytes, ts: str = now) -> str:
        return "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()

    form = "application/x-www-form-urlencoded"
    good = urllib.parse.urlencode({"payload": json.dumps({"type": "block_actions"})}).encode()
    assert screen_request(good, now, sign(good), form, secret).refusal is None
    command = b"command=%2Freference&text=find+payload"
    screened = screen_request(command, now, sign(command), form, secret)
    assert screened.refusal is None  # a command that says "payload" is read as the command it is
    assert screened.payload == {"command": "/reference", "text": "find payload"}
    event = b'{"type": "event_callback", "event": {"type": "x"}}'
    assert screen_request(event, now, sign(event), "application/json", secret).refusal is None
    assert screen_request(b"", now, sign(b""), form, secret).refusal is None
    # The signature first: nothing about an unsigned body is looked at, or told.
    assert screen_request(good, now, "v0=" + "0" * 64, form, secret).refusal == (401, "invalid_request")
    assert screen_request(good, now, None, form, secret).refusal == (401, "invalid_request")
    for stamp in ("soon", "", None, "١٢٣", "9" * 40, str(int(time.time()) - 400)):
        assert screen_request(good, stamp, sign(good), form, secret).refusal == (401, "invalid_request"), stamp
    # Then the shape, for a body signed with our secret.
    for body, kind in [
        (b"payload=%7Bnot-json", form),
        (b"payload=%5B1%5D", form),
        (b"payload=null", form),
        (b"{not json", "application/json"),
        (b"[1]", "application/json; charset=utf-8"),
        (b"payload=\xff\xfe", form),
        (b'{"type": "event_callback", "event": "not an object"}', "application/json"),
        (b'{"type": "view_submission", "view": {"callback_id": "x"}}', "application/json"),
        (b'{"type": "block_actions", "actions": "nope"}', "application/json"),
        (b'{"type": "block_actions", "actions": ["nope"]}', "application/json"),
    ]:
        assert screen_request(body, now, sign(body), kind, secret).refusal == (400, "malformed_request"), body


# -- unknown types, action_ids and callback_ids --------------------------------------------------------------


def test_unknown_action_id_is_acknowledged_and_explained(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A button from a message an older refbot posted: a 200 at once, and the clicker is told."""
    caplog.set_level(logging.WARNING, logger="handlers.fallback")
    started = time.monotonic()
    response = slack.block_action(REP, "request.approve_v0_legacy", value="12:34")
    assert response.status == 200 and not response.body.strip()
    assert time.monotonic() - started < 2.5
    told = fake.wait_for(lambda f: _ephemerals_with(f, REP, "no longer in use"))
    assert told[0]["text"] == STALE_BUTTON
    assert any("request.approve_v0_legacy" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    _no_traceback(caplog)


def test_unknown_select_and_link_button_are_acknowledged_quietly(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    message = {
        "channel": "C0GENERAL",
        "ts": "1700000000.000100",
        "text": "old",
        "blocks": [
            {
                "type": "actions",
                "block_id": "b",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "docs.link",
                        "text": {"type": "plain_text", "text": "Docs"},
                        "url": "https://example.com/docs",
                    },
                    {
                        "type": "static_select",
                        "action_id": "old.select",
                        "options": [{"text": {"type": "plain_text", "text": "A"}, "value": "a"}],
                    },
                ],
            }
        ],
    }
    assert slack.block_action(REP, "docs.link", message=message).status == 200
    picked = {"text": {"type": "plain_text", "text": "A"}, "value": "a"}
    assert slack.block_action(REP, "old.select", message=message, selected_option=picked).status == 200
    time.sleep(0.5)
    assert fake.ephemerals(REP) == []
    _no_traceback(caplog)


def test_unknown_callback_id_keeps_the_modal_open_with_an_explanation(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    view = {"type": "modal", "callback_id": "request.submit_v0", "title": {"type": "plain_text", "text": "Old"}}
    response = slack.view_submission(REP, view, {})
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "update"
    assert answer["view"] == stale_form()
    assert validate_view(answer["view"]) == []
    _no_traceback(caplog)


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "a_type_from_the_future", "team": {"id": "T0FAKE"}},
        {"type": "app_rate_limited", "team_id": "T0FAKE", "minute_rate_limited": 1518467820},
        {
            "type": "view_closed",
            "team": {"id": "T0FAKE"},
            "user": {"id": REP},
            "view": {"type": "modal", "callback_id": "x"},
        },
        {
            "type": "shortcut",
            "team": {"id": "T0FAKE"},
            "user": {"id": REP},
            "callback_id": "old.shortcut",
            "trigger_id": "77.1.shortcut",
        },
        {"team": {"id": "T0FAKE"}, "user": {"id": REP}},  # no type at all
    ],
    ids=["future-type", "app-rate-limited", "view-closed", "shortcut", "no-type"],
)
def test_unknown_interaction_types_get_a_quick_200(
    slack: SignedClient, fake: FakeSlack, db: Database, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    response = slack._send_payload(payload, {})
    assert response.status == 200, response.body
    assert time.monotonic() - started < 2.5
    assert "Traceback" not in response.body
    _no_traceback(caplog)


def test_unknown_event_and_command_and_suggestion(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    assert slack.event({"type": "reaction_added", "user": REP, "reaction": "tada"}).status == 200
    assert slack.event({"type": "message", "user": REP, "text": "hi", "channel": "C0GENERAL"}).status == 200
    answer = slack.command(REP, "x", command="/referencez")
    assert answer.status == 200 and "/reference help" in answer.body
    options = slack.block_suggestion(REP, "no.such.select", "acme", view={"type": "modal", "blocks": []})
    assert options.status == 200 and options.json() == {"options": []}
    _no_traceback(caplog)


def test_a_command_that_says_payload_is_not_lost(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """Bolt takes any form body containing "payload" for an interaction; the middleware reads it again."""
    response = slack.command(REP, "request Payload Gateway payload")
    assert response.status == 200
    view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    prospect = next(b for b in view["blocks"] if b.get("block_id") == "prospect")
    assert prospect["element"]["initial_value"] == "Payload Gateway payload"
    assert "payload" in slack.command(REP, "payload").body  # an unknown subcommand: help, naming it


# -- forms with missing or extra state ---------------------------------------------------------------------


def test_request_form_with_missing_state_is_answered_in_the_form(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    view = {"type": "modal", "callback_id": ids.REQUEST_MODAL, "blocks": [], "state": {"values": {}}}
    answer = slack.view_submission(REP, view, {}).json()
    assert answer["response_action"] == "errors"
    assert {"prospect", "ref_type"} <= set(answer["errors"])
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(ReferenceRequest)) == 0


def test_request_form_ignores_extra_state(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """Fields the form never had (a status, a requester, a customer) cannot be smuggled in."""
    view = request_views.request_modal("Globex")
    state = {
        "prospect": {"prospect": {"type": "plain_text_input", "value": "Globex"}},
        "ref_type": {"ref_type": {"type": "static_select", "selected_option": {"value": "call"}}},
        "status": {"status": {"type": "plain_text_input", "value": "approved"}},
        "requester_id": {"requester_id": {"type": "plain_text_input", "value": MANAGER}},
        "customer_id": {"customer_id": {"type": "plain_text_input", "value": "1"}},
    }
    response = slack.view_submission(REP, {**view, "state": {"values": state}}, {})
    assert response.status == 200 and not response.body.strip(), response.body
    with db.reading() as session:
        request = session.scalars(select(ReferenceRequest)).one()
        assert (request.status, request.requester_id, request.customer_id) == ("submitted", REP, None)


@pytest.mark.parametrize(
    "state",
    [
        {"values": {"reason": "not an object"}},
        {"values": {"reason": {"reason": "not an object"}}},
        {"values": {"reason": {"reason": {"type": "plain_text_input", "value": ["a", "list"]}}}},
        {"values": {"reason": {"reason": {"type": "plain_text_input", "value": {"an": "object"}}}}},
        {"values": ["a", "list"]},
        {"values": None},
        {},
    ],
)
def test_decline_form_with_odd_state_changes_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database, state: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    request_id = request_submitted(slack, fake)
    view = request_views.decline_modal(_request(db, request_id))
    response = slack.view_submission(MANAGER, {**view, "state": state}, {})
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors" and "reason" in answer["errors"]
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    _no_traceback(caplog)


def test_form_values_reads_only_what_a_form_can_hold() -> None:
    view = {
        "state": {
            "values": {
                "a": {"a": {"type": "plain_text_input", "value": "text"}},
                "b": {"b": {"type": "static_select", "selected_option": {"value": "x"}}},
                "c": {"c": {"type": "datepicker", "selected_date": "2030-01-02"}},
                "d": {"d": {"type": "plain_text_input", "value": ["list"]}},
                "e": "junk",
                "f": {"f": "junk"},
                "g": {"g": {"type": "static_select", "selected_option": None}},
            }
        }
    }
    assert form_values(view) == {"a": "text", "b": "x", "c": "2030-01-02", "d": None, "g": None}
    for odd in ({}, {"state": None}, {"state": []}, {"state": {"values": []}}):
        assert form_values(odd) == {}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        ("0", None),
        ("-1", None),
        ("²", None),  # isdigit() says yes; int() says no
        ("١٢", None),  # Arabic-Indic digits: not how refbot writes ids
        ("9" * 30, None),  # beyond the database's integer
        (str(2**31 - 1), 2**31 - 1),
        (str(2**31), None),
        (" 12", None),
        ("12 ", None),
        ("", None),
        (None, None),
        (True, None),
        (12, 12),
        (12.0, None),
        (["12"], None),
    ],
)
def test_record_id_accepts_only_ids_in_range(value: object, expected: int | None) -> None:
    assert record_id(value) == expected


def test_ids_from_needs_exactly_the_ids_asked_for() -> None:
    assert ids_from("1:2", 2) == (1, 2)
    assert ids_from("1:2", 1) is None
    assert ids_from("1:2:3", 2) is None
    assert ids_from("1:", 2) is None
    assert ids_from(f"1:{'9' * 40}", 2) is None
    assert ids_from(12, 1) is None
    assert ids_from(None, 1) is None


# -- values naming other people's or deleted records ---------------------------------------------------------


def _request(db: Database, request_id: int) -> ReferenceRequest:
    with db.reading() as session:
        request = session.get(ReferenceRequest, request_id)
        session.expunge(request)
        return request


@pytest.mark.parametrize(
    ("user", "action_id", "value", "told"),
    [
        (MANAGER, ids.APPROVE, "999999:1", "does not exist"),
        (MANAGER, ids.ASK_OWNER, "999999:1", "does not exist"),
        (MANAGER, ids.DECLINE, "999999", "does not exist"),
        (REP, ids.CANCEL, "999999", "does not exist"),
        (OWNER, ids.CHECKIN_ANSWER, "999999:happy", "no longer exists"),
        (OWNER, ids.CHECKIN_WITH_NOTE, "999999", "no longer exists"),
        (REP, ids.OUTCOME, "999999:helped", "does not exist"),
        (REP, ids.OUTCOME_DETAILS, "999999", "does not exist"),
        # Values no refbot button ever carried: told the button is out of date, not "something went wrong".
        (MANAGER, ids.APPROVE, f"{'9' * 40}:1", "out of date"),
        (MANAGER, ids.APPROVE, "²:1", "out of date"),
        (REP, ids.CANCEL, "-3", "out of date"),
        (OWNER, ids.CHECKIN_ANSWER, f"{'9' * 40}:happy", "out of date"),
        (OWNER, ids.CHECKIN_ANSWER, "1:ecstatic", "out of date"),
        (REP, ids.OUTCOME, "²:helped", "out of date"),
        (REP, ids.OUTCOME, "1:brilliant", "out of date"),
    ],
)
def test_values_naming_missing_records_are_refused_plainly(
    slack: SignedClient,
    fake: FakeSlack,
    db: Database,
    user: str,
    action_id: str,
    value: str,
    told: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    response = slack.block_action(user, action_id, value=value)
    assert response.status == 200
    fake.wait_for(lambda f: _ephemerals_with(f, user, told))
    assert fake.views(user) == []
    assert not [e for e in fake.ephemerals(user) if "Something went wrong" in blob(e)]
    _no_traceback(caplog)


def test_command_naming_a_huge_or_odd_number_is_answered(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    for text in (f"cancel {'9' * 40}", "cancel ²", "cancel #-1"):
        assert slack.command(REP, text).status == 200
    fake.wait_for(lambda f: len(_ephemerals_with(f, REP, "For example `/reference cancel 12`")) == 3)


def test_deleted_request_in_a_form_is_answered_in_the_form(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    gone = ReferenceRequest(id=987654, prospect="Gone Inc", requester_id=REP, ref_type="call", status="submitted")
    for user, view, values, block in [
        (MANAGER, request_views.decline_modal(gone), {"reason": "Too early"}, "reason"),
        (REP, outcome_views.outcome_modal(gone, ("Discovery",)), {"outcome": "helped"}, "feedback"),
    ]:
        answer = slack.view_submission(user, view, values).json()
        assert answer["response_action"] == "errors"
        assert "does not exist" in answer["errors"][block]
    checkin = CheckIn(id=987654, status="pending")
    customer = Customer(id=987654, name="Gone Inc")
    answer = slack.view_submission(OWNER, checkin_views.checkin_modal(checkin, customer), {"answer": "happy"}).json()
    assert answer["response_action"] == "errors" and "no longer exists" in answer["errors"]["note"]


@pytest.mark.parametrize("metadata", ['{"request_id": true}', f'{{"request_id": {10**30}}}', '"7"', "[7]", "{"])
def test_odd_private_metadata_is_out_of_date(
    slack: SignedClient, fake: FakeSlack, db: Database, metadata: str, caplog: pytest.LogCaptureFixture
) -> None:
    view = {
        **request_views.decline_modal(ReferenceRequest(id=1, prospect="x", requester_id=REP)),
        "private_metadata": metadata,
    }
    answer = slack.view_submission(MANAGER, view, {"reason": "Too early"}).json()
    assert answer["response_action"] == "errors"
    assert "no longer matches" in answer["errors"]["reason"]
    _no_traceback(caplog)


def test_another_users_request_cannot_be_cancelled_with_a_forged_value(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    """Cancel buttons carry a request id; one naming someone else's request is refused, not obeyed."""
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    theirs = request_submitted(slack, fake)  # REP's
    slack.block_action(OTHER, ids.CANCEL, value=str(theirs))
    fake.wait_for(lambda f: _ephemerals_with(f, OTHER, "can cancel it"))
    assert status_of(db, theirs) == RequestStatus.SUBMITTED


# -- another workspace ----------------------------------------------------------------------------------------


def test_another_workspace_is_refused_before_anything_happens(
    slack: SignedClient, fake: FakeSlack, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed with our secret (the app installed twice) but from team TEVIL: nothing is read or written."""
    caplog.set_level(logging.WARNING, logger="handlers.middleware")
    with db.transaction() as session:
        factories.customer(session, "Acme Corp")
    request_id = request_submitted(slack, fake)
    settle(db)
    time.sleep(0.3)
    calls_before = len(fake.calls())
    deliveries = _deliveries(db)

    command = slack.command(MANAGER, "request Evil", team_id="TEVIL")
    assert command.status == 200
    assert "only works in the workspace it was set up for" in command.json()["text"]
    assert command.json()["response_type"] == "ephemeral"
    for response in (
        slack.block_action(MANAGER, ids.APPROVE, value=f"{request_id}:1", team_id="TEVIL"),
        slack.block_action(REP, ids.CANCEL, value=str(request_id), team_id="TEVIL"),
        slack.view_submission(
            MANAGER, request_views.decline_modal(_request(db, request_id)), {"reason": "x"}, team_id="TEVIL"
        ),
        slack.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"}, team_id="TEVIL"),
        slack.block_suggestion(REP, ids.SPECIFIC_CUSTOMER, "acme", view=request_views.request_modal(), team_id="TEVIL"),
    ):
        assert response.status == 200
        assert not response.body.strip()
    time.sleep(0.5)
    assert status_of(db, request_id) == RequestStatus.SUBMITTED
    assert _deliveries(db) == deliveries, "a foreign request must not even be remembered"
    new_calls = [c.method for c in fake.calls()[calls_before:]]
    assert new_calls == [], new_calls
    refusals = [r.getMessage() for r in caplog.records if "TEVIL" in r.getMessage()]
    assert len(refusals) == 6
    # Our own workspace still works, and auth.test (our team id) was asked once for the whole process.
    assert slack.command(REP, "help").status == 200
    assert len(fake.calls("auth.test")) == 1


def test_connect_modal_names_the_installing_team(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """A modal opened in our workspace from a Slack Connect channel: the clicker's team is another, but
    `view.app_installed_team_id` is ours, and that is what decides (Bolt reads it first)."""
    payload = {
        "type": "view_submission",
        "team": {"id": "TPARTNER", "domain": "partner"},
        "user": {"id": "UPARTNER1", "team_id": "TPARTNER"},
        "trigger_id": "5150.1.connect",
        "view": {
            "id": "VCONNECT1",
            "type": "modal",
            "callback_id": "old.form",
            "team_id": "TPARTNER",
            "app_installed_team_id": "T0FAKE",
            "state": {"values": {}},
            "private_metadata": "",
        },
    }
    response = slack._send_payload(payload, {})
    assert response.status == 200
    assert response.json()["response_action"] == "update"  # served (by the fallback), not refused
    payload["view"]["app_installed_team_id"] = "TPARTNER"
    payload["trigger_id"] = "5150.2.connect"
    assert not slack._send_payload(payload, {}).body.strip()  # refused: empty 200


# =====================================================================================================
# Part 2: every renderer, fed hostile text (hypothesis)
# =====================================================================================================

NOW = datetime(2030, 3, 4, 10, 30, tzinfo=UTC)
TODAY = NOW.date()
SETTINGS = Settings(managers=(MANAGER, MANAGER_2), timezone="Europe/Berlin")
IDS = (MANAGER, MANAGER_2, REP, OWNER, OTHER)

# Hostile pieces: mentions and pings, links, markup, entities, emoji, right-to-left text and overrides,
# control characters, and strings shaped like refbot's own markup.
TOKENS = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0EVIL|@team>",
    "<@UEVIL0001>",
    "<@UEVIL0001|boss>",
    "<#CEVIL0001>",
    "<#CEVIL0001|general>",
    "<https://evil.example|ok>",
    "<mailto:evil@example.com|mail>",
    "<!date^1700000000^{date}|soon>",
    "*bold* _italic_ ~strike~ `code`",
    "```\ncode block\n```",
    "> quoted\n>>> rest",
    "&amp; &lt; &gt; &",
    "<",
    ">",
    "&",
    "😀",
    "👩‍👩‍👧‍👦",
    "🇩🇪",
    "\U0001f9d1\U0001f3fd\u200d\U0001f4bb",
    "שלום עולם",
    "مرحبا بالعالم",
    "\u202eevil\u202c",
    "\u2066isolated\u2069",
    "\u200b\u200d\ufeff",
    "\x00\x07\x1b[31m\r\n",
    "\u2028\u2029\x85",
    "\n",
    "\t",
    ":white_check_mark: Approved by <@UMANAGER1>",
    "Acme Corp",
    "   ",
    "%s %(x)s {0} {x}",
]


# What /reference help lists is refbot's own text; what the person typed ("unknown") is theirs.
HELP_LINES = [("request [prospect]", "ask for a reference."), ("cancel <number>", "withdraw a request.")]


def _repeat(parts: list[str], length: int) -> str:
    text = "".join(parts) or "x"
    return (text * (length // len(text) + 1))[:length]


hostile_text = st.one_of(
    st.sampled_from(TOKENS),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=6).map("".join),
    st.builds(
        _repeat,
        st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4),
        st.sampled_from([75, 150, 151, 2000, 3000, 3001, 10_000]),
    ),
    st.text(max_size=40),
)
hostile_id = st.one_of(st.sampled_from(IDS), hostile_text)
small = st.integers(min_value=1, max_value=2**31 - 1)


@dataclass
class World:
    """One of everything a renderer takes, built in memory (never persisted) with hostile text throughout."""

    customer: Customer
    other: Customer
    contact: Contact
    request: ReferenceRequest
    checkin: CheckIn
    consent: Consent
    assessment: Assessment
    candidates: list[Candidate]
    audit: list[AuditEntry]
    texts: dict[str, str] = field(default_factory=dict)
    saved: Saved | None = None


def hostile_world(draw: Callable[[Any], Any], longest: str | None = None) -> World:
    """A world drawn by hypothesis; with `longest`, every text field is that string repeated to 10,000."""

    def text() -> str:
        return _repeat([longest], 10_000) if longest is not None else draw(hostile_text)

    def user() -> str:
        return text() if longest is not None and draw(st.booleans()) else draw(hostile_id)

    def words(max_size: int = 4) -> list[str]:
        return draw(st.lists(hostile_text, max_size=max_size))

    def customer(customer_id: int) -> Customer:
        record = Customer(
            id=customer_id,
            name=text() or "x",
            name_key="key",
            domain=text(),
            industry=text(),
            region=text(),
            segment=text(),
            products=words(),
            topics=words(),
            owner_slack_id=draw(st.one_of(st.none(), hostile_id)),
            owner_email=text(),
            referenceable=draw(st.booleans()),
            not_referenceable_reason=text(),
            guidance=text(),
            notes=text(),
            last_checkin_at=NOW - timedelta(days=draw(st.integers(0, 400))),
            last_checkin_answer=draw(st.sampled_from([*[h.value for h in Happiness], None])),
            created_at=NOW - timedelta(days=500),
        )
        return record

    acme = customer(1)
    other = customer(2)
    contact = Contact(id=draw(small), name=text(), title=text(), email=text(), is_primary=True)
    acme.contacts = [contact, Contact(id=draw(small), name=text(), title=text(), email=text())]
    consent = Consent(
        id=draw(small),
        ref_type=draw(st.sampled_from([t.value for t in RefType] + ["bogus<!channel>"])),
        approved_by=text(),
        approved_on=TODAY - timedelta(days=30),
        expires_on=draw(st.sampled_from([None, TODAY + timedelta(days=10), TODAY - timedelta(days=1)])),
        recorded_by=user(),
        recorded_at=NOW - timedelta(days=3),
    )
    acme.consents = [consent]
    acme.incidents = [
        Incident(
            id=draw(small),
            occurred_on=TODAY - timedelta(days=5),
            severity=text(),
            summary=text(),
            resolved=False,
            recorded_by=user(),
        ),
        Incident(
            id=draw(small),
            occurred_on=TODAY - timedelta(days=50),
            severity="minor",
            summary=text(),
            resolved=True,
            recorded_by=user(),
            resolved_by=user(),
            resolved_at=NOW - timedelta(days=1),
        ),
    ]
    status = draw(st.sampled_from(list(RequestStatus)))
    request = ReferenceRequest(
        id=draw(small),
        requester_id=user(),
        prospect=text(),
        ref_type=draw(st.sampled_from(list(RefType))).value,
        industry=text(),
        products=words(),
        region=text(),
        segment=text(),
        topics=words(),
        needed_by=draw(st.sampled_from([None, TODAY + timedelta(days=9)])),
        opportunity_amount=draw(st.sampled_from([None, Decimal("0"), Decimal("999999999999.99")])),
        notes=text(),
        source_permalink=draw(
            st.sampled_from(["", "https://acme.slack.com/archives/C0DEALS01/p1700000000123456", "https://x|<y>"])
        ),
        status=status.value,
        decided_by=user(),
        decided_at=NOW - timedelta(hours=2),
        decline_reason=text(),
        outcome=draw(st.sampled_from([None, *[o.value for o in Outcome]])),
        outcome_by=user(),
        outcome_at=NOW,
        deal_stage=text(),
        deal_won=draw(st.sampled_from([None, True, False])),
        amount_influenced=draw(st.sampled_from([None, Decimal("120000.00")])),
        feedback=text(),
        created_at=NOW - timedelta(days=3),
    )
    request.customer = acme
    request.contact = contact
    request.specific_customer = draw(st.sampled_from([None, other]))
    answered = draw(st.booleans())
    checkin = CheckIn(
        id=draw(small),
        purpose=draw(st.sampled_from(list(CheckInPurpose))).value,
        status=(CheckInStatus.ANSWERED if answered else draw(st.sampled_from(list(CheckInStatus)))).value,
        asked_of=user(),
        asked_by=user(),
        asked_at=NOW - timedelta(days=2),
        answer=draw(st.sampled_from(list(Happiness))).value,
        nps=draw(st.sampled_from([None, 0, 10])),
        note=text(),
        answered_by=user(),
        answered_at=NOW - timedelta(days=1),
    )
    checkin.customer = acme
    checkin.request = draw(st.sampled_from([None, request]))
    earlier = CheckIn(
        id=draw(small),
        purpose="periodic",
        status="answered",
        asked_of=user(),
        asked_by=user(),
        asked_at=NOW - timedelta(days=40),
        answer="concerns",
        note=text(),
        answered_by=user(),
        answered_at=NOW - timedelta(days=39),
    )
    earlier.customer = acme
    assessment = Assessment(
        customer=acme,
        blockers=words(3),
        warnings=words(3),
        needs_checkin=draw(st.booleans()),
        last_checkin=draw(st.sampled_from([None, checkin, earlier])),
        uses_in_window=draw(st.integers(0, 9)),
        contact=contact,
    )
    candidates = [
        Candidate(assessment=assessment, score=87.5, fits=words(), pinned=draw(st.booleans())),
        Candidate(
            assessment=Assessment(customer=other, blockers=words(2), warnings=words(2)),
            score=10.0,
            fits=words(2),
        ),
    ]
    audit = [
        AuditEntry(
            id=draw(small),
            at=NOW - timedelta(hours=1),
            actor=user(),
            action=draw(
                st.sampled_from(
                    [
                        "customer.updated",
                        "customer.consent_recorded",
                        "customer.created",
                        "customer.updated_by_import",
                        "customer.contacts_changed",
                        "customer.incident_added",
                        text(),
                    ]
                )
            ),
            entity="customer",
            entity_id=str(acme.id),
            details=draw(
                st.sampled_from(
                    [
                        {"changes": {"name": [text(), text()], "products": [[text()], [text(), text()]]}},
                        {"ref_type": "case_study", "approved_by": text(), "approved_on": "2030-01-01"},
                        {"summary": text(), "severity": text()},
                        {"fields": {"name": text(), text(): text(), "products": [text()], "owner_slack_id": user()}},
                        {"file": text(), "conflicts": [{"field": text(), "old": text(), "new": text(), "line": 3}]},
                        {"added": [text(), text()], "removed": [text()], "primary": text(), text(): [{text(): text()}]},
                        {},
                    ]
                )
            ),
        )
    ]
    texts = {key: text() for key in ("query", "typed", "unknown", "suggestion", "stage", "name")}
    saved = Saved(customer_id=acme.id, name=text(), created=draw(st.booleans()), changes=tuple(words(6)))
    return World(acme, other, contact, request, checkin, consent, assessment, candidates, audit, texts, saved)


def _page(world: World) -> SearchPage:
    query = SearchQuery(text=world.texts["query"], words=(world.texts["query"][:50],), ref_type=RefType.CASE_STUDY)
    results = [
        SearchResult(assessment=world.assessment, relevance=1.0, fits=world.candidates[0].fits),
        SearchResult(assessment=world.candidates[1].assessment, relevance=0.5),
    ]
    return SearchPage(query=query, results=results, offset=10, total=1234, ranked=300)


def _import_preview(world: World) -> Any:
    """A dry run's findings full of hostile names, skipped reasons and owners, many of each."""
    from bot.importing import ImportReport, Skipped, UnresolvedOwner
    from bot.slack_import import Preview

    text = world.texts
    report = ImportReport(
        files=[text["name"]],
        created=3,
        updated=2,
        merged=1,
        rows_read=40,
        skipped=[Skipped(line, text["typed"], text["name"]) for line in range(2, 40)],
        unresolved_owners=[UnresolvedOwner(text["name"], text["query"], text["stage"], text["name"], 3)] * 4,
        dry_run=True,
    )
    return Preview(text["name"], [f"{text['query']} → name", text["unknown"]] * 30, report)


def _profile(world: World) -> Profile:
    use = ReferenceUse(id=1, customer_id=world.customer.id, ref_type="call", used_at=NOW - timedelta(days=4))
    uses = [PastUse(use=use, request=world.request), PastUse(use=use, request=None)]
    return Profile(
        customer=world.customer,
        assessment=world.assessment,
        uses=uses,
        uses_total=40,
        changes=world.audit * 3,
        changes_total=99,
    )


def _can_use(world: World, answer: str) -> CanUse:
    """A can-use verdict of each kind: blocked ("no"), waiting for a check-in ("not_yet"), or "yes"."""
    base = world.assessment
    blockers = (base.blockers or [world.texts["typed"] or "blocked"]) if answer == "no" else []
    verdict = Assessment(
        customer=world.customer,
        blockers=blockers,
        warnings=base.warnings,
        needs_checkin=answer == "not_yet",
        last_checkin=base.last_checkin,
        uses_in_window=base.uses_in_window,
        contact=base.contact,
    )
    result = CanUse(assessment=verdict, ref_type=RefType.CASE_STUDY, consent=world.consent)
    assert result.answer == answer
    return result


# Every pure renderer in bot/views/, with what it is given. `kind` says which validator applies.
RENDERERS: list[tuple[str, str, Callable[[World], dict[str, Any]]]] = [
    ("requests.request_modal", "view", lambda w: request_views.request_modal(w.texts["name"], w.customer)),
    ("requests.request_modal(empty)", "view", lambda w: request_views.request_modal()),
    (
        "requests.request_modal(crm)",
        "view",
        lambda w: request_views.request_modal(
            w.texts["name"], crm="Salesforce", opportunity=(7, w.texts["name"]), amount=Decimal("120000.5")
        ),
    ),
    ("requests.link_modal", "view", lambda w: request_views.link_modal(w.request, "HubSpot")),
    ("crm.sync_error", "message", lambda w: crm_views.sync_error("Salesforce", "accounts", w.texts["name"])),
    ("requests.decline_modal", "view", lambda w: request_views.decline_modal(w.request)),
    (
        "requests.manager_card",
        "message",
        lambda w: request_views.manager_card(
            w.request, w.candidates, {w.customer.id: w.checkin}, w.checkin, SETTINGS, NOW
        ),
    ),
    (
        "requests.manager_card(submitted)",
        "message",
        lambda w: request_views.manager_card(
            _with_status(w.request, "submitted"), w.candidates, {w.other.id: w.checkin}, None, SETTINGS, NOW
        ),
    ),
    (
        "requests.manager_card(awaiting)",
        "message",
        lambda w: request_views.manager_card(
            _with_status(w.request, "awaiting_checkin"), [], {}, w.checkin, SETTINGS, NOW
        ),
    ),
    (
        "requests.manager_card(resting)",
        "message",
        lambda w: request_views.manager_card(
            _with_status(w.request, "submitted"),
            w.candidates,
            {},
            None,
            SETTINGS,
            NOW,
            resting=[(c, NOW.date()) for c in w.candidates * 3],
        ),
    ),
    (
        "audit.change_sentence",
        "message",
        lambda w: {
            "text": "Recent changes",
            "blocks": [{"type": "section", "text": md("\n".join(audit_views.change_sentence(e) for e in w.audit))}],
        },
    ),
    ("requests.receipt", "message", lambda w: request_views.receipt(w.request, SETTINGS)),
    (
        "requests.approved_notice",
        "message",
        lambda w: request_views.approved_notice(w.request, w.customer, w.contact, SETTINGS),
    ),
    (
        "requests.approved_notice(no contact)",
        "message",
        lambda w: request_views.approved_notice(w.request, w.customer, None, SETTINGS),
    ),
    ("requests.declined_notice", "message", lambda w: request_views.declined_notice(w.request, SETTINGS)),
    (
        "checkins.checkin_card",
        "message",
        lambda w: checkin_views.checkin_card(w.checkin, w.customer, w.checkin.request, SETTINGS),
    ),
    (
        "checkins.checkin_card(approval)",
        "message",
        lambda w: checkin_views.checkin_card(_pending(w.checkin), w.customer, w.request, SETTINGS),
    ),
    ("checkins.checkin_modal", "view", lambda w: checkin_views.checkin_modal(w.checkin, w.customer)),
    ("checkins.checkin_now_modal", "view", lambda w: checkin_views.checkin_now_modal(w.customer, SETTINGS)),
    (
        "checkins.owner_asked",
        "message",
        lambda w: {"text": checkin_views.owner_asked(w.customer, w.checkin, False, SETTINGS)},
    ),
    ("imports.import_modal", "view", lambda w: import_views.import_modal()),
    ("imports.preview_message", "message", lambda w: import_views.preview_message(_import_preview(w), "F0ABC123")),
    (
        "imports.progress_message",
        "message",
        lambda w: import_views.progress_message(w.texts["name"], w.texts["typed"]),
    ),
    (
        "imports.applied_message",
        "message",
        lambda w: import_views.applied_message(w.texts["name"], _import_preview(w).report),
    ),
    ("imports.cancelled_message", "message", lambda w: import_views.cancelled_message()),
    ("imports.failed_message", "message", lambda w: import_views.failed_message(w.texts["name"], w.texts["typed"])),
    ("incidents.record_modal", "view", lambda w: incident_views.record_modal(w.customer, NOW.date())),
    ("incidents.resolve_modal", "view", lambda w: incident_views.resolve_modal(w.customer)),
    (
        "incidents.recorded_notice",
        "message",
        lambda w: incident_views.recorded_notice(w.customer.incidents[0], SETTINGS),
    ),
    (
        "incidents.recorded_notice(resolved)",
        "message",
        lambda w: incident_views.recorded_notice(w.customer.incidents[1], SETTINGS),
    ),
    (
        "requests.prefilled_modal(from a message)",
        "view",
        lambda w: request_views.prefilled_modal(
            shadow.Prefill(shadow.Guess(prospect=w.texts["name"][:150]), w.texts["typed"][:2000]),
            "https://acme.slack.com/archives/C0DEALS01/p1700000000123456",
        ),
    ),
    (
        "checkins.checkin_result",
        "message",
        lambda w: checkin_views.checkin_result(w.checkin, w.customer, w.request, w.assessment.blockers, SETTINGS),
    ),
    (
        "outcomes.outcome_modal",
        "view",
        lambda w: outcome_views.outcome_modal(w.request, ("Discovery", "Closed won")),
    ),
    (
        "help.help_message",
        "message",
        lambda w: help_views.help_message(HELP_LINES, True, unknown=w.texts["unknown"], suggestion="request"),
    ),
    (
        "refusals.refusal(cannot use)",
        "message",
        lambda w: {
            "text": refusal_views.refusal(
                Ineligible(CannotUse(w.customer.name, 1, w.request.prospect, (w.texts["name"], w.texts["unknown"]))),
                SETTINGS.tz,
            )
        },
    ),
    (
        "refusals.refusal(stands)",
        "message",
        lambda w: {
            "text": refusal_views.refusal(
                InvalidTransition(RequestStands(1, w.request.prospect, "declined", w.request.decided_by, NOW)),
                SETTINGS.tz,
            )
        },
    ),
    (
        "refusals.refusal(owner)",
        "message",
        lambda w: {
            "text": refusal_views.refusal(NotAllowed(OnlyOwner(w.checkin.asked_of, w.customer.name)), SETTINGS.tz)
        },
    ),
    (
        "forms.modal",
        "view",
        lambda w: form_views.modal(
            "x.submit",
            w.texts["name"],
            w.texts["unknown"],
            [
                form_views.text_input(
                    "notes", w.texts["name"], initial=w.texts["unknown"], limit=3000, hint=w.texts["name"]
                )
            ],
            close=w.texts.get("typed", "Back"),
            request_id=1,
        ),
    ),
    (
        "notices.form_not_opened",
        "message",
        lambda w: {"text": notice_views.form_not_opened("the form", w.texts["unknown"], 400)},
    ),
    ("followups.checkin_round", "message", lambda w: followup_views.checkin_round(_round(w), SETTINGS, NOW)),
    (
        "followups.checkin_round(reminder)",
        "message",
        lambda w: followup_views.checkin_round(_round(w), SETTINGS, NOW, reminder=True),
    ),
    (
        "followups.escalation",
        "message",
        lambda w: followup_views.escalation(
            {w.checkin.asked_of: [w.checkin] * 12, **{f"U{i:08d}": [w.checkin] for i in range(40)}}, SETTINGS
        ),
    ),
    ("followups.ownerless", "message", lambda w: followup_views.ownerless([w.customer, w.other] * 20)),
    ("followups.checkin_alert", "message", lambda w: followup_views.checkin_alert(_answered(w.checkin), SETTINGS)),
    ("followups.sla_reminder", "message", lambda w: followup_views.sla_reminder(w.request, SETTINGS, NOW)),
    ("followups.outcome_ask", "message", lambda w: followup_views.outcome_ask(w.request, SETTINGS)),
    (
        "followups.outcome_ask(reminder, open)",
        "message",
        lambda w: followup_views.outcome_ask(_with_outcome(w.request, None), SETTINGS, reminder=True),
    ),
    ("followups.negative_feedback", "message", lambda w: followup_views.negative_feedback(w.request, SETTINGS)),
    ("followups.consent_expiring", "message", lambda w: followup_views.consent_expiring(_expiring(w), TODAY)),
    ("customers.find_results", "message", lambda w: customer_views.find_results(_page(w), SETTINGS, NOW)),
    (
        "customers.find_results(none)",
        "message",
        lambda w: customer_views.find_results(
            SearchPage(query=SearchQuery(text=w.texts["query"]), results=[], offset=0, total=0, ranked=0), SETTINGS, NOW
        ),
    ),
    (
        "customers.did_you_mean",
        "message",
        lambda w: customer_views.did_you_mean(w.texts["typed"], [w.customer, w.other]),
    ),
    (
        "customers.profile(manager)",
        "message",
        lambda w: customer_views.profile(_profile(w), SETTINGS, NOW, is_manager=True),
    ),
    (
        "customers.profile(rep)",
        "message",
        lambda w: customer_views.profile(_profile(w), SETTINGS, NOW, is_manager=False),
    ),
    *[
        (
            f"customers.can_use_message({answer})",
            "message",
            (lambda a: lambda w: customer_views.can_use_message(_can_use(w, a), SETTINGS, NOW))(answer),
        )
        for answer in ("yes", "no", "not_yet")
    ],
    (
        "customers.can_use_choices",
        "message",
        lambda w: customer_views.can_use_choices(w.texts["typed"], [w.customer, w.other], RefType.LOGO),
    ),
    (
        "customers.customer_modal(edit)",
        "view",
        lambda w: customer_views.customer_modal(w.customer, fingerprint="f" * 20),
    ),
    ("customers.customer_modal(add)", "view", lambda w: customer_views.customer_modal(None, name=w.texts["name"])),
    ("customers.saved_view", "view", lambda w: customer_views.saved_view(w.saved)),
]


# -- the renderers that arrived with the digest, the App Home and shadow-market capture ----------------------

# Imported here, not at the top: each module lands with its feature, and the test covers what exists.
OPTIONAL_VIEWS = ("digest", "home", "shadow")


def _requests(world: World, count: int) -> list[ReferenceRequest]:
    """`count` requests (distinct ids, every status in turn) carrying the world's hostile text."""
    template = world.request
    out = []
    for index in range(count):
        status = list(RequestStatus)[index % len(RequestStatus)]
        request = ReferenceRequest(
            id=1000 + index,
            requester_id=template.requester_id,
            prospect=template.prospect,
            ref_type=template.ref_type,
            status=status.value,
            decided_by=template.decided_by,
            decided_at=template.decided_at,
            decline_reason=template.decline_reason,
            outcome=Outcome.HURT.value if status == RequestStatus.COMPLETED else None,
            outcome_by=template.outcome_by,
            feedback=template.feedback,
            notes=template.notes,
            needed_by=template.needed_by,
            created_at=NOW - timedelta(days=index + 1),
        )
        request.customer = world.customer if index % 2 else None
        out.append(request)
    return out


def _digest(world: World) -> Any:
    from bot import digest as dg

    tz = SETTINGS.tz
    period = dg.week_of(TODAY, tz)
    name, owner = world.customer.name, world.customer.owner_slack_id
    counts = dg.Counts(received=12, approved=9, completed=4, helped=3, hurt=1, amount_influenced=Decimal("120000"))
    people = [dg.CustomerCount(i, name, owner, 9 - i) for i in range(1, 9)]
    return dg.Digest(
        period=period,
        before=dg.previous(period, tz),
        as_of=NOW,
        counts=counts,
        counts_before=dg.Counts(),
        to_decision=dg.Timing(9, 5.5, 30.0),
        to_decision_before=dg.Timing(),
        to_fulfilment=dg.Timing(4, 50.0, 90.0),
        to_fulfilment_before=dg.Timing(2, 40.0, 41.0),
        quarter=dg.quarter_of(TODAY, tz),
        quarter_counts=counts,
        references_window="Q1 2030 to date",  # refbot's own words for the period
        top_references=people[:5],
        over_limit=people,
        over_limit_total=40,
        expiring=[dg.ExpiringConsent(i, name, "case_study", TODAY + timedelta(days=i)) for i in range(1, 9)],
        expiring_total=30,
        stale=[dg.StaleCustomer(i, name, NOW - timedelta(days=40 + i)) for i in range(1, 9)],
        stale_total=99,
        stale_asked=3,
        at_risk=[dg.AtRiskCustomer(i, name, owner, "unhappy", 2) for i in range(1, 9)],
        quiet_owners=[dg.QuietOwner(world.checkin.asked_of, 4, NOW - timedelta(days=6))],
        waiting=[
            dg.WaitingRequest(r.id, r.prospect, r.requester_id, r.status, r.created_at, name)
            for r in _requests(world, 8)
        ],
        waiting_total=20,
        thanks_customers=people,
        thanks_total=30,
        thanks_owners=[(world.checkin.asked_of, 3), (OWNER, 2)],
    )


def _home(world: World, expanded: str | None = None) -> Any:
    from bot import home as hm

    name, owner = world.customer.name, world.customer.owner_slack_id
    requests = _requests(world, 12)
    top = hm.TopCandidate(world.customer.id, name, needs_checkin=True, score=80.0, fits=tuple(world.candidates[0].fits))
    queue = [hm.QueueItem(r, top=top if i % 2 else None, waiting_on=world.checkin) for i, r in enumerate(requests[:6])]
    pending = []
    for index in range(4):
        checkin = CheckIn(
            id=2000 + index,
            purpose=world.checkin.purpose,
            status=CheckInStatus.PENDING.value,
            asked_of=world.checkin.asked_of,
            asked_by=world.checkin.asked_by,
            asked_at=NOW - timedelta(days=index),
            note=world.checkin.note,
        )
        checkin.customer = world.customer
        checkin.request = requests[index]
        pending.append(checkin)
    facts = hm.ProgramFacts(
        checkins=hm.Shown(
            [hm.AwaitingCheckin(3000 + i, name, world.checkin.asked_of, NOW, 1000 + i, bool(i % 2)) for i in range(5)],
            total=17,
        ),
        at_risk=hm.Shown(
            [hm.AtRisk(i, name, owner, "unhappy", NOW, 1, None) for i in range(1, 4)]
            + [hm.AtRisk(9, name, None, None, None, None, NOW - timedelta(days=9))],
            total=12,
        ),
        consents=hm.Shown([hm.ExpiringConsent(i, name, "logo", TODAY, world.consent.approved_by) for i in range(3)], 9),
        headline=hm.Headline("Q1 2030", NOW - timedelta(days=60), 40, 30, 20, 15, Decimal("2500000")),
    )
    health = [
        hm.CustomerHealth(i, name, answer, NOW - timedelta(days=i), 7, stale=bool(i % 2), waiting=bool(i % 3))
        for i, answer in enumerate(["happy", "concerns", "unhappy", None], start=1)
    ]
    rep = hm.RepHome(
        requests=hm.Shown([hm.RepRequest(r, outcome_due=bool(i % 2), due_at=NOW) for i, r in enumerate(requests)], 30),
        counts={"open": 3, "approved": 2},
    )
    return hm.Home(
        user=MANAGER,
        manager=hm.ManagerHome(queue=hm.Shown(queue, total=25), facts=facts),
        owner=hm.OwnerHome(checkins=hm.Shown(pending, total=9), customers=hm.Shown(health, total=14)),
        rep=rep,
        expanded=expanded,
    )


def _shadow_reply(world: World) -> dict[str, Any]:
    from bot.views import shadow as shadow_views

    # Industry and region are labels from refbot's own lists; the prospect is lifted from the person's message.
    guess = shadow.Guess(RefType.CASE_STUDY, "Fintech", "EMEA", world.texts["name"])
    value = shadow.Prefill(guess, world.request.notes).to_value()
    return shadow_views.ask_reply(guess, world.candidates, value)


def _shadow_answers(world: World) -> dict[str, Any]:
    from bot.views import shadow as shadow_views
    from models import WatchedChannel

    record = WatchedChannel(channel_id="C0SALES", enabled_by=world.checkin.asked_by, enabled_at=NOW)
    channel = world.texts["name"]
    texts = [
        shadow_views.watching(channel, record, True, SETTINGS.tz),
        shadow_views.watching(channel, record, False, SETTINGS.tz),
        shadow_views.unwatched(channel, True),
        shadow_views.unwatched(channel, False),
    ]
    return {"text": "\n".join(texts)}


def _optional_renderers() -> list[tuple[str, str, Callable[[World], dict[str, Any]]]]:
    from pathlib import Path

    views = Path(__file__).resolve().parent.parent / "bot" / "views"
    present = {name for name in OPTIONAL_VIEWS if (views / f"{name}.py").exists()}
    out: list[tuple[str, str, Callable[[World], dict[str, Any]]]] = []
    if "digest" in present:
        from bot.views import digest as digest_views

        out += [
            ("digest.digest_message", "message", lambda w: digest_views.digest_message(_digest(w), SETTINGS)),
            (
                "digest.digest_message(chart)",
                "message",
                lambda w: digest_views.digest_message(_digest(w), SETTINGS, chart="F0CHART1"),
            ),
            ("digest.stats_message", "message", lambda w: digest_views.stats_message(_digest(w), SETTINGS)),
            ("digest.unknown_period", "message", lambda w: digest_views.unknown_period(w.texts["typed"])),
            (
                "requests.mine_message",
                "message",
                lambda w: request_views.mine_message(_requests(w, 20), {1002: NOW, 1008: None}, SETTINGS, NOW),
            ),
        ]
    if "home" in present:
        from bot import home as hm
        from bot.views import home as home_views

        out.append(("home.home_view", "view", lambda w: home_views.home_view(_home(w), SETTINGS, NOW)))
        for section_name in (
            hm.QUEUE,
            hm.CHECKINS,
            hm.AT_RISK,
            hm.CONSENTS,
            hm.OWNER_CHECKINS,
            hm.CUSTOMERS,
            hm.REQUESTS,
        ):
            out.append(
                (
                    f"home.home_view({section_name})",
                    "view",
                    (lambda n: lambda w: home_views.home_view(_home(w, n), SETTINGS, NOW))(section_name),
                )
            )
    if "shadow" in present:
        out += [
            ("shadow.ask_reply", "message", _shadow_reply),
            ("shadow.watching/unwatched", "message", _shadow_answers),
        ]
    return out


def _with_status(request: ReferenceRequest, status: str) -> ReferenceRequest:
    request.status = status
    return request


def _with_outcome(request: ReferenceRequest, outcome: str | None) -> ReferenceRequest:
    request.outcome = outcome
    return request


def _pending(checkin: CheckIn) -> CheckIn:
    checkin.status = CheckInStatus.PENDING.value
    checkin.purpose = CheckInPurpose.APPROVAL.value
    return checkin


def _answered(checkin: CheckIn) -> CheckIn:
    checkin.status = CheckInStatus.ANSWERED.value
    return checkin


def _round(world: World) -> list[CheckIn]:
    out = []
    for index, status in enumerate(["pending", "answered", "cancelled"] * 4):
        item = CheckIn(
            id=index + 1,
            purpose="periodic",
            status=status,
            asked_of=world.checkin.asked_of,
            asked_by=world.checkin.asked_by,
            asked_at=NOW,
            answer="happy",
            nps=7,
            note=world.checkin.note,
            answered_by=world.checkin.answered_by,
            answered_at=NOW,
        )
        item.customer = world.customer if index % 2 else world.other
        out.append(item)
    return out


def _expiring(world: World) -> Consent:
    consent = world.consent
    consent.ref_type = RefType.LOGO.value
    consent.expires_on = TODAY + timedelta(days=7)
    return consent


# -- the oracle ----------------------------------------------------------------------------------------------

# The only `<…>` tokens refbot itself writes: user mentions of real-looking ids and localised dates.
OWN_MARKUP = re.compile(
    r"<@[UW][A-Z0-9]{2,}>|<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>]*>"
    # the link back to the Slack message a request came from (bot.message_requests.source_link checks it)
    r"|<https://[a-z0-9-]+(?:\.enterprise)?\.slack\.com/archives/[A-Z0-9]+/p[0-9]+(?:\?[^|<>]*)?\|From this message>"
)
HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# Keys whose strings Slack never renders as text (ids and values), or shows verbatim in an input.
NOT_SHOWN = {"action_id", "block_id", "value", "callback_id", "private_metadata", "initial_value", "url", "type"}


def _shown_strings(node: Any, key: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _shown_strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _shown_strings(item, key)
    elif isinstance(node, str) and key not in NOT_SHOWN:
        yield node


def check_output(output: dict[str, Any], kind: str) -> list[str]:
    """Every problem with one rendered message or view: Block Kit violations, then injected markup."""
    problems = list(validate_view(output) if kind == "view" else validate_message(output))
    for text in _shown_strings(output):
        leftover = OWN_MARKUP.sub("", text)
        if "<" in leftover or ">" in leftover:
            start = max(leftover.find("<"), leftover.find(">"), 0)
            problems.append(f"raw markup in {leftover[max(0, start - 30) : start + 40]!r}")
        if "<@UEVIL" in text or "<#C" in text:
            problems.append(f"a mention from user text survived: {text[:80]!r}")
        if HIDDEN.search(text):
            problems.append(f"a control or bidi-override character survived: {text[:80]!r}")
    return problems


RENDERERS += _optional_renderers()


def _asset(w: World, asset_id: int = 7) -> Any:
    from models import Asset

    return Asset(
        id=asset_id, customer=w.customer, customer_id=w.customer.id, kind="quote", consent_type="quote",
        title=w.texts["name"] or "x", title_key="k", link=w.texts["typed"], published_on=NOW.date(),
        expires_on=NOW.date(), industry=w.texts["query"], products=[w.texts["unknown"]], topics=[w.texts["stage"]],
        added_by=w.request.requester_id,
    )  # fmt: skip


def _judged(w: World, usable: bool, asset_id: int = 7) -> Any:
    from bot.assets import Judged
    from bot.eligibility import ContentVerdict

    verdict = ContentVerdict(
        asset=_asset(w, asset_id), assessment=w.assessment,
        blockers=[] if usable else list(w.assessment.blockers) or ["x"],
        ask_owner=not usable, ask_managers=not usable,
    )  # fmt: skip
    return Judged(verdict, 3, 80.0, list(w.candidates[0].fits))


def _content_renderers() -> list[tuple[str, str, Callable[[World], dict[str, Any]]]]:
    from bot.assets import AssetPage, AssetQuery, Library, ProfileWithLibrary
    from bot.nominations import Nominee
    from bot.program import AssetCount, LapsingAsset, Program
    from bot.views import assets as asset_views
    from bot.views import nominations as nomination_views
    from bot.views import program as program_views
    from bot.views import thanks as thanks_views
    from models import AssetUse, Nomination, Thanks

    def page(w: World) -> Any:
        query = AssetQuery(text=w.texts["query"], query=SearchQuery(text=w.texts["query"]))
        return AssetPage(query, [_judged(w, True), _judged(w, False, 8)], 4000)

    def nomination(w: World, status: str, nomination_id: int = 3) -> Any:
        return Nomination(
            id=nomination_id, customer=w.customer, customer_id=w.customer.id, nominated_by=w.request.requester_id,
            why=w.texts["typed"], contact_name=w.texts["name"] or "x", contact_title=w.texts["stage"],
            contact_email=w.texts["unknown"], kinds=["call", w.texts["query"]], status=status,
            decided_by=w.request.requester_id, decline_reason=w.texts["suggestion"], created_at=NOW,
        )  # fmt: skip

    def thanks(w: World, status: str) -> Any:
        return Thanks(
            id=4, request=w.request, customer=w.customer, owner=w.request.requester_id,
            contact_name=w.texts["name"], status=status, note=w.texts["typed"], asked_at=NOW,
        )  # fmt: skip

    def program(w: World) -> Any:
        names = [w.texts["name"], w.texts["typed"]]
        return Program(
            [AssetCount(1, w.texts["name"], w.texts["typed"], 3)], 3, names, 9,
            [LapsingAsset(w.texts["name"], w.texts["typed"], "quote", NOW.date())], 4, 2, 1, 1, 10, 9, names, names,
            names, 7,
        )  # fmt: skip

    def message(blocks: list[dict[str, Any]]) -> dict[str, Any]:
        return {"text": "x", "blocks": blocks}

    nominee = lambda w: Nominee(w.customer, w.assessment)  # noqa: E731
    return [
        ("assets.asset_modal", "view", lambda w: asset_views.asset_modal(w.customer)),
        ("assets.asset_modal(typed)", "view", lambda w: asset_views.asset_modal(None, typed=w.texts["typed"])),
        ("assets.asset_added_view", "view", lambda w: asset_views.asset_added_view(_asset(w))),
        ("assets.asset_results", "message", lambda w: asset_views.asset_results(page(w), SETTINGS)),
        ("assets.use_modal", "view", lambda w: asset_views.use_modal(_asset(w))),
        (
            "assets.use_recorded_view",
            "view",
            lambda w: asset_views.use_recorded_view(AssetUse(asset=_asset(w), prospect=w.texts["typed"])),
        ),
        (
            "assets.profile_with_library",
            "message",
            lambda w: asset_views.profile_with_library(
                ProfileWithLibrary(_profile(w), Library([_judged(w, True), _judged(w, False, 8)], 30)),
                SETTINGS, NOW, is_manager=True,
            ),  # fmt: skip
        ),
        (
            "assets.content_blocks",
            "message",
            lambda w: message(asset_views.content_blocks([_judged(w, False)], SETTINGS)),
        ),
        ("nominations.nomination_modal", "view", lambda w: nomination_views.nomination_modal(nominee(w))),
        *(
            (
                f"nominations.nomination_card({status})",
                "message",
                lambda w, status=status: nomination_views.nomination_card(nomination(w, status), nominee(w), SETTINGS),
            )
            for status in ("pending", "accepted", "declined")
        ),
        ("nominations.decline_modal", "view", lambda w: nomination_views.decline_modal(nomination(w, "pending"))),
        ("nominations.decided_notice", "message", lambda w: nomination_views.decided_notice(nomination(w, "declined"))),
        ("nominations.nominated_view", "view", lambda w: nomination_views.nominated_view(nomination(w, "pending"))),
        ("nominations.offer_message", "message", lambda w: nomination_views.offer_message(w.customer, 10)),
        (
            "nominations.home_section",
            "message",
            lambda w: message(nomination_views.home_section([nomination(w, "pending", i) for i in range(1, 7)], 8)),
        ),
        *(
            (
                f"thanks.thanks_ask({status})",
                "message",
                lambda w, status=status: thanks_views.thanks_ask(thanks(w, status)),
            )
            for status in ("asked", "thanked", "not_now")
        ),
        ("thanks.thanked_modal", "view", lambda w: thanks_views.thanked_modal(thanks(w, "asked"))),
        ("program.program_sections", "message", lambda w: message(program_views.program_sections(program(w), "x"))),
    ]


RENDERERS += _content_renderers()

# Rendering is slow next to hypothesis's expectations (big strings, many renderers per example), and the suite
# must not leave an example database in the working tree.
HYPOTHESIS: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=60, **HYPOTHESIS)
@given(st.data())
def test_every_renderer_escapes_and_fits_hostile_text(data: st.DataObject) -> None:
    world = hostile_world(data.draw)
    failures: dict[str, list[str]] = {}
    for name, kind, render in RENDERERS:
        problems = check_output(render(world), kind)
        if problems:
            failures[name] = problems[:3]
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)[:4000]


@settings(max_examples=25, **HYPOTHESIS)
@given(st.data(), st.sampled_from(["<", "&", ">", "<!channel>", "😀", "\n", "\u202e", "x", "*"]))
def test_every_renderer_fits_ten_thousand_characters_in_every_field(data: st.DataObject, piece: str) -> None:
    """The worst case for the limits: every text field at once 10,000 characters that escape to up to 50,000."""
    world = hostile_world(data.draw, longest=piece)
    failures = {name: check_output(render(world), kind)[:3] for name, kind, render in RENDERERS}
    failures = {name: problems for name, problems in failures.items() if problems}
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)[:4000]


def test_the_oracle_catches_what_it_should() -> None:
    assert check_output({"text": "hi <!channel>"}, "message")
    assert check_output({"text": "hi <@UEVIL0001>"}, "message")
    assert check_output({"text": "x", "blocks": [{"type": "section", "text": md("a\u202eb")}]}, "message")
    assert check_output({"text": "x" * 40_001}, "message")
    assert check_output({"text": f"ok <@{MANAGER}> <!date^1^{{date_short_pretty}} {{time}}|then>"}, "message") == []


def test_the_renderer_list_covers_every_view_module() -> None:
    """A new module in bot/views/ gets a line in RENDERERS (or the hostile test silently skips it)."""
    from pathlib import Path

    covered = {name.split(".")[0] for name, _, _ in RENDERERS} | {"text", "__init__"}
    present = {p.stem for p in (Path(__file__).resolve().parent.parent / "bot" / "views").glob("*.py")}
    assert present - covered == set(), f"renderers not covered by the hostile-text test: {present - covered}"


# -- the text helpers themselves ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123|x>", "&lt;@U123|x&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp;", "&amp;amp;"),
        ("*_~`", "*_~`"),  # mrkdwn markup is left as typed: see bot/views/text.py
        ("evil\u202etxt.exe", "eviltxt.exe"),
        ("a\u2066b\u2069c", "abc"),
        ("bell\x07\x1b[0m", "bell[0m"),
        ("line\r\nbreak\ttab", "line\nbreak\ttab"),
        ("שלום 😀 مرحبا", "שלום 😀 مرحبا"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_safe_folds_lines_and_never_splits_an_entity() -> None:
    assert safe("Globex\n:white_check_mark: Approved", 100) == "Globex :white_check_mark: Approved"
    for limit in range(1, 40):
        out = safe("<" * 50, limit)
        assert len(out) <= limit
        assert re.fullmatch(r"(&lt;)*…?", out), out
    assert safe("😀" * 10_000, 75) == "😀" * 74 + ELLIPSIS


def test_quote_keeps_lines_within_its_budget() -> None:
    text = "\n".join(["<!here>"] * 5000)
    out = quote(text, 1500)
    assert len(out) <= 1500
    assert out.startswith("&gt; &lt;!here&gt;\n&gt; ")
    assert quote("a\n\n\n\nb") == "&gt; a\n&gt; \n&gt; b"
    assert quote("") == "&gt; "


def test_md_never_cuts_inside_a_mention_or_entity() -> None:
    text = "x" * 2990 + "<@UMANAGER1> &amp; more"
    out = md(text)["text"]
    assert len(out) <= 3000 and out.endswith(ELLIPSIS)
    assert "<@" not in out
    text = "x" * 2997 + "&amp;"
    assert md(text)["text"] == "x" * 2997 + ELLIPSIS


def test_mention_renders_only_whole_ids() -> None:
    assert mention("UMANAGER1") == "<@UMANAGER1>"
    assert mention("UMANAGER1\n") == "UMANAGER1 "
    assert mention("<!channel>") == "&lt;!channel&gt;"
    assert mention("") == "nobody"


def test_the_edit_form_preselects_only_a_real_slack_id_as_owner() -> None:
    """Found by the hostile-text test: an owner id with a control character went into `initial_user` raw."""
    for stored, shown in (("U0OWNER1", "U0OWNER1"), ("U\x08", None), ("U0OWNER1\n", None), ("olga", None)):
        customer = Customer(name="Acme Corp", owner_slack_id=stored, referenceable=True, products=[], topics=[])
        customer.contacts, customer.consents, customer.incidents = [], [], []
        view = customer_views.customer_modal(customer, fingerprint="f")
        (owner,) = [b for b in view["blocks"] if b.get("block_id") == "owner"]
        assert owner["element"].get("initial_user") == shown
