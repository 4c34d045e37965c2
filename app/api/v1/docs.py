"""The OpenAPI document and its interactive page, both public: client generators fetch
the document without a token, and the page only reads it (Swagger UI, vendored in static/)."""

from flask import current_app, render_template

from . import bp
from .document import document, operation

# Swagger UI sets style attributes from script; everything else stays 'self' only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


@bp.get("/openapi.json")
@operation("getOpenApi", "meta", (200, None, "This document (OpenAPI 3.1), without a token."), public=True)
def openapi_document() -> dict:
    """This document"""
    return document(current_app)


@bp.get("/docs")
@operation("getApiDocs", "meta", (200, None, "An HTML page to read and try the API, without a token."), public=True)
def api_docs() -> tuple[str, int, dict[str, str]]:
    """The interactive documentation page"""
    return render_template("api/docs.html"), 200, {"Content-Security-Policy": DOCS_CSP}
