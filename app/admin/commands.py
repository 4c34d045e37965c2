"""Operator commands: `flask --app wsgi retention` and `flask --app wsgi backup PATH`."""

import click
from flask import current_app
from flask.cli import with_appcontext

from ..backup import PG_DUMP_ADVICE, BackupError, backup_sqlite
from ..clock import utcnow
from ..extensions import db
from ..partitions import ensure_partitions
from ..retention import run_retention


@click.command("retention")
@click.option("--days", type=click.IntRange(1, 36500), help="Keep this many days of raw readings [RETENTION_DAYS].")
@click.option(
    "--batch-size", type=click.IntRange(100, 100_000), help="Readings deleted per transaction [5000; SQLite 1000]."
)
@click.option("--rebuild", is_flag=True, help="Recompute every hourly rollup from the raw readings.")
@with_appcontext
def retention_command(days, batch_size, rebuild):
    """Roll readings up into hours, then delete raw readings older than RETENTION_DAYS (run daily)."""
    days = days or current_app.config["RETENTION_DAYS"]
    created = ensure_partitions(db.session, utcnow())
    report = run_retention(db.session, days, batch_size=batch_size, rebuild=rebuild)
    dropped = ""
    if report.partitions_dropped or created:
        dropped = (
            f"; partitions dropped: {', '.join(report.partitions_dropped) or 'none'} "
            f"(about {report.readings_dropped} readings), created: {', '.join(created) or 'none'}"
        )
    click.echo(
        f"rolled up {report.hours_rolled_up} device-hours for {report.devices} devices "
        f"in {report.rollup_seconds:.1f} s; "
        f"deleted {report.readings_deleted} readings older than {report.cutoff:%Y-%m-%d %H:%M} UTC "
        f"in {report.delete_batches} batches, {report.delete_seconds:.1f} s "
        f"(longest batch {report.longest_batch_ms:.0f} ms){dropped}"
    )


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(path):
    """Copy the SQLite database to PATH while the app runs (PostgreSQL: use pg_dump)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException(PG_DUMP_ADVICE)
    try:
        size = backup_sqlite(url.database, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backed up {url.database} to {path} ({size / 1e6:.1f} MB, integrity ok)")
