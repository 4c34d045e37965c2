"""The installable app: the web app manifest, the service worker and the offline page.

All three are public and hold no personal data. The service worker is served from the
application root (not /static/) so its scope is the whole app; its cache name carries a
hash of the static files, so a deploy that changes any of them replaces the old cache.
The last dashboard a signed-in browser saw is kept by the worker itself, in that browser
only, and deleted when the user signs out (static/sw.js).
"""

import hashlib
import json
import os
from functools import cache

from flask import Blueprint, Response, current_app, render_template, url_for

bp = Blueprint("pwa", __name__)

ICONS = (
    ("icon-192.png", "192x192", "any"),
    ("icon-512.png", "512x512", "any"),
    ("icon-maskable-512.png", "512x512", "maskable"),
)
# What the worker caches on install: the shell every page needs and the offline page.
SHELL_FILES = (
    "app.css",
    "app.js",
    "focus.js",
    "htmx-2.0.11.min.js",
    "favicon.svg",
    "offline.js",
    *(i[0] for i in ICONS),
)
THEME_COLOR = "#2f7d32"


@cache
def static_version(folder: str) -> str:
    """A short hash of the shell's static files: the worker's cache name."""
    digest = hashlib.sha256()
    for name in SHELL_FILES + ("sw.js",):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, "rb") as f:
                digest.update(name.encode() + b"\0" + f.read())
    return digest.hexdigest()[:12]


def version() -> str:
    folder = current_app.static_folder or ""
    if current_app.debug:
        static_version.cache_clear()
    return static_version(folder)


@bp.get("/manifest.webmanifest")
def manifest():
    root = url_for("index")
    body = {
        "name": "PlantOps",
        "short_name": "PlantOps",
        "description": "Your plants' sensors, alerts and care tasks.",
        "id": root,
        "start_url": url_for("plants.list_plants"),
        "scope": root,
        "display": "standalone",
        "background_color": "#f6f7f4",
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": url_for("static", filename=name), "sizes": sizes, "type": "image/png", "purpose": purpose}
            for name, sizes, purpose in ICONS
        ],
    }
    response = Response(json.dumps(body, indent=1), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/sw.js")
def service_worker():
    """static/sw.js with its settings filled in; always revalidated (browsers check it
    for updates at most every 24 h regardless)."""
    with open(os.path.join(current_app.static_folder or "", "sw.js"), encoding="utf-8") as f:
        source = f.read()
    settings = {
        "version": version(),
        "shell": [url_for("static", filename=name) for name in SHELL_FILES] + [url_for("pwa.offline")],
        "offline": url_for("pwa.offline"),
        "dashboard": url_for("plants.list_plants"),
        "logout": url_for("auth.logout"),
    }
    source = source.replace("/*SETTINGS*/{}", json.dumps(settings), 1)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for("index")
    return response


@bp.get("/offline")
def offline():
    """The page the worker shows when the network is gone; its script fills in the last
    dashboard this browser saw. Public and the same for everyone, so it may be cached."""
    response = Response(render_template("offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


def register(app) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["static_version"] = version
