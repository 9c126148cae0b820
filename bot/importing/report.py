"""What an import did, for the operator: counts, then every skipped row, conflict and unresolved owner.

The summary is what `refbot import` prints (long lists are cut, with a pointer to `--report`);
`write_csv` writes all of it, one row per decision, for a reference manager to review in a spreadsheet.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SHOWN_PER_LIST = 50
SHOWN_OWNERS = 10


@dataclass(slots=True)
class Skipped:
    """A row that was not imported, where it is, and why."""

    line: int
    reason: str
    file: str = ""


@dataclass(frozen=True, slots=True)
class Conflict:
    """Sources disagreed on a single-valued field; the newest value was kept. `old` holds every value that
    lost (refbot's first, then the files' in order, joined with " / "); file and line are the winner's."""

    customer: str
    field: str
    old: str
    new: str
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class UnresolvedOwner:
    """An owner refbot could not turn into a Slack user; the e-mail, if any, is kept on the customer."""

    customer: str
    owner: str
    reason: str
    file: str
    line: int


@dataclass(frozen=True)
class FileFailure:
    file: str
    message: str


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What became of one imported row: it created, updated, or was merged into a customer."""

    action: str  # "created", "updated", "unchanged" (already as the files say) or "merged"
    customer: str
    file: str
    line: int


@dataclass
class ImportReport:
    """The result of one `refbot import` over one or more files."""

    files: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # customers in refbot the files matched, already holding what the files say
    merged: int = 0
    rows_read: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    unresolved_owners: list[UnresolvedOwner] = field(default_factory=list)
    failed: list[FileFailure] = field(default_factory=list)
    outcomes: list[RowOutcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def file(self) -> str:
        """The imported file (or files, joined), as the summary names it."""
        return self._label()

    def _label(self) -> str:
        if len(self.files) <= 3:
            return " + ".join(self.files) or "(no file)"
        return f"{len(self.files)} files"

    def summary(self) -> str:
        """The counts on one line, then the details; every row is accounted for: read = created + updated
        + unchanged + merged + skipped."""
        skipped = len(self.skipped)
        if self.created == self.updated == 0:
            head = (
                f"{self._label()}: nothing changed ({self.unchanged:,} customer{_s(self.unchanged)} already as "
                f"the files say, {skipped:,} skipped)"
            )
        else:
            head = f"{self._label()}: {self.created:,} created, {self.updated:,} updated, {skipped:,} skipped"
            if self.unchanged:
                head += f", {self.unchanged:,} already up to date"
        lines = [head + (" (dry run: nothing written)" if self.dry_run else "")]
        if self.merged:
            lines.append(f"  {self.merged:,} duplicate row{_s(self.merged)} merged into the same customers")
        many_files = len(self.files) > 1
        lines += _capped(
            [f"  {s.file + ' ' if many_files else ''}line {s.line}: {s.reason}" for s in self.skipped], "skipped rows"
        )
        if self.conflicts:
            lines.append(f"  {len(self.conflicts):,} conflict{_s(len(self.conflicts))} (the newest value was kept):")
            lines += _capped(
                [
                    f"    {c.customer} · {c.field}: {c.old!r} → {c.new!r} ({c.file} line {c.line})"
                    for c in self.conflicts
                ],
                "conflicts",
            )
        if self.unresolved_owners:
            by_reason: dict[str, Counter[str]] = {}
            for o in self.unresolved_owners:
                by_reason.setdefault(o.reason, Counter())[o.owner] += 1
            owners = sum(len(c) for c in by_reason.values())
            users = "a Slack user" if owners == 1 else "Slack users"
            lines.append(f"  {owners:,} owner{_s(owners)} not confirmed as {users}:")
            for reason, counts in by_reason.items():
                shown = ", ".join(f"{owner} ({n} row{_s(n)})" for owner, n in counts.most_common(SHOWN_OWNERS))
                more = f", … {len(counts) - SHOWN_OWNERS} more" if len(counts) > SHOWN_OWNERS else ""
                lines.append(f"    {reason}: {shown}{more}")
        return "\n".join(lines)

    def write_csv(self, path: Path) -> None:
        """Every decision as a CSV row: created/updated/merged rows, skipped rows, conflicts, owners, failures."""
        from bot.importing.rows import escape_cell

        with path.open("w", newline="", encoding="utf-8-sig") as handle:
            writer = csv.writer(handle)
            writer.writerow(["kind", "file", "line", "customer", "field", "old_value", "new_value", "reason"])

            def put(*cells: object) -> None:
                writer.writerow([escape_cell(str(c)) if isinstance(c, str) else c for c in cells])

            for failure in self.failed:
                put("file_failed", failure.file, "", "", "", "", "", failure.message)
            for outcome in self.outcomes:
                put(outcome.action, outcome.file, outcome.line, outcome.customer, "", "", "", "")
            for skip in self.skipped:
                put("skipped", skip.file, skip.line, "", "", "", "", skip.reason)
            for c in self.conflicts:
                put("conflict", c.file, c.line, c.customer, c.field, c.old, c.new, "newest value kept")
            for o in self.unresolved_owners:
                put("owner_unresolved", o.file, o.line, o.customer, "owner", o.owner, "", o.reason)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _capped(lines: list[str], what: str) -> list[str]:
    if len(lines) <= SHOWN_PER_LIST:
        return lines
    rest = len(lines) - SHOWN_PER_LIST
    return lines[:SHOWN_PER_LIST] + [f"  … and {rest:,} more {what}: --report FILE lists them all"]
