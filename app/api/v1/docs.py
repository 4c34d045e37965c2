"""The OpenAPI document and its interactive page, both public: client generators fetch
the document without a token, and the page only reads it (Swagger UI, vendored in static/)."""

from flask import current_app, render_template

from . import bp
from .document import document, operation


@bp.get("/openapi.json")
@operation("getOpenApi", "meta", (200, None, "This document (OpenAPI 3.1), without a token."), public=True)
def openapi_document() -> dict:
    """This document"""
    return document(current_app)


@bp.get("/docs")
@operation("getApiDocs", "meta", (200, None, "An HTML page to read and try the API, without a token."), public=True)
def api_docs() -> str:
    """The interactive documentation page"""
    # Under the site's own CSP (app/security.py): the assets are ours and the start-up is a file.
    return render_template("api/docs.html")
