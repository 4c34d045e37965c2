"""`flask --app wsgi tokens create EMAIL [--name N]`: the token is the last line printed."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..auth import tokens as token_service
from ..extensions import db
from ..models import User

tokens = AppGroup("tokens", help="Manage personal access tokens for the JSON API.")


@tokens.command("create")
@click.argument("email")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
def create_token_command(email, name):
    """Create a token for EMAIL's account and print it (it is shown only this once)."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account for {email.strip().lower()}")
    try:
        token, raw = token_service.create_token(user, name)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(
        f"created token {token.name!r} ({token.prefix}...) for {user.email}; store it now, it is not shown again:"
    )
    click.echo(raw)
