"""`refbot demo`: a whole reference request played on this machine, with no Slack workspace.

It starts the bot (the same `HttpServer` as `refbot serve`) and the project's own Slack fake on
loopback, seeds a small customer list in a temporary SQLite database, and drives the bot with properly
signed Slack requests: a rep asks for a reference, a reference manager approves the best candidate, its
account owner confirms the customer is still happy, and the rep gets the contact. Every message the bot
sends is printed as readable text, in its final (updated-in-place) state.

Nothing here reads the environment or `.env` except `REFBOT_LOG_LEVEL=DEBUG`, which shows library logs
and full tracebacks.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import ids
from bot.importer import name_key
from bot.settings import Settings
from models import Asset, CheckIn, Consent, Contact, Customer, Incident, OutboxMessage, ReferenceUse
from models.db import Database
from models.enums import AssetKind, CheckInPurpose, CheckInStatus, Happiness

WIDTH = 80
BOT_TOKEN = "xoxb-demo"
PROSPECT = "Globex"
CONTENT_PROSPECT = "Initrode"

REP = "U0RILEY"
MANAGER = "U0MORGAN"
OWNER = "U0OLIVIA"
OTHER_OWNER = "U0SAM"

# (user id, display name, role shown in the transcript)
PEOPLE = [
    (REP, "Riley Chen", "sales rep"),
    (MANAGER, "Morgan Lee", "reference manager"),
    (OWNER, "Olivia Park", "account owner"),
    (OTHER_OWNER, "Sam Ortiz", "account owner"),
]
FIRST_NAMES = {uid: name.split()[0] for uid, name, _ in PEOPLE}
ROLES = {uid: role for uid, _, role in PEOPLE}

QUIET_LOGGERS = ("refbot", "slack_bolt", "slack_sdk", "waitress", "alembic")

# Slack shows these shortcodes as pictures; a terminal can show most of them as Unicode.
EMOJI = {
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":no_entry:": "⛔",
    ":no_entry_sign:": "🚫",
    ":x:": "❌",
    ":heavy_minus_sign:": "➖",
    ":pushpin:": "📌",
    ":hourglass:": "⌛",
    ":hourglass_flowing_sand:": "⏳",
    ":inbox_tray:": "📥",
    ":wave:": "👋",
    ":mag:": "🔍",
    ":speech_balloon:": "💬",
    ":large_green_circle:": "🟢",
    ":large_yellow_circle:": "🟡",
    ":red_circle:": "🔴",
    ":leftwards_arrow_with_hook:": "↩️",
    ":checkered_flag:": "🏁",
}

# For a terminal that cannot show Unicode (an ASCII or Latin-1 locale): rules and bullets in plain ASCII.
ASCII_LINES = str.maketrans(
    {
        "═": "=",
        "━": "=",
        "─": "-",
        "┄": "-",
        "│": "|",
        "╔": "+",
        "╗": "+",
        "▶": ">",
        "·": "-",
        "“": '"',
        "”": '"',
        "—": "-",
        "…": "...",
        "×": "x",
    }
)


class DemoFailed(Exception):
    """The demo could not finish; the message is one sentence for the person watching."""


# -- the customer list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCustomer:
    name: str
    industry: str
    region: str
    segment: str
    products: tuple[str, ...]
    owner: str | None
    checkins: tuple[tuple[int, Happiness, int | None], ...] = ()  # (days ago, answer, NPS), newest first
    checkin_note: str = ""  # on the newest check-in
    contact: tuple[str, str] | None = None  # (name, title)
    topics: tuple[str, ...] = ()
    uses_days_ago: tuple[int, ...] = ()
    referenceable: bool = True
    not_referenceable_reason: str = ""
    guidance: str = ""
    consents: tuple[str, ...] = ()
    incident: tuple[int, str, str] | None = None  # (days ago, severity, summary), unresolved

    @property
    def domain(self) -> str:
        return "".join(ch for ch in self.name.lower() if ch.isalnum()) + ".example"


CUSTOMERS = [
    DemoCustomer(
        "Acme Financial",
        "Fintech",
        "EMEA",
        "Enterprise",
        ("Payments", "Ledger"),
        OWNER,
        checkins=((45, Happiness.HAPPY, 9), (140, Happiness.HAPPY, 8)),
        contact=("Hannah Weber", "Head of Payments Operations"),
        topics=("migration", "PSD2"),
        uses_days_ago=(150,),
        guidance=(
            "Hannah prefers a 30-minute call on a Tuesday or Thursday. She can speak to their migration "
            "off a legacy processor; please keep pricing out of the conversation."
        ),
        consents=("logo", "case_study"),
    ),
    DemoCustomer(
        "Northwind Payments",
        "Fintech",
        "EMEA",
        "Mid-market",
        ("Payments",),
        OTHER_OWNER,
        checkins=((12, Happiness.HAPPY, 10),),
        contact=("Lars Nilsson", "CFO"),
        uses_days_ago=(18, 61),
    ),
    DemoCustomer(
        "Contoso Bank",
        "Fintech",
        "EMEA",
        "Enterprise",
        ("Payments", "Fraud"),
        OWNER,
        checkins=((9, Happiness.UNHAPPY, 3), (120, Happiness.HAPPY, 8)),
        checkin_note="Open escalation about settlement delays",
        contact=("Priya Raman", "VP Treasury"),
        incident=(11, "high", "Settlement delays in SEPA payouts"),
    ),
    DemoCustomer(
        "Umbrella Insurance",
        "Insurance",
        "EMEA",
        "Enterprise",
        ("Payments", "Billing"),
        OTHER_OWNER,
        checkins=((20, Happiness.HAPPY, 8),),
        contact=("Tomás Ortega", "Director of Finance Systems"),
    ),
    DemoCustomer(
        "Stark Logistics",
        "Logistics",
        "APAC",
        "Enterprise",
        ("Payments",),
        OTHER_OWNER,
        checkins=((6, Happiness.HAPPY, None),),
    ),
    DemoCustomer(
        "Hooli Health",
        "Healthcare",
        "North America",
        "Mid-market",
        ("Billing",),
        OWNER,
        checkins=((25, Happiness.HAPPY, 7),),
        contact=("Dana Whitfield", "Revenue Cycle Manager"),
        referenceable=False,
        not_referenceable_reason="their contract rules out reference activity",
    ),
    DemoCustomer(
        "Vandelay Imports",
        "Retail",
        "North America",
        "SMB",
        ("Checkout",),
        OTHER_OWNER,
        checkins=((40, Happiness.CONCERNS, 6),),
        contact=("Art Vandelay", "Owner"),
        referenceable=False,
        not_referenceable_reason="renewal under negotiation",
    ),
    DemoCustomer(
        "Soylent Foods",
        "Food & Beverage",
        "APAC",
        "SMB",
        ("Checkout",),
        None,
        contact=("Mei Tanaka", "Operations Lead"),
        referenceable=False,
        not_referenceable_reason="churned: gave notice last quarter",
    ),
]


def add_people(fake: Any, time_zones: Mapping[str, str] | None = None) -> None:
    """Put the demo's people in the Slack fake's directory (`refbot demo` and `refbot playground` share them)."""
    for user_id, name, _role in PEOPLE:
        tz = (time_zones or {}).get(user_id, "UTC")
        fake.add_user(user_id, name, real_name=name, email=f"{name.split()[0].lower()}@example.com", tz=tz)


def seed(db: Database, now: datetime) -> dict[str, int]:
    """Write the demo customers (with check-ins, uses, consents) and return {name: id}."""
    ids_by_name: dict[str, int] = {}
    with db.transaction() as session:
        for spec in CUSTOMERS:
            ids_by_name[spec.name] = _add_customer(session, spec, now).id
        _add_assets(session, ids_by_name, now)
    return ids_by_name


# The content library: (customer, kind, title, link); each depends on the consent its kind needs.
ASSETS = (
    (
        "Acme Financial",
        "case_study",
        "Acme Financial leaves its legacy processor in 90 days",
        "https://example.com/acme",
    ),
    ("Contoso Bank", "case_study", "Contoso Bank: instant SEPA payouts", "https://example.com/contoso"),
)


def _add_assets(session: Session, ids_by_name: dict[str, int], now: datetime) -> None:
    for name, kind, title, link in ASSETS:
        customer = session.get(Customer, ids_by_name[name]) if name in ids_by_name else None
        if customer is None:  # a demo played with fewer customers (the failure test) has no content for them
            continue
        session.add(
            Asset(
                customer=customer,
                kind=kind,
                consent_type=AssetKind(kind).consent_type.value,
                title=title,
                title_key=name_key(title),
                link=link,
                published_on=(now - timedelta(days=60)).date(),
                industry=customer.industry,
                products=list(customer.products),
                topics=list(customer.topics),
                added_by=MANAGER,
            )  # fmt: skip
        )


def _add_customer(session: Session, spec: DemoCustomer, now: datetime) -> Customer:
    record = Customer(
        name=spec.name,
        name_key=name_key(spec.name),
        domain=spec.domain,
        industry=spec.industry,
        region=spec.region,
        segment=spec.segment,
        products=list(spec.products),
        topics=list(spec.topics),
        owner_slack_id=spec.owner,
        referenceable=spec.referenceable,
        not_referenceable_reason=spec.not_referenceable_reason,
        guidance=spec.guidance,
    )
    if spec.contact is not None:
        name, title = spec.contact
        email = f"{name.split()[0].lower()}@{spec.domain}"
        record.contacts.append(Contact(name=name, title=title, email=email, is_primary=True))
    for ref_type in spec.consents:
        record.consents.append(
            Consent(
                ref_type=ref_type,
                approved_by=f"{spec.contact[0] if spec.contact else 'Legal'} (customer)",
                approved_on=(now - timedelta(days=200)).date(),
                recorded_by=MANAGER,
            )
        )
    if spec.incident is not None:
        days, severity, summary = spec.incident
        record.incidents.append(
            Incident(occurred_on=(now - timedelta(days=days)).date(), severity=severity, summary=summary)
        )
    session.add(record)
    session.flush()
    for index, (days, answer, nps) in enumerate(spec.checkins):
        at = now - timedelta(days=days, hours=2)
        session.add(
            CheckIn(
                customer_id=record.id,
                purpose=CheckInPurpose.ASK_OWNER.value,
                status=CheckInStatus.ANSWERED.value,
                asked_of=spec.owner or MANAGER,
                asked_by=MANAGER,
                asked_at=at - timedelta(hours=3),
                answer=answer.value,
                nps=nps,
                note=spec.checkin_note if index == 0 else "",
                answered_by=spec.owner or MANAGER,
                answered_at=at,
            )
        )
    for days in spec.uses_days_ago:
        session.add(ReferenceUse(customer_id=record.id, ref_type="call", used_at=now - timedelta(days=days)))
    session.flush()
    return record


# -- printing ---------------------------------------------------------------------------------------


class Transcript:
    """Writes the demo's narration and the Slack surfaces, wrapped to the terminal width."""

    def __init__(self, out: TextIO, users: dict[str, str]) -> None:
        self.out = out
        self.users = users
        self._shown: dict[tuple[str, str], list[str]] = {}  # (channel, ts) → lines printed last time
        encoding = getattr(out, "encoding", None) or "utf-8"
        try:
            "─━│▶✅⏳".encode(encoding)
            self._encoding: str | None = None
        except (UnicodeEncodeError, LookupError):
            self._encoding = encoding  # a terminal that cannot show these: replace rather than crash

    def write(self, text: str = "") -> None:
        if self._encoding is not None:
            text = text.translate(ASCII_LINES).encode(self._encoding, "replace").decode(self._encoding)
        self.out.write(text + "\n")
        self.out.flush()

    def banner(self, title: str) -> None:
        self.write("═" * WIDTH)
        self.write(f"  {title}")
        self.write("═" * WIDTH)

    def step(self, number: int, total: int, text: str) -> None:
        self.write()
        lead = f"▶ Step {number}/{total} · "
        for i, line in enumerate(textwrap.wrap(text, WIDTH - len(lead), break_on_hyphens=False)):
            self.write((lead if i == 0 else " " * len(lead)) + line)

    def note(self, text: str) -> None:
        for line in textwrap.wrap(text, WIDTH - 2) or [""]:
            self.write(f"  {line}")

    def surface(self, title: str, message_or_view: Any) -> None:
        """One Slack message or modal: a titled rule, then its text behind a bar.

        A message updated in place that was printed before keeps its unchanged opening lines out of the
        way ("┄┄ 9 lines unchanged, as above ┄┄"), so the reader sees what changed.
        """
        from slackfake.render import to_text

        self.write()
        head = f"── {title} "
        self.write(head + "─" * max(3, WIDTH - len(head)))
        rendered = to_text(message_or_view, users=self.users)
        lines = (rendered if self._encoding else _emoji(rendered)).splitlines()
        key = (str(getattr(message_or_view, "channel", "")), str(getattr(message_or_view, "ts", "")))
        before = self._shown.get(key, []) if all(key) else []
        same = 0
        while same < min(len(before), len(lines)) and before[same] == lines[same]:
            same += 1
        if all(key):
            self._shown[key] = lines
        if same >= 4:
            self.write(f"  │ ┄┄ {same} lines unchanged, as above ┄┄")
            lines = lines[same:]
        for line in lines:
            self.write_wrapped(line)

    def write_wrapped(self, line: str) -> None:
        prefix = "  │ "
        if not line.strip():
            self.write(prefix.rstrip())
            return
        if set(line) <= {"─", "━"}:  # dividers and header rules: fit them to the box
            self.write(prefix + line[0] * min(len(line), WIDTH - len(prefix)))
            return
        indent = len(line) - len(line.lstrip())
        wrapped = textwrap.wrap(
            line,
            WIDTH - len(prefix) - 2,  # room for emoji, which most terminals draw two columns wide
            subsequent_indent=" " * (indent + 2),
            break_long_words=False,
            break_on_hyphens=False,
        )
        for part in wrapped:
            self.write(prefix + part)


