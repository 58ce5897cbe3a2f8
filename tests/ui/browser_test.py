"""Browser tests of the admin UI: Selenium driving Debian's chromium + chromium-driver, headless,
against a real smscrm-api that tests/ui/run.sh started. Prints 'N passed, N failed' and exits 1 on
any failure. axe-core (web/vendor/axe.min.js) is injected on each screen: no serious or critical
violation is allowed. Screenshots go to SMSCRM_UI_SCREENSHOTS (under .data/, git-ignored).

Environment (set by tests/ui/run.sh): UI_BASE_URL, UI_TENANT_ID, UI_MEMBER_EMAIL, UI_VIEWER_EMAIL,
UI_ADMIN_EMAIL, UI_PASSWORD, UI_AXE_JS, SMSCRM_UI_SCREENSHOTS.
"""
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

BASE = os.environ["UI_BASE_URL"]
TENANT = os.environ["UI_TENANT_ID"]
PASSWORD = os.environ["UI_PASSWORD"]
SHOTS = os.environ["SMSCRM_UI_SCREENSHOTS"]
AXE = open(os.environ["UI_AXE_JS"], encoding="utf-8").read()


def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(5)
    return driver


def settled(driver, condition, seconds=5):
    """Waits up to `seconds` for `condition(driver)`: a click that navigates, or an htmx swap, returns
    before the new page is there, and an element read in between is the old page's or stale. The
    caller's assert then says what was (not) reached."""
    try:
        WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException,)).until(condition)
    except TimeoutException:
        pass


def log_in(driver, email, next_path=None):
    driver.get(BASE + (next_path or "/ui"))
    assert "/ui/login" in driver.current_url, driver.current_url
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button[type=submit]").click()
    settled(driver, lambda d: "/ui/login" not in d.current_url)
    assert "/ui/login" not in driver.current_url, "still on the login page: " + driver.page_source[:500]


def check_screen(driver, name):
    """axe-core on the current screen (no serious or critical violation), no CSP report, and a screenshot."""
    driver.save_screenshot(os.path.join(SHOTS, name + ".png"))
    # The page's CSP allows scripts from the origin only; WebDriver's script injection is not a page script.
    driver.execute_script(AXE)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)))"
        ".catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e)}])));"
    )
    bad = [v for v in json.loads(result) if v.get("impact") in ("serious", "critical")]
    assert not bad, name + ": " + "; ".join(
        f"{v['id']} ({v['impact']}): {v.get('help', '')} at "
        + ", ".join(f"{n.get('target')} [{n.get('failureSummary', '').splitlines()[-1].strip() if n.get('failureSummary') else ''}]" for n in v.get("nodes", [])[:5])
        for v in bad
    )
    csp_errors = [e for e in driver.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    assert not csp_errors, name + ": CSP violations: " + str(csp_errors)


def test_log_in_and_every_screen(driver):
    log_in(driver, os.environ["UI_MEMBER_EMAIL"], f"/ui/t/{TENANT}/campaigns")
    assert driver.current_url.endswith(f"/ui/t/{TENANT}/campaigns"), "login did not lead back: " + driver.current_url
    for name, path in [
        ("dashboard", f"/ui/t/{TENANT}"),
        ("campaigns", f"/ui/t/{TENANT}/campaigns"),
        ("messages", f"/ui/t/{TENANT}/messages"),
        ("settings", f"/ui/t/{TENANT}/settings"),
        ("kill-switch", f"/ui/t/{TENANT}/settings/kill-switch"),
        ("tenants", "/ui/tenants"),
    ]:
        driver.get(BASE + path)
        assert len(driver.find_elements(By.TAG_NAME, "h1")) == 1, name + " must have one h1"
        check_screen(driver, name)


def test_pause_through_settings_kill_switch(driver):
    log_in(driver, os.environ["UI_MEMBER_EMAIL"])
    driver.get(BASE + f"/ui/t/{TENANT}")
    # The runbook's path: Settings → Kill Switch → Pause Sending.
    driver.find_element(By.LINK_TEXT, "Settings").click()
    driver.find_element(By.LINK_TEXT, "Kill Switch").click()
    assert "Sending is on." in driver.find_element(By.ID, "kill-switch-state").text
    driver.find_element(By.ID, "reason").send_keys("browser test")
    driver.find_element(By.ID, "pause-sending").click()
    settled(driver, lambda d: "Sending is paused." in d.find_element(By.ID, "kill-switch-state").text)
    state = driver.find_element(By.ID, "kill-switch-state").text
    assert "Sending is paused." in state, state
    assert os.environ["UI_MEMBER_EMAIL"] in state, state
    check_screen(driver, "kill-switch-paused")


def test_login_page(driver):
    driver.get(BASE + "/ui/login")
    check_screen(driver, "login")


def test_viewer_sees_no_pause_button_and_a_forged_post_is_refused(driver):
    log_in(driver, os.environ["UI_VIEWER_EMAIL"])
    driver.get(BASE + f"/ui/t/{TENANT}/settings/kill-switch")
    driver.find_element(By.ID, "kill-switch-state")  # the page is there; absence checks need no wait
    driver.implicitly_wait(0)
    assert not driver.find_elements(By.ID, "pause-sending"), "a viewer must not see Pause Sending"
    assert not driver.find_elements(By.ID, "resume-sending"), "a viewer must not see Resume Sending"
    driver.implicitly_wait(5)
    check_screen(driver, "kill-switch-viewer")
    # A forged form post from the viewer's own browser, with the viewer's valid CSRF token.
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const token = document.querySelector('meta[name=csrf-token]').content;"
        "fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},"
        " body: 'csrf=' + encodeURIComponent(token), redirect: 'manual'}).then(r => done(r.status));",
        BASE + f"/ui/t/{TENANT}/settings/kill-switch/resume",
    )
    assert status == 403, f"forged resume answered {status}"
    status = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},"
        " body: 'reason=x', redirect: 'manual'}).then(r => done(r.status));",
        BASE + f"/ui/t/{TENANT}/settings/kill-switch/pause",
    )
    assert status == 403, f"pause without a CSRF token answered {status}"


def test_another_tenants_page_is_a_404_page(driver):
    log_in(driver, os.environ["UI_VIEWER_EMAIL"])
    driver.get(BASE + "/ui/t/00000000-0000-4000-8000-000000000000/settings/kill-switch")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
    assert driver.find_element(By.ID, "request-id").text
    check_screen(driver, "not-found")


TESTS = [
    test_login_page,
    test_log_in_and_every_screen,
    test_viewer_sees_no_pause_button_and_a_forged_post_is_refused,
    test_another_tenants_page_is_a_404_page,
    test_pause_through_settings_kill_switch,
]


def main():
    os.makedirs(SHOTS, exist_ok=True)
    passed = failed = 0
    started = time.monotonic()
    for test in TESTS:
        driver = browser()
        began = time.monotonic()
        try:
            test(driver)
            passed += 1
            print(f"ok    {test.__name__} ({time.monotonic() - began:.1f} s)", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL  {test.__name__}\n{traceback.format_exc()}", flush=True)
            try:
                driver.save_screenshot(os.path.join(SHOTS, "FAILED-" + test.__name__ + ".png"))
            except Exception:
                pass
        finally:
            driver.quit()
    print(f"{passed} passed, {failed} failed in {time.monotonic() - started:.1f} s; screenshots in {SHOTS}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
