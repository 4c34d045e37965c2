"""Draw the app icons in static/ (the manifest's PNGs) from the favicon's leaf, with the
Debian Chromium the browser tests use: `.venv/bin/python deploy/make_icons.py`.

"any" icons are a rounded green square; the maskable one fills its square and keeps the
leaf inside the central 80 % safe zone, so a launcher's circle or squircle never cuts it.
"""

import os
import sys

from playwright.sync_api import sync_playwright

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

STATIC = os.path.join(os.path.dirname(__file__), "..", "static")
LEAF = "M8 15V8C8 4 11 2 15 2c0 4-2 7-7 7M8 11C8 8 6 6 1 6c0 3 2 5 7 5"
GREEN = "#2f7d32"


def svg(size: int, maskable: bool) -> str:
    radius = 0 if maskable else size * 0.22
    leaf = size * (0.5 if maskable else 0.66)  # the leaf's 16-unit box
    offset = (size - leaf) / 2
    scale = leaf / 16
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">'
        f'<rect width="{size}" height="{size}" rx="{radius}" fill="{GREEN}"/>'
        f'<path transform="translate({offset} {offset}) scale({scale})" fill="#fff" d="{LEAF}"/></svg>'
    )


ICONS = {"icon-192.png": (192, False), "icon-512.png": (512, False), "icon-maskable-512.png": (512, True)}


def main() -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for name, (size, maskable) in ICONS.items():
            page = browser.new_page(viewport={"width": size, "height": size})
            page.set_content(f"<html><body style='margin:0;background:transparent'>{svg(size, maskable)}</body></html>")
            page.screenshot(path=os.path.join(STATIC, name), omit_background=True)
            page.close()
            print("wrote static/" + name)
        browser.close()


if __name__ == "__main__":
    main()
