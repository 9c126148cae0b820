"""`/reference import` from Slack: the same import pipeline as `refbot import`, fed by a file dropped in a modal.

Only where the file comes from and where the report goes differ from the CLI (bot/importing/ is untouched):
the file is fetched with `files.info` → `url_private` and the bot token, then `import_files` runs on it, as
a dry run for the preview and for real on *Apply* (the file is fetched again then, so nothing waits in
memory or on disk between the two, and a restart in between loses nothing).

The bot token is sent only to Slack's own hosts (files.slack.com, *.slack.com, or the configured
SLACK_API_URL's host, which is the fake's in tests): a file whose `url_private` points anywhere else (a
forged payload can claim any URL) is refused and logged, never downloaded. Redirects are not followed (a
redirect would carry the token elsewhere); downloads are streamed and stopped at Slack's 10 MB limit.
"""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.errors import NotAllowed
from bot.importing import ImportFailed, ImportOptions, ImportReport, SlackOwnerDirectory, Source, import_files
from bot.importing.progress import ProgressFactory, silent
from bot.outbox import remember_delivery
from bot.settings import Settings
from models.db import Database

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 1024 * 1024  # Slack's file_input limit
CHUNK = 64 * 1024
KINDS = (".csv", ".xlsx")
NOT_A_LIST = "{name} is not a list refbot can import: send a CSV or XLSX file with a column naming the customers."


@dataclass(frozen=True)
class Preview:
    """What the dry run found: the columns each file's headers were read as, and the counts."""

    name: str
    mapping: list[str]
    report: ImportReport


def require_manager(settings: Settings, actor: str) -> None:
    if not settings.is_manager(actor):
        raise NotAllowed("Only reference managers can import customer lists.")


def is_slack_host(url: str, settings: Settings) -> bool:
    """Whether `url` is on one of Slack's own hosts (or the configured API host), over https (http: the fake)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    api = urlsplit(settings.slack_api_url)
    if api.hostname and host == api.hostname.lower() and parts.port == api.port and parts.scheme == api.scheme:
        return True
    return parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com"))


def _file_name(raw: object) -> str:
    """A file name safe to create: its last part, only letters, digits, dot, dash and underscore."""
    name = re.sub(r"[^\w.-]+", "_", str(raw or "").replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    return name[:120] or "list.csv"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        return None  # a redirect would re-send the Authorization header to wherever it points


def download(client: WebClient, settings: Settings, file_id: str, folder: Path) -> Path:
    """Fetch the shared file into `folder`; ImportFailed (one sentence) when refbot will not or cannot."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        raise ImportFailed(f"Slack would not describe that file ({exc.response.get('error')})") from None
    name = _file_name(info.get("name"))
    if Path(name).suffix.lower() not in KINDS:
        raise ImportFailed(NOT_A_LIST.format(name=name))
    size = info.get("size")
    if isinstance(size, int) and size > MAX_BYTES:
        raise ImportFailed(f"{name} is over 10 MB; split it, or run `refbot import` on the server")
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not is_slack_host(url, settings):
        log.warning(
            "refused to download file %s: its url_private host %r is not Slack's", file_id, urlsplit(url).hostname
        )
        raise ImportFailed(f"{name} does not come from Slack's own file store, so refbot did not download it")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {settings.slack_bot_token}"})
    opener = urllib.request.build_opener(_NoRedirects)
    target = folder / name
    total = 0
    try:
        with opener.open(request, timeout=30) as answer, target.open("wb") as out:
            while chunk := answer.read(CHUNK):
                total += len(chunk)
                if total > MAX_BYTES:
                    raise ImportFailed(f"{name} is over 10 MB; split it, or run `refbot import` on the server")
                out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise ImportFailed(f"Slack would not hand over {name} (HTTP {exc.code})") from None
    except (OSError, ValueError) as exc:  # a network failure, or an address no HTTP client accepts
        raise ImportFailed(f"{name} could not be downloaded ({exc.__class__.__name__})") from None
    return target


def _run(
    db: Database, client: WebClient, path: Path, actor: str, dry_run: bool, progress: ProgressFactory
) -> tuple[list[str], ImportReport]:
    mapping: list[str] = []

    def describe(source: Source) -> None:
        mapping.extend(source.mapping.describe())

    options = ImportOptions(dry_run=dry_run, actor=actor)
    owners = SlackOwnerDirectory(client)
    try:
        report = import_files(db, [path], options, owners=owners, progress=progress, on_source=describe)
    except ImportFailed as exc:
        raise ImportFailed(str(exc).replace(str(path), path.name)) from None
    if report.failed:
        message = report.failed[0].message.replace(str(path), path.name)
        raise ImportFailed(message if "no 'name' column" not in message else NOT_A_LIST.format(name=path.name))
    return mapping, report


def preview(db: Database, client: WebClient, path: Path, actor: str) -> Preview:
    """The dry run `refbot import --dry-run` makes: nothing written."""
    mapping, report = _run(db, client, path, actor, True, silent)
    return Preview(path.name, mapping, report)


def apply(db: Database, client: WebClient, path: Path, actor: str, progress: ProgressFactory) -> ImportReport:
    """The real import, in the CLI's one transaction: a failure half-way leaves what the CLI would leave."""
    return _run(db, client, path, actor, False, progress)[1]


def decide(session: Session, settings: Settings, file_id: str, actor: str) -> bool:
    """Claim the one decision (*Apply* or *Cancel*) for this file's preview; False when already taken."""
    require_manager(settings, actor)
    return remember_delivery(session, f"slack-import:{file_id}")


class ThrottledProgress:
    """A ProgressFactory that reports a line (rows done per stage) at most every `every` seconds."""

    def __init__(self, say: Callable[[str], None], every: float, clock: Callable[[], float]) -> None:
        self._say, self._every, self._clock = say, every, clock
        self._last = clock()

    def __call__(self, label: str, total: int | None) -> _Bar:
        return _Bar(self, label, total)

    def maybe(self, line: str) -> None:
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            self._say(line)


class _Bar:
    def __init__(self, owner: ThrottledProgress, label: str, total: int | None) -> None:
        self._owner, self._label, self._total, self._done = owner, label, total, 0

    def update(self, n: int = 1) -> None:
        self._done += n
        of = f" of {self._total:,}" if self._total else ""
        self._owner.maybe(f"{self._label}: {self._done:,}{of} rows")

    def close(self) -> None:
        return None


def file_id_of(value: object) -> str | None:
    """A Slack file id read from a button's value, or None for anything refbot would not have rendered."""
    return value if isinstance(value, str) and re.fullmatch(r"F[A-Z0-9]{2,30}", value) else None
