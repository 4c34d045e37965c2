"""Entry point for gunicorn (`wsgi:app`) and the CLI (`flask --app wsgi ...`)."""

from app import run_or_exit
from app.workers import start_if_dev_server

app = run_or_exit()
start_if_dev_server(app)
