"""The gallery and the diff page in a real headless Chromium, opened from file:// URLs.

Driven by selenium with Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them). Skipped only when the browser cannot be started, with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from assetgen.cli import main
from assetgen.project import find_project
from tests.pages import build, committed_design_system, edit

FLAGS = (
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)

# Scrolls every thumbnail into view (they load lazily) and waits for each to load or fail.
LOAD_ALL = """
const done = arguments[arguments.length - 1];
(async () => {
  for (const img of document.querySelectorAll("main img")) {
    img.scrollIntoView({block: "center"});
    if (!img.complete) {
      await new Promise((ok) => {
        img.addEventListener("load", ok, {once: true});
        img.addEventListener("error", ok, {once: true});
      });
    }
  }
  done(Array.from(document.querySelectorAll("main img"), (i) => [i.alt, i.naturalWidth]));
})();
"""


def _find(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    chromium = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    if chromium is None or driver_path is None:
        pytest.skip("Chromium cannot be started: `chromium` or `chromedriver` is not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    try:
        # An explicit driver path: selenium never goes looking for one on the network.
        driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    except WebDriverException as exc:
        pytest.skip(f"Chromium cannot be started: {exc.msg}")
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def wait(driver: WebDriver, script: str, *args: object) -> object:
    """Wait (up to 10 s) until ``script`` returns something true, and return it."""
    return WebDriverWait(driver, 10).until(lambda d: d.execute_script(script, *args))


def check_page(driver: WebDriver, page: Path, *, images: int, query: str, matches: int) -> str:
    """Every thumbnail loads; the filter counts; the keyboard opens, steps and closes the viewer."""
    driver.get(page.as_uri())
    loaded = driver.execute_async_script(LOAD_ALL)
    assert len(loaded) == images
    assert all(width > 0 for _, width in loaded), [alt for alt, width in loaded if not width]
    assert all(alt for alt, _ in loaded)  # alt text from the prompt
    count = driver.find_element(By.ID, "count")
    total = int(count.text.split(" of ")[1])
    driver.find_element(By.ID, "q").send_keys(query)
    assert count.text == f"{matches} of {total}"
    shown = driver.execute_script(
        "return [...document.querySelectorAll('.card')].filter(c => c.offsetParent).length"
    )
    assert shown == matches
    opener = driver.find_element(By.CSS_SELECTOR, ".card:not([hidden]) .open")
    opener.send_keys(Keys.ENTER)  # the keyboard opens the viewer
    assert wait(driver, "return document.getElementById('viewer').open")
    first = driver.find_element(By.ID, "viewer-title").text
    assert wait(
        driver,
        "const i = [...document.querySelectorAll('#viewer-images img')];"
        "return i.length > 0 && i.every(x => x.complete && x.naturalWidth > 0)",
    )
    assert driver.find_element(By.ID, "viewer-pos").text == f"1 of {matches}"
    if matches > 1:
        driver.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
        assert driver.find_element(By.ID, "viewer-pos").text == f"2 of {matches}"
        assert driver.find_element(By.ID, "viewer-title").text != first
    return first


def close_viewer(driver: WebDriver) -> None:
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert wait(driver, "return !document.getElementById('viewer').open")
    focused = driver.switch_to.active_element
    assert "open" in (focused.get_attribute("class") or "").split()  # focus is back on a card


def test_gallery_in_chromium(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """The gallery of a draft build of examples/design-system works in a real browser."""
    project = committed_design_system(tmp_path_factory, tmp_path)
    assert main(["-C", str(project), "gallery", "--provider", "draft"]) == 0
    page = project / ".assetgen" / "gallery" / "index.html"
    check_page(browser, page, images=25, query="icon", matches=8)
    shot = tmp_path / "gallery.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    close_viewer(browser)
    box = browser.find_element(By.ID, "q")
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
    assert browser.find_element(By.ID, "count").text == "25 of 25"
    box.send_keys("hero image")  # prompt text, all words
    assert browser.find_element(By.ID, "count").text == "4 of 25"


def test_diff_page_in_chromium(
    browser: WebDriver, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """After editing two prompts, `diff --html` shows each changed asset before and after."""
    project = committed_design_system(tmp_path_factory, tmp_path)
    manifest = project / "assetgen.yaml"
    edit(manifest, "social sharing card", "social preview card")  # og-card
    edit(manifest, "vertical promotional banner", "vertical launch banner")  # 2 banners
    build(project)
    assert main(["-C", str(project), "diff", "--provider", "draft", "--html"]) == 0
    page = find_project(project).state_dir / "diff" / "index.html"
    first = check_page(browser, page, images=6, query="banner", matches=2)
    assert first.startswith("banner-")
    pair = browser.find_elements(By.CSS_SELECTOR, "#viewer-images figure")
    assert [f.find_element(By.TAG_NAME, "figcaption").text.split(" (")[0] for f in pair] == [
        "before",
        "after, from the working tree",
    ]
    shot = tmp_path / "diff.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    close_viewer(browser)
