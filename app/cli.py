"""`flask --app wsgi ...` commands. Each area keeps its commands in its own package
and adds them here."""

import click
from flask.cli import AppGroup

from .admin.commands import backup_command, retention_command
from .api import cli as api_cli
from .auth.passwords import password_problem
from .auth.users import EmailTaken, create_user
from .extensions import db
from .ingest.cli import ingest_command, simulate_command
from .settings.cli import rotate_key_command

users = AppGroup("users", help="Manage accounts.")


@users.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True, help="Make the account an administrator.")
def create_user_command(email, password, admin):
    """Create an account (the first account is an administrator)."""
    problem = password_problem(password, email)
    if problem:
        raise click.ClickException(f"password refused: {problem}")
    try:
        user = create_user(email, password, is_admin=admin)
    except EmailTaken:
        raise click.ClickException(f"an account for {email.strip().lower()} exists already") from None
    db.session.commit()
    click.echo(f"created {user.email}" + (" (administrator)" if user.is_admin else ""))


def register(app):
    app.cli.add_command(users)
    app.cli.add_command(ingest_command)
    app.cli.add_command(simulate_command)
    app.cli.add_command(retention_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(api_cli.tokens)
    app.cli.add_command(rotate_key_command)
