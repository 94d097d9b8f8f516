"""The live map in Debian's Chromium: the plot page draws the plot and its neighbours under the
strict CSP, and the plot form's editor writes a drawn outline into the geometry field."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from app.audit import trail
from app.extensions import db
from tests.conftest import PASSWORD
from tests.factories import land as fx
from tests.factories import people as people_fx

pytestmark = pytest.mark.browser
ACTOR = trail.AuditContext(actor="test-setup", role="system")


@pytest.fixture
def served(fresh_app) -> Iterator[tuple[str, dict]]:
    """The fresh app served on a free port, with a household's plot and a neighbour committed."""
    app = fresh_app
    a = app.extensions["sanquan_baseline"].collective_a
    with app.app_context(), app.test_request_context(), trail.acting(ACTOR):
        household_uid, head = fx.make_household(a, "李大山")
        made = fx.make(a, {"household_uid": household_uid})
        people_fx.link_farmer("farmer_a", head)
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", made
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def browser(fresh_browser):
    """The session's one Chromium (tests/browser/conftest.py): one Playwright per process."""
    return fresh_browser


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form [type=submit]")
    page.wait_for_load_state("networkidle")


def _features(page) -> int:
    return page.evaluate(
        "(() => { const el = document.querySelector('.map-panel');"
        " const layers = el.olMap.getLayers().getArray();"
        " return layers[layers.length - 1].getSource().getFeatures().length; })()"
    )


def _until(page, check, seconds: float = 15.0) -> bool:
    """Poll ``check`` from here until it holds (page.wait_for_function would evaluate a string in
    the page, which the strict CSP refuses: no 'unsafe-eval')."""
    for _ in range(int(seconds / 0.2)):
        if check():
            return True
        page.wait_for_timeout(200)
    return bool(check())


def test_plot_page_draws_the_plot_and_neighbours_under_the_csp(served, browser, tmp_path):
    base, made = served
    page = browser.new_page(viewport={"width": 390, "height": 844})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "console",
        lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _login(page, base, "admin_a")
    page.goto(f"{base}/plots/{made['plot_uid']}")
    page.wait_for_selector(".map-panel.map-live .map-canvas canvas")
    assert _until(page, lambda: _features(page) >= 2)  # the plot and its overlapping neighbour
    assert page.is_visible(".ol-scale-line")
    assert not page.is_visible(".map-fallback svg")
    page.screenshot(path=str(tmp_path / "plot-map.png"))
    assert problems == []


def test_plot_form_editor_writes_the_drawn_outline(served, browser):
    base, made = served
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    _login(page, base, "admin_a")
    page.goto(f"{base}/plots/{made['plot_uid']}/geometry")
    page.wait_for_selector(".map-panel.map-live .map-canvas canvas")
    page.click(".map-redraw")
    box = page.query_selector(".map-canvas").bounding_box()
    for fx_, fy in [(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6), (0.3, 0.3)]:
        page.mouse.click(box["x"] + box["width"] * fx_, box["y"] + box["height"] * fy)
        page.wait_for_timeout(150)
    assert _until(page, lambda: page.input_value("textarea[name=geometry]") != "")
    drawn = page.input_value("textarea[name=geometry]")
    assert '"type":"Polygon"' in drawn
    assert page.input_value("select[name=crs]") == "EPSG:4547"
