"""The review page in a real headless Chromium from a file:// URL: keyboard, copy, enlarge."""

from __future__ import annotations

from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from assetgen.cli import main
from tests.views.test_browser import LOAD_ALL, browser, wait

__all__ = ["browser"]  # the fixture, shared with the gallery's tests


def focused_tile(driver: WebDriver) -> tuple[str, str]:
    """(row name, data-k) of the tile holding the focus."""
    return tuple(
        driver.execute_script(
            "const t = document.activeElement.closest('.tile');"
            "return [t.closest('.row').dataset.name, t.dataset.k];"
        )
    )


def test_review_page_in_chromium(browser: WebDriver, quickstart: Path, tmp_path: Path) -> None:
    """Arrows move between candidates and rows, a number key selects and copies that
    candidate's pick command, Enter enlarges, a copy button copies, the filter hides rows."""
    root = str(quickstart)
    assert main(["-C", root, "build", "--provider", "draft"]) == 0
    for name in ("hero-home", "icon-search"):
        assert main(["-C", root, "explore", name, "-n", "3", "--provider", "draft"]) == 0
    assert main(["-C", root, "explore", "--page", "--provider", "draft"]) == 0
    page = quickstart / ".assetgen" / "explore" / "index.html"
    browser.get(page.as_uri())
    loaded = browser.execute_async_script(LOAD_ALL)
    assert len(loaded) == 8 and all(width > 0 for _, width in loaded)  # 2 x (current + 3)
    assert browser.find_element(By.ID, "count").text == "8 of 8"

    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ARROW_DOWN)  # nothing focused yet: the first tile of the first row
    assert focused_tile(browser) == ("hero-home", "0")
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    browser.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
    assert focused_tile(browser) == ("hero-home", "2")
    browser.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
    assert focused_tile(browser) == ("icon-search", "2")
    browser.switch_to.active_element.send_keys(Keys.ARROW_LEFT)
    assert focused_tile(browser) == ("icon-search", "1")

    browser.switch_to.active_element.send_keys("3")  # select candidate 3 of this row, copy it
    assert focused_tile(browser) == ("icon-search", "3")
    status = browser.find_element(By.ID, "copied")
    assert wait(browser, "return document.getElementById('copied').textContent.startsWith('cop')")
    assert status.get_attribute("data-cmd") == "assetgen pick icon-search 3"
    selected = browser.find_elements(By.CSS_SELECTOR, ".tile.selected")
    assert [t.get_attribute("data-k") for t in selected] == ["3"]
    # What was copied is on the clipboard: paste it into the filter box.
    box = browser.find_element(By.ID, "q")
    assert status.text == "copied: assetgen pick icon-search 3"
    box.send_keys(Keys.CONTROL, "v")
    assert box.get_attribute("value") == "assetgen pick icon-search 3"
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)

    tile = browser.find_element(By.CSS_SELECTOR, '.row[data-name="icon-search"] .tile[data-k="3"]')
    tile.find_element(By.CSS_SELECTOR, ".open").send_keys(Keys.ENTER)  # enlarge
    assert wait(browser, "return document.getElementById('viewer').open")
    assert browser.find_element(By.ID, "viewer-title").text == "icon-search #3"
    assert wait(
        browser,
        "const i = [...document.querySelectorAll('#viewer-images img')];"
        "return i.length === 1 && i[0].complete && i[0].naturalWidth === 1024",
    )
    assert browser.find_element(By.ID, "viewer-entry").text == "assetgen pick icon-search 3"
    shot = tmp_path / "explore-viewer.png"
    assert browser.save_screenshot(str(shot))
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert wait(browser, "return !document.getElementById('viewer').open")

    browser.find_element(
        By.CSS_SELECTOR, '.row[data-name="hero-home"] .tile[data-k="1"] .copy'
    ).click()
    assert wait(
        browser,
        "return document.getElementById('copied').dataset.cmd === 'assetgen pick hero-home 1'",
    )
    box.send_keys("search")
    assert browser.find_element(By.ID, "count").text == "4 of 8"
    hidden = browser.execute_script(
        "return document.querySelector('.row[data-name=\"hero-home\"]').hidden"
    )
    assert hidden is True
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACKSPACE)
