"""The playground's web page: a minimal Slack client over a `Workspace`, served by waitress on loopback.

Server-rendered HTML (Flask + Jinja) and one small script (`static/playground.js`) that polls
`/api/state` and sends what the person does to `/api/…`; the `Workspace` turns each into the signed
request Slack would send. Messages are rendered by `slackfake.html` for the person looking (their names,
their time zone), so a card updated in place by refbot is replaced in place on the page.

Every POST must carry `X-Playground: 1` (a page on another site cannot add it without a CORS preflight,
which this app never grants) and a Host header naming this server, so no other web page can click on
a person's behalf.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, jsonify, render_template, request

from playground.workspace import CHANNELS, Item, PlaygroundError, Workspace
from slackfake.html import format_date, to_html

ADVANCES = {"day": timedelta(days=1), "week": timedelta(days=7)}


def create_web_app(workspace: Workspace, *, allowed_hosts: frozenset[str] = frozenset()) -> Flask:
    """The Flask app for one running workspace; `allowed_hosts` are the Host headers it answers to."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def guard() -> None:
        host = (request.host or "").lower()
        if allowed_hosts and host not in allowed_hosts:
            abort(421)
        if request.method == "POST" and request.headers.get("X-Playground") != "1":
            abort(403)

    @app.after_request
    def no_framing(response: Response) -> Response:
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'"
        )
        return response

    @app.get("/")
    def page() -> str:
        people = workspace.people
        return render_template(
            "page.html",
            people=people,
            first=people[0].user_id,
            channels=CHANNELS,
            clock=_clock_label(workspace),
        )

    @app.get("/api/state")
    def state() -> Response:
        user = _user(workspace)
        where = request.args.get("where", "dm")
        person = workspace.person(user)
        tz = ZoneInfo(person.tz)
        render = _renderer(workspace, tz)
        body: dict[str, Any] = {"clock": _clock_label(workspace), "you": person.name, "tz": person.tz}
        if where == "home":
            home = workspace.home(user)
            body["home"] = _fragment(render(home)) if home is not None else None
        else:
            channel = _channel(workspace, user, where)
            body["items"] = [_item(workspace, item, render, tz) for item in workspace.conversation(user, channel)]
        modal = workspace.modal(user)
        body["modal"] = {"view_id": modal["id"], **_fragment(render(modal))} if modal is not None else None
        body["dms"] = {p.user_id: workspace.dm_count(p.user_id) for p in workspace.people}  # for unread badges
        body["violations"] = workspace.violations()
        return jsonify(body)

    @app.post("/api/command")
    def command() -> Response:
        data = _json()
        user = _user(workspace, data)
        channel = _channel(workspace, user, str(data.get("where") or "dm"))
        return _attempt(lambda: workspace.send(user, channel, str(data.get("text") or "")))

    @app.post("/api/action")
    def action() -> Response:
        data = _json()
        user = _user(workspace, data)
        surface = dict(data.get("surface") or {})
        return _attempt(lambda: workspace.act(user, surface, dict(data.get("action") or {})))

    @app.post("/api/submit")
    def submit() -> Response:
        data = _json()
        user = _user(workspace, data)
        try:
            errors = workspace.submit(user, str(data.get("view_id")), dict(data.get("values") or {}))
        except PlaygroundError as exc:
            return jsonify({"ok": False, "error": str(exc)})
        return jsonify({"ok": not errors, "errors": errors})

    @app.post("/api/close")
    def close() -> Response:
        data = _json()
        return _attempt(lambda: workspace.close(_user(workspace, data), str(data.get("view_id"))))

    @app.post("/api/suggest")
    def suggest() -> Response:
        data = _json()
        user = _user(workspace, data)
        options = workspace.suggest(user, str(data.get("view_id")), str(data.get("action_id")), str(data.get("query")))
        return jsonify({"options": options})

    @app.post("/api/home")
    def home() -> Response:
        data = _json()
        return _attempt(lambda: workspace.open_home(_user(workspace, data)))

    @app.post("/api/jobs")
    def jobs() -> Response:
        return jsonify({"ok": True, "lines": workspace.run_jobs(), "clock": _clock_label(workspace)})

    @app.post("/api/advance")
    def advance() -> Response:
        by = ADVANCES.get(str(_json().get("by")))
        if by is None:
            abort(400)
        return jsonify({"ok": True, "lines": workspace.advance(by), "clock": _clock_label(workspace)})

    @app.get("/files/<file_id>")
    def file(file_id: str) -> Response:
        data = workspace.file(file_id)
        if data is None:
            abort(404)
        kind = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "application/octet-stream"
        return Response(data, mimetype=kind)

    return app


