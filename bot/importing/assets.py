"""`refbot import --assets FILE…`: the content library from a CSV or XLSX, through the customer import's stages.

The same reading (`sources.read_table`: encodings, delimiters, a title block above the header, XLSX),
the same header folding and `--map` overrides with the same mapping printout (`fields.Column`,
`ColumnMapping`), and the same report (`report.ImportReport`: counts, skipped rows with their line, the
CSV of every decision). Each row is checked by the rules the *Add asset* form applies
(`bot.assets.parse_asset_form`), so a file can hold nothing a manager could not have typed. A file is
written in one transaction, and a dry run writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.assets import parse_asset_form
from bot.errors import ValidationFailed
from bot.importing.fields import IGNORE, Column, ColumnMapping, fold_header
from bot.importing.identity import name_key
from bot.importing.report import FileFailure, ImportReport, RowOutcome, Skipped
from bot.importing.sources import ImportFailed, read_table
from models import Asset
from models.db import Database

# field → the header spellings (folded) that mean it; the field's own name always counts.
ASSET_SYNONYMS: dict[str, tuple[str, ...]] = {
    "title": ("title", "asset", "asset title", "asset name", "headline"),
    "kind": ("kind", "asset kind", "asset type", "content type", "type", "format"),
    "link": ("link", "url", "address", "location", "asset url", "asset link"),
    "customer": ("customer", "customer name", "account", "account name", "company", "client"),
    "consent_type": ("consent", "consent type", "depends on", "public use", "use type"),
    "published_on": ("published", "published on", "publication date", "date published", "date"),
    "expires_on": ("expires", "expires on", "expiry", "expiry date", "expiration", "valid until"),
    "industry": ("industry", "vertical", "sector"),
    "products": ("products", "product"),
    "topics": ("topics", "topic", "tags", "themes"),
}
REQUIRED = ("title", "kind", "link", "customer")
_LOOKUP = {fold_header(s): f for f, spellings in ASSET_SYNONYMS.items() for s in (f, *spellings)}


def parse_asset_overrides(items: Sequence[str]) -> dict[str, str]:
    """`--map "Header=field"` for assets → {folded header: asset field or IGNORE}; ValueError says what is wrong."""
    out: dict[str, str] = {}
    for item in items:
        header, sep, target = item.rpartition("=")
        if not sep or not fold_header(header):
            raise ValueError(f'--map {item!r} should look like "Header=field" (e.g. "Asset URL=link")')
        if fold_header(target) in ("ignore", "skip", "none", ""):
            out[fold_header(header)] = IGNORE
            continue
        field = next((f for f in ASSET_SYNONYMS if fold_header(f) == fold_header(target)), None)
        if field is None:
            raise ValueError(
                f"--map {item!r}: an asset has no field {target.strip()!r}; fields are {', '.join(ASSET_SYNONYMS)}"
            )
        out[fold_header(header)] = field
    return out


def map_asset_headers(headers: Sequence[str], overrides: Mapping[str, str]) -> ColumnMapping:
    """What each header means, as `fields.map_headers` decides it for customers: `--map` first, then the
    field's own name or a known spelling; one column per field, a second one listed as a duplicate."""
    taken: set[str] = set()
    columns: list[Column] = []
    for index, header in enumerate(headers):
        folded = fold_header(header)
        if not folded:
            columns.append(Column(index, header, None, "empty header"))
            continue
        if folded in overrides:
            field, how = overrides[folded], "--map"
            if field == IGNORE:
                columns.append(Column(index, header, None, "ignored"))
                continue
        else:
            field, how = _LOOKUP.get(folded), "recognised"
            if field is None:
                columns.append(Column(index, header, None, "ignored"))
                continue
            if folded == fold_header(field):
                how = "as is"
        if field in taken:
            columns.append(Column(index, header, None, f"{field} is already read from another column"))
            continue
        taken.add(field)
        columns.append(Column(index, header, field, how))
    return ColumnMapping(tuple(columns))


