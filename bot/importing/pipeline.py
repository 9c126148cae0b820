"""`refbot import FILE…` from end to end: read every file, resolve owners, plan, then write once.

Every file is read and checked before anything is written, and the plan is written in one transaction:
a file that cannot be read is left out whole (and reported), a bad row is skipped (and reported), and a
dry run plans exactly what a real run would write and then writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from bot.importing.fields import fold_header, map_headers
from bot.importing.owners import OwnerDirectory, resolve_owners
from bot.importing.plan import Plan, Source, plan_import
from bot.importing.progress import ProgressFactory, silent
from bot.importing.report import FileFailure, ImportReport
from bot.importing.rows import RowParser
from bot.importing.sources import ImportFailed, read_table
from bot.importing.writing import write_plan
from models.db import Database

NAME_SPELLINGS = "Name, Account Name, Company, Customer, Organisation, Client"


@dataclass(frozen=True)
class ImportOptions:
    """How to read the files and what to do with them (the `refbot import` flags)."""

    sheet: str | None = None
    overrides: Mapping[str, str] = field(default_factory=dict)  # folded header → field or IGNORE
    dry_run: bool = False
    actor: str = "import"


def read_source(index: int, path: Path, options: ImportOptions, progress: ProgressFactory = silent) -> Source:
    """Read and check one file; ImportFailed (one sentence) when it cannot be imported at all."""
    name_headers = frozenset(h for h, f in options.overrides.items() if f == "name")
    table = read_table(path, sheet=options.sheet, name_headers=name_headers)
    mapping = map_headers(table.headers, dict(options.overrides))
    if "name" not in mapping.index_of():
        if not any(h.strip() for h in table.headers):
            raise ImportFailed(f"{path} has no 'name' column: the file is empty")
        shown = ", ".join(repr(h) for h in table.headers[:8] if h.strip())
        raise ImportFailed(
            f"{path} has no 'name' column: none of its headers ({shown}) names the customer "
            f'({NAME_SPELLINGS}, …); say which one does with --map "Header=name"'
        )
    bar = progress(f"reading {path.name}", None)

    def counted(records: Iterator[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
        count = 0
        for record in records:
            count += 1
            if count % 2000 == 0:
                bar.update(2000)
            yield record
        bar.update(count % 2000)

    try:
        rows, skipped = RowParser(mapping, index, str(path)).parse(counted(table.rows))
    finally:
        bar.close()
    return Source(index, path, table.kind, table.details, mapping, rows, skipped)


def read_sources(
    paths: Sequence[Path],
    options: ImportOptions,
    *,
    progress: ProgressFactory = silent,
    on_source: Callable[[Source], None] | None = None,
) -> tuple[list[Source], list[FileFailure]]:
    """Read every file; the ones that cannot be imported are returned as failures, not raised."""
    sources: list[Source] = []
    failures: list[FileFailure] = []
    for path in paths:
        try:
            source = read_source(len(sources), Path(path), options, progress)
        except ImportFailed as exc:
            failures.append(FileFailure(str(path), str(exc)))
            continue
        sources.append(source)
        if on_source is not None:
            on_source(source)
    if not failures and sources:
        seen = {fold_header(c.header) for s in sources for c in s.mapping.columns}
        unused = [h for h in options.overrides if h not in seen]
        if unused:
            raise ImportFailed(f"--map names a column no file has: {', '.join(repr(h) for h in unused)}")
    return sources, failures


def import_files(
    db: Database,
    paths: Sequence[Path],
    options: ImportOptions = ImportOptions(),
    *,
    owners: OwnerDirectory | None = None,
    progress: ProgressFactory = silent,
    on_source: Callable[[Source], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
) -> ImportReport:
    """Import the files (oldest first) into the customer list; see docs/IMPORT.md for every rule."""
    sources, failures = read_sources(paths, options, progress=progress, on_source=on_source)
    if not sources:
        return ImportReport(dry_run=options.dry_run, failed=failures)
    unresolved = resolve_owners(sources, owners, progress)
    if options.dry_run:
        with db.reading() as session:
            plan = plan_import(session, sources, unresolved, dry_run=True, progress=progress)
    else:
        try:
            with db.transaction() as session:
                plan = plan_import(session, sources, unresolved, progress=progress)
                write_plan(session, plan, actor=options.actor, progress=progress)
        except IntegrityError as exc:  # someone added the same customer while this import ran
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise ImportFailed(f"the customer list changed while importing ({detail}); run the import again") from None
    if on_plan is not None:
        on_plan(plan)
    plan.report.failed = failures
    return plan.report


def import_csv(db: Database, path: Path, *, actor: str = "import", dry_run: bool = False) -> ImportReport:
    """Import one file; raises ImportFailed (nothing written) when the file cannot be imported at all."""
    report = import_files(db, [path], ImportOptions(dry_run=dry_run, actor=actor))
    if report.failed:
        raise ImportFailed(report.failed[0].message)
    return report
