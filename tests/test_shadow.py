"""Shadow-market capture: the ask classifier and its guard rails, the guessing, and watch mode end to end.

The labelled messages live in `bot/shadow_data/` (see its README.md): the original corpus, and a fresh batch
written for issue 17, each split into a training and a held-out part by a hash of the text. What is served
is the model in `bot/shadow_model.py`, built from the training part only; the phrase classifier of
`bot/shadow.py` stays as the benchmark's baseline. Figures with intervals come from
`bench/shadow_bench.py`; the tests here hold the served classifier to its guard rails on the held-out part.
End-to-end tests drive the running server with signed requests, on SQLite and (with TEST_DATABASE_URL)
PostgreSQL.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import shadow_corpus
from bot.shadow import INDUSTRIES, REGIONS, VALUE_LIMIT, Guess, Prefill, align, classify, guess, words
from bot.shadow_model import AskModel
from bot.views.requests import request_modal
from models import AuditEntry, InboundDelivery, ReferenceRequest, WatchedChannel
from models.db import Database
from models.enums import RefType
from slackfake.client import SignedClient
from slackfake.server import FakeSlack
from tests import factories
from tests.conftest import MANAGER, OTHER, REP

DEALS = "C0DEALS01"
QUIET = "C0QUIET01"
# The phrase classifier on the corpus it was tuned on (the original batch, both parts).
PHRASES_MAX_FALSE_POSITIVES = 0.02
PHRASES_MIN_RECALL = 0.90
# The served model on the held-out part: the false-positive target of issue 17, and a recall floor below the
# measured figure (see the README) so that a rebuild which loses asks fails here.
MODEL_MAX_FALSE_POSITIVES = 0.01
MODEL_MIN_RECALL = 0.90


@pytest.fixture(scope="module")
def model() -> AskModel:
    return AskModel.load()


def texts(examples: list[shadow_corpus.Example], *, asks: bool) -> list[str]:
    return [e.text for e in examples if e.is_ask is asks]


# -- the classifiers' rates -------------------------------------------------------------------------------


def test_corpora_are_big_and_varied_enough() -> None:
    everything = shadow_corpus.examples()
    asks, chatter = texts(everything, asks=True), texts(everything, asks=False)
    assert len(asks) >= 400 and len(chatter) >= 900
    assert len(set(asks)) == len(asks) and len(set(chatter)) == len(chatter)
    assert not set(asks) & set(chatter)
    # Many asks never say "reference" at all; many ordinary messages do, or talk about customers and referrals.
    assert sum("referen" not in words(a) for a in asks) >= 150
    assert sum("referen" in words(c) for c in chatter) >= 120
    fresh_chatter = texts(shadow_corpus.examples(batch="fresh"), asks=False)
    assert sum(any(w in words(c) for w in ("customer", "referr", "referen")) for c in fresh_chatter) >= 120


def report(name: str, classify_one: Any, examples: list[shadow_corpus.Example]) -> tuple[float, float, str]:
    asks, chatter = texts(examples, asks=True), texts(examples, asks=False)
    missed = [a for a in asks if not classify_one(a).is_ask]
    false_alarms = [c for c in chatter if classify_one(c).is_ask]
    recall, fp_rate = 1 - len(missed) / len(asks), len(false_alarms) / len(chatter)
    lines = [
        f"{name}: recall {recall:.1%} ({len(asks) - len(missed)}/{len(asks)}), "
        f"false positives {fp_rate:.2%} ({len(false_alarms)}/{len(chatter)})",
        *(f"  missed: {m!r} → {classify_one(m).explain()}" for m in missed),
        *(f"  false positive: {f!r} → {classify_one(f).explain()}" for f in false_alarms),
    ]
    return recall, fp_rate, "\n".join(lines)


def test_the_served_model_meets_its_guard_rails_on_the_held_out_part(model: AskModel) -> None:
    """Errors are shown only when it fails: nothing is ever tuned on the held-out part's individual messages."""
    recall, fp_rate, text = report("model, held out", model.classify, shadow_corpus.examples("held_out"))
    assert fp_rate <= MODEL_MAX_FALSE_POSITIVES, text
    assert recall >= MODEL_MIN_RECALL, text


