"""`refbot playground` without a browser: the workspace, its web API, its guards and its clock.

The browser test (`test_playground_browser.py`) clicks through the flow in Chromium; these check the
pieces under it directly, through the same Flask app the page uses.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.request import Request, urlopen

import pytest
from flask.testing import FlaskClient
from slack_sdk import WebClient
from sqlalchemy import select

from bot import demo, ids
from bot.cli import main
from models import Customer
from models.clock import ShiftedClock, running_on
from models.db import Database
from models.types import utcnow
from playground.server import is_loopback
from playground.web import create_web_app
from playground.workspace import DIGEST_CHANNEL, READ_ONLY_DM, SALES_CHANNEL, Workspace

HEADERS = {"X-Playground": "1"}


@pytest.fixture
def workspace() -> Iterator[Workspace]:
    running = Workspace().start()
    yield running
    running.stop()


@pytest.fixture
def client(workspace: Workspace) -> FlaskClient:
    return create_web_app(workspace, allowed_hosts=frozenset({"localhost"})).test_client()


def eventually(what: str, found: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout:g}s")


def state(client: FlaskClient, user: str, where: str = "dm") -> dict[str, Any]:
    response = client.get(f"/api/state?as={user}&where={where}")
    assert response.status_code == 200
    return response.get_json()


def post(client: FlaskClient, path: str, **body: Any) -> dict[str, Any]:
    response = client.post(path, json=body, headers=HEADERS)
    assert response.status_code == 200, response.data
    return response.get_json()


def test_the_page_says_it_is_a_local_playground_and_lists_the_people(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "not Slack" in page and "local playground" in page
    for _, name, role in demo.PEOPLE:
        assert name in page and role in page
    assert "Run the scheduled jobs now" in page and "Advance the clock by a week" in page


def test_only_this_page_can_act(client: FlaskClient, workspace: Workspace) -> None:
    # Another web page can send a simple POST to localhost, but not one with a custom header.
    assert client.post("/api/jobs", json={}).status_code == 403
    # A DNS-rebound name is not this server.
    assert client.get("/", headers={"Host": "evil.example:8765"}).status_code == 421
    assert client.get("/api/state?as=UNOBODY").status_code == 404
    assert client.get("/files/F000").status_code == 404
    headers = client.get("/").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"


def test_the_composer_sends_slash_commands_as_slack_does(client: FlaskClient) -> None:
    refused = post(client, "/api/command", **{"as": demo.REP, "text": "hello refbot"})
    assert refused == {"ok": False, "error": READ_ONLY_DM}
    post(client, "/api/command", **{"as": demo.REP, "text": "/refrence help"})
    post(client, "/api/command", **{"as": demo.REP, "text": "/reference help"})
    items = eventually("two ephemerals", lambda: len(state(client, demo.REP)["items"]) >= 2 and state(client, demo.REP))
    slackbot, help_text = items["items"][:2]
    assert "Slackbot" in slackbot["html"] and "is not a valid command" in slackbot["html"]
    assert "Only visible to you" in help_text["html"] and "/reference request" in help_text["html"]
    assert help_text["ephemeral"] and state(client, demo.MANAGER)["items"] == []  # nobody else sees them


def test_a_reference_ask_in_a_watched_channel_gets_a_private_answer(client: FlaskClient) -> None:
    post(client, "/api/command", **{"as": demo.MANAGER, "where": SALES_CHANNEL, "text": "/reference watch"})
    eventually("the watch to be on", lambda: state(client, demo.MANAGER, SALES_CHANNEL)["items"])
    ask = "anyone have a happy fintech customer in EMEA who'd talk to Globex?"
    assert post(client, "/api/command", **{"as": demo.REP, "where": SALES_CHANNEL, "text": ask})["ok"]
    seen = eventually(
        "refbot's private answer",
        lambda: [i for i in state(client, demo.REP, SALES_CHANNEL)["items"] if i["ephemeral"]],
    )
    assert "Only visible to you" in seen[0]["html"] and "Globex" in seen[0]["html"]
    everyone = state(client, demo.OWNER, SALES_CHANNEL)["items"]
    assert [i for i in everyone if "Riley Chen" in i["html"] and "Globex" in i["html"]]  # the ask itself, by Riley
    assert not [i for i in everyone if i["ephemeral"]]  # the answer is Riley's alone
    assert client.get(f"/api/state?as={demo.REP}&where=C0NOWHERE").status_code == 404


def test_a_request_form_its_errors_and_a_card_updated_in_place(client: FlaskClient, workspace: Workspace) -> None:
    post(client, "/api/command", **{"as": demo.REP, "text": "/reference request Globex"})
    modal = eventually("the form", lambda: state(client, demo.REP)["modal"])
    assert "Request a reference" in modal["html"] and 'value="Globex"' in modal["html"]
    # The customer picker asks refbot as the rep types, as Slack does for an external_select.
    typed = post(
        client,
        "/api/suggest",
        **{"as": demo.REP, "view_id": modal["view_id"], "action_id": ids.SPECIFIC_CUSTOMER, "query": "acm"},
    )
    assert {
        "value": str(_customer_id(workspace, "Acme Financial")),
        "label": "Acme Financial (acmefinancial.example)",
    } in typed["options"]
    form = {
        "prospect/prospect": "Globex",
        "ref_type/ref_type": "call",
        "industry/industry": "Fintech",
        "region/region": "EMEA",
        "products/products": "Payments",
        "opportunity_amount/opportunity_amount": "-5",
    }
    refused = post(client, "/api/submit", **{"as": demo.REP, "view_id": modal["view_id"], "values": form})
    assert refused == {"ok": False, "errors": {"opportunity_amount": "The amount cannot be negative."}}
    assert state(client, demo.REP)["modal"]["view_id"] == modal["view_id"]  # still open, as in Slack
    form["opportunity_amount/opportunity_amount"] = "120000"
    assert post(client, "/api/submit", **{"as": demo.REP, "view_id": modal["view_id"], "values": form})["ok"]
    assert state(client, demo.REP)["modal"] is None

    card = eventually("the manager's card", lambda: state(client, demo.MANAGER)["items"])[0]
    assert "Request #1: Reference call for Globex" in card["html"] and "@Riley Chen" in card["html"]
    surface = card["surface"]
    acme = _customer_id(workspace, "Acme Financial")
    approve = {"action_id": f"request.approve:{acme}", "kind": "button", "value": f"1:{acme}"}
    answer = post(client, "/api/action", **{"as": demo.MANAGER, "surface": json.loads(surface), "action": approve})
    assert answer == {"ok": True}
    changed = eventually(
        "the card to change",
        lambda: next(
            (i for i in state(client, demo.MANAGER)["items"] if i["key"] == card["key"] and i["hash"] != card["hash"]),
            None,
        ),
    )
    assert "approved as soon as" in changed["html"] and "(edited)" in changed["html"]
    assert workspace.violations() == []


def _customer_id(workspace: Workspace, name: str) -> int:
    with workspace.db.reading() as session:
        found = session.scalar(select(Customer.id).where(Customer.name == name))
    assert found is not None
    return found


def test_an_existing_database_is_used_as_it_is(db: Database, database_url: str) -> None:
    """`--database URL`: SQLite or PostgreSQL (with TEST_DATABASE_URL), read by the same bot, not re-seeded."""
    with db.transaction() as session:
        session.add(Customer(name="Initech", name_key="initech", owner_slack_id="U0PETER", products=[], topics=[]))
    workspace = Workspace(database_url=database_url).start()
    try:
        assert workspace.customers_seeded == 0  # it had customers: nothing of the demo's is added
        assert workspace.person("U0PETER").role == "account owner"  # its owners are people here too
        with workspace.db.reading() as session:
            assert session.scalars(select(Customer.name)).all() == ["Initech"]
        workspace.send(demo.REP, workspace.dm(demo.REP), "/reference find initech")
        found = eventually("the search's answer", lambda: workspace.conversation(demo.REP, workspace.dm(demo.REP)))
        assert found[0].ephemeral and "Initech" in json.dumps(found[0].payload)
    finally:
        workspace.stop()


def test_time_moves_for_refbot_and_the_jobs_run_at_the_new_time(client: FlaskClient, workspace: Workspace) -> None:
    before = datetime.now(UTC)
    first = post(client, "/api/jobs")
    assert any(line.startswith("checkins: DM to U0OLIVIA") for line in first["lines"]), first["lines"]
    again = post(client, "/api/jobs")
    assert any("checkins: already run" in line for line in again["lines"]), again["lines"]
    week = post(client, "/api/advance", by="week")
    assert "7 days ahead" in week["clock"]
    assert utcnow() - before >= timedelta(days=7)
    assert any(line.startswith("digest: Digest for") for line in week["lines"]), week["lines"]
    assert any(line.startswith("reminders: ") and "nothing due" not in line for line in week["lines"]), week["lines"]
    chart = eventually("the digest's chart", lambda: [u for u in workspace.fake.uploads() if u.data])[0]
    assert client.get(f"/files/{chart.file_id}").data[:4] == b"\x89PNG"
    channel = eventually("the digest in the channel", lambda: state(client, demo.MANAGER, DIGEST_CHANNEL)["items"])
    assert any(f"/files/{chart.file_id}" in item["html"] for item in channel)
    assert client.post("/api/advance", json={"by": "year"}, headers=HEADERS).status_code == 400


def test_the_clock_seam() -> None:
    clock = ShiftedClock()
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    real = utcnow()
    with running_on(clock):
        clock.advance(timedelta(days=3))
        assert utcnow() - real >= timedelta(days=3)
        with pytest.raises(RuntimeError), running_on(ShiftedClock()):
            pass
    assert utcnow() - real < timedelta(days=1)  # back on the system clock


def test_loopback_by_default_and_a_busy_port_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["playground", "--no-browser", "--port", str(port)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"refbot: cannot listen on 127.0.0.1:{port}") and "--port" in err
    assert len(err.splitlines()) == 1
    assert utcnow() - datetime.now(UTC) < timedelta(seconds=5)  # the failed start left the clock alone


def test_an_ephemeral_replaced_by_its_response_url_changes_in_place(workspace: Workspace) -> None:
    """`replace_original` on a clicked ephemeral (as `/reference find`'s paging does) replaces that one."""
    dm = workspace.dm(demo.REP)
    page_one = {
        "text": "page 1",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "page 1"}},
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Next"},
                        "action_id": "playground.test.next",
                        "value": "2",
                    }
                ],
            },
        ],
    }
    urlopen(_json_post(workspace.fake.response_url(demo.REP, channel=dm), page_one))
    first = eventually("the first page", lambda: workspace.conversation(demo.REP, dm))[0]
    workspace.act(
        demo.REP,
        {"kind": "ephemeral", "key": first.key, "channel": dm},
        {"action_id": "playground.test.next", "kind": "button", "value": "2"},
    )
    urlopen(_json_post(workspace.fake.response_url(demo.REP, channel=dm), {"text": "page 2", "replace_original": True}))
    shown = eventually(
        "the second page",
        lambda: [i for i in workspace.conversation(demo.REP, dm) if i.payload.get("text") == "page 2"],
    )
    assert shown[0].key == first.key and shown[0].ephemeral  # the same message, so the page updates it in place
    assert not [i for i in workspace.conversation(demo.REP, dm) if i.payload.get("text") == "page 1"]


