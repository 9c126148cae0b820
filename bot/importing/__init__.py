"""Importing customer lists: messy CSV and XLSX files in, one de-duplicated customer list out.

The stages, each in its own module: `sources` (decode a file into rows of cells), `fields` (what each
header means), `rows` (cells → a checked `ImportRow`), `identity` (is this the same company?), `plan`
(group rows with each other and the database), `merging` (fold a group's rows into one record, then
settle it onto the customer), `owners` (e-mail → Slack user, Slack IDs checked), `writing` (bulk SQL of
only what differs), `report`; `pipeline` runs them. docs/IMPORT.md has the rules.
"""

from bot.importing.fields import CANONICAL, FIELDS, parse_overrides
from bot.importing.identity import company_key, name_key, normalise_domain, same_company_name
from bot.importing.owners import OwnerDirectory, SlackOwnerDirectory
from bot.importing.pipeline import ImportOptions, import_csv, import_files, read_sources
from bot.importing.plan import Plan, Source, plan_import
from bot.importing.progress import ProgressFactory
from bot.importing.report import Conflict, FileFailure, ImportReport, Skipped, UnresolvedOwner
from bot.importing.sources import ImportFailed
from bot.importing.writing import write_plan

__all__ = [
    "CANONICAL",
    "FIELDS",
    "Conflict",
    "FileFailure",
    "ImportFailed",
    "ImportOptions",
    "ImportReport",
    "OwnerDirectory",
    "Plan",
    "ProgressFactory",
    "SlackOwnerDirectory",
    "Skipped",
    "Source",
    "UnresolvedOwner",
    "company_key",
    "import_csv",
    "import_files",
    "name_key",
    "normalise_domain",
    "parse_overrides",
    "plan_import",
    "read_sources",
    "same_company_name",
    "write_plan",
]
