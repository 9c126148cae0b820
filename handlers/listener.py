"""The one way to write a listener: a listener is only what differs, the shared ceremony lives here.

A button listener says which ids its button carries, which domain call it makes, and what it shows:

    @on.change(ids.matching(ids.APPROVE), reads=two_records)
    def approve(session: Session, click: Click[tuple[int, int]]) -> None:
        rq.approve(session, settings, *click.carried, click.user_id)

and this module does the rest, the same way for every button: ack at once (Slack wants it within 3 s);
read the button's value with `reads` and answer "out of date" when it is not what refbot renders (an old
message, a forged value); run the domain call in one transaction (`change`) or one read-only reading
(`opens`, `shows`); kick the outbox after the commit; and tell the clicker about any refusal or failure
(`handlers.errors.reported`), never a traceback. A modal submission (`submits`) runs in one transaction
before its ack, so a refusal or bad input goes back into the open form and nothing the person typed is lost.

The domain function re-reads state and checks the clicker's rights; a listener never trusts the value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from slack_bolt import Ack, App, Complete, Fail
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.deps import Deps
from bot.errors import NotFound, ValidationFailed
from bot.views.notices import OUT_OF_DATE, form_not_opened
from handlers.errors import reported, tell_user, user_message
from handlers.forms import FormValues, form_values, metadata, record_id, texts

T = TypeVar("T")
Reads = Callable[[object], "T | None"]
Builds = Callable[[Session, "Click[T]"], dict[str, Any]]
Saves = Callable[[Session, "Submission"], "dict[str, Any] | None"]
Accepts = Callable[["Submission"], Callable[[WebClient], None]]
Runs = Callable[[Session, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Click(Generic[T]):
    """One button click as a listener sees it: who clicked, what the button carried, where to answer."""

    body: dict[str, Any]
    client: WebClient
    respond: Respond
    carried: T  # what the button's value said, as its reader parsed it
    user_id: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "user_id", str(self.body["user"]["id"]))

    def tell(self, text: str) -> None:
        """A private sentence to the clicker, wherever they clicked."""
        tell_user(self.body, self.client, self.respond, text)

    def open(self, view: dict[str, Any], what: str = "the form") -> None:
        """Open `view` while the click's trigger_id is fresh; a refusal from Slack is told, not raised."""
        open_view(self.client, self.body.get("trigger_id"), view, self.tell, what)


@dataclass(frozen=True)
class Submission:
    """One submitted modal: who submitted it, what they typed (`values`), and what refbot stored in it."""

    body: dict[str, Any]
    view: dict[str, Any]
    values: FormValues = field(init=False)
    meta: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", form_values(self.view))
        object.__setattr__(self, "meta", metadata(self.view))

    @property
    def user_id(self) -> str:
        return str(self.body["user"]["id"])

    @property
    def texts(self) -> dict[str, str | None]:
        """The single-value inputs (text, a choice, a date), for a parser that takes strings."""
        return texts(self.values)

    def text(self, block_id: str) -> str:
        """What was typed or chosen in one input, "" when left empty."""
        return self.texts.get(block_id) or ""

    def record(self, key: str, stale: str) -> int:
        """The id the form was opened for (its private_metadata), or "no longer matches" as `NotFound(stale)`."""
        found = record_id(self.meta.get(key))
        if found is None:
            raise NotFound(stale)
        return found


@dataclass(frozen=True)
class Shortcut:
    """One shortcut as a listener sees it (a message shortcut carries the `message` it was used on)."""

    body: dict[str, Any]
    client: WebClient
    respond: Respond

    @property
    def user_id(self) -> str:
        return str(self.body["user"]["id"])

    @property
    def message(self) -> dict[str, Any]:
        found = self.body.get("message")
        return found if isinstance(found, dict) else {}

    @property
    def channel_id(self) -> str:
        return str((self.body.get("channel") or {}).get("id") or "")

    def tell(self, text: str) -> None:
        tell_user(self.body, self.client, self.respond, text)

    def open(self, view: dict[str, Any], what: str = "the form") -> None:
        open_view(self.client, self.body.get("trigger_id"), view, self.tell, what)


def open_view(
    client: WebClient, trigger_id: object, view: dict[str, Any], tell: Callable[[str], None], what: str = "the form"
) -> None:
    """`views.open`, telling the person in one sentence when Slack refuses (an expired trigger, a 5xx)."""
    try:
        client.views_open(trigger_id=str(trigger_id or ""), view=view)
    except SlackApiError as exc:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        tell(form_not_opened(what, data.get("error"), exc.response.status_code))


