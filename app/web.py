"""Helpers shared by the HTML blueprints: page-or-fragment rendering, htmx redirects."""

from flask import make_response, redirect, render_template, request


def is_htmx():
    """An htmx request that swaps a fragment. Restoring history (back button with no
    cached page) sends HX-Request too, but swaps the whole body, so it gets the page."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-History-Restore-Request") != "true"


def render(page, fragment, status=200, **context):
    """Render the full page, or only its fragment for htmx; the page includes the fragment."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location):
    """Redirect after a successful form post (303, or HX-Redirect for htmx)."""
    return redirect(location, code=303)


def htmx_redirects(response):
    """An htmx request cannot follow a redirect into a full page swap; tell htmx to navigate."""
    if is_htmx() and response.status_code in (301, 302, 303, 307, 308) and response.location:
        response.headers["HX-Redirect"] = response.location
        response.status_code = 204
        response.headers.pop("Location", None)
    return response
