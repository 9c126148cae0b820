"""`bot.importer`: the import API under its original name; the code lives in `bot.importing`.

`name_key` and `normalise_domain` are used across refbot (factories, the demo); `import_csv` imports
one file as `refbot import FILE` does. See docs/IMPORT.md for the formats and the merge rules.
"""

from bot.importing import (
    CANONICAL,
    ImportFailed,
    ImportOptions,
    ImportReport,
    Skipped,
    import_csv,
    import_files,
    name_key,
    normalise_domain,
)

__all__ = [
    "CANONICAL",
    "ImportFailed",
    "ImportOptions",
    "ImportReport",
    "Skipped",
    "import_csv",
    "import_files",
    "name_key",
    "normalise_domain",
]
