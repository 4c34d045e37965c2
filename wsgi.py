"""Entry point for gunicorn (`wsgi:app`) and the CLI (`flask --app wsgi ...`)."""

from app import run_or_exit

app = run_or_exit()
