"""Sentences a listener says about the click itself rather than the domain: out of date, not opened."""

from __future__ import annotations

from bot.views.text import safe

OUT_OF_DATE = "That button is out of date; use the latest message about this request."
OUT_OF_DATE_CHECKIN = "That button is out of date; use the latest check-in message."
OUT_OF_DATE_PLAIN = "That button is out of date."
OUT_OF_DATE_HOME = "That button is out of date; open your Home again."
OUT_OF_DATE_FIND = "That button is out of date; run `/reference find` again."
OUT_OF_DATE_SEARCH = "That button is out of date; search again with `/reference find`."
OUT_OF_DATE_PROFILE = "That button is out of date; use `/reference show &lt;customer&gt;`."
FORM_FOR_NO_REQUEST = "This form no longer matches a request."
FORM_FOR_NO_CHECKIN = "This form no longer matches a check-in."
FORM_FOR_NO_CUSTOMER = "This form no longer matches a customer."


def form_not_opened(what: str, error: object, status: int) -> str:
    """Slack refused `views.open` (an expired trigger, a 5xx): say so, and that trying again is safe."""
    reason = f" (`{safe(error, 100)}`)" if error else f" (Slack answered {status})"
    return f":warning: Slack could not open {what}{reason}. Nothing was changed; please try again."
