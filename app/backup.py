"""Online backups of a SQLite database with SQLite's backup API.

The copy is taken in one step inside a read transaction, so it is the
database as of one commit; in WAL mode the writers (ingestion) carry on while
it runs. The copy is written next to the target, checked with
`PRAGMA integrity_check`, switched to a single file (journal_mode DELETE) and
only then renamed into place. PostgreSQL has its own tool: pg_dump.
"""

import os
import sqlite3
from pathlib import Path

PG_DUMP_ADVICE = (
    "this database is PostgreSQL: back it up with pg_dump, e.g. "
    '`pg_dump --format=custom --file=plantops.dump "$DATABASE_URL"`, '
    'and restore with `pg_restore --clean --if-exists --dbname="$DATABASE_URL" plantops.dump` (see README, Production)'
)


class BackupError(Exception):
    """The backup could not be made; the message is one line for the operator."""


def backup_sqlite(source_path, target_path):
    """Copy the SQLite database at `source_path` to `target_path`; returns the copy's size in bytes."""
    source_path, target_path = Path(source_path), Path(target_path)
    if not source_path.is_file():
        raise BackupError(f"no SQLite database at {source_path}")
    if target_path.resolve() == source_path.resolve():
        raise BackupError("the backup must not overwrite the database itself")
    if not target_path.parent.is_dir():
        raise BackupError(f"the folder {target_path.parent} does not exist")
    partial = target_path.with_name(f".{target_path.name}.partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    try:
        copy = sqlite3.connect(partial)
        try:
            source.backup(copy)
            check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy failed its integrity check: {check}")
            copy.execute("PRAGMA journal_mode = DELETE")
        finally:
            copy.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {error}") from None
    finally:
        source.close()
    os.replace(partial, target_path)
    return target_path.stat().st_size


def integrity_check(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