def test_the_model_understands_fresh_asks_the_phrases_miss(model: AskModel) -> None:
    """On messages new to both (the fresh batch's held-out part) the model catches more and misfires less."""
    fresh = shadow_corpus.examples("held_out", "fresh")
    model_recall, model_fp, model_text = report("model", model.classify, fresh)
    phrase_recall, phrase_fp, phrase_text = report("phrases", classify, fresh)
    assert model_recall >= phrase_recall + 0.15, model_text + "\n" + phrase_text
    assert model_fp <= phrase_fp, model_text + "\n" + phrase_text


def test_phrase_classifier_rates_on_the_corpus_it_was_tuned_on() -> None:
    recall, fp_rate, text = report("phrases, original batch", classify, shadow_corpus.examples(batch="original"))
    assert fp_rate <= PHRASES_MAX_FALSE_POSITIVES, text
    assert recall >= PHRASES_MIN_RECALL, text


ISSUE_ASKS = [
    "anyone have a customer in healthcare we could use as a reference?",
    "need a reference call for a bank in EMEA",
    "anyone have a happy customer in retail who'd talk to Initech?",
    "looking for a logo we can use for a bank deck",
    "who can do a reference call for Globex next week?",
    "need a customer in DACH for a site visit",
    "<@U0123ABC> any refrences in insurance? :pray:",
]
NOT_ASKS = [
    "we gave a reference last week",
    "the customer asked for a reference letter",
    "Acme was a great reference on Tuesday",
    "reminder: log your references in Salesforce",
    "reference architecture diagram attached",
    "as a reference, here's the deck",
    "for reference, the pricing page <https://example.com/pricing|pricing>",
    "",
    ":tada: :tada:",
]


@pytest.mark.parametrize("text", ISSUE_ASKS)
def test_asks_from_the_issue_are_caught(text: str, model: AskModel) -> None:
    for verdict in (model.classify(text), classify(text)):
        assert verdict.is_ask, verdict.explain()


@pytest.mark.parametrize("text", NOT_ASKS)
def test_talk_about_references_is_not_an_ask(text: str, model: AskModel) -> None:
    for verdict in (model.classify(text), classify(text)):
        assert not verdict.is_ask, verdict.explain()


def test_a_verdict_explains_itself(model: AskModel) -> None:
    verdict = classify("anyone have a customer in healthcare we could use as a reference?")
    names = {s.name for s in verdict.signals}
    assert {"anyone", "be_a_reference"} <= names
    assert verdict.score == sum(s.weight for s in verdict.signals)
    assert verdict.explain().startswith("ask ") and '"anyone"' in verdict.explain()
    negated = classify("for reference, do we have a customer in healthcare?")
    assert "for_reference" in {s.name for s in negated.signals}
    # The model names its strongest features, by weight, and its score is the logit against its threshold.
    learnt = model.classify("any insurer in Germany willing to jump on a call with Allianz?")
    assert learnt.is_ask and learnt.score >= model.threshold, learnt.explain()
    weights = [abs(s.weight) for s in learnt.signals]
    assert weights == sorted(weights, reverse=True) and 0 < len(weights) <= 6
    assert all(model.weights[s.name] != 0 for s in learnt.signals)
    assert learnt.explain().startswith("ask ")


def test_a_huge_message_is_classified_quickly(model: AskModel) -> None:
    hostile = ("customers in the who would talk to " * 3000) + ("a " * 20000) + "x" * 40000
    started = time.perf_counter()
    classify(hostile)
    model.classify(hostile)
    guess(hostile)
    assert time.perf_counter() - started < 1.0


