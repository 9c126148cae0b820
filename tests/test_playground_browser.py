"""`refbot playground` in a real browser: headless Chromium (Debian's `chromium` + `chromium-driver`) via Selenium.

One test plays the demo's flow by clicking, as a person would: Riley asks for a reference (a bad amount
first, refused in the form), Morgan approves on the card (which changes in place), Olivia says Happy, Riley
sees the approval; then the App Home, an ephemeral answer, a week passing (the digest with its chart), and
no console error anywhere. With `PLAYGROUND_SCREENSHOTS=DIR` (`make screenshots`) it also saves the README's
pictures into DIR. It skips, saying why, only where no Chromium is installed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import demo

selenium = pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

from playground.server import Playground, start  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WAIT = 15


def _chromium() -> tuple[str, str]:
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip(
            "no Chromium to drive: install Debian's `chromium` and `chromium-driver` "
            "(apt-get install -y chromium chromium-driver; .ci/run does this when they are missing)"
        )
    return browser, driver


@pytest.fixture(scope="module")
def playground() -> Iterator[Playground]:
    running = start("127.0.0.1", 0).start_background()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(playground: Playground) -> Iterator[webdriver.Chrome]:
    binary, driver_path = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,860"):
        options.add_argument(argument)
    options.add_argument("--force-device-scale-factor=1")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium is installed but would not start headless here: {exc.msg}")
    yield driver
    driver.quit()


def wait_for(driver: webdriver.Chrome, what: str, found: Callable[[webdriver.Chrome], Any]) -> Any:
    def attempt(d: webdriver.Chrome) -> Any:
        try:
            return found(d)
        except StaleElementReferenceException:
            return None

    return WebDriverWait(driver, WAIT, poll_frequency=0.1, ignored_exceptions=()).until(attempt, f"waiting for {what}")


def be(driver: webdriver.Chrome, name: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'.person[data-name="{name}"]').click()
    wait_for(driver, f"the page to show {name}", lambda d: f"You are {name}" in d.find_element(By.ID, "viewer").text)


def message_with(driver: webdriver.Chrome, text: str) -> WebElement | None:
    for node in driver.find_elements(By.CSS_SELECTOR, "#conversation .msg"):
        if text in node.text:
            return node
    return None


def button(scope: WebElement | webdriver.Chrome, label: str) -> WebElement:
    for node in scope.find_elements(By.CSS_SELECTOR, "button.bk-button"):
        if node.text.strip().startswith(label):
            return node
    raise AssertionError(f"no button {label!r} in: {[b.text for b in scope.find_elements(By.CSS_SELECTOR, 'button')]}")


def open_tab(driver: webdriver.Chrome, tab: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'.tab[data-tab="{tab}"]').click()


def whole_home(driver: webdriver.Chrome, section: str) -> WebElement | None:
    """The App Home once refbot has published all of it (its first publish may still be gathering)."""
    home = driver.find_element(By.ID, "home")
    return home if section in home.text and "Gathering" not in home.text else None


def field(driver: webdriver.Chrome, name: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#modal-form [name="{name}"]')


def console_errors(driver: webdriver.Chrome) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


class Shots:
    """The README's screenshots, saved only when `PLAYGROUND_SCREENSHOTS` names a folder."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        folder = os.environ.get("PLAYGROUND_SCREENSHOTS")
        self.folder = Path(folder) if folder else None
        self.driver = driver

    def take(self, name: str, height: int = 860) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.driver.set_window_size(1280, height)
        self.driver.execute_script("document.activeElement && document.activeElement.blur()")
        self.driver.save_screenshot(str(self.folder / f"{name}.png"))
        self.driver.set_window_size(1280, 860)