@dataclass(frozen=True)
class AssetSource:
    path: Path
    kind: str
    details: str
    mapping: ColumnMapping
    rows: list[tuple[int, dict[str, str]]]

    @property
    def rows_read(self) -> int:
        return len(self.rows)


def read_asset_source(path: Path, overrides: Mapping[str, str], sheet: str | None = None) -> AssetSource:
    customer_headers = frozenset(s for s, f in _LOOKUP.items() if f == "customer") | frozenset(
        h for h, f in overrides.items() if f == "customer"
    )
    table = read_table(path, sheet=sheet, name_headers=customer_headers)
    mapping = map_asset_headers(table.headers, overrides)
    index = mapping.index_of()
    missing = [f for f in REQUIRED if f not in index]
    if missing:
        shown = ", ".join(repr(h) for h in table.headers[:8] if h.strip()) or "none"
        raise ImportFailed(
            f"{path} has no {', '.join(missing)} column (its headers: {shown}); "
            f'say which one is with --map "Header=field"'
        )
    rows = [
        (line, {field: (cells[i].strip() if i < len(cells) else "") for field, i in index.items()})
        for line, cells in table.rows
    ]
    return AssetSource(path, table.kind, table.details, mapping, rows)


def _import_rows(session: Session, source: AssetSource, report: ImportReport, actor: str, today: date) -> None:
    seen: set[tuple[int, str, str]] = set()
    for line, raw in source.rows:
        try:
            draft = parse_asset_form(session, raw, today)
        except ValidationFailed as exc:
            reason = "; ".join(f"{field}: {message}" for field, message in exc.errors.items())
            report.skipped.append(Skipped(line, reason, str(source.path)))
            continue
        key = (draft.customer.id, draft.kind.value, name_key(draft.title))
        if key in seen:
            report.skipped.append(Skipped(line, f"the same asset as an earlier row: {draft.title}", str(source.path)))
            continue
        seen.add(key)
        existing = session.scalars(
            select(Asset).where(Asset.customer_id == key[0], Asset.kind == key[1], Asset.title_key == key[2])
        ).first()
        asset = existing or Asset(customer=draft.customer, kind=draft.kind.value, added_by=actor)
        asset.title, asset.title_key, asset.link = draft.title, key[2], draft.link
        asset.consent_type, asset.published_on, asset.expires_on = (
            draft.consent_type.value, draft.published_on, draft.expires_on,
        )  # fmt: skip
        asset.industry, asset.products, asset.topics = draft.industry, draft.products, draft.topics
        if existing is None:
            session.add(asset)
        session.flush()
        action = "updated" if existing else "created"
        audit.record(
            session, actor, f"asset.{action}", "customer", draft.customer.id, asset_id=asset.id, title=asset.title
        )
        report.created += existing is None
        report.updated += existing is not None
        report.outcomes.append(RowOutcome(action, f"{draft.customer.name}: {draft.title}", str(source.path), line))


class _DryRun(Exception):
    """Raised at the end of a dry run's transaction so that everything it planned is rolled back."""


def import_assets(
    db: Database,
    paths: Sequence[Path],
    map_items: Sequence[str],
    today: date,
    *,
    sheet: str | None = None,
    dry_run: bool = False,
    actor: str = "import",
    on_source: Callable[[AssetSource], None] | None = None,
) -> ImportReport:
    """Import every file; one that cannot be read is reported and left out whole, a bad row is skipped.

    ValueError when `--map` is malformed (nothing is read then).
    """
    overrides = parse_asset_overrides(map_items)
    report = ImportReport(dry_run=dry_run)
    for path in paths:
        try:
            source = read_asset_source(path, overrides, sheet)
        except ImportFailed as exc:
            report.failed.append(FileFailure(str(path), str(exc)))
            continue
        if on_source is not None:
            on_source(source)
        report.files.append(str(path))
        report.rows_read += source.rows_read
        try:
            with db.transaction() as session:
                _import_rows(session, source, report, actor, today)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
    return report
