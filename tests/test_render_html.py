"""The Block Kit → HTML renderer (`slackfake.html`) and the text renderer, both held to one coverage list.

`slackfake.coverage.SAMPLES` is the Block Kit refbot sends, one sample per block, element and piece of
mrkdwn: each renderer must show what a person reads in it, and let no raw markup (`<@U…>`, `<!date…>`)
through. The HTML renderer's own rules follow: the viewer's time zone, field errors, escaping.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from slackfake.coverage import COVERED_BLOCKS, COVERED_ELEMENTS, MOMENT, SAMPLES, USERS, Sample
from slackfake.html import format_date, mrkdwn_to_html, to_html
from slackfake.render import to_text

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class _Visible(HTMLParser):
    """What a person can read on the page: text, plus the values and placeholders shown in fields."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("input", "textarea") and found.get("type") != "hidden":
            self.parts.extend(str(found[key]) for key in ("value", "placeholder") if found.get(key))
        if tag == "img" and found.get("alt"):
            self.parts.append(str(found["alt"]))


def visible(markup: str) -> str:
    parser = _Visible()
    parser.feed(markup)
    return " ".join(parser.parts)


def render_html(sample: Sample) -> str:
    return to_html(sample.payload, users=USERS, tz=BERLIN, now=NOW)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_the_text_renderer_shows_every_sample(sample: Sample) -> None:
    text = to_text(sample.payload, users=USERS)
    for needle in sample.shows + sample.text_shows:
        assert needle in text, f"{needle!r} missing from:\n{text}"
    for raw in sample.hidden:
        assert raw not in text


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_the_html_renderer_shows_every_sample(sample: Sample) -> None:
    markup = render_html(sample)
    seen = visible(markup)
    for needle in sample.shows:
        assert needle in seen, f"{needle!r} not visible in:\n{markup}"
    for needle in sample.html_shows:
        assert needle in markup, f"{needle!r} missing from:\n{markup}"
    for raw in sample.hidden:
        assert raw not in markup and raw not in seen


def _types(value: Any, key: str = "type") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get(key), str):
            found.add(value[key])
        for inner in value.values():
            found |= _types(inner, key)
    elif isinstance(value, list):
        for inner in value:
            found |= _types(inner, key)
    return found


def test_the_samples_cover_every_block_and_element_they_claim() -> None:
    used = set().union(*(_types(s.payload.get("blocks")) for s in SAMPLES))
    assert used >= COVERED_BLOCKS, COVERED_BLOCKS - used
    assert used >= COVERED_ELEMENTS, COVERED_ELEMENTS - used


def test_dates_are_shown_in_the_viewers_zone() -> None:
    token = f"<!date^{MOMENT}^{{date_short_pretty}} at {{time}}|fallback>"
    assert ">yesterday at 10:46 AM<" in mrkdwn_to_html(token, _ctx(BERLIN))
    assert ">yesterday at 4:46 AM<" in mrkdwn_to_html(token, _ctx(ZoneInfo("America/New_York")))
    assert ">Nov 19, 2026 at 6:46 PM<" in mrkdwn_to_html(token, _ctx(ZoneInfo("Asia/Tokyo"), NOW + timedelta(days=3)))
    # The fallback is kept as the tooltip, and a malformed token shows only its fallback.
    assert 'title="fallback"' in mrkdwn_to_html(token, _ctx(BERLIN))
    assert mrkdwn_to_html("<!date^soon^{date}|in a while>", _ctx(BERLIN)) == "in a while"


def _ctx(tz: ZoneInfo, now: datetime = NOW) -> Any:
    from slackfake.html import _Context

    return _Context(dict(USERS), tz, now, None)


def test_slack_date_tokens() -> None:
    moment = datetime(2026, 11, 19, 21, 5, 9, tzinfo=UTC)
    assert format_date(moment, "{date_num}", UTC, NOW) == "2026-11-19"
    assert format_date(moment, "{date}", UTC, NOW) == "November 19th, 2026"
    assert format_date(moment, "{date_long}", UTC, NOW) == "Thursday, November 19th, 2026"
    assert format_date(moment, "{time} / {time_secs}", UTC, NOW) == "9:05 PM / 9:05:09 PM"
    assert format_date(moment, "{date_pretty}", UTC, NOW) == "yesterday"
    assert format_date(NOW, "{date_short_pretty}", UTC, NOW) == "today"
    assert format_date(NOW + timedelta(days=1), "{date_long_pretty}", UTC, NOW) == "tomorrow"
    assert format_date(NOW - timedelta(days=3), "{ago}", UTC, NOW) == "3 days ago"
    assert format_date(datetime(2026, 12, 2, tzinfo=UTC), "{date}", UTC, NOW) == "December 2nd, 2026"
    assert format_date(datetime(2026, 12, 11, tzinfo=UTC), "{date}", UTC, NOW) == "December 11th, 2026"
    # Midnight in Berlin is still the previous day in UTC: the zone decides the date.
    late = datetime(2026, 11, 19, 23, 30, tzinfo=UTC)
    assert format_date(late, "{date_num} {time}", BERLIN, NOW) == "2026-11-20 12:30 AM"


def test_each_input_has_an_error_slot_between_its_field_and_the_next() -> None:
    view = SAMPLES[[s.name for s in SAMPLES].index("text, number, checkbox and radio inputs")].payload
    markup = to_html(view, users=USERS)
    nps = markup.index('name="nps/nps"')
    slot = markup.index('class="bk-error"', nps)
    assert nps < slot < markup.index('name="answer/answer"')
    assert markup.count('class="bk-error"') == 4


def test_nothing_from_a_payload_becomes_markup() -> None:
    hostile = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "<b>title</b>"},
        "blocks": [
            {
                "type": "actions",
                "block_id": 'x" onclick="alert(1)',
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "<img src=x onerror=alert(1)>"},
                        "action_id": "a",
                        "value": '"><script>alert(1)</script>',
                    }
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "<javascript:alert(1)|click me> *<b>x</b>*"}},
        ],
    }
    markup = to_html(hostile)
    assert "<script" not in markup and "<img src=x" not in markup and "<b>title" not in markup
    assert 'onclick="' not in markup
    assert "javascript:" not in markup.replace("javascript:alert(1)|", "")
    assert "href=" not in markup  # a link to anything but http(s)/mailto is shown as its label only
    assert "click me" in markup


def test_images_of_uploaded_files_use_the_pages_file_urls() -> None:
    message = {
        "blocks": [{"type": "image", "slack_file": {"id": "F123"}, "alt_text": "chart"}],
        "files": [{"id": "F9", "name": "digest.png", "title": "Weekly chart"}],
    }
    markup = to_html(message, file_url=lambda file_id: f"/files/{file_id}")
    assert 'src="/files/F123"' in markup and 'src="/files/F9"' in markup and "Weekly chart" in markup
    assert "[chart]" in to_html({"blocks": message["blocks"]})  # no URL to show: its alt text, as a placeholder


def test_entities_are_unescaped_once() -> None:
    assert visible(mrkdwn_to_html("&amp;lt;")) == "&lt;"
    assert html.unescape(mrkdwn_to_html("Tom &amp; Jerry")) == "Tom & Jerry"