def test_the_demo_flow_by_clicking(playground: Playground, browser: webdriver.Chrome) -> None:
    shots = Shots(browser)
    browser.get(playground.url)
    assert "not Slack" in browser.find_element(By.CSS_SELECTOR, ".notice").text

    # Riley asks for a reference: the command opens the form.
    be(browser, "Riley Chen")
    composer = browser.find_element(By.ID, "composer-text")
    composer.send_keys(f"/reference request {demo.PROSPECT}\n")
    modal = wait_for(browser, "the request form", lambda d: d.find_element(By.ID, "modal").is_displayed() and d)
    assert "Request a reference" in browser.find_element(By.CSS_SELECTOR, ".bk-modal-title").text
    assert field(browser, "prospect/prospect").get_attribute("value") == demo.PROSPECT
    Select(field(browser, "ref_type/ref_type")).select_by_value("call")
    field(browser, "industry/industry").send_keys("Fintech")
    field(browser, "products/products").send_keys("Payments")
    field(browser, "region/region").send_keys("EMEA")
    field(browser, "topics/topics").send_keys("migration")
    amount = field(browser, "opportunity_amount/opportunity_amount")
    amount.send_keys("120000")
    browser.execute_script(
        "arguments[0].value = arguments[1]", field(browser, "needed_by/needed_by"), _in_three_weeks(playground)
    )
    field(browser, "notes/notes").send_keys("Their CFO wants a European company that left a legacy processor.")
    browser.execute_script("document.querySelector('.bk-modal-body').scrollTop = 0")
    shots.take("request-form", height=1300)

    # A bad amount is refused where Slack shows it: under that field, the form still open.
    amount.clear()
    amount.send_keys("-5")
    modal.find_element(By.CSS_SELECTOR, ".bk-modal-submit").click()
    error = wait_for(
        browser,
        "the amount's field error",
        lambda d: next(
            (e for e in d.find_elements(By.CSS_SELECTOR, '[data-block-id="opportunity_amount"] .bk-error') if e.text),
            None,
        ),
    )
    assert "cannot be negative" in error.text
    amount = field(browser, "opportunity_amount/opportunity_amount")
    amount.clear()
    amount.send_keys("120000")
    modal.find_element(By.CSS_SELECTOR, ".bk-modal-submit").click()
    wait_for(browser, "the form to close", lambda d: not d.find_element(By.ID, "modal").is_displayed())
    wait_for(browser, "Riley's receipt", lambda d: message_with(d, "sent to the reference team"))
    badge = browser.find_element(By.CSS_SELECTOR, '.person[data-name="Morgan Lee"] .badge')
    wait_for(browser, "an unread badge by Morgan's name", lambda d: badge.text == "1")

    # Morgan sees the card: candidates ranked, mentions as names; Approve changes the card in place.
    be(browser, "Morgan Lee")
    card = wait_for(
        browser, "the manager's card", lambda d: message_with(d, f"Request #1: Reference call for {demo.PROSPECT}")
    )
    assert "@Riley Chen" in card.text and "<@U" not in card.text
    wait_for(browser, "the badge to go once Morgan has looked", lambda d: not badge.is_displayed())
    assert "Acme Financial" in card.text and "Used 2× in the last 90 days" in card.text
    shots.take("manager-card", height=1500)

    # Morgan's App Home has the request in the approval queue (Slack sends app_home_opened on every visit).
    open_tab(browser, "home")
    home = wait_for(browser, "Morgan's whole App Home", lambda d: whole_home(d, "Approval queue · 1"))
    assert demo.PROSPECT in home.text and "At-risk customers" in home.text
    shots.take("app-home", height=1300)
    # Its Approve asks first, in Slack's confirm dialog; "Back" sends nothing.
    button(home, "Approve (after check-in)").click()
    confirm = wait_for(browser, "the confirm dialog", lambda d: d.find_element(By.ID, "confirm").is_displayed() and d)
    dialog = confirm.find_element(By.ID, "confirm")
    assert "Approve this request?" in dialog.text and f"Request #1 for {demo.PROSPECT}" in dialog.text
    dialog.find_element(By.ID, "confirm-deny").click()
    wait_for(browser, "the dialog to close", lambda d: not d.find_element(By.ID, "confirm").is_displayed())
    open_tab(browser, "messages")
    card = wait_for(
        browser, "the card again", lambda d: message_with(d, f"Request #1: Reference call for {demo.PROSPECT}")
    )
    button(card, "Approve (after check-in): Acme Financial").click()
    wait_for(browser, "the card to say the owner is asked", lambda d: "approved as soon as" in card.text)
    assert card.is_displayed()  # the same element: updated in place, not a new message
    assert "Approve (after check-in)" not in card.text

    # Olivia is asked whether Acme is still happy, and says Happy.
    be(browser, "Olivia Park")
    question = wait_for(browser, "Olivia's check-in", lambda d: message_with(d, "still happy"))
    button(question, "Happy").click()
    wait_for(browser, "the answered check-in", lambda d: "Answered" in question.text)

    # Riley has the approval with the contact; Morgan's card shows the decision, with no stale button.
    be(browser, "Riley Chen")
    approved = wait_for(browser, "Riley's approval", lambda d: message_with(d, "is approved"))
    assert "Hannah Weber" in approved.text and "@Morgan Lee" in approved.text
    be(browser, "Morgan Lee")
    card = wait_for(browser, "the decided card", lambda d: message_with(d, "Approved by"))
    assert not [b for b in card.find_elements(By.CSS_SELECTOR, "button.bk-button") if "Approve" in b.text]

    # Every role's App Home: the rep's requests, the owner's customers.
    for name, section in (("Riley Chen", "Your requests · 1"), ("Olivia Park", "Your customers")):
        be(browser, name)
        open_tab(browser, "home")
        wait_for(browser, f"{name}'s App Home", lambda d, section=section: whole_home(d, section))
        open_tab(browser, "messages")

    # An ephemeral answer says who can see it.
    browser.find_element(By.ID, "composer-text").send_keys("/reference help\n")
    private = wait_for(browser, "the help ephemeral", lambda d: message_with(d, "Only visible to you"))
    assert "/reference request" in private.text

    # A week passes: the jobs run at the new time, and the digest lands in the channel with its chart.
    browser.find_element(By.CSS_SELECTOR, '[data-advance="week"]').click()
    report = wait_for(
        browser,
        "the jobs' report",
        lambda d: d.find_element(By.ID, "report").is_displayed() and d.find_element(By.ID, "report"),
    )
    assert "digest:" in report.text and "days ahead" in browser.find_element(By.ID, "clock").text
    browser.find_element(By.CSS_SELECTOR, '.place[data-where="C0REFPROGRAM"]').click()
    chart = wait_for(
        browser,
        "the digest's chart",
        lambda d: next(
            (i for i in d.find_elements(By.CSS_SELECTOR, "#conversation img") if i.get_property("naturalWidth")), None
        ),
    )
    assert chart.get_attribute("alt")
    browser.find_element(By.ID, "report-close").click()
    digest = chart.find_element(By.XPATH, "ancestor::div[contains(concat(' ', @class, ' '), ' msg ')]")
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", digest)
    shots.take("digest", height=1300)

    assert console_errors(browser) == []
    assert playground.workspace.violations() == []


def _in_three_weeks(playground: Playground) -> str:
    from datetime import timedelta

    return (playground.workspace.clock.now() + timedelta(days=21)).date().isoformat()