# -- guessing what an ask wants ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ref_type", "industry", "region", "prospect"),
    [
        ("need a reference call for a bank in EMEA", RefType.CALL, "Banking", "EMEA", ""),
        ("need a customer in DACH for a site visit", RefType.SITE_VISIT, "", "EMEA", ""),
        ("looking for a logo we can use for a bank deck", RefType.LOGO, "Banking", "", ""),
        ("who can do a reference call for Globex next week?", RefType.CALL, "", "", "Globex"),
        ("anyone have a happy customer in retail who'd talk to Initech?", RefType.CALL, "Retail", "", "Initech"),
        ("Need a customer reference for Umbrella Corp — healthcare, North America", RefType.CALL, "Healthcare",
         "North America", "Umbrella Corp"),
        ("can you help us find a fintech ref for Globex's CTO", RefType.CALL, "Fintech", "", "Globex"),
        ("any bank in the US willing to talk to a prospect?", RefType.CALL, "Banking", "North America", ""),
        ("any references in APAC? Grab is asking", RefType.CALL, "", "APAC", "Grab"),
        ("need a case study from a hospital for a prospect", RefType.CASE_STUDY, "Healthcare", "", ""),
        ("Gartner wants to speak to 2 customers in insurance", RefType.ANALYST, "Insurance", "", ""),
        ("any customers up for a media interview with a journalist?", RefType.MEDIA, "", "", ""),
        ("Do we have a fintech customer who'd give a quote for our website?", RefType.QUOTE, "Fintech", "", ""),
        ("is there a customer we can name drop in a pitch to a Spanish bank?", RefType.NAME_DROP, "Banking",
         "EMEA", ""),
        ("need a customer for a press release, pharma", RefType.PRESS_RELEASE, "Life sciences", "", ""),
        ("any customer in brazil who'd talk to Mercado Libre?", RefType.CALL, "", "LATAM", "Mercado Libre"),
        # Learnt from the training part's asks (issue 17): the more specific family first, and new kinds' words.
        ("Who can I ask to be a reference for a deal with a German car manufacturer?", RefType.CALL,
         "Automotive", "EMEA", ""),
        ("is it OK to namecheck an insurer we work with in the Aviva pitch?", RefType.NAME_DROP, "Insurance", "",
         ""),
        ("do we have a written-up win in insurance I can send to Aviva?", RefType.CASE_STUDY, "Insurance", "",
         "Aviva"),
        ("need a quote from a retailer for our holiday campaign landing page", RefType.QUOTE, "Retail", "", ""),
        ("anyone know a warehouse customer in the Netherlands that would let a prospect walk the floor?",
         RefType.SITE_VISIT, "Logistics", "EMEA", ""),
        ("IDC is looking for two North American customers to talk to for their MarketScape", RefType.ANALYST, "",
         "North America", ""),
    ],
)  # fmt: skip
def test_guess_reads_type_industry_region_and_prospect(
    text: str, ref_type: RefType, industry: str, region: str, prospect: str
) -> None:
    assert guess(text) == Guess(ref_type=ref_type, industry=industry, region=region, prospect=prospect)


def test_align_uses_the_customer_lists_own_labels() -> None:
    assert align("Banking", ["Fintech", "Financial Services"], INDUSTRIES) == "Financial Services"
    assert align("Banking", ["Banking & Insurance"], INDUSTRIES) == "Banking & Insurance"
    assert align("North America", ["EMEA", "NA"], REGIONS) == "NA"
    assert align("Retail", ["Fintech"], INDUSTRIES) == "Retail"
    assert align("", ["Fintech"], INDUSTRIES) == ""


