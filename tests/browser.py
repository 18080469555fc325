"""Open a self-contained HTML page in a real headless browser: Debian's Chromium
(/usr/bin/chromium; .ci/run installs it when missing) driven by Playwright, with every
request the page makes intercepted, so that a page reaching for the network fails its test.
Never `playwright install`: the browser is the system's."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

#: For every plotly figure of the page: its id, how many traces and data points it draws,
#: and the size of the SVG plotly rendered (0 when nothing was drawn).
FIGURES_JS = """
() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => {
  const points = (gd._fullData || []).reduce((sum, trace) => {
    const sizes = ['x', 'y', 'z'].map(k => (trace[k] && trace[k].length) || 0);
    return sum + Math.max(...sizes);
  }, 0);
  const svg = gd.querySelector('svg.main-svg');
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  const drawn = gd.querySelectorAll('.scatterlayer path.js-line, .scatterlayer .point, '
    + '.barlayer .point, .heatmaplayer image, .errorbar path').length;
  return {id: gd.id, traces: (gd._fullData || []).length, points: points,
          width: box.width, height: box.height, drawn: drawn};
})
"""


@dataclass
class Visit:
    """What the page did: its console errors, the requests it made that would have left
    the file, its figures (FIGURES_JS) and the screenshot kept."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    screenshot: Path | None = None


def chromium() -> str:
    """The system's Chromium; under CI (which installs it) its absence fails the test, on a
    user's machine without it the test is skipped with the command that installs it."""
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    message = f"no Chromium at {CHROMIUM}: apt-get install -y chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def visit(page_path: Path, screenshot: Path, width: int = 1280, height: int | None = None) -> Visit:
    """Open ``page_path`` (file://) in headless Chromium, every request intercepted (the
    file itself is let through, anything else is aborted and recorded), wait for the page
    to settle, read its figures and save a screenshot to ``screenshot``: the whole page,
    or its first ``height`` pixels."""
    from playwright.sync_api import sync_playwright

    url = page_path.resolve().as_uri()
    seen = Visit()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height or 900})
            page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen.errors.append(str(e)))

            def route(request_route: Any) -> None:
                if request_route.request.url == url:
                    request_route.continue_()
                else:
                    seen.outside.append(request_route.request.url)
                    request_route.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(500)
            seen.figures = page.evaluate(FIGURES_JS)
            page.screenshot(path=str(screenshot), full_page=height is None)
            seen.screenshot = screenshot
        finally:
            browser.close()
    print(f"screenshot: {screenshot}")
    return seen


if __name__ == "__main__":  # python -m tests.browser PAGE PNG [HEIGHT]: the README's picture
    import sys

    shown = visit(
        Path(sys.argv[1]), Path(sys.argv[2]), height=int(sys.argv[3]) if len(sys.argv) > 3 else None
    )
    print(
        f"{len(shown.figures)} figures, {len(shown.errors)} console errors, {len(shown.outside)} requests out"
    )
