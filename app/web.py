"""The htmx helper of the HTML blueprints: is this an htmx request, the page or its
fragment (with `Vary: HX-Request`), conditional answers, and redirects as HX-Redirect."""

from flask import Flask, Response, current_app, make_response, redirect, render_template, request
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response as WerkzeugResponse

REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))


def is_htmx() -> bool:
    """An htmx request that swaps a fragment. Restoring history (back button with no
    cached page) sends HX-Request too, but swaps the whole body, so it gets the page.
    Templates ask the same question as `is_htmx()`."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def render(
    page: str, fragment: str | None = None, status: int = 200, *, block: str | None = None, **context
) -> Response:
    """The full page, or for htmx only its fragment: the `block` of the page template
    (rendered alone by jinja2-fragments), or the `fragment` template the page includes."""
    if not is_htmx():
        html = render_template(page, **context)
    elif block is not None:
        html = render_block(page, block, **context)
    else:
        html = render_template(fragment or page, **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def not_modified(etag: str) -> Response | None:
    """304 when the request's If-None-Match holds `etag` (htmx swaps nothing), else None."""
    if not request.if_none_match.contains(etag):
        return None
    response = Response(status=304)
    response.set_etag(etag)
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> WerkzeugResponse:
    """Redirect after a successful form post (303, or HX-Redirect for htmx)."""
    return redirect(location, code=303)


def htmx_redirects(response: WerkzeugResponse) -> WerkzeugResponse:
    """An htmx request cannot follow a redirect into a full page swap; tell htmx to navigate."""
    if is_htmx() and response.status_code in REDIRECT_CODES and response.location:
        response.headers["HX-Redirect"] = response.location
        response.status_code = 204
        response.headers.pop("Location", None)
    return response


def public_url(endpoint: str, **values) -> str:
    """The absolute URL of a page for messages sent outside any request (Discord): the
    configured PUBLIC_URL and the path url_for would give."""
    path = current_app.url_map.bind("").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def register(app: Flask) -> None:
    from .ownership import may

    app.add_template_global(is_htmx)
    app.add_template_global(may)
