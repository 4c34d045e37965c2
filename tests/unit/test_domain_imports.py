"""The domain loads no web layer: importing every module of app.domain, in a fresh interpreter,
leaves no view, form or blueprint module and no Flask extension but Flask-SQLAlchemy in sys.modules."""

import json
import pkgutil
import subprocess
import sys

import app.domain

BLUEPRINTS = ("app.admin", "app.alerts", "app.api", "app.auth", "app.plants", "app.settings", "app.tasks")
WEB_LAYER = ("app.ingest", "app.notify", "app.errors", "app.extensions", "app.ownership", "app.web", "app.filters")
LIST_MODULES = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def domain_modules():
    return sorted(f"app.domain.{info.name}" for info in pkgutil.iter_modules(app.domain.__path__))


def modules_loaded_by(names):
    run = subprocess.run([sys.executable, "-c", LIST_MODULES, *names], capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def is_web_layer(name):
    top = name.split(".")[0]
    if top == "wtforms" or (top.startswith("flask_") and top != "flask_sqlalchemy"):
        return True
    return any(name == package or name.startswith(f"{package}.") for package in BLUEPRINTS + WEB_LAYER)


def test_domain_modules_are_found():
    assert {"app.domain.metrics", "app.domain.plants", "app.domain.tasks", "app.domain.payload"} <= set(
        domain_modules()
    )


def test_importing_the_domain_loads_no_view_form_blueprint_or_flask_extension():
    loaded = modules_loaded_by(domain_modules())
    assert "app.domain.tasks" in loaded  # the list is the real one
    assert "flask_sqlalchemy" in loaded
    assert [name for name in loaded if is_web_layer(name)] == []
