"""The vetted rebuttal library: entry files, their schema, validator, loader and exchange.

One Markdown file per entry in `rebuttal_library/entries/` (YAML front matter + response).
See README.md in this folder for the format and the review statuses.
"""

from rebuttal_library.exchange import (
    export_claimreview,
    export_entries,
    export_jsonl,
    import_claimreview,
    import_entries,
    import_jsonl,
    write_entry_markdown,
)
from rebuttal_library.schema import Evidence, RebuttalEntry, compute_version
from rebuttal_library.validate import (
    LibraryError,
    Problem,
    check_library,
    load_library,
    read_entry,
)

__all__ = [
    "Evidence",
    "LibraryError",
    "Problem",
    "RebuttalEntry",
    "check_library",
    "compute_version",
    "export_claimreview",
    "export_entries",
    "export_jsonl",
    "import_claimreview",
    "import_entries",
    "import_jsonl",
    "load_library",
    "read_entry",
    "write_entry_markdown",
]
