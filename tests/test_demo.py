"""`refbot demo`: the README's first command plays a whole request against the Slack fake and prints it."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot import demo
from bot.demo import run_demo

ROOT = Path(__file__).resolve().parent.parent

OWNER_QUESTION = "Before *Acme Financial* is used as a reference for *Globex*: is *Acme Financial* still happy?"


def unwrapped(text: str) -> str:
    """The transcript with the demo's line wrapping inside message boxes undone."""
    return re.sub(r"\n\s*│ {3}", " ", text)


def assert_in_order(text: str, *needles: str) -> None:
    position = 0
    for needle in needles:
        found = text.find(needle, position)
        assert found >= 0, f"{needle!r} missing after position {position}:\n{text}"
        position = found + len(needle)


def test_demo_plays_request_approval_checkin_and_notification() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_demo(out=out, err=err) == 0, err.getvalue()
    assert err.getvalue() == ""
    text = unwrapped(out.getvalue())
    assert_in_order(
        text,
        "╔═ Request a reference ═╗",
        "Prospect company: Globex",
        "Request #1 for Globex sent to the reference team",
        # The manager's card: ranked candidates, each with what stands against it.
        "Request #1: Reference call for Globex",
        "1. Acme Financial",
        "Last check-in 45 days ago (Happy): the owner will be asked first",
        "Approve (after check-in): Acme Financial",
        "Contoso Bank",
        "Unhappy, NPS 3 at the last check-in",
        "Northwind Payments",
        "Used 2× in the last 90 days (limit 2)",
        # The manager approves; the owner is asked first.
        "clicks  [ Approve (after check-in): Acme Financial ]",
        OWNER_QUESTION,
        "approved as soon as @Olivia Park",
        # The owner says Happy: the rep gets the contact, and every card shows the decision.
        "Olivia clicks  [ Happy ]",
        "is approved by @Morgan Lee",
        "Contact:* Hannah Weber, Head of Payments Operations",
        "Approved by @Morgan Lee",
        "@Olivia Park says *Acme Financial* is *happy*",
        "Approved by @Morgan Lee",
        "Answered *Happy* by @Olivia Park",
        "Done: request #1 for Globex approved with Acme Financial",
        "0 Block Kit violations",
        "Run it in your workspace",
    )
    # Mentions are resolved to names, Slack's emoji shortcodes to pictures; no raw markup leaks.
    assert "<@U" not in text and "<!date" not in text
    assert ":white_check_mark:" not in text
    # A stale Approve button never survives the decision in the final card.
    final_card = text[text.rindex("Morgan's card, updated in place") :]
    assert "[ Approve" not in final_card.split("──", 2)[1]


def test_demo_failure_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REFBOT_LOG_LEVEL", raising=False)
    monkeypatch.setattr(demo, "CUSTOMERS", [c for c in demo.CUSTOMERS if not c.referenceable])
    out, err = io.StringIO(), io.StringIO()
    assert run_demo(out=out, err=err) == 1
    assert err.getvalue() == "refbot demo: the manager's card offered no customer to approve\n"
    assert "Traceback" not in out.getvalue() + err.getvalue()


def test_refbot_demo_command_runs_from_any_directory(tmp_path: Path) -> None:
    """What the README tells a newcomer to type: no Slack workspace, no .env, exit status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REFBOT_", "DATABASE_URL"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == "", "library logs or warnings leaked into the demo"
    text = unwrapped(done.stdout)
    assert_in_order(
        text,
        "Request #1 for Globex sent to the reference team",
        OWNER_QUESTION,
        "Contact:* Hannah Weber",
        "0 Block Kit violations",
    )
    assert list(tmp_path.iterdir()) == [], "the demo must not leave files behind in the current directory"


def test_demo_shows_a_content_request_offering_a_case_study_beside_customers() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run_demo(out=out, err=err) == 0, err.getvalue()
    text = unwrapped(out.getvalue())
    assert_in_order(
        text,
        "Step 5/5",
        "Request #2: Case study for Initrode",
        "Content ready to send",
        "Acme Financial leaves its legacy processor in 90 days",
        "May be used now (case study consent)",
        "Contoso Bank: instant SEPA payouts",
        "Not now: No case study consent on record",
        "Best candidates",
        "1. Acme Financial",
    )
