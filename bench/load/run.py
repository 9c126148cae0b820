"""Time to Slack's acknowledgement under load: `refbot serve` (SQLite and PostgreSQL, 100,000 customers)
beside a bare Bolt app that only acks (the floor), at 1, 5, 20 and 50 concurrent clients.

    .venv/bin/python bench/load/run.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
        [--customers 100000] [--requests 600] [--levels 1,5,20,50] [--threads 8] [--replicas 1]
        [--backends sqlite,postgresql] [--mix help=15,command=20,…] [--skip-floor]
        [--py-spy DIR [--py-spy-gil]] [--keep-logs DIR] [--env NAME=VALUE …]

What runs where:
* this process: the project's Slack fake (`slackfake.FakeSlack`, loopback) and the load generator — one thread
  and one keep-alive HTTP connection per concurrent client, sending requests signed exactly as Slack signs them
  (`slackfake.client.SignedClient` builds every payload; trigger ids and response URLs come from the fake, so
  the bot's `views.open` and error replies land somewhere that checks them);
* `python -m bot.cli serve` as a real subprocess per backend (production waitress server, `--threads`), on a
  fresh SQLite file or a private PostgreSQL schema with 100,000 customers loaded, the outbox worker on (it
  renders and posts every receipt and manager card while the load runs), the scheduler off;
* `bench/load/floor_app.py` as a subprocess: the same Bolt version and waitress setup, listeners that only ack.

The workload, a fixed mix in which every request is a new delivery (fresh trigger_id), sent back to back by
each client (closed loop, no think time):
  help      `/reference help`                                  — ack carries the help blocks
  command   `/reference request Prospect N`                     — ack, then views.open to the fake
  submit    view_submission of the request form (realistic)     — validated and written before the ack
  cancel    Cancel on the rep's own pending request             — ack, then the transition
  approve   Approve by a manager on a pending request           — ack, then eligibility + transition
  refused   someone else's Cancel / a rep's Approve / a second Cancel — ack, then an ephemeral refusal

Latency is wall time from sending the request to reading the whole HTTP response, per request. Errors are
non-200 answers, connection failures, and refbot answering a valid form with `response_action: errors`.
Peak RSS is each server process's VmHWM (/proc/PID/status). CPU ms/req is the server's CPU time per request
(work after the ack and the outbox included); "others" is CPU the machine spent on anything but the servers,
this process and PostgreSQL (other programs, kernel networking), to show when a shared machine skews a run.
`--replicas N` runs N processes of each server with the clients spread over them, as behind a load balancer.
`--py-spy DIR` records a profile of each server (`pip install py-spy`; not a project dependency); `--env
LOADBENCH_…` runs the server through `serve_with.py`, which applies a bench-only experiment.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import platform
import random
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy import select as sql_select  # noqa: E402

from bench.ranking_bench import INDUSTRIES, PRODUCTS, REGIONS, SEGMENTS, TOPICS  # noqa: E402
from bench.ranking_bench import load as load_customers  # noqa: E402
from bot import ids, migrate  # noqa: E402
from bot.views.requests import request_modal  # noqa: E402
from models import Customer, ReferenceRequest  # noqa: E402
from models.db import Database  # noqa: E402
from slackfake.client import Response, SignedClient  # noqa: E402
from slackfake.server import FakeSlack  # noqa: E402
from tests.postgres import private_schema  # noqa: E402
from tests.processes import terminate  # noqa: E402

SIGNING_SECRET = "load-bench-signing-secret"
BOT_TOKEN = "xoxb-load-bench"
MANAGERS = ("U0MGR001", "U0MGR002")
REPS = tuple(f"U0REP{i:03d}" for i in range(1, 51))
OWNERS = tuple(f"U{i:06d}" for i in range(1, 2001))  # the account owners bench.ranking_bench assigns

# Targets from the issue.
TARGET_RATIO = 1.5
TARGET_P99_MS = 300.0
TARGET_AT = 20
TARGET_RSS_MB = 300.0
TARGET_RATIO_ONE = 1.2  # p50 at 1 client
TARGET_DM_P95_MS = 1000.0  # submit → managers' DM and Approve → rep's DM, at TARGET_AT clients

MIX = (("help", 15), ("command", 20), ("submit", 30), ("cancel", 12), ("approve", 13), ("refused", 10))


# -- the database -------------------------------------------------------------------------------------


def preload_requests(db: Database, count: int, seed: int = 3) -> list[tuple[int, str]]:
    """`count` pending requests spread over the reps, for the Cancel and Approve clicks: (id, requester)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        rows.append(
            {
                "requester_id": REPS[i % len(REPS)],
                "prospect": f"Preloaded prospect {i}",
                "ref_type": rng.choice(["call", "call", "site_visit", "case_study"]),
                "industry": rng.choice(INDUSTRIES),
                "products": rng.sample(PRODUCTS, 2),
                "region": rng.choice(REGIONS),
                "segment": rng.choice(SEGMENTS),
                "topics": rng.sample(TOPICS, 1),
                "notes": "",
                "status": "submitted",
                "decline_reason": "",
                "deal_stage": "",
                "feedback": "",
                "created_at": now - timedelta(hours=rng.randint(1, 200)),
                "updated_at": now,
                "version": 1,
            }
        )
    with db.transaction() as session:
        session.execute(insert(ReferenceRequest), rows)
        found = session.execute(
            text(
                "SELECT id, requester_id FROM reference_requests WHERE prospect LIKE 'Preloaded prospect %' ORDER BY id"
            )
        ).all()
    return [(int(r[0]), str(r[1])) for r in found]


