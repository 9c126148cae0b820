"""Importing 100,000 messy rows: wall time, rows/s, peak RSS and de-duplication quality, beside baselines.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--seed 7] [--postgres URL] [--keep DIR]

Generates the three lists of bench/generate_lists.py (CRM CSV, marketing XLSX, success-tracker CSV)
into a temporary folder. Then, each in a fresh process so that its peak RSS is its own:

- baseline "parse only": the same files read with csv and openpyxl, nothing else — the floor for reading;
- baseline "plain INSERT": one executemany INSERT of as many bare customer rows into a fresh SQLite;
- two simpler de-duplications of the same rows (exact keys only; a textbook rapidfuzz threshold), scored
  like refbot's, so its precision and recall have something to stand beside;
- `refbot import` of the three files into a fresh SQLite file, then the same files again into that
  database (keeping a list alive: nothing new is created), and into a fresh PostgreSQL schema when a URL
  is given (or TEST_DATABASE_URL is set): wall and CPU time (and wall time per stage), rows/s, peak RSS,
  and the precision and recall of its merging against the generator's ground truth, counted over pairs
  of rows (precision = pairs it put in one customer that are one company / all pairs it put in one).

The load average is printed at the start and the end: on a shared machine, wall time is only as good as
the quiet it was measured in, and CPU time is the steadier figure.

Targets on a 2-core machine: import ≤ 30 s and ≤ 500 MB peak RSS, precision ≥ 0.99, recall ≥ 0.95.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_SECONDS = 30.0
TARGET_RSS_MB = 500.0
TARGET_PRECISION = 0.99
TARGET_RECALL = 0.95


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _cpu_seconds() -> float:
    """User + system CPU of this process: less sensitive than wall time to a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _files(folder: Path) -> list[Path]:
    from bench.generate_lists import FILES

    return [folder / name for name in FILES]


# -- the measurements, each run in its own process ------------------------------------------------------


def child_parse(folder: Path) -> dict[str, Any]:
    """Baseline: only read the files (csv / openpyxl), as a floor for the importer's reading stage."""
    from openpyxl import load_workbook

    started, cpu = time.perf_counter(), _cpu_seconds()
    rows = 0
    for path in _files(folder):
        if path.suffix == ".xlsx":
            book = load_workbook(path, read_only=True, data_only=True)
            rows += sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
            book.close()
        else:
            raw = path.read_bytes()
            text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("latin-1")
            delimiter = ";" if path.name.startswith("crm") else ","
            rows += sum(1 for _ in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "rows": rows, "rss_mb": _peak_rss_mb()}


def child_insert(url: str, rows: int) -> dict[str, Any]:
    """Baseline: a single executemany INSERT of bare customer rows into a fresh database."""
    from sqlalchemy import insert

    from bot import migrate
    from models import Customer
    from models.db import Database
    from models.types import utcnow

    db = Database(url)
    migrate.upgrade(db.engine)
    now = utcnow()
    values = [
        {
            "name": f"Customer {i}",
            "name_key": f"customer {i}",
            "products": [],
            "topics": [],
            "created_at": now,
            "updated_at": now,
        }
        for i in range(rows)
    ]
    started, cpu = time.perf_counter(), _cpu_seconds()
    with db.transaction() as session:
        session.execute(insert(Customer.__table__), values)
    seconds = time.perf_counter() - started
    db.dispose()
    return {"seconds": seconds, "cpu": _cpu_seconds() - cpu, "rows": rows, "rss_mb": _peak_rss_mb()}