def _emoji(text: str) -> str:
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    return text


# -- driving the bot --------------------------------------------------------------------------------


def _blob(message: Any) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


def _nth_message(user: str, index: int, contains: str) -> Callable[[Any], Any]:
    """A `wait_for` predicate: `user`'s `index`-th DM, once it contains `contains` (cards update in place)."""

    def ready(fake: Any) -> Any:
        messages = fake.messages(user)
        if len(messages) > index and contains in _blob(messages[index]):
            return messages[index]
        return None

    return ready


def _wait(fake: Any, predicate: Callable[[Any], Any], what: str, timeout: float = 10.0) -> Any:
    try:
        return fake.wait_for(predicate, timeout=timeout)
    except AssertionError as exc:
        raise DemoFailed(f"{what} did not arrive within {timeout:g} seconds") from exc


def _settle(db: Database, timeout: float = 10.0) -> None:
    """Wait until the bot's outbox has delivered everything, so the call count is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.reading() as session:
            pending = session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
            )
        if not pending:
            return
        time.sleep(0.05)
    raise DemoFailed("the bot's outbox did not finish sending its messages")


def _button(message: Any, action_id: str) -> dict[str, Any]:
    for block in message.blocks:
        for element in block.get("elements") or []:
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return dict(element)
    raise DemoFailed(f"the message has no {action_id!r} button")


def _ok(response: Any, what: str) -> None:
    if response.status != 200:
        raise DemoFailed(f"the bot answered {what} with HTTP {response.status}: {response.body[:200]}")
    body = (response.body or "").strip()
    if '"response_action"' in body and '"errors"' in body:
        raise DemoFailed(f"the bot rejected {what}: {body[:200]}")


@contextmanager
def _quiet_logging() -> Iterator[bool]:
    """Library chatter off during the demo (unless REFBOT_LOG_LEVEL=DEBUG); levels restored after."""
    debug = os.environ.get("REFBOT_LOG_LEVEL", "").strip().upper() == "DEBUG"
    loggers = [logging.getLogger(name) for name in QUIET_LOGGERS]
    before = [logger.level for logger in loggers]
    if not debug:
        for logger in loggers:
            logger.setLevel(logging.WARNING)
    try:
        yield debug
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def run_demo(pause: float = 0.0, out: TextIO = sys.stdout, *, err: TextIO | None = None) -> int:
    """Play request → approval → owner check-in → notification; 0 on success, 1 with a one-line error."""
    err = err if err is not None else sys.stderr
    with _quiet_logging() as debug:
        try:
            return _play(pause, out)
        except BrokenPipeError:
            # The reader went away (`refbot demo | head`): stop quietly, and keep Python's exit flush quiet too.
            if out is sys.stdout:
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except DemoFailed as exc:
            if debug:
                traceback.print_exc(file=err)
            print(f"refbot demo: {exc}", file=err, flush=True)
            return 1
        except Exception as exc:  # the demo is a first impression: one clear line, details on request
            if debug:
                traceback.print_exc(file=err)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            detail = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
            print(
                f"refbot demo: failed ({detail}); run with REFBOT_LOG_LEVEL=DEBUG for details.",
                file=err,
                flush=True,
            )
            return 1


def _play(pause: float, out: TextIO) -> int:
    from bot import migrate
    from bot.app import create_app
    from bot.server import HttpServer
    from slackfake.client import SignedClient
    from slackfake.server import FakeSlack

    tmpdir = Path(tempfile.mkdtemp(prefix="refbot-demo-"))
    fake: FakeSlack | None = None
    server: HttpServer | None = None
    db: Database | None = None
    try:
        fake = FakeSlack(token=BOT_TOKEN).start()
        add_people(fake)

        db = Database(f"sqlite:///{tmpdir / 'refbot-demo.db'}")
        migrate.upgrade(db.engine)
        now = datetime.now(UTC)
        customer_ids = seed(db, now)

        signing_secret = secrets.token_hex(16)
        settings = Settings(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=signing_secret,
            slack_api_url=fake.url,
            database_url=db.url,
            managers=(MANAGER,),
            timezone="UTC",
            outbox_poll_seconds=0.2,
            slack_timeout_seconds=5,
            run_scheduler=False,
        )
        server = HttpServer(create_app(settings, db=db), host="127.0.0.1", port=0, threads=4).start_background()
        slack = SignedClient(f"{server.url}/slack/events", signing_secret, fake=fake)

        show = Transcript(out, fake.user_names())
        _introduce(show, fake, server, settings)
        total = 5

        def between_steps() -> None:
            if pause > 0:
                time.sleep(pause)

        # 1. The rep asks for a reference.
        show.step(1, total, f"{FIRST_NAMES[REP]} ({ROLES[REP]}) types:  /reference request {PROSPECT}")
        _ok(slack.command(REP, f"request {PROSPECT}"), "the slash command")
        modal = _wait(fake, lambda f: f.views(REP) and f.views(REP)[-1], "the request form")
        show.surface(f"Modal opened for {FIRST_NAMES[REP]}", modal)
        between_steps()

        # 2. The rep fills in and sends the form.
        needed_by = date.today() + timedelta(days=21)
        form = {
            "ref_type": "call",
            "industry": "Fintech",
            "region": "EMEA",
            "products": "Payments",
            "topics": "migration",
            "needed_by": needed_by,
            "opportunity_amount": "120000",
            "notes": (
                "Globex is replacing its in-house payment stack. Their CFO wants to hear from a European "
                "company that migrated off a legacy processor."
            ),
        }
        show.step(
            2,
            total,
            f"{FIRST_NAMES[REP]} fills in the form (reference call · Fintech · EMEA · Payments · "
            f"needed by {needed_by.isoformat()} · 120,000) and clicks Send request",
        )
        _ok(slack.view_submission(REP, modal, form), "the request form")
        receipt = _wait(fake, _nth_message(REP, 0, "sent to the reference team"), f"{FIRST_NAMES[REP]}'s receipt")
        card = _wait(fake, _nth_message(MANAGER, 0, "Request #1"), "the reference manager's card")
        show.surface(f"DM to {FIRST_NAMES[REP]} ({ROLES[REP]})", receipt)
        show.write()
        show.note(
            "Every reference manager gets the request with the customers ranked by fit, then by how fresh "
            "their happiness check is, then by rest since their last use; each says what stands against it."
        )
        show.surface(f"DM to {FIRST_NAMES[MANAGER]} ({ROLES[MANAGER]})", card)
        between_steps()

        # 3. The manager approves the top candidate; its check-in is stale, so the owner is asked first.
        approve_ids = [
            e["action_id"]
            for b in card.blocks
            if b.get("type") == "actions"
            for e in b.get("elements") or []
            if str(e.get("action_id", "")).startswith(ids.APPROVE + ":")
        ]
        if not approve_ids:
            raise DemoFailed("the manager's card offered no customer to approve")
        chosen_id = int(approve_ids[0].split(":", 1)[1])
        chosen = next(name for name, cid in customer_ids.items() if cid == chosen_id)
        label = _button(card, approve_ids[0])["text"]["text"]
        show.step(3, total, f"{FIRST_NAMES[MANAGER]} clicks  [ {label} ]")
        _ok(slack.click(MANAGER, card, approve_ids[0]), "the Approve click")
        question = _wait(fake, _nth_message(OWNER, 0, "still happy"), f"{FIRST_NAMES[OWNER]}'s check-in question")
        card = _wait(fake, _nth_message(MANAGER, 0, "approved as soon as"), "the updated manager card")
        receipt = _wait(fake, _nth_message(REP, 0, "a customer was picked"), f"{FIRST_NAMES[REP]}'s updated receipt")
        show.note(
            f"{chosen}'s last happiness check is older than {settings.checkin_max_age_days} days, so refbot "
            f"asks its account owner before anything reaches {FIRST_NAMES[REP]}:"
        )
        show.surface(f"DM to {FIRST_NAMES[OWNER]} ({ROLES[OWNER]})", question)
        show.surface(f"{FIRST_NAMES[MANAGER]}'s card, updated in place", card)
        show.surface(f"{FIRST_NAMES[REP]}'s receipt, updated in place", receipt)
        between_steps()

        # 4. The owner confirms the customer is happy: the request is approved and the rep is told.
        happy = ids.for_item(ids.CHECKIN_ANSWER, Happiness.HAPPY.value)
        show.step(4, total, f"{FIRST_NAMES[OWNER]} clicks  [ {_button(question, happy)['text']['text']} ]")
        _ok(slack.click(OWNER, question, happy), "the Happy click")
        approved = _wait(fake, _nth_message(REP, 1, "is approved"), f"{FIRST_NAMES[REP]}'s approval")
        card = _wait(fake, _nth_message(MANAGER, 0, "Approved by"), "the decided manager card")
        result = _wait(fake, _nth_message(MANAGER, 1, "says"), "the check-in result for the manager")
        answered = _wait(fake, _nth_message(OWNER, 0, "Answered"), f"{FIRST_NAMES[OWNER]}'s answered card")
        receipt = _wait(fake, _nth_message(REP, 0, "Approved by"), f"{FIRST_NAMES[REP]}'s decided receipt")
        _settle(db)
        show.note(
            f"The answer goes into {chosen}'s check-in history, the request is approved, and every message "
            "about it is updated in place, so no stale button is left behind:"
        )
        show.surface(f"DM to {FIRST_NAMES[REP]} ({ROLES[REP]})", approved)
        show.surface(f"{FIRST_NAMES[REP]}'s receipt, updated in place", receipt)
        show.surface(f"DM to {FIRST_NAMES[MANAGER]} ({ROLES[MANAGER]})", result)
        show.surface(f"{FIRST_NAMES[MANAGER]}'s card, updated in place", card)
        show.surface(f"{FIRST_NAMES[OWNER]}'s check-in, updated in place", answered)

        # 5. A request for content: the manager's card offers the library's case studies beside the customers.
        show.step(5, total, f"{FIRST_NAMES[REP]} asks for a case study for {CONTENT_PROSPECT} (Fintech · Payments)")
        _ok(slack.command(REP, f"request {CONTENT_PROSPECT}"), "the slash command")
        modal = _wait(fake, lambda f: len(f.views(REP)) > 1 and f.views(REP)[-1], "the second request form")
        content_form = {"ref_type": "case_study", "industry": "Fintech", "products": "Payments"}
        _ok(slack.view_submission(REP, modal, content_form), "the content request form")
        card = _wait(fake, _nth_message(MANAGER, 2, "Request #2"), "the manager's card for the content request")
        show.note(
            "For a request for content, the card also ranks the content library's assets: the rep may not need "
            "the customer at all. Each says whether it may be used now; Contoso's waits for its owner."
        )
        show.surface(f"DM to {FIRST_NAMES[MANAGER]} ({ROLES[MANAGER]})", card)

        calls = len(fake.calls())
        violations = list(fake.violations)
        show.write()
        show.write("═" * WIDTH)
        show.note(
            f"Done: request #1 for {PROSPECT} approved with {chosen} after {FIRST_NAMES[OWNER]} confirmed "
            f"they are still happy; {FIRST_NAMES[REP]} has the contact and the guidance. "
            f"{calls} Slack API calls, {len(violations)} Block Kit violation{'s' if len(violations) != 1 else ''}."
        )
        if violations:
            show.write()
            show.note("Slack would have rejected or mangled these:")
            for violation in violations:
                show.note(f"• {violation}")
            return 1
        show.write()
        show.note(
            "Everything above went through signed HTTP requests to refbot and real Slack Web API calls to a "
            "local fake. To connect a real workspace, see README.md, “Run it in your workspace”."
        )
        show.write("═" * WIDTH)
        return 0
    finally:
        if server is not None:
            server.stop()
        if fake is not None:
            fake.stop()
        if db is not None:
            db.dispose()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _introduce(show: Transcript, fake: Any, server: Any, settings: Settings) -> None:
    show.banner("refbot demo: one reference request, start to finish, no Slack workspace")
    show.note(
        f"refbot is listening on {server.url}/slack/events and talks to a Slack fake at {fake.base_url}. "
        "Every click below is a signed request, as Slack would send it; the data lives in a temporary "
        "SQLite database, deleted at the end."
    )
    show.write()
    show.write("  People in the fake workspace")
    for user_id, name, role in PEOPLE:
        extra = " (in REFBOT_MANAGERS)" if settings.is_manager(user_id) else ""
        show.write(f"    {name:<20}{role}{extra}")
    show.write()
    show.write(f"  Customers on record ({len(CUSTOMERS)})")
    show.write(f"    {'name':<20}{'industry · region · products':<38}last check-in")
    for spec in CUSTOMERS:
        facts = f"{spec.industry} · {spec.region} · {', '.join(spec.products)}"
        if not spec.referenceable:
            status = "not referenceable"
        elif spec.checkins:
            days, answer, _ = spec.checkins[0]
            status = f"{answer.label} {days} days ago"
        else:
            status = "never"
        show.write(f"    {spec.name:<20}{facts:<38}{status}".rstrip())
    show.note(
        "Northwind was already used twice in the last 90 days; Contoso has an open escalation; "
        "Stark has no contact on record; Hooli, Vandelay and Soylent are off-limits."
    )
