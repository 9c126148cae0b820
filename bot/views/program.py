"""The digest's and `/reference stats`'s content, recruiting and thanks sections (three sections, escaped)."""

from __future__ import annotations

from typing import Any

from bot.program import UNUSED_DAYS, Program
from bot.views.text import plural, safe, section
from models.enums import RefType


def _listed(items: list[str], total: int) -> str:
    shown = ", ".join(safe(item, 120) for item in items)
    return shown + (f" and {total - len(items)} more" if total > len(items) else "")


def _content(p: Program, span: str) -> str:
    lines = [f":books: *Content* — {plural(p.uses_total, 'use')} {span}"]
    if p.top_assets:
        top = ", ".join(f"{safe(a.title, 100)} ({safe(a.customer, 60)}, {a.uses}×)" for a in p.top_assets)
        lines[0] += f": {top}"
    if p.unused_total:
        lines.append(f"Not used in {UNUSED_DAYS} days: {_listed(p.unused, p.unused_total)}")
    if p.lapsing_total:
        lapsing = [
            f"{a.title} ({a.customer}, {RefType(a.consent_type).label.lower()} consent "
            f"until {a.expires_on.isoformat()})"
            for a in p.lapsing
        ]
        lines.append(f":hourglass: Consent lapsing soon: {_listed(lapsing, p.lapsing_total)}")
    return "\n".join(lines)


def _recruiting(p: Program, span: str) -> str:
    change = p.pool - p.pool_before
    trend = f"{'+' if change >= 0 else ''}{change} against the previous period"
    lines = [
        f":seedling: *Recruiting* — nominations {span}: {p.nominations_received} received, "
        f"{p.nominations_accepted} accepted, {p.nominations_declined} declined · "
        f"pool {plural(p.pool, 'reference')} ({trend})"
    ]
    if p.went_unhappy:
        lines.append(f"Became unhappy: {_listed(p.went_unhappy, len(p.went_unhappy))}")
    if p.went_stale:
        lines.append(f"Went stale (no fresh check-in): {_listed(p.went_stale, len(p.went_stale))}")
    return "\n".join(lines)


def _not_thanked(p: Program) -> str:
    if not p.not_thanked_total:
        return ":pray: *Thank-yous* — every customer who helped has been thanked."
    return f":pray: *Not thanked yet* after 14 days: {_listed(p.not_thanked, p.not_thanked_total)}"


def program_sections(p: Program, span: str) -> list[dict[str, Any]]:
    return [section(_content(p, span)), section(_recruiting(p, span)), section(_not_thanked(p))]