class Listen:
    """Registers listeners the one way; built per feature as `on = Listen(app, deps)`."""

    def __init__(self, app: App, deps: Deps) -> None:
        self.app = app
        self.deps = deps

    def _read(self, action: dict[str, Any] | None, reads: Reads[T], stale: str) -> T:
        carried = reads((action or {}).get("value") if isinstance(action, dict) else None)
        if carried is None:
            raise NotFound(stale)
        return carried

    def _button(self, action_id: Any, reads: Reads[T], stale: str, run: Callable[[Click[T]], None]) -> None:
        def listener(
            ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
        ) -> None:
            ack()
            with reported(body, client, respond, self.deps.settings.tz):
                run(Click(body, client, respond, self._read(action, reads, stale)))

        self.app.action(action_id)(listener)

    def click(
        self, action_id: Any, reads: Reads[T], stale: str = OUT_OF_DATE
    ) -> Callable[[Callable[[Click[T]], None]], Callable[[Click[T]], None]]:
        """A button that needs no database of its own (it opens a form, or hands on to a domain function)."""

        def register(fn: Callable[[Click[T]], None]) -> Callable[[Click[T]], None]:
            self._button(action_id, reads, stale, fn)
            return fn

        return register

    def change(
        self, action_id: Any, reads: Reads[T], stale: str = OUT_OF_DATE
    ) -> Callable[[Callable[[Session, Click[T]], None]], Callable[[Session, Click[T]], None]]:
        """A button that changes something: the domain call in one transaction, then the outbox kicked."""

        def register(fn: Callable[[Session, Click[T]], None]) -> Callable[[Session, Click[T]], None]:
            def run(click: Click[T]) -> None:
                with self.deps.db.transaction() as session:
                    fn(session, click)
                self.deps.outbox.kick()

            self._button(action_id, reads, stale, run)
            return fn

        return register

    def opens(self, action_id: Any, reads: Reads[T], stale: str = OUT_OF_DATE) -> Callable[[Builds[T]], Builds[T]]:
        """A button that opens a form: the view built in one reading, opened once the reading is closed."""
        return self._building(action_id, reads, stale, lambda click, view: click.open(view))

    def shows(
        self, action_id: Any, reads: Reads[T], stale: str = OUT_OF_DATE, *, replace: bool = False
    ) -> Callable[[Builds[T]], Builds[T]]:
        """A button that shows something: the message built in one reading, then posted to the clicker only
        (`replace`: in place of the message the button sits in, like a page turned)."""

        def answer(click: Click[T], message: dict[str, Any]) -> None:
            if replace:
                click.respond(replace_original=True, **message)
            else:
                click.respond(response_type="ephemeral", replace_original=False, **message)

        return self._building(action_id, reads, stale, answer)

    def _building(
        self, action_id: Any, reads: Reads[T], stale: str, deliver: Callable[[Click[T], dict[str, Any]], None]
    ) -> Callable[[Builds[T]], Builds[T]]:
        def register(fn: Builds[T]) -> Builds[T]:
            def run(click: Click[T]) -> None:
                with self.deps.db.reading() as session:
                    built = fn(session, click)
                deliver(click, built)  # after the reading: no connection held while Slack answers

            self._button(action_id, reads, stale, run)
            return fn

        return register

    def shortcut(self, callback_id: Any) -> Callable[[Callable[[Shortcut], None]], Callable[[Shortcut], None]]:
        """A global or message shortcut: acked at once, then `fn` (which opens a form while the trigger_id is
        fresh, or tells the person why not); a failure is told, never a traceback."""

        def register(fn: Callable[[Shortcut], None]) -> Callable[[Shortcut], None]:
            def listener(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
                ack()
                with reported(body, client, respond):
                    fn(Shortcut(body, client, respond))

            self.app.shortcut(callback_id)(listener)
            return fn

        return register

    def step(self, callback_id: str) -> Callable[[Runs], Runs]:
        """A Workflow Builder custom step: `fn(session, inputs)` returns the step's outputs, in one transaction;
        the step then completes (`functions.completeSuccess`), or fails with the refusal's sentence
        (`functions.completeError`), so a workflow never hangs on refbot. Bolt acks the event first."""

        def register(fn: Runs) -> Runs:
            def listener(inputs: dict[str, Any], complete: Complete, fail: Fail) -> None:
                try:
                    with self.deps.db.transaction() as session:
                        outputs = fn(session, dict(inputs or {}))
                except ValidationFailed as exc:
                    fail(" ".join(exc.errors.values()))
                    return
                except Exception as exc:
                    fail(user_message(exc, self.deps.settings.tz, markup=False))
                    return
                self.deps.outbox.kick()
                complete(outputs=outputs)

            self.app.function(callback_id)(listener)
            return fn

        return register

    def accepts(self, callback_id: Any, *, errors_at: str) -> Callable[[Accepts], Accepts]:
        """A modal whose work is slow (a download, an import's dry run): `fn` checks the submission before the
        ack (a refusal or bad input goes back into the form) and returns the work, run after the ack; the
        work's failures are told to the submitter, never a traceback."""

        def register(fn: Accepts) -> Accepts:
            def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
                try:
                    work = fn(Submission(body, view))
                except ValidationFailed as exc:
                    ack(response_action="errors", errors=exc.errors)
                    return
                except Exception as exc:
                    ack(
                        response_action="errors",
                        errors={errors_at: user_message(exc, self.deps.settings.tz, markup=False)},
                    )
                    return
                ack()
                with reported(body, client, None):
                    work(client)

            self.app.view(callback_id)(listener)
            return fn

        return register

    def submits(self, callback_id: Any, *, errors_at: str) -> Callable[[Saves], Saves]:
        """A modal submission, saved in one transaction before the ack.

        Bad input (`ValidationFailed`) goes back against its own fields; any other refusal or failure goes
        against `errors_at` (a block the modal always has), so the form stays open with what was typed.
        What `fn` returns is the ack's answer (e.g. `response_action: update`); None closes the modal.
        """

        def register(fn: Saves) -> Saves:
            def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
                submission = Submission(body, view)
                try:
                    with self.deps.db.transaction() as session:
                        answer = fn(session, submission)
                except ValidationFailed as exc:
                    ack(response_action="errors", errors=exc.errors)
                    return
                except Exception as exc:  # keep the modal open with the person's input rather than lose it
                    said = user_message(exc, self.deps.settings.tz, markup=False)
                    ack(response_action="errors", errors={errors_at: said[:2000]})
                    return
                ack(**(answer or {}))
                self.deps.outbox.kick()

            self.app.view(callback_id)(listener)
            return fn

        return register
