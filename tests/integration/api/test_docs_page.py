"""The API's interactive documentation in a real Chromium: no token, no CDN, no CSP report."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_docs_page_lists_every_operation_and_opens_one(page, live_server):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(live_server + "/api/v1/docs")
    expect(page.get_by_role("heading", name="PlantOps API")).to_be_visible()
    paths = page.request.get(live_server + "/api/v1/openapi.json").json()["paths"]
    expect(page.locator(".opblock")).to_have_count(sum(len(operations) for operations in paths.values()))
    patch = page.locator(".opblock-patch", has_text="/api/v1/plants/{plant_id}").first
    expect(patch).to_be_visible()
    patch.locator(".opblock-summary").click()
    expect(patch.get_by_text("Change some of a plant's fields (JSON merge patch)").first).to_be_visible()
    page.shot("api-docs")  # under the site's CSP: a blocked script or style would be a console error
    assert all(url.startswith(live_server) for url in requested), [
        u for u in requested if not u.startswith(live_server)
    ]
    assert page.console_errors == []