@contextmanager
def database(kind: str, tmp: Path, postgres: str) -> Iterator[str]:
    """A fresh, migrated database URL: a SQLite file, or a private schema on the PostgreSQL server."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'load.db'}"
        return
    with private_schema(postgres, "refbot_load") as url:
        yield url


def prepare(url: str, customers: int, pending: int) -> tuple[list[tuple[int, str]], list[int]]:
    """Load the customers and the pending requests; returns those requests and the customers an Approve can
    approve at once (happy and checked within the last 25 days), as a manager picks from the card's best."""
    db = Database(url)
    try:
        migrate.upgrade(db.engine)
        load_customers(db, customers)
        found = preload_requests(db, pending)
        with db.reading() as session:
            fresh = datetime.now(UTC) - timedelta(days=25)
            approvable = list(
                session.scalars(
                    sql_select(Customer.id).where(
                        Customer.referenceable.is_(True),
                        Customer.last_checkin_answer == "happy",
                        Customer.last_checkin_at > fresh,
                    )
                )
            )
        # A database in service has planner statistics (autovacuum keeps them); a freshly loaded one has
        # none until autovacuum gets round to it — mid-run, which would skew whichever level it lands in.
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return found, approvable
    finally:
        db.dispose()


# -- the servers --------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    process: subprocess.Popen[str]
    url: str
    log_path: Path
    profiler: subprocess.Popen[bytes] | None = None
    _drain: threading.Thread | None = None

    def pids(self) -> list[int]:
        """The server's process and all its descendants (`serve --workers N`: the supervisor, gunicorn's master,
        the web processes and the worker)."""
        return [self.process.pid, *descendants(self.process.pid)]

    def cpu_seconds(self) -> float:
        """User + system CPU time the server's processes have used so far (exited children's included)."""
        return sum(process_cpu_seconds(pid, with_children=True) for pid in self.pids()[:1]) + sum(
            process_cpu_seconds(pid) for pid in self.pids()[1:]
        )

    def peak_rss_mb(self) -> float:
        """The largest VmHWM among the server's processes: the figure the per-process target is about."""
        return max((peak_rss_kb(pid) for pid in self.pids()), default=0) / 1024

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise SystemExit(f"{self.name} exited with {self.process.returncode} during the run:\n{tail}")

    def log_problems(self) -> Counter[str]:
        """Log lines at WARNING or above, by level and message (the server logs JSON lines)."""
        counts: Counter[str] = Counter()
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return counts
        for line in lines:
            try:
                record = json.loads(line)
                message = re.sub(r"\d+", "N", str(record.get("message", "")))[:70]
                counts[f"{record.get('level', '?')} {record.get('logger', '')}: {message}"] += 1
            except ValueError:
                if line.strip():
                    counts[f"text: {line.strip()[:70]}"] += 1
        return counts

    def stop(self) -> None:
        if self.profiler is not None and self.profiler.poll() is None:
            self.profiler.send_signal(2)  # py-spy writes its profile on SIGINT
            try:
                self.profiler.wait(60)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
        terminate(self.process)