def _json_post(url: str, body: dict[str, Any]) -> Request:
    return Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")


def test_refbot_playground_prints_its_url_serves_the_page_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "playground", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert first.startswith("refbot playground: http://localhost:"), first + (
            process.stderr.read() if process.stderr else ""
        )
        url = first.split(": ", 1)[1].strip()
        with urlopen(url, timeout=10) as page:
            assert "not Slack" in page.read().decode()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    out = process.stdout.read() if process.stdout else ""  # the rest, past the line read above
    err = process.stderr.read() if process.stderr else ""
    assert process.returncode == 0, err
    assert "local playground, not Slack" in out and "Seeded 8 demo customers" in out and "stopped" in out


def test_a_form_answered_with_an_update_becomes_the_new_view(client: FlaskClient) -> None:
    """`response_action: update` (the add-customer form turns into "Customer saved"), as Slack applies it."""
    post(client, "/api/command", **{"as": demo.MANAGER, "text": "/reference add Initech"})
    form = eventually("the add-customer form", lambda: state(client, demo.MANAGER)["modal"])
    assert 'value="Initech"' in form["html"] and 'data-kind="users_select"' in form["html"]
    answer = post(client, "/api/submit", **{"as": demo.MANAGER, "view_id": form["view_id"], "values": {}})
    assert answer == {"ok": True, "errors": {}}
    saved = state(client, demo.MANAGER)["modal"]
    assert saved["view_id"] == form["view_id"] and "Customer saved" in saved["html"] and "Initech" in saved["html"]
    assert "bk-modal-submit" not in saved["html"]  # only Done: nothing left to submit
    post(client, "/api/close", **{"as": demo.MANAGER, "view_id": saved["view_id"]})
    assert state(client, demo.MANAGER)["modal"] is None


def test_the_fake_refuses_an_invalid_replacement_view(workspace: Workspace) -> None:
    fake = workspace.fake
    trigger = fake.issue_trigger(demo.REP)
    view_id = WebClient(token=demo.BOT_TOKEN, base_url=fake.url).views_open(
        trigger_id=trigger, view={"type": "modal", "title": {"type": "plain_text", "text": "One"}, "blocks": []}
    )["view"]["id"]
    with pytest.raises(ValueError, match="title"):
        fake.replace_view(view_id, {"type": "modal", "title": {"type": "plain_text", "text": "x" * 30}, "blocks": []})
    assert fake.violations and fake.last_view(demo.REP)["title"]["text"] == "One"
    with pytest.raises(KeyError):
        fake.replace_view("V0NONE", {"type": "modal", "title": {"type": "plain_text", "text": "Two"}, "blocks": []})