def test_button_value_round_trips_within_slacks_limit() -> None:
    prefill = Prefill(Guess(RefType.SITE_VISIT, "Banking", "EMEA", "Globex"), notes="Asked in Slack: need a ref")
    assert Prefill.from_value(prefill.to_value()) == prefill
    noisy = 'é"\\\n\u2028😀<!channel>' * 400
    long = Prefill(Guess(), notes=noisy).to_value()
    assert len(long) <= VALUE_LIMIT
    assert noisy.startswith(Prefill.from_value(long).notes[:50])


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        json.dumps({"t": "bribe", "i": ["x"], "r": 5, "p": None, "n": {"a": 1}}),
        json.dumps({"n": "x" * 3000}),
    ],
)
def test_a_forged_button_value_is_read_safely(value: Any) -> None:
    prefill = Prefill.from_value(value)
    assert prefill.guess.ref_type == RefType.CALL
    assert prefill.guess.industry == prefill.guess.region == prefill.guess.prospect == ""
    assert prefill.notes == ""


def test_value_fields_are_cut_to_the_forms_limits() -> None:
    prefill = Prefill.from_value(json.dumps({"t": "logo", "i": "I" * 500, "p": "P" * 500, "n": "N" * 900}))
    assert prefill.guess.ref_type == RefType.LOGO
    assert len(prefill.guess.industry) == 100 and len(prefill.guess.prospect) == 150 and len(prefill.notes) == 900
    assert Prefill.from_value(json.dumps({"t": "logo", "n": "N" * 2000})) == Prefill(Guess())  # over Slack's limit


def test_request_modal_without_prefill_is_unchanged() -> None:
    view = request_modal("Globex")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["ref_type"]["element"]["initial_option"]["value"] == "call"
    for block_id in ("industry", "region", "notes"):
        assert "initial_value" not in blocks[block_id]["element"]
    filled = request_modal("Globex", industry="Banking", region="EMEA", ref_type=RefType.LOGO, notes="from Slack")
    blocks = {b.get("block_id"): b for b in filled["blocks"]}
    assert blocks["ref_type"]["element"]["initial_option"]["value"] == "logo"
    assert [blocks[k]["element"]["initial_value"] for k in ("industry", "region", "notes")] == [
        "Banking",
        "EMEA",
        "from Slack",
    ]


# -- end to end: signed requests → the running bot → the Slack fake ---------------------------------------

_ts = iter(range(1, 1_000_000))


def next_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def message(text: str, *, channel: str = DEALS, user: str = REP, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": extra.pop("ts", None) or next_ts(),
        "channel_type": "channel",
        "team": "T0FAKE",
        **extra,
    }


def command_reply(slack: SignedClient, fake: FakeSlack, user: str, text: str, channel: str = DEALS) -> str:
    before = len(fake.ephemerals(user))
    response = slack.command(user, text, channel_id=channel)
    assert response.status == 200, response.body
    return str(fake.wait_for(lambda f: len(f.ephemerals(user)) > before and f.ephemerals(user)[-1])["text"])


def watch(slack: SignedClient, fake: FakeSlack, channel: str = DEALS) -> str:
    return command_reply(slack, fake, MANAGER, "watch", channel)


def asked(fake: FakeSlack, user: str = REP) -> list[dict[str, Any]]:
    return [e for e in fake.ephemerals(user) if e["via"] == "chat.postEphemeral"]


def send(slack: SignedClient, event: dict[str, Any], **opts: Any) -> None:
    response = slack.event(event, **opts)
    assert response.status == 200, response.body


def settle_after(slack: SignedClient, fake: FakeSlack, *events: dict[str, Any]) -> list[dict[str, Any]]:
    """Deliver `events`, then an ask in the watched channel, and wait for that ask's reply.

    Event listeners run after the ack, so "nothing happened" needs a point in time: the sentinel ask is
    delivered last and does strictly more work than any ignored message, so once its reply is there the
    earlier events have been handled too. Returns the replies other than the sentinel's.
    """
    for event in events:
        send(slack, event)
    sentinel = message("anyone have a reference customer in retail?")
    send(slack, sentinel)
    fake.wait_for(lambda f: any(e["thread_ts"] == sentinel["ts"] for e in asked(f, sentinel["user"])))
    time.sleep(0.05)
    return [e for e in fake.ephemerals() if e["via"] == "chat.postEphemeral" and e["thread_ts"] != sentinel["ts"]]