def process_cpu_seconds(pid: int, *, with_children: bool = False) -> float:
    """utime + stime of `pid` (and, with `with_children`, of its children that have exited and been reaped)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12]) + ((int(fields[13]) + int(fields[14])) if with_children else 0)
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc's parent links."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            children[int(stat.read_text().rsplit(")", 1)[1].split()[1])].append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, IndexError, ValueError):
        pass
    return 0


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (their share of the run)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().split("(", 1)[1].startswith("postgres)"):
                total += process_cpu_seconds(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return total


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, summed over cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values[:8]) - idle) / tick, sum(values[:8]) / tick


def start_server(name: str, argv: list[str], env: dict[str, str], log_path: Path, marker: str) -> Server:
    log_file = log_path.open("w")
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log_file, text=True)
    assert process.stdout is not None
    url = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not url:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith(marker):
                url = line.split()[len(marker.split())]
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}: {log_path.read_text()[-2000:]}")
    if not url:
        process.kill()
        raise SystemExit(f"{name} did not say where it listens within 120 s")

    def drain() -> None:  # keep stdout flowing so the server never blocks on a full pipe
        for _ in process.stdout:  # type: ignore[union-attr]
            pass

    server = Server(name, process, url, log_path)
    server._drain = threading.Thread(target=drain, daemon=True)
    server._drain.start()
    return server


def attach_profiler(server: Server, out_dir: Path | None, gil_only: bool = False) -> None:
    if out_dir is None:
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{server.name.replace(' ', '_')}.folded.txt"
    server.profiler = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--rate",
            "200",
            "--format",
            "raw",  # collapsed stacks: text to grep and sum; speedscope and flamegraph.pl both read it
            "--nonblocking",
            "--subprocesses",  # `serve --workers N`: the web processes and the worker below the supervisor
            *(["--gil"] if gil_only else []),
            "-o",
            str(target),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)


def serve_refbot(
    url: str, fake: FakeSlack, threads: int, log_path: Path, extra_env: dict[str, str], workers: int = 0
) -> Server:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SLACK_", "REFBOT_", "DATABASE_URL", "TEST_DATABASE_URL"))
    }
    env.update(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url,
            "DATABASE_URL": url,
            "REFBOT_MANAGERS": ",".join(MANAGERS),
            "REFBOT_SCHEDULER": "off",
            "REFBOT_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env)
    entry = ["-m", "bot.cli"]
    if any(key.startswith("LOADBENCH_") for key in extra_env):  # bench-only experiments (see serve_with.py)
        entry = [str(ROOT / "bench" / "load" / "serve_with.py")]
    argv = [
        sys.executable,
        *entry,
        "--env-file",
        os.devnull,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--threads",
        str(threads),
        *(("--workers", str(workers)) if workers else ()),
    ]
    return start_server("refbot", argv, env, log_path, "refbot listening on")


def serve_floor(fake: FakeSlack, threads: int, log_path: Path, workers: int = 0) -> Server:
    argv = [
        sys.executable,
        str(ROOT / "bench" / "load" / "floor_app.py"),
        "--signing-secret",
        SIGNING_SECRET,
        "--api-url",
        fake.url,
        "--threads",
        str(threads),
        *(("--workers", str(workers)) if workers else ()),
    ]
    return start_server("floor", argv, dict(os.environ), log_path, "floor listening on")


# -- the load generator -------------------------------------------------------------------------------


class TimedClient(SignedClient):
    """SignedClient over one keep-alive connection per thread; records the send → response time."""

    def __init__(self, url: str, fake: FakeSlack) -> None:
        super().__init__(url, SIGNING_SECRET, fake=fake, timeout=30)
        parts = urlsplit(url)
        self._host, self._port, self._path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def _post(self, data: bytes, headers: dict[str, str]) -> Response:
        for attempt in (1, 2):
            conn = self._connection()
            started = time.perf_counter()
            try:
                conn.request("POST", self._path, body=data, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
            except (ConnectionError, http.client.HTTPException) as exc:
                conn.close()
                self._local.conn = None
                # A keep-alive connection the server closed while idle is not the request's failure.
                if attempt == 1 and isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError):
                    continue
                self._local.elapsed = time.perf_counter() - started
                return Response(599, f"{type(exc).__name__}: {exc}", {})
            self._local.elapsed = time.perf_counter() - started
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                self._local.conn = None
            return Response(resp.status, body.decode("utf-8", "replace"), dict(resp.getheaders()))
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


@dataclass
class Workload:
    """Hands out operations; pending requests are consumed so that each click meets a fresh request."""

    pending: list[tuple[int, str]]
    customers: int
    approvable: list[int] = field(default_factory=list)  # half the Approves pick one of these
    tag: str = ""  # in every prospect's name, so one backend's DMs are never matched to another's sends
    seed: int = 1
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    cancelled: list[tuple[int, str]] = field(default_factory=list)
    mix: tuple[tuple[str, int], ...] = MIX
    # When each form was submitted / each Approve clicked (wall clock, as the Slack fake stamps its calls),
    # to time the DM each causes: the managers' card, the rep's "approved" notice.
    submitted: list[tuple[float, str]] = field(default_factory=list)
    approved: list[tuple[float, int]] = field(default_factory=list)

    def plan(self, n: int) -> list[str]:
        rng = random.Random(self.seed * 1000 + n)
        self.seed += 1
        kinds = [k for k, w in self.mix for _ in range(w)]
        return [rng.choice(kinds) for _ in range(n)]

    def take_pending(self) -> tuple[int, str] | None:
        with self._lock:
            return self.pending.pop() if self.pending else None

    def number(self) -> int:
        with self._lock:
            return next(self._counter)


FORM = request_modal("")


def send(kind: str, client: TimedClient, work: Workload, rng: random.Random) -> tuple[str, Response]:
    """Build one signed request of `kind` and send it; returns the label it is counted under."""
    n = work.number()
    rep = rng.choice(REPS)
    if kind == "help":
        return kind, client.command(rep, "help")
    if kind == "command":
        return kind, client.command(rep, f"request Prospect {n}")
    if kind == "submit":
        values: dict[str, Any] = {
            "prospect": f"Prospect {work.tag}{n} {rng.choice(['Inc', 'GmbH', 'Ltd'])}",
            "ref_type": rng.choice(["call", "call", "call", "site_visit", "case_study", "logo"]),
            "industry": rng.choice(INDUSTRIES),
            "products": ", ".join(rng.sample(PRODUCTS, 2)),
            "region": rng.choice(REGIONS),
            "segment": rng.choice(SEGMENTS),
            "topics": ", ".join(rng.sample(TOPICS, 2)),
            "needed_by": date.today() + timedelta(days=rng.randint(3, 40)),
            "opportunity_amount": str(rng.randint(10, 900) * 1000),
            "notes": "Late-stage deal; the CFO wants to hear from a peer about the migration.",
        }
        if rng.random() < 0.2:
            cid = rng.randint(1, work.customers)
            values[ids.SPECIFIC_CUSTOMER] = (str(cid), f"Customer {cid}")
        sent = time.time()
        response = client.view_submission(rep, FORM, values)
        with work._lock:
            work.submitted.append((sent, values["prospect"]))
        return kind, response
    if kind in ("cancel", "approve", "refused"):
        pending = work.take_pending()
        if pending is None:  # ran out of preloaded requests: count it as a help instead
            return "help", client.command(rep, "help")
        request_id, requester = pending
        if kind == "cancel":
            with work._lock:
                work.cancelled.append(pending)
            return kind, client.block_action(requester, ids.CANCEL, value=str(request_id))
        if kind == "approve":
            fresh = work.approvable and rng.random() < 0.5
            cid = rng.choice(work.approvable) if fresh else rng.randint(1, work.customers)
            manager = rng.choice(MANAGERS)
            sent = time.time()
            response = client.block_action(manager, ids.for_item(ids.APPROVE, cid), value=f"{request_id}:{cid}")
            with work._lock:
                work.approved.append((sent, request_id))
            return kind, response
        # refused: someone else cancels, a rep approves, or a second cancel of a cancelled request
        choice = rng.randrange(3)
        if choice == 0:
            other = next(r for r in REPS if r != requester)
            return kind, client.block_action(other, ids.CANCEL, value=str(request_id))
        if choice == 1:
            cid = rng.randint(1, work.customers)
            return kind, client.block_action(requester, ids.for_item(ids.APPROVE, cid), value=f"{request_id}:{cid}")
        with work._lock:
            done = work.cancelled[rng.randrange(len(work.cancelled))] if work.cancelled else pending
        return kind, client.block_action(done[1], ids.CANCEL, value=str(done[0]))
    raise ValueError(kind)


@dataclass
class LevelResult:
    label: str
    concurrency: int
    latencies: list[float]
    errors: int
    error_samples: list[str]
    seconds: float
    by_kind: dict[str, list[float]]
    rss_mb: float = 0.0  # the largest VmHWM of the server processes so far
    to_manager_dm: list[float] = field(default_factory=list)  # ms from a form's submission to the managers' card
    to_rep_dm: list[float] = field(default_factory=list)  # ms from Approve to the rep's "approved" DM
    cpu_ms: float = float("nan")  # server CPU per request (all its processes; includes after-ack work)
    load_cpu_ms: float = float("nan")  # this process (load generator + Slack fake) per request
    machine_busy: float = float("nan")  # share of all cores busy during the level
    others_busy: float = float("nan")  # ... of which neither the servers, this process nor PostgreSQL

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else float("nan")

    def pct(self, p: float, values: list[float] | None = None) -> float:
        ordered = sorted(self.latencies if values is None else values)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def is_error(kind: str, response: Response) -> str | None:
    if response.status != 200:
        return f"{kind}: HTTP {response.status} {response.body[:120]}"
    if kind == "submit":
        body = response.json()
        if isinstance(body, dict) and body.get("response_action") == "errors":
            return f"submit: form errors {json.dumps(body.get('errors'))[:160]}"
    return None


def dm_latencies(
    fake: FakeSlack, work: Workload, since: tuple[int, int], wait: float = 180.0
) -> tuple[list[float], list[float]]:
    """(submit → first manager card, Approve → rep's "approved" DM) in ms, for the sends recorded after index
    `since` of each list; waits (up to `wait` s) until every submission's card is out, so a worker that fell
    behind shows as the backlog it is, not as missing samples. An Approve that was refused or went to a
    check-in first causes no such DM and is left out."""
    submits, approves = work.submitted[since[0] :], work.approved[since[1] :]
    first = min([t for t, _ in submits] + [t for t, _ in approves], default=0.0)
    deadline = time.monotonic() + wait
    while True:
        cards: dict[str, float] = {}
        notices: dict[int, float] = {}
        for call in fake.calls("chat.postMessage"):
            if not call.ok or call.at < first:  # an earlier backend's database has the same request ids
                continue
            text = str(call.args.get("text", ""))
            if text.startswith("Request #") and " for " in text:
                prospect = text.split(" for ", 1)[1].rsplit(" from ", 1)[0]
                cards.setdefault(prospect, call.at)
            meta = call.args.get("metadata")
            meta = json.loads(meta) if isinstance(meta, str) else meta or {}
            key = str((meta.get("event_payload") or {}).get("key", ""))
            if key.startswith("request:") and key.endswith(":approved"):
                notices.setdefault(int(key.split(":")[1]), call.at)
        waiting = sum(1 for _, p in submits if p not in cards)
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    to_manager = [(cards[p] - t) * 1000 for t, p in submits if p in cards]
    to_rep = [(notices[r] - t) * 1000 for t, r in approves if r in notices]
    return to_manager, to_rep


def run_level(servers: list[Server], fake: FakeSlack, work: Workload, concurrency: int, requests: int) -> LevelResult:
    """`requests` requests from `concurrency` clients, each on its own keep-alive connection to one of the
    servers (client i → server i mod N, as a load balancer would spread connections), no pause between them."""
    plan = work.plan(requests)
    clients = [TimedClient(f"{server.url}/slack/events", fake) for server in servers]
    next_index = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    barrier = threading.Barrier(concurrency + 1)

    def worker(number: int) -> None:
        rng = random.Random(concurrency * 7919 + number)
        client = clients[number % len(clients)]
        barrier.wait()
        try:
            while True:
                i = next(next_index)
                if i >= len(plan):
                    return
                try:
                    label, response = send(plan[i], client, work, rng)
                    elapsed = client._local.elapsed * 1000
                    problem = is_error(label, response)
                except Exception as exc:  # a bug in the generator must not look like a fast request
                    label, elapsed, problem = plan[i], float("nan"), f"{plan[i]}: generator {exc!r}"
                with lock:
                    if elapsed == elapsed:
                        latencies.append(elapsed)
                        by_kind[label].append(elapsed)
                    if problem:
                        errors.append(problem)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return LevelResult(servers[0].name, concurrency, latencies, len(errors), errors[:5], seconds, dict(by_kind))


# -- the run -----------------------------------------------------------------------------------------


def make_fake() -> FakeSlack:
    fake = FakeSlack(token=None).start()
    for i, manager in enumerate(MANAGERS, 1):
        fake.add_user(manager, f"manager{i}", real_name=f"Manager {i}")
    for rep in REPS:
        fake.add_user(rep, rep.lower(), real_name=f"Rep {rep[-3:]}")
    for owner in OWNERS:
        fake.add_user(owner, owner.lower(), real_name=f"Owner {owner[-4:]}")
    return fake


def drive(
    servers: list[Server], fake: FakeSlack, work: Workload, levels: list[int], requests: int
) -> list[LevelResult]:
    run_level(servers, fake, work, 4, 60)  # warm up: imports, pools, the first auth.test, caches
    results = []
    for concurrency in levels:
        server_cpu, load_cpu, pg_cpu = (
            sum(s.cpu_seconds() for s in servers),
            time.process_time(),
            postgres_cpu_seconds(),
        )
        busy, total = machine_busy_seconds()
        marks = (len(work.submitted), len(work.approved))
        result = run_level(servers, fake, work, concurrency, requests)
        busy, total = machine_busy_seconds()[0] - busy, machine_busy_seconds()[1] - total
        server_cpu = sum(s.cpu_seconds() for s in servers) - server_cpu
        load_cpu, pg_cpu = time.process_time() - load_cpu, postgres_cpu_seconds() - pg_cpu
        for server in servers:
            server.check_alive()
        count = max(1, len(result.latencies))
        result.cpu_ms, result.load_cpu_ms = server_cpu * 1000 / count, load_cpu * 1000 / count
        result.machine_busy = busy / total if total else float("nan")
        result.others_busy = max(0.0, busy - server_cpu - load_cpu - pg_cpu) / total if total else float("nan")
        result.rss_mb = max(server.peak_rss_mb() for server in servers)
        if servers[0].name != "floor":
            result.to_manager_dm, result.to_rep_dm = dm_latencies(fake, work, marks)
        results.append(result)
        print(
            f"  {servers[0].name:17} c={concurrency:<3} p50 {result.pct(50):6.1f}  p95 {result.pct(95):6.1f}  "
            f"p99 {result.pct(99):6.1f} ms  {result.rate:5.0f} req/s  errors {result.errors}  "
            f"peak RSS {result.rss_mb:.0f} MB  CPU/req: server {result.cpu_ms:.1f} ms, load+fake "
            f"{result.load_cpu_ms:.1f} ms · machine busy {result.machine_busy:.0%} (other processes "
            f"{result.others_busy:.0%})"
            + (
                f" · submit→manager DM p50/p95 {result.pct(50, result.to_manager_dm):.0f}/"
                f"{result.pct(95, result.to_manager_dm):.0f} ms, Approve→rep DM "
                f"{result.pct(50, result.to_rep_dm):.0f}/{result.pct(95, result.to_rep_dm):.0f} ms"
                if result.to_manager_dm
                else ""
            ),
            flush=True,
        )
        time.sleep(0.5)
    return results


def machine() -> str:
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    cpu = ""
    with suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    return (
        f"{os.cpu_count()} cores{f' ({cpu})' if cpu else ''} · {mem_gb:.0f} GB · Python {platform.python_version()} · "
        f"{platform.system()} {platform.release()}"
    )


def fmt_row(name: str, r: LevelResult, floor: dict[int, LevelResult]) -> str:
    base = floor.get(r.concurrency)
    ratio = f"{r.pct(50) / base.pct(50):.2f}" if base is not None and name != "floor" else "–"
    return (
        f"| {name:10} | {r.concurrency:>7} | {len(r.latencies):>8} | {r.rate:>5.0f} | {r.pct(50):>6.1f} | "
        f"{r.pct(95):>6.1f} | {r.pct(99):>6.1f} | {r.errors:>6} | {ratio:>9} | {r.rss_mb:>11.0f} | "
        f"{r.cpu_ms:>10.1f} | {r.machine_busy:>8.0%} | {r.others_busy:>8.0%} |"
    )


def report(floor: dict[int, LevelResult], rows: dict[str, list[LevelResult]], args: argparse.Namespace) -> bool:
    print()
    print(f"machine: {machine()}")
    print(
        f"refbot serve --threads {args.threads}"
        + (f" --workers {args.workers} (floor: gunicorn, the same)" if args.workers else " (one process, waitress)")
        + f" × {args.replicas} replica(s) · {args.customers:,} customers · "
        f"{args.requests} requests per level · mix: " + ", ".join(f"{k} {w}%" for k, w in args.mix)
    )
    header = (
        f"| {'backend':10} | {'clients':>7} | {'requests':>8} | {'req/s':>5} | {'p50 ms':>6} | {'p95 ms':>6} | "
        f"{'p99 ms':>6} | {'errors':>6} | {'p50/floor':>9} | {'peak RSS MB':>11} | {'CPU ms/req':>10} | "
        f"{'CPU busy':>8} | {'others':>8} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell) - 1) + ":" for cell in header.split("|")[1:-1]) + "|")
    for name, results in [("floor", list(floor.values()))] + list(rows.items()):
        for r in results:
            print(fmt_row(name, r, floor))
    print()
    print("CPU ms/req: server processes' CPU per request, including work after the ack and the outbox; CPU busy:")
    print("all cores during the level; others: of which processes that are neither the servers, the load")
    print("generator with the Slack fake, nor PostgreSQL (anything else running on the machine).")
    print()
    ok = True
    for name, results in rows.items():
        at = next((r for r in results if r.concurrency == TARGET_AT), None)
        checks: list[tuple[str, bool]] = []
        if at is not None and TARGET_AT in floor:
            ratio = at.pct(50) / floor[TARGET_AT].pct(50)
            checks.append(
                (f"p50 {ratio:.2f}× the floor at {TARGET_AT} clients (≤ {TARGET_RATIO}×)", ratio <= TARGET_RATIO)
            )
        one = next((r for r in results if r.concurrency == 1), None)
        if one is not None and 1 in floor:
            ratio = one.pct(50) / floor[1].pct(50)
            checks.append(
                (f"p50 {ratio:.2f}× the floor at 1 client (≤ {TARGET_RATIO_ONE}×)", ratio <= TARGET_RATIO_ONE)
            )
        if at is not None:
            checks.append(
                (
                    f"p99 {at.pct(99):.0f} ms at {TARGET_AT} clients (< {TARGET_P99_MS:.0f} ms)",
                    at.pct(99) < TARGET_P99_MS,
                )
            )
            for label, values in (("submit→manager DM", at.to_manager_dm), ("Approve→rep DM", at.to_rep_dm)):
                p95 = at.pct(95, values)
                checks.append((f"{label} p95 {p95:.0f} ms at {TARGET_AT} clients (≤ 1 s)", p95 <= TARGET_DM_P95_MS))
        errors = sum(r.errors for r in results)
        rss = max(r.rss_mb for r in results)
        checks.append((f"{errors} errors (0)", errors == 0))
        checks.append((f"peak RSS {rss:.0f} MB per process (≤ {TARGET_RSS_MB:.0f} MB)", rss <= TARGET_RSS_MB))
        print(f"{name}: " + " · ".join(f"{text} {'met' if good else 'MISSED'}" for text, good in checks))
        within = [
            r.concurrency
            for r in results
            if r.concurrency in floor and r.pct(50) <= TARGET_RATIO * floor[r.concurrency].pct(50)
        ]
        if floor:
            print(f"    p50 within {TARGET_RATIO}× the floor at: {', '.join(map(str, within)) or 'no level'} client(s)")
        ok &= all(good for _, good in checks)
        for r in results:
            for sample in r.error_samples:
                print(f"    e.g. c={r.concurrency}: {sample}")
    print()
    print("time to the DM a click causes, p50 / p95 ms (how many matched):")
    for name, results in rows.items():
        for r in results:
            print(
                f"  {name:10} c={r.concurrency:<3} submit→manager DM {r.pct(50, r.to_manager_dm):.0f}/"
                f"{r.pct(95, r.to_manager_dm):.0f} ({len(r.to_manager_dm)})  Approve→rep DM "
                f"{r.pct(50, r.to_rep_dm):.0f}/{r.pct(95, r.to_rep_dm):.0f} ({len(r.to_rep_dm)})"
            )
    print()
    print("per request kind, p50 / p99 ms:")
    for name, results in rows.items():
        for r in results:
            parts = [f"{k} {statistics.median(v):.0f}/{r.pct(99, v):.0f}" for k, v in sorted(r.by_kind.items())]
            print(f"  {name:10} c={r.concurrency:<3} " + "  ".join(parts))
    return ok


def start_all(count: int, start: Callable[[int], Server]) -> list[Server]:
    servers: list[Server] = []
    try:
        for i in range(count):
            servers.append(start(i))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def parse_mix(text: str) -> tuple[tuple[str, int], ...]:
    known = {k for k, _ in MIX}
    mix = []
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in known or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{part!r}: expected KIND=WEIGHT with KIND one of {sorted(known)}")
        mix.append((kind.strip(), int(weight)))
    return tuple(mix)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=600, help="requests per concurrency level (default 600)")
    parser.add_argument("--levels", default="1,5,20,50", help="concurrent clients per level (default 1,5,20,50)")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads, refbot and floor (default 8)")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="server processes (refbot and floor alike); clients are spread over them (default 1)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="serve refbot as `serve --workers N` (N web processes and a worker) and the floor as N gunicorn "
        "processes with the same threads (default 0: one process each, as plain `refbot serve`)",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_DATABASE_URL", ""),
        help="PostgreSQL URL (default $TEST_DATABASE_URL); a private schema is created and dropped",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--skip-floor", action="store_true", help="don't measure the floor (A/B runs of refbot only)")
    parser.add_argument(
        "--py-spy",
        dest="py_spy",
        type=Path,
        default=None,
        help="record a py-spy profile of each server into this folder (pip install py-spy)",
    )
    parser.add_argument("--py-spy-gil", action="store_true", help="sample only the thread holding the GIL")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the servers' logs into this folder")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for refbot serve (REFBOT_… settings, or LOADBENCH_… experiments "
        "that bench/load/serve_with.py applies)",
    )
    parser.add_argument(
        "--mix",
        type=parse_mix,
        default=MIX,
        metavar="KIND=WEIGHT,…",
        help="the request mix (default " + ",".join(f"{k}={w}" for k, w in MIX) + ")",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends and not args.postgres:
        print("no PostgreSQL URL (--postgres or TEST_DATABASE_URL): running SQLite only")
        backends = [b for b in backends if b != "postgresql"]
    extra_env = dict(item.split("=", 1) for item in args.env)
    weights = sum(w for _, w in args.mix)
    clicks = sum(w for k, w in args.mix if k in ("cancel", "approve", "refused"))
    clicks_per_level = args.requests * clicks // max(1, weights)
    pending = int(clicks_per_level * (len(levels) + 1) * 1.3) + 100

    started = time.perf_counter()
    print(f"machine: {machine()} · load average {os.getloadavg()[0]:.1f} before the run")
    fake = make_fake()
    rows: dict[str, list[LevelResult]] = {}
    floor_results: list[LevelResult] = []
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            if not args.skip_floor:
                floors = start_all(
                    args.replicas, lambda i: serve_floor(fake, args.threads, tmp / f"floor-{i}.log", args.workers)
                )
                for floor in floors:
                    attach_profiler(floor, args.py_spy, args.py_spy_gil)
                try:
                    idle = Workload([(1, REPS[0])] * 100_000, args.customers, mix=args.mix)
                    floor_results = drive(floors, fake, idle, levels, args.requests)
                finally:
                    for floor in floors:
                        floor.stop()
            for backend in backends:
                with database(backend, tmp, args.postgres) as url:
                    t0 = time.perf_counter()
                    preloaded, approvable = prepare(url, args.customers, pending)
                    print(
                        f"{backend}: loaded {args.customers:,} customers and {len(preloaded):,} pending requests "
                        f"in {time.perf_counter() - t0:.0f} s",
                        flush=True,
                    )
                    servers = start_all(
                        args.replicas,
                        lambda i, name=backend: serve_refbot(
                            url, fake, args.threads, tmp / f"refbot-{name}-{i}.log", extra_env, args.workers
                        ),
                    )
                    for i, server in enumerate(servers):
                        server.name = f"refbot {backend}" + (f" #{i}" if i else "")
                        attach_profiler(server, args.py_spy, args.py_spy_gil)
                    problems: Counter[str] = Counter()
                    try:
                        work = Workload(preloaded, args.customers, approvable, tag=backend[:2], mix=args.mix)
                        rows[backend] = drive(servers, fake, work, levels, args.requests)
                    finally:
                        for server in servers:
                            server.stop()
                            problems += server.log_problems()
                            if args.keep_logs is not None:
                                args.keep_logs.mkdir(parents=True, exist_ok=True)
                                shutil.copy(server.log_path, args.keep_logs / server.log_path.name)
                    for line, count in problems.most_common(5):
                        print(f"  log: {count:5} × {line}")
                    print(
                        f"  Slack fake so far: {len(fake.calls('chat.postMessage'))} chat.postMessage, "
                        f"{len(fake.calls('views.open'))} views.open, {len(fake.violations)} Block Kit violations"
                    )
    finally:
        fake.stop()
    ok = report({r.concurrency: r for r in floor_results}, rows, args)
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
