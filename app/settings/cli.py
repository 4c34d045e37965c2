"""`flask --app wsgi rotate-key`."""

import click
from flask import current_app
from flask.cli import with_appcontext

from .rotation import rotate_secrets


@click.command("rotate-key")
@click.option("--batch-size", default=200, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def rotate_key_command(batch_size):
    """Re-encrypt every stored secret under the newest ENCRYPTION_KEY."""
    report = rotate_secrets(current_app.config["ENCRYPTION_KEYS"], batch_size)
    click.echo(
        f"re-encrypted {report.reencrypted}, already current {report.current}, undecryptable {report.undecryptable}"
    )
    if report.undecryptable:
        click.echo(
            f"warning: {report.undecryptable} secret(s) fit no configured key; their users must re-enter them",
            err=True,
        )
