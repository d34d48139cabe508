"""The drawing page in a real headless Chromium, driven by Playwright, as a user draws.

Chromium comes from the system (Debian: `apt-get install chromium`; Playwright's own
browser download is not reachable everywhere). Without it these tests are skipped with
that reason, except where MNIST_REQUIRE_BROWSER=1 (CI), where a missing browser fails.
The digit-reading tests need a model trained on real MNIST, so they also need MNIST_DATA.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, start_server, stop
from PIL import Image

playwright = pytest.importorskip("playwright.sync_api")
expect = playwright.expect

# Chromium in a sandbox-less container, with nothing that calls home (this machine's network is closed).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
PAD_HEIGHT = 280  # the pad is 840x280: a digit's strokes below fill its height, at its left

# Strokes on the pad, as lists of points, drawn the way a person would.
ZERO = [[(140 + 70 * math.sin(t * math.pi / 10), 140 - 95 * math.cos(t * math.pi / 10)) for t in range(21)]]
DIGITS = {
    "1": [[(140, 40), (140, 240)]],
    "7": [[(70, 60), (210, 60), (120, 240)]],
    "0": ZERO,
}


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = "Chromium not found: install it (Debian: apt-get install chromium) to run the page tests"
    if os.environ.get("MNIST_REQUIRE_BROWSER"):
        pytest.fail(reason + " (MNIST_REQUIRE_BROWSER is set)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server_url(mnist_artifacts):
    server, url = start_server(mnist_artifacts / "model.keras")
    yield url
    stop(server)


@pytest.fixture
def page(browser, server_url):
    """A fresh tab on the page; afterwards, checks it asked nothing of any other host."""
    page = browser.new_page(viewport={"width": 1000, "height": 1100})
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server_url)
    yield page
    page.close()
    elsewhere = [url for url in requested if not url.startswith((server_url, "data:", "blob:"))]
    assert requested and not elsewhere, elsewhere


def starts_with(prefix: str) -> re.Pattern:
    return re.compile("^" + re.escape(prefix))


def draw(page, strokes, right: float = 0) -> None:
    """Draw `strokes` on #pad with the mouse, in small steps as a hand moves, `right`
    pad pixels to the right."""
    box = page.locator("#pad").bounding_box()
    scale = box["height"] / PAD_HEIGHT
    for points in strokes:
        page.mouse.move(box["x"] + (points[0][0] + right) * scale, box["y"] + points[0][1] * scale)
        page.mouse.down()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 9):
                x, y = x0 + (x1 - x0) * step / 8, y0 + (y1 - y0) * step / 8
                page.mouse.move(box["x"] + (x + right) * scale, box["y"] + y * scale)
        page.mouse.up()


def answer(page):
    """#answer once it answers the pad as it is now. The page answers while one draws
    too, so an answer to part of a drawing ("1" for a 7's first stroke) may show first;
    `aria-busy` is "false" only when no answer is on its way."""
    expect(page.locator("#answer")).to_have_attribute("aria-busy", "false", timeout=10_000)
    return page.locator("#answer")


def draw_number(page, digits: str) -> None:
    """Each digit's strokes side by side on the pad, a digit's width apart, as one writes."""
    for place, digit in enumerate(digits):
        draw(page, DIGITS[digit], right=250 * place)


@pytest.mark.parametrize(("digit", "right"), [("1", 0), ("7", 0), ("0", 0), ("7", 520), ("0", 280)])
def test_a_drawn_digit_gets_its_answer(page, digit, right):
    """A digit drawn anywhere on the wide pad reads as one digit."""
    expect(page.locator("#answer")).to_have_text("draw a digit")
    draw(page, DIGITS[digit], right)
    expect(answer(page)).to_contain_text(f"{digit} (")
    expect(page.locator("#seen")).to_have_attribute("src", starts_with("data:image/png;base64,"))
    expect(page.locator("#layers .unit")).to_have_count(100 + 50 + 25 + 10)
    expect(page.locator("#pieces")).to_be_hidden()


def test_a_drawn_number_reads_as_a_number(page):
    """1, 7 and 0 side by side read "170": each digit's 28x28 and answer under it, and
    choosing one shows its bars and layers."""
    draw_number(page, "170")
    expect(answer(page)).to_have_text("170")
    expect(page.locator("#pieces .piece")).to_have_count(3)
    for index, digit in enumerate("170"):
        expect(page.locator("#pieces .piece").nth(index)).to_contain_text(f"{digit} ")
    expect(page.locator("#pieces .piece").first).to_have_attribute("aria-pressed", "true")
    page.locator("#pieces .piece").nth(1).click()
    expect(page.locator("#pieces .piece").nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#pieces .piece").first).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#bars .top")).to_have_text("7")
    src = page.locator("#pieces .piece img").nth(1).get_attribute("src")
    expect(page.locator("#seen")).to_have_attribute("src", src)
    expect(page.locator("#layers .unit")).to_have_count(100 + 50 + 25 + 10)
    page.click("#clear")
    expect(page.locator("#pieces")).to_be_hidden()


# Not digits: a hash sign and a star, drawn as a person would.
NOT_DIGITS = {
    "hash": [
        [(115, 40), (95, 240)],
        [(195, 40), (175, 240)],
        [(50, 105), (240, 105)],
        [(40, 180), (230, 180)],
    ],
    "star": [[(140, 30), (205, 235), (40, 105), (240, 105), (75, 235), (140, 30)]],
}


@pytest.mark.parametrize("shape", NOT_DIGITS)
def test_a_drawing_that_is_not_a_digit_is_called_so(page, shape):
    draw(page, NOT_DIGITS[shape])
    expect(answer(page)).to_contain_text("That doesn't look like a digit (best guess ")
    # The network's view is still shown: the 28x28, its ten bars and every layer.
    expect(page.locator("#seen")).to_have_attribute("src", starts_with("data:image/png;base64,"))
    expect(page.locator("#bars .bar")).to_have_count(10)
    expect(page.locator("#layers .unit")).to_have_count(100 + 50 + 25 + 10)


def test_clear_and_escape_empty_the_answer(page):
    draw(page, DIGITS["7"])
    expect(answer(page)).to_contain_text("7 (")
    page.click("#clear")
    expect(page.locator("#answer")).to_have_text("draw a digit")
    expect(page.locator("#seen")).not_to_have_attribute("src", starts_with("data:"))
    draw(page, DIGITS["1"])
    expect(answer(page)).to_contain_text("1 (")
    page.keyboard.press("Escape")
    expect(page.locator("#answer")).to_have_text("draw a digit")


def test_an_uploaded_photo_goes_the_same_way(page):
    page.set_input_files("#upload", str(ROOT / "docs" / "example_digit.jpg"))
    expect(page.locator("#answer")).to_contain_text("3 (", timeout=10_000)
    expect(page.locator("#answer")).to_contain_text("example_digit.jpg")


def test_an_error_from_the_server_shows_on_the_page(page, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("a shopping list, not a picture")
    page.set_input_files("#upload", str(not_an_image))
    expect(page.locator("#error")).to_be_visible(timeout=10_000)
    expect(page.locator("#error")).to_contain_text("not an image")


def test_the_pad_never_scrolls_the_page_while_drawing(page):
    expect(page.locator("#pad")).to_have_css("touch-action", "none")


@pytest.mark.parametrize("begins", ["on the pad", "just off the pad"])
def test_a_stroke_that_leaves_the_pad_selects_no_text(page, begins):
    """Drawing off the edge, across the page's text and back, as a hand does (or starting
    a little off the pad and moving into it): nothing on the page turns blue (selected),
    and the stroke counts."""
    pad = page.locator("#pad").bounding_box()
    text = page.locator("header p").bounding_box()
    start_x = pad["x"] + (0.5 * pad["width"] if begins == "on the pad" else -8)
    page.mouse.move(start_x, pad["y"] + 0.5 * pad["height"])
    page.mouse.down()
    page.mouse.move(pad["x"] + 0.6 * pad["width"], pad["y"] + 0.5 * pad["height"], steps=12)
    for x, y in [(text["x"] + 5, text["y"] + 5), (pad["x"] + 700, pad["y"] + 500)]:
        page.mouse.move(x, y, steps=12)
    page.mouse.move(pad["x"] + 0.3 * pad["width"], pad["y"] + 0.8 * pad["height"], steps=12)
    page.mouse.up()
    assert page.evaluate("window.getSelection().toString()") == ""
    expect(page.locator("#answer")).not_to_have_text("draw a digit", timeout=10_000)


def test_on_a_phone_the_page_fits_its_width_and_a_finger_draws(browser, server_url):
    """390x844, touch: no sideways scrolling (the layers' squares shrink to fit), and a
    stroke drawn with a finger gets its answer without scrolling the page."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.goto(server_url)
    try:
        pad = page.locator("#pad").bounding_box()
        assert pad["x"] >= 0 and pad["x"] + pad["width"] <= 390
        touch = context.new_cdp_session(page)
        points = [
            (pad["x"] + x * pad["height"] / PAD_HEIGHT, pad["y"] + y * pad["height"] / PAD_HEIGHT)
            for x, y in DIGITS["7"][0]
        ]
        touch.send(
            "Input.dispatchTouchEvent",
            {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]},
        )
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for step in range(1, 13):
                point = {"x": x0 + (x1 - x0) * step / 12, "y": y0 + (y1 - y0) * step / 12}
                touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(answer(page)).to_contain_text("7 (")
        expect(page.locator("#layers .unit")).to_have_count(100 + 50 + 25 + 10)
        assert page.evaluate("[document.documentElement.scrollWidth, innerWidth, scrollY]") == [390, 390, 0]
    finally:
        context.close()


def test_screenshot(page, tmp_path):
    """A screenshot of a drawn number, looked at by a person (the README shows one like it)."""
    draw_number(page, "170")
    expect(answer(page)).to_have_text("170")
    path = Path(os.environ.get("MNIST_SCREENSHOT") or tmp_path / "page.png")
    page.screenshot(path=path, full_page=True)
    with Image.open(path) as shot:
        assert shot.width == 1000 and shot.height >= 900
        assert len(shot.convert("L").getcolors(65536) or []) > 20  # a drawn page, not a blank one