def _channel(workspace: Workspace, user: str, where: str) -> str:
    """`dm` is the person's DM with refbot; otherwise one of the workspace's channels."""
    if where == "dm":
        return workspace.dm(user)
    if where not in CHANNELS:
        abort(404)
    return where


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _user(workspace: Workspace, data: dict[str, Any] | None = None) -> str:
    user = str((data or {}).get("as") or request.args.get("as") or "")
    try:
        workspace.person(user)
    except PlaygroundError:
        abort(404)
    return user


def _attempt(do: Callable[[], Any]) -> Response:
    try:
        do()
    except PlaygroundError as exc:
        return jsonify({"ok": False, "error": str(exc)})
    return jsonify({"ok": True})


def _renderer(workspace: Workspace, tz: ZoneInfo) -> Callable[[Any], str]:
    names = workspace.names()
    now = workspace.clock.now()

    def render(payload: Any) -> str:
        return to_html(payload, users=names, tz=tz, now=now, file_url=lambda file_id: f"/files/{file_id}")

    return render


def _fragment(markup: str) -> dict[str, str]:
    return {"html": markup, "hash": hashlib.sha1(markup.encode()).hexdigest()[:16]}


def _item(workspace: Workspace, item: Item, render: Callable[[Any], str], tz: ZoneInfo) -> dict[str, str]:
    """One message with its sender line, as the page shows it (ephemerals say who can see them)."""
    posted = workspace.posted_at(item.ts)
    when = format_date(posted, "{time}", tz, workspace.clock.now())
    edited = ' <span class="edited">(edited)</span>' if item.payload.get("edited") else ""
    badge = '<span class="app-badge">APP</span>' if item.app else ""
    only_you = (
        '<div class="only-you"><span aria-hidden="true">👁</span> Only visible to you</div>' if item.ephemeral else ""
    )
    surface = (
        {"kind": "ephemeral", "key": item.key, "channel": item.payload.get("channel")}
        if item.ephemeral
        else {"kind": "message", "channel": item.payload.get("channel"), "ts": item.ts}
    )
    initial = html.escape(item.sender[:1].upper())
    avatar = "avatar-app" if item.app else ("avatar-slackbot" if item.sender == "Slackbot" else "avatar-person")
    markup = (
        f'<div class="avatar {avatar}">{initial}</div><div class="msg-body">'
        f'<div class="msg-head"><b>{html.escape(item.sender)}</b>{badge}'
        f'<time title="{html.escape(posted.isoformat())}">{html.escape(when)}</time>{edited}</div>'
        f"{only_you}{render(item.payload)}</div>"
    )
    return {
        "key": item.key,
        "surface": json.dumps(surface),
        "ephemeral": "1" if item.ephemeral else "",
        **_fragment(markup),
    }


def _clock_label(workspace: Workspace) -> str:
    now = workspace.clock.now().astimezone(workspace.settings.tz)
    days = workspace.clock.offset.days
    ahead = f" · {days} day{'s' if days != 1 else ''} ahead" if days else ""
    return f"{now:%a %d %b %Y, %H:%M} {workspace.settings.timezone}{ahead}"
