"""The moderator console end to end in headless Chromium (Debian's chromium and
chromium-driver; nothing is downloaded): sign in, open the top case, read its reasons,
decide it, see the audit entry; a moderator is refused a lead's page; a forged form
without the CSRF token is refused."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from serve_helpers import CHEAP_HASHER, PASSWORD, ThreadServer, config

import riskscore as rs
from riskscore.serve.accounts import ModeratorStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium and chromium-driver (apt-get install -y chromium "
    "chromium-driver; .ci/run installs them)",
)

# selenium is imported after the skip mark: never fetch a browser (Selenium Manager).
os.environ.setdefault("SE_OFFLINE", "true")
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

#: How long a page may take to load after a click or a submitted form (a busy machine).
PAGE_DEADLINE_S = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadServer]:
    cfg = config(tmp_path_factory.mktemp("serve"), rs.load_model())
    store = ModeratorStore(cfg.db, hasher=CHEAP_HASHER)  # the command: test_serve_console
    store.add("mod-1", "moderator", PASSWORD)
    store.add("lead-1", "lead", PASSWORD)
    store.close()
    srv = ThreadServer(cfg)
    events = list(rs.synthetic.generate(60, prevalence=0.3, seed=5).messages.iter_events())
    status, body = srv.request("/v1/events", events)
    assert status == 200, body
    assert body["alerts"]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000"):  # fmt: skip
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _loaded(browser: WebDriver, element_id: str) -> WebElement:
    """The element of the page a click or a form led to, once that page has loaded: a
    click returns before the browser has followed the form's redirect."""
    located = expected_conditions.presence_of_element_located((By.ID, element_id))
    element: WebElement = WebDriverWait(browser, PAGE_DEADLINE_S).until(located)
    return element


def _sign_in(browser: WebDriver, server: ThreadServer, name: str) -> None:
    browser.delete_all_cookies()
    browser.get(server.url + "/console/queue")
    assert browser.current_url.endswith("/console/signin")
    browser.find_element(By.ID, "name").send_keys(name)
    # keyboard only: type the password and press Enter
    signin = browser.current_url
    browser.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    WebDriverWait(browser, PAGE_DEADLINE_S).until(expected_conditions.url_changes(signin))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Review queue"


def test_moderator_decides_the_top_case_and_the_lead_sees_it_audited(
    browser: WebDriver, server: ThreadServer
) -> None:
    _sign_in(browser, server, "mod-1")
    top = browser.find_elements(By.CSS_SELECTOR, "a.case-link")[0]
    adult = top.text
    top.click()
    assert _loaded(browser, "adult-id").text == adult
    reasons = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#case-reasons li")]
    assert any("alert, risk" in r for r in reasons)
    item_reasons = browser.find_elements(By.CSS_SELECTOR, ".item-reasons li")
    assert item_reasons
    assert all(li.text for li in item_reasons)
    assert browser.find_elements(By.CSS_SELECTOR, "figure svg")
    # every form control has a label
    for control in browser.find_elements(By.CSS_SELECTOR, "#decide-form textarea"):
        assert browser.find_elements(By.CSS_SELECTOR, f"label[for='{control.get_attribute('id')}']")

    # a forged form (no CSRF token) posted from the page is refused
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const form = new URLSearchParams({outcome: 'dismissed', "
        "token: document.querySelector('input[name=token]').value});"
        "fetch(document.getElementById('decide-form').action, {method: 'POST', body: form})"
        ".then(r => done(r.status));"
    )
    assert status == 403

    browser.find_element(By.ID, "outcome-actioned").click()
    browser.find_element(By.ID, "note").send_keys("restricted the account")
    browser.find_element(By.ID, "decide").click()
    assert "Decision recorded" in _loaded(browser, "decided").text

    # a moderator cannot reach the lead's pages
    browser.get(server.url + "/console/audit")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Leads only"

    _sign_in(browser, server, "lead-1")
    browser.get(server.url + "/console/audit")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    decided = [r for r in rows if " decide " in f" {r} "]
    assert decided
    assert "mod-1" in decided[0]
    assert "restricted the account" in decided[0]