def seed(db: Database) -> None:
    with db.transaction() as session:
        factories.customer(session, "Acme Bank", industry="Financial Services", region="EMEA")
        factories.customer(session, "Initech", industry="Retail", region="NA")
        factories.customer(session, "Umbrella Health", industry="Healthcare", region="EMEA")
        factories.customer(session, "Globex Bank", industry="Financial Services", region="EMEA", happy_days_ago=60)
        factories.customer(session, "Hooli Finance", industry="Financial Services", region="APAC")
        factories.customer(session, "Soylent", industry="Financial Services", region="EMEA", referenceable=False)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_manager_turns_watch_on_and_off(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    text = watch(slack, fake)
    assert text.startswith(":eyes: Watching #deals01:") and "reads every message" in text
    assert "stores none of them" in text and "/reference unwatch" in text
    again = watch(slack, fake)
    assert again.startswith("Already watching #deals01 ") and f"<@{MANAGER}>" in again
    with db.reading() as session:
        record = session.get(WatchedChannel, DEALS)
        assert record is not None and record.enabled_by == MANAGER
    off = command_reply(slack, fake, MANAGER, "unwatch")
    assert off.startswith("Stopped watching #deals01:")
    assert command_reply(slack, fake, MANAGER, "unwatch").startswith("refbot isn't watching")
    with db.reading() as session:
        assert session.get(WatchedChannel, DEALS) is None
        audit = session.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.entity_id)).all()
    assert sorted(audit) == [("channel.unwatched", MANAGER, DEALS), ("channel.watched", MANAGER, DEALS)]
    assert fake.violations == []


