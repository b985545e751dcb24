"""The `library` commands as plain functions: `mediawatch library check|import|export` calls
these, and so does `python -m rebuttal_library` (useful before the main CLI is installed).

Each returns a process exit code and writes its report through `echo`, so any command-line
framework can wrap it without this module depending on one.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from rebuttal_library.exchange import export_entries, import_entries, write_entry_markdown
from rebuttal_library.validate import (
    PROJECT_ROOT,
    LibraryError,
    Problem,
    check_library,
    display_path,
    load_library,
)

DEFAULT_ENTRIES_DIR = PROJECT_ROOT / "rebuttal_library" / "entries"

Echo = Callable[[str], None]


def summary(problems: Sequence[Problem]) -> str:
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


def check_command(
    entries_dir: Path = DEFAULT_ENTRIES_DIR, today: date | None = None, echo: Echo = print
) -> int:
    """Print every problem and a summary; exit code 1 if any error, else 0."""
    problems = check_library(entries_dir, today)
    for problem in problems:
        echo(str(problem))
    has_errors = any(p.severity == "error" for p in problems)
    count = "" if has_errors else f"{len(load_library(entries_dir, today))} entries, "
    echo(f"{display_path(Path(entries_dir))}: {count}{summary(problems)}")
    return 1 if has_errors else 0


def import_command(
    source: Path,
    entries_dir: Path = DEFAULT_ENTRIES_DIR,
    today: date | None = None,
    echo: Echo = print,
) -> int:
    """Write the entries of a JSONL or ClaimReview file into the library, then check it."""
    try:
        entries = import_entries(source)
    except LibraryError as exc:
        echo(str(exc))
        return 1
    for entry in entries:
        echo(f"wrote {display_path(write_entry_markdown(entry, entries_dir))}")
    return check_command(entries_dir, today, echo)


def export_command(
    target: Path,
    entries_dir: Path = DEFAULT_ENTRIES_DIR,
    today: date | None = None,
    usable_only: bool = False,
    echo: Echo = print,
) -> int:
    """Write the library as JSONL or ClaimReview (by suffix); refuses an invalid library."""
    today = today or date.today()
    try:
        entries = load_library(entries_dir, today)
        if usable_only:
            entries = [entry for entry in entries if entry.is_usable(today)]
        count = export_entries(entries, target)
    except LibraryError as exc:
        echo(str(exc))
        return 1
    echo(f"exported {count} entries to {display_path(Path(target))}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rebuttal_library")
    parser.add_argument("--dir", type=Path, default=DEFAULT_ENTRIES_DIR, help="entries folder")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="validate the library")
    importing = commands.add_parser("import", help="import .jsonl or ClaimReview .json")
    importing.add_argument("file", type=Path)
    exporting = commands.add_parser("export", help="export to .jsonl or ClaimReview .json")
    exporting.add_argument("file", type=Path)
    exporting.add_argument("--usable-only", action="store_true", help="approved, unexpired")
    args = parser.parse_args(argv)

    if args.command == "check":
        return check_command(args.dir, args.today)
    if args.command == "import":
        return import_command(args.file, args.dir, args.today)
    return export_command(args.file, args.dir, args.today, args.usable_only)
