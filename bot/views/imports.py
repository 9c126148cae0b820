"""What a manager sees when importing a list from Slack: the file form, the preview DM, its progress and result."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.importing import ImportReport
from bot.slack_import import Preview
from bot.views.text import actions, button, context, plain, plural, quote, safe, section

Message = dict[str, Any]
SHOWN_REASONS = 5


def import_modal() -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": ids.IMPORT_MODAL,
        "title": plain("Import a list", 24),
        "submit": plain("Check the file", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            section(
                "Drop a CSV or XLSX customer list (up to 10 MB). refbot reads it as `refbot import --dry-run` "
                "would and sends you what it found, with *Apply* and *Cancel*: nothing changes before *Apply*."
            ),
            {
                "type": "input",
                "block_id": "file",
                "label": plain("Customer list", 2000),
                "element": {"type": "file_input", "action_id": "file", "filetypes": ["csv", "xlsx"], "max_files": 1},
            },
        ],
    }


def _counts(report: ImportReport) -> str:
    parts = [
        f"{report.created:,} new",
        f"{report.updated:,} updated",
        f"{report.merged:,} merged",
        plural(len(report.conflicts), "conflict"),
        f"{len(report.skipped):,} skipped",
    ]
    return " · ".join(parts)


def _skipped(report: ImportReport) -> list[str]:
    lines = [f"line {s.line}: {s.reason}" for s in report.skipped[:SHOWN_REASONS]]
    if len(report.skipped) > SHOWN_REASONS:
        lines.append(f"… and {len(report.skipped) - SHOWN_REASONS:,} more (all in the report file)")
    return lines


def preview_message(found: Preview, file_id: str) -> Message:
    """The DM after the dry run: columns used, counts, skipped reasons, and the decision buttons."""
    report = found.report
    blocks: list[dict[str, Any]] = [
        section(f":mag: *{safe(found.name, 150)}*: what an import would do (nothing is written yet)"),
        section("*Columns used*\n" + quote("\n".join(found.mapping) or "none", 2500)),
        section(f"*{safe(_counts(report), 500)}* ({plural(report.rows_read, 'row')} read)"),
    ]
    if report.skipped:
        blocks.append(section("*Skipped*\n" + quote("\n".join(_skipped(report)), 2500)))
    if report.unresolved_owners:
        blocks.append(context(f"{plural(len(report.unresolved_owners), 'owner')} not found in Slack: kept as e-mail."))
    blocks.append(
        actions(
            f"import:{file_id}",
            button("Apply", ids.IMPORT_APPLY, file_id, style="primary"),
            button("Cancel", ids.IMPORT_CANCEL, file_id),
        )
    )
    return {"text": f"Import preview for {safe(found.name, 150)}: {_counts(report)}", "blocks": blocks}


def progress_message(name: str, line: str) -> Message:
    text = f":hourglass_flowing_sand: Importing *{safe(name, 150)}*… {safe(line, 300)}"
    return {"text": text, "blocks": [section(text)]}


def applied_message(name: str, report: ImportReport) -> Message:
    text = f":white_check_mark: Imported *{safe(name, 150)}*: {safe(_counts(report), 500)}."
    blocks = [section(text)]
    if report.skipped:
        blocks.append(section("*Skipped*\n" + quote("\n".join(_skipped(report)), 2500)))
    return {"text": text, "blocks": blocks}


def cancelled_message() -> Message:
    text = ":no_entry_sign: Import cancelled; nothing was written."
    return {"text": text, "blocks": [section(text)]}


def failed_message(name: str, reason: str) -> Message:
    text = f":warning: {safe(reason, 500)}; nothing was imported."
    if name and name not in reason:
        text = f":warning: *{safe(name, 150)}*: {safe(reason, 500)}; nothing was imported."
    return {"text": text, "blocks": [section(text)]}