def child_import(folder: Path, url: str) -> dict[str, Any]:
    """`refbot import` of the three lists, timed by stage, then scored against the ground truth."""
    from sqlalchemy import func, select

    from bot import migrate
    from bot.importing import ImportOptions, Plan, import_files
    from models import Customer
    from models.db import Database

    db = Database(url)
    migrate.upgrade(db.engine)
    stages: dict[str, float] = defaultdict(float)

    class StageClock:
        def __init__(self, label: str) -> None:
            self.label = label.split()[0]  # "reading crm_accounts.csv" → "reading"
            self.started = time.perf_counter()

        def update(self, n: int = 1) -> None:
            return None

        def close(self) -> None:
            stages[self.label] += time.perf_counter() - self.started

    captured: list[Plan] = []
    started, cpu = time.perf_counter(), _cpu_seconds()
    report = import_files(
        db,
        _files(folder),
        ImportOptions(actor="bench"),
        progress=lambda label, total: StageClock(label),
        on_plan=captured.append,
    )
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    rss = _peak_rss_mb()
    with db.reading() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
    db.dispose()
    precision, recall = _score(folder, captured[0])
    return {
        "seconds": seconds,
        "cpu": cpu,
        "rows": report.rows_read,
        "rss_mb": rss,
        "stages": dict(stages),
        "created": report.created,
        "updated": report.updated,
        "merged": report.merged,
        "skipped": len(report.skipped),
        "conflicts": len(report.conflicts),
        "customers": customers,
        "precision": precision,
        "recall": recall,
    }


def child_quality(folder: Path) -> dict[str, Any]:
    """Two simpler de-duplications of the same rows, scored the same way, to put refbot's figures in context.

    - exact: the same normalised domain, or the same name once case, punctuation and legal suffixes are
      folded (refbot's first two rules without any fuzzy matching);
    - naive fuzzy: additionally, rapidfuzz token_sort_ratio ≥ 85 between names sharing their first three
      letters — the textbook approach, without refbot's word-by-word guard or its domain constraint.
    """
    from rapidfuzz import fuzz, process

    from bot.importing import ImportOptions, read_sources

    sources, _ = read_sources(_files(folder), ImportOptions())
    rows = [row for source in sources for row in source.rows]
    names = [source.path.name for source in sources]
    figures: dict[str, Any] = {}
    for method in ("exact", "naive fuzzy"):
        groups = _Joined(len(rows))
        first: dict[str, int] = {}
        for index, row in enumerate(rows):
            for key in (f"domain:{row.domain}" if row.domain else "", f"name:{row.key}"):
                if key:
                    groups.join(index, first.setdefault(key, index))
        if method == "naive fuzzy":
            blocks: dict[str, list[str]] = defaultdict(list)
            for key in first:
                if key.startswith("name:"):
                    blocks[key[5:8]].append(key[5:])
            for block in blocks.values():
                for key in block:
                    for other, _, _ in process.extract(
                        key, block, scorer=fuzz.token_sort_ratio, score_cutoff=85, limit=None
                    ):
                        groups.join(first[f"name:{key}"], first[f"name:{other}"])
        members: dict[int, list[Any]] = defaultdict(list)
        for index, row in enumerate(rows):
            members[groups.find(index)].append(row)
        figures[method] = _score_groups(folder, names, list(members.values()))
    return figures


class _Joined:
    """Plain union-find: what the baselines use, with no constraint on what may be joined."""

    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, node: int) -> int:
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _score(folder: Path, plan: Any) -> tuple[float, float]:
    """Pairwise precision and recall of the import's grouping against truth.csv (skipped rows left out)."""
    names = [source.path.name for source in plan.sources]
    return _score_groups(folder, names, [draft.rows for draft in plan.drafts])


def _score_groups(folder: Path, names: list[str], groups: list[list[Any]]) -> tuple[float, float]:
    with (folder / "truth.csv").open(newline="", encoding="utf-8") as handle:
        truth = {(r["file"], int(r["line"])): r["company"] for r in csv.DictReader(handle)}
    together = same = 0
    true_sizes: Counter[str] = Counter()
    for rows in groups:
        companies = Counter(truth[(names[row.source], row.line)] for row in rows)
        together += _pairs(len(rows))
        same += sum(_pairs(n) for n in companies.values())
        true_sizes.update(companies)
    should = sum(_pairs(n) for n in true_sizes.values())
    return (same / together if together else 1.0), (same / should if should else 1.0)


# -- the driver -----------------------------------------------------------------------------------------