def test_watch_is_for_managers_and_public_channels_only(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    assert "Only reference managers" in command_reply(slack, fake, REP, "watch")
    assert "Only reference managers" in command_reply(slack, fake, REP, "unwatch")
    assert "public channels only" in command_reply(slack, fake, MANAGER, "watch", channel="D0DIRECT1")
    assert "public channels only" in command_reply(slack, fake, MANAGER, "watch", channel="G0PRIVATE")
    assert "/reference watch" not in slack.command(REP, "help").body  # help is answered in the ack
    assert "/reference watch" in slack.command(MANAGER, "help").body
    with db.reading() as session:
        assert session.scalar(select(func.count()).select_from(WatchedChannel)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_ask_in_watched_channel_gets_one_private_threaded_reply(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    seed(db)
    watch(slack, fake)
    ask = message("need a reference call for a bank in EMEA, prospect is Globex")
    send(slack, ask)
    reply = fake.wait_for(lambda f: asked(f) and asked(f)[-1])
    assert reply["channel"] == DEALS and reply["user"] == REP and reply["thread_ts"] == ask["ts"]
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Looks like you're after a customer reference" in text
    assert "*Reference call* · *Financial Services* · *EMEA*" in text
    section = next(b["text"]["text"] for b in reply["blocks"] if "Best matches" in b.get("text", {}).get("text", ""))
    matches = [line.split("*")[1] for line in section.splitlines() if line.startswith("• ")]
    # Full fits first (Globex Bank's check-in is 60 days old, so it waits for its owner), then a partial fit;
    # Initech fits nothing and Soylent is not referenceable.
    assert matches == ["Acme Bank", "Globex Bank", "Hooli Finance"]
    assert "• *Globex Bank* — Financial Services · EMEA · _available once the account owner confirms" in section
    [button] = buttons(reply["blocks"])
    assert button["action_id"] == "shadow.to_request" and len(button["value"]) <= 2000
    time.sleep(0.2)
    assert len(asked(fake)) == 1 and fake.ephemerals(OTHER) == []
    assert fake.violations == []


def test_button_opens_the_prefilled_request_form(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    watch(slack, fake)
    send(slack, message("Anyone have a happy customer in banking who could host a site visit for Globex in Germany?"))
    reply = fake.wait_for(lambda f: asked(f) and asked(f)[-1])
    response = slack.click(REP, reply, "shadow.to_request")
    assert response.status == 200
    view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["prospect"]["element"]["initial_value"] == "Globex"
    assert blocks["industry"]["element"]["initial_value"] == "Financial Services"
    assert blocks["region"]["element"]["initial_value"] == "EMEA"
    assert blocks["ref_type"]["element"]["initial_option"]["value"] == "site_visit"
    notes = blocks["notes"]["element"]["initial_value"]
    assert notes.startswith("Asked in Slack: Anyone have a happy customer in banking")
    # Submitting the form as pre-filled makes a tracked request like any other.
    submitted = slack.view_submission(REP, view, {})
    assert submitted.status == 200 and not submitted.body.strip(), submitted.body
    with db.reading() as session:
        request = session.scalars(select(ReferenceRequest)).one()
        assert (request.prospect, request.ref_type, request.industry, request.region) == (
            "Globex",
            "site_visit",
            "Financial Services",
            "EMEA",
        )
        assert request.requester_id == REP and request.notes == notes
    assert fake.violations == []


def test_forged_button_value_still_opens_a_plain_form(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    response = slack.block_action(REP, "shadow.to_request", value='{"t": "<!channel>", "i": 5, "n": [1]}')
    assert response.status == 200
    view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["ref_type"]["element"]["initial_option"]["value"] == "call"
    assert "initial_value" not in blocks["industry"]["element"]
    assert fake.violations == []


def test_ordinary_chatter_unwatched_channels_and_unwanted_messages_get_nothing(
    slack: SignedClient, fake: FakeSlack, db: Database
) -> None:
    seed(db)
    watch(slack, fake)
    ask = "need a reference call for a bank in EMEA"
    parent = next_ts()
    others = settle_after(
        slack,
        fake,
        message("Globex moved to stage 4 :tada:"),
        message("for reference, the pricing page: <https://example.com/pricing|pricing>"),
        message("Acme was a great reference on Tuesday"),
        message(ask, channel=QUIET),  # not watched
        message(ask, subtype="bot_message", bot_id="B0OTHER", user=None),
        message(ask, bot_id="B0OTHER", app_id="A0OTHER"),  # an app posting as a user
        message(ask, user="U0FAKEBOT"),  # refbot itself
        message(ask, thread_ts=parent),  # a reply inside a thread
        message(ask, channel_type="group", channel="G0PRIVATE"),  # private channels are not supported
        message(ask, channel_type="im", channel="D0DIRECT1"),
        message(ask, user="U0PARTNER", team="T0PARTNER", user_team="T0PARTNER"),  # Slack Connect guest
        message(ask, subtype="channel_join"),
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": DEALS,
            "channel_type": "channel",
            "ts": next_ts(),
            "hidden": True,
            "message": {"type": "message", "user": REP, "text": ask, "ts": next_ts(), "edited": {"user": REP}},
            "previous_message": {"type": "message", "user": REP, "text": "typo", "ts": next_ts()},
        },
        {"type": "message", "subtype": "message_deleted", "channel": DEALS, "channel_type": "channel",
         "ts": next_ts(), "hidden": True, "deleted_ts": next_ts()},
    )  # fmt: skip
    assert others == []
    assert fake.violations == []


def test_the_running_bot_answers_with_the_model(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """`create_app` serves the learnt model: an ask in words the phrase list never had is answered, and a
    message the phrase list took for an ask (someone offering to be a job reference) is left alone."""
    unseen_words = "any insurer in Germany willing to jump on a call with Allianz about claims automation?"
    job_reference = "I'm a reference for a former colleague, if anyone from Hooli HR calls you, that's why"
    assert not classify(unseen_words).is_ask and classify(job_reference).is_ask  # what the phrases would do
    seed(db)
    watch(slack, fake)
    ask = message(unseen_words)
    others = settle_after(slack, fake, message(job_reference), ask)
    assert [e["thread_ts"] for e in others] == [ask["ts"]]
    text = json.dumps(others[0]["blocks"], ensure_ascii=False)
    assert "Looks like you're after a customer reference" in text and "*EMEA*" in text
    assert fake.violations == []


def test_file_share_with_an_ask_is_answered(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    watch(slack, fake)
    send(slack, message("anyone have a bank reference in EMEA? RFP attached", subtype="file_share", files=[]))
    assert fake.wait_for(lambda f: asked(f))


def test_a_retried_or_redelivered_event_is_answered_once(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    watch(slack, fake)
    ask = message("who can do a reference call for Globex next week? fintech, EMEA")
    send(slack, ask, event_id="Ev0SHADOW01")
    fake.wait_for(lambda f: asked(f))
    send(slack, ask, event_id="Ev0SHADOW01", retry_num=1)  # Slack's retry: the same event id
    send(slack, ask, event_id="Ev0SHADOW02")  # the same message under another event id
    others = settle_after(slack, fake)
    assert len(others) == 1 and others[0]["thread_ts"] == ask["ts"]
    with db.reading() as session:
        keys = session.scalars(select(InboundDelivery.key).where(InboundDelivery.key.like("shadow:%"))).all()
    assert f"shadow:{DEALS}:{ask['ts']}" in keys


def test_unwatch_stops_the_replies(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    watch(slack, fake)
    watch(slack, fake, QUIET)
    send(slack, message("need a reference call for a bank in EMEA", channel=QUIET))
    fake.wait_for(lambda f: asked(f))
    command_reply(slack, fake, MANAGER, "unwatch", QUIET)
    others = settle_after(slack, fake, message("need a reference call for a bank in EMEA", channel=QUIET))
    assert len(others) == 1  # the one from before unwatch


def test_hostile_text_is_escaped(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    with db.transaction() as session:
        factories.customer(session, "Evil <!channel> & <@U0BOSS> Co", industry="Banking <b>", region="EMEA")
    watch(slack, fake)
    text = "<!here> need a reference for a bank in EMEA for <https://evil.example|Globex> &lt;script&gt;"
    send(slack, message(text))
    reply = fake.wait_for(lambda f: asked(f) and asked(f)[-1])
    shown = json.dumps(reply["blocks"])
    assert "Evil &lt;!channel&gt; &amp; &lt;@U0BOSS&gt; Co" in shown
    assert "<!channel>" not in shown and "<@U0BOSS>" not in shown and "<!here>" not in shown
    slack.click(REP, reply, "shadow.to_request")
    view = fake.wait_for(lambda f: f.views(REP) and f.views(REP)[-1])
    notes = next(b for b in view["blocks"] if b.get("block_id") == "notes")["element"]["initial_value"]
    assert notes == "Asked in Slack: @here need a reference for a bank in EMEA for Globex <script>"
    assert fake.violations == []


def test_the_event_is_acked_before_the_slow_work(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    """Bolt acks an event before running the listener, so a slow Slack call never delays the 200."""
    seed(db)
    watch(slack, fake)
    fake.fail("chat.postEphemeral", delay=2.5)
    started = time.perf_counter()
    send(slack, message("need a reference call for a bank in EMEA"))
    assert time.perf_counter() - started < 1.0
    assert fake.wait_for(lambda f: asked(f))


def test_a_failed_reply_bothers_nobody(slack: SignedClient, fake: FakeSlack, db: Database) -> None:
    seed(db)
    watch(slack, fake)
    fake.fail("chat.postEphemeral", error="user_not_in_channel")
    send(slack, message("need a reference call for a bank in EMEA"))
    fake.wait_for(lambda f: f.calls("chat.postEphemeral"))
    others = settle_after(slack, fake)
    assert others == [] and fake.messages(REP) == []
    assert fake.violations == []