def _run_child(*args: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False, timeout=900
    )
    if result.returncode != 0:
        raise SystemExit(f"benchmark step {args[0]} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _timing(label: str, figures: dict[str, Any], width: int) -> str:
    return (
        f"{label:{width}} {figures['seconds']:7.1f} {figures['cpu']:6.1f} "
        f"{figures['rows'] / figures['seconds']:9,.0f} {figures['rss_mb']:12.0f}"
    )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="data rows in all (default 100,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL"), help="PostgreSQL URL to measure")
    parser.add_argument("--keep", type=Path, help="generate the lists into this folder and keep them")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "parse":
            figures = child_parse(Path(rest[0]))
        elif kind == "insert":
            figures = child_insert(rest[0], int(rest[1]))
        elif kind == "quality":
            figures = child_quality(Path(rest[0]))
        else:
            figures = child_import(Path(rest[0]), rest[1])
        print(json.dumps(figures))
        return 0

    from bench.generate_lists import generate
    from tests.postgres import private_schema  # here, not at the top: the measured children never load it

    with tempfile.TemporaryDirectory(prefix="refbot-import-bench-") as tmp:
        folder = args.keep or Path(tmp) / "lists"
        started = time.perf_counter()
        counts = generate(folder, args.rows, args.seed)
        generated = time.perf_counter() - started
        print(
            f"machine: {os.cpu_count()} cores · python {sys.version.split()[0]} · SQLite {sqlite3.sqlite_version} · "
            "load average (1/5/15 min) at the start: " + " / ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        print(
            f"lists: {sum(counts.values()):,} rows in {len(counts)} files ("
            + " · ".join(f"{name} {n:,}" for name, n in counts.items())
            + f"), generated in {generated:.1f} s (seed {args.seed})\n"
        )
        parse = _run_child("parse", str(folder))
        plain = _run_child("insert", f"sqlite:///{Path(tmp) / 'plain.db'}", str(args.rows))
        print(f"{'baseline':40} {'wall s':>7} {'CPU s':>6} {'rows/s':>9} {'peak RSS MB':>12}")
        print(_timing("parse only (csv + openpyxl)", parse, 40))
        print(_timing(f"plain INSERT of {args.rows:,} bare rows (SQLite)", plain, 40) + "\n")
        quality = _run_child("quality", str(folder))
        print(f"{'de-duplication of the same rows':40} {'precision':>10} {'recall':>7}")
        for method, label in (
            ("exact", "exact domain or folded name only"),
            ("naive fuzzy", "+ naive token_sort_ratio ≥ 85"),
        ):
            precision, recall = quality[method]
            print(f"{label:40} {precision:10.4f} {recall:7.4f}")
        print()
        sqlite_url = f"sqlite:///{Path(tmp) / 'import.db'}"
        runs: list[tuple[str, AbstractContextManager[str]]] = [
            ("SQLite", nullcontext(sqlite_url)),
            ("SQLite, again", nullcontext(sqlite_url)),
        ]
        if args.postgres:
            runs.append(("PostgreSQL", private_schema(args.postgres, "refbot_import_bench")))
        print(
            f"{'refbot import':16} {'wall s':>7} {'CPU s':>6} {'rows/s':>9} {'peak RSS MB':>12} {'precision':>10} "
            f"{'recall':>7} {'customers':>10}"
        )
        results = []
        for label, database in runs:
            with database as url:
                figures = _run_child("import", str(folder), url)
            results.append(figures)
            print(
                _timing(label, figures, 16)
                + f" {figures['precision']:10.4f} {figures['recall']:7.4f} {figures['customers']:10,}"
            )
            print(
                "  stages: "
                + " · ".join(f"{k} {v:.1f} s" for k, v in figures["stages"].items())
                + f" · {figures['created']:,} created, {figures['updated']:,} updated, {figures['merged']:,} merged, "
                f"{figures['skipped']} skipped, {figures['conflicts']:,} conflicts reported"
            )
        ok = all(
            f["seconds"] <= TARGET_SECONDS
            and f["rss_mb"] <= TARGET_RSS_MB
            and f["precision"] >= TARGET_PRECISION
            and f["recall"] >= TARGET_RECALL
            for f in results
        )
        print(
            f"\ntargets: ≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_RSS_MB:.0f} MB, precision ≥ {TARGET_PRECISION}, "
            f"recall ≥ {TARGET_RECALL}: {_verdict(ok)}"
        )
        print("load average (1/5/15 min) at the end: " + " / ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
