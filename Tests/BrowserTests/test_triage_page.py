#!/usr/bin/env python3
"""The triage page in a real headless browser, against real workers.

Starts `assure-worker demo --keep-running` (librdkafka's mock cluster, a throwaway PostgreSQL, two
workers, traffic with injected faults, the demo's own repairs), then drives Debian's chromium through
/usr/bin/chromedriver: the page without and with a token, the summary against the report JSON, the
filters, one issue's evidence, history and timeline, a dry-run repair then its apply, explain,
acknowledge and snooze, and an input record whose id carries `<script>`.

Settings: ASSURE_WORKER_BIN (the assure-worker binary; default .build/debug/assure-worker),
ASSURE_ARTIFACTS_DIR (where screenshots and the demo's log go; default a temporary directory),
ASSURE_UPDATE_SCREENSHOT=1 (also write docs/triage.png). Prints `browser: N passed, N failed`.
"""

import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKER = os.environ.get("ASSURE_WORKER_BIN") or os.path.join(ROOT, ".build", "debug", "assure-worker")
ARTIFACTS = os.environ.get("ASSURE_ARTIFACTS_DIR") or tempfile.mkdtemp(prefix="assure-browser-")
API = "/api/admin/billing-assurance"
WAIT_S = 45  # any single thing the page must show; generous for a loaded machine

passed = []


def check(name, condition, detail=""):
    if not condition:
        raise AssertionError(f"{name}: {detail}")
    passed.append(name)
    print(f"ok - {name}", flush=True)


class Demo:
    """`assure-worker demo --keep-running`, its output collected on a thread, stopped with SIGINT."""

    def __init__(self):
        self.lines = []
        self.log_path = os.path.join(ARTIFACTS, "triage-demo.log")
        self.process = subprocess.Popen(
            [WORKER, "demo", "--users", "60", "--events-per-user", "8", "--keep-running"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        with open(self.log_path, "w") as log:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                log.write(line)
                log.flush()

    def wait_ready(self, timeout_s=420):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = "\n".join(self.lines)
            url = re.search(r"^Triage page: (\S+)$", text, re.M)
            token = re.search(r"^Admin token: (\S+)$", text, re.M)
            bootstrap = re.search(r"^Kafka: bootstrap=(\S+)$", text, re.M)
            if url and token and bootstrap:
                return url.group(1), token.group(1), bootstrap.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError("the demo did not come up:\n" + "\n".join(self.lines[-40:]))

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.reader.join(timeout=10)


def http(base, path, token=None, method="GET", body=None):
    """The API as a client sees it: (status, headers, parsed JSON or None)."""
    request = urllib.request.Request(base.rstrip("/") + path, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, data=data, timeout=30) as response:
            raw = response.read()
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        raw, status, headers = error.read(), error.code, error.headers
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return status, headers, parsed


def browser():
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1440,1000", "--lang=en-US"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    return driver


def wait(driver, condition, what, timeout=WAIT_S):
    def safe(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.2).until(safe)
    except TimeoutException:
        raise AssertionError(f"timed out waiting for {what}")


def text(driver, element_id):
    return driver.find_element(By.ID, element_id).text


def row_ids(driver):
    return [row.get_attribute("data-issue-id") for row in driver.find_elements(By.CSS_SELECTOR, "#issue-rows tr[data-issue-id]")]


def row(driver, issue_id):
    for candidate in driver.find_elements(By.CSS_SELECTOR, "#issue-rows tr[data-issue-id]"):
        if candidate.get_attribute("data-issue-id") == issue_id:
            return candidate
    return None


def clear_filters(driver):
    driver.find_element(By.ID, "f-clear").click()


def search(driver, value):
    box = driver.find_element(By.ID, "f-search")
    box.clear()
    box.send_keys(value)


def select_issue(driver, issue_id, keyboard=False):
    clear_filters(driver)
    search(driver, issue_id)
    wait(driver, lambda d: row(d, issue_id) is not None, f"the row of {issue_id}")
    button = row(driver, issue_id).find_element(By.CSS_SELECTOR, "button.issue-link")
    if keyboard:
        button.send_keys(Keys.ENTER)
    else:
        button.click()
    wait(driver, lambda d: d.find_element(By.ID, "detail-issue-id").text == issue_id, f"the detail of {issue_id}")


def act(driver, button_id, reason, expected):
    reason_box = driver.find_element(By.ID, "reason")
    reason_box.clear()
    reason_box.send_keys(reason)
    wait(driver, lambda d: d.find_element(By.ID, button_id).is_enabled(), f"{button_id} enabled")
    driver.find_element(By.ID, button_id).click()
    outcome = wait(driver, lambda d: (t := d.find_element(By.ID, "action-outcome").text) and expected(t) and t,
                   f"the outcome of {button_id}")
    return outcome


def wait_report(base, token, condition, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, report = http(base, API, token)
        if status == 200 and condition(report):
            return report
        time.sleep(1)
    raise AssertionError(f"timed out waiting for the report to show {what}")


def fmt(number):
    return f"{number:,}"


def run(base, token, bootstrap, driver):
    # The page and its headers: a strict policy, nothing from another origin.
    status, headers, _ = http(base, "/")
    policy = headers.get("Content-Security-Policy", "")
    check("GET / answers the page with a strict Content-Security-Policy",
          status == 200 and "default-src 'none'" in policy and "script-src 'self'" in policy
          and "unsafe-inline" not in policy and headers.get("X-Content-Type-Options") == "nosniff",
          f"status {status}, policy {policy!r}")

    # Without a token: the sign-in form and nothing else; a wrong token: the API's refusal and no data.
    driver.get(base)
    wait(driver, lambda d: d.find_element(By.ID, "token-input").is_displayed(), "the token form")
    check("without a token the page asks for one and shows no issue",
          not row_ids(driver) and not driver.find_element(By.ID, "issues").is_displayed())
    driver.find_element(By.ID, "token-input").send_keys("not-a-token" + Keys.ENTER)
    refusal = wait(driver, lambda d: d.find_element(By.ID, "refusal").is_displayed() and text(d, "refusal"),
                   "the refusal")
    check("a wrong token shows the API's 401 refusal and no data",
          "401" in refusal and "unknown token" in refusal and not row_ids(driver)
          and not driver.find_element(By.ID, "summary").is_displayed(), refusal)

    # With the token: the summary and the list match the report JSON.
    driver.find_element(By.ID, "token-input").send_keys(token + Keys.ENTER)
    _, _, report = http(base, API, token)
    issues = report["issues"]
    wait(driver, lambda d: row_ids(d) == [i["issueId"] for i in issues], "the list in report order")
    summary = report["summary"]
    check("the summary shows status, score, alert count and open issues of the report",
          text(driver, "s-status") == summary["status"] and text(driver, "s-score") == str(summary["score"])
          and text(driver, "s-alerts") == fmt(summary["alertCount"])
          and text(driver, "s-open") == fmt(summary["openIssues"]),
          f"page {text(driver, 's-status')}/{text(driver, 's-score')}/{text(driver, 's-alerts')}, report {summary}")
    at_risk = summary.get("atRisk")
    check("the report carries summary.atRisk", at_risk is not None, str(summary))
    expected_leakage = f"{fmt(at_risk['leakageCredits'])} credits" if at_risk else "\u2014"
    expected_harm = f"{fmt(at_risk['customerHarmCredits'])} credits" if at_risk else "\u2014"
    held = summary.get("heldChecks")
    expected_held = "\u2014" if held is None else (", ".join(held) if held else "none")
    check("the summary shows the amount at risk and the held checks (or a dash where the API has none)",
          text(driver, "s-leakage") == expected_leakage and text(driver, "s-harm") == expected_harm
          and text(driver, "s-held") == expected_held,
          f"{text(driver, 's-leakage')} / {text(driver, 's-harm')} / {text(driver, 's-held')}")
    gate_status, _, gate = http(base, API + "/release-gate", token)
    check("the release gate endpoint answers", gate_status == 200, f"status {gate_status}")
    expected_gate = "pass" if gate["pass"] else f"blocked ({len(gate['blockers'])})"
    wait(driver, lambda d: text(d, "s-gate") == expected_gate, f"the release gate {expected_gate}")
    shown = len(driver.find_elements(By.CSS_SELECTOR, "#gate-blockers li"))
    check("the release gate shows the endpoint's answer and its blockers", shown == len(gate["blockers"]))
    driver.refresh()
    wait(driver, lambda d: row_ids(d) == [i["issueId"] for i in issues], "the list again after a reload")
    check("the token is asked for once: a reload of the tab keeps it",
          not driver.find_element(By.ID, "login").is_displayed()
          and driver.execute_script("return sessionStorage.length === 1 && localStorage.length === 0;"))
    counts = {s: sum(1 for i in issues if i["severity"] == s) for s in ["critical", "error", "warning", "info"]}
    check("the counts per severity match the report",
          all(f"{s}: {n}" in text(driver, "severity-counts") for s, n in counts.items()), text(driver, "severity-counts"))

    # Filters narrow the list.
    Select(driver.find_element(By.ID, "f-severity")).select_by_value("critical")
    expected = [i["issueId"] for i in issues if i["severity"] == "critical"]
    wait(driver, lambda d: row_ids(d) == expected, "only critical issues")
    check("the severity filter narrows the list to that severity",
          0 < len(expected) < len(issues)
          and all(r.get_attribute("data-severity") == "critical" for r in driver.find_elements(By.CSS_SELECTOR, "#issue-rows tr[data-issue-id]")))
    clear_filters(driver)
    wait(driver, lambda d: len(row_ids(d)) == len(issues), "the whole list again")
    some_check = issues[-1]["check"]
    Select(driver.find_element(By.ID, "f-check")).select_by_value(some_check)
    wait(driver, lambda d: row_ids(d) == [i["issueId"] for i in issues if i["check"] == some_check], f"check {some_check}")
    clear_filters(driver)
    Select(driver.find_element(By.ID, "f-category")).select_by_value("credit_reconciliation")
    wait(driver, lambda d: row_ids(d) == [i["issueId"] for i in issues if i["category"] == "credit_reconciliation"],
         "category credit_reconciliation")
    clear_filters(driver)
    user = next(i["userId"] for i in issues if i.get("userId"))
    search(driver, user)
    wait(driver, lambda d: row_ids(d) == [i["issueId"] for i in issues
                                        if user.lower() in i["issueId"].lower() or user.lower() in (i.get("userId") or "").lower()],
         f"search {user}")
    check("the check and category filters and the user search narrow the list", len(row_ids(driver)) < len(issues))
    clear_filters(driver)

    # One repairable issue: evidence, history, timeline; dry run shows the plan, apply shows applied.
    repairable = next((i for i in issues if i.get("repair") and i["repair"]["action"] == "sync_balance"), None) \
        or next(i for i in issues if i.get("repair"))
    select_issue(driver, repairable["issueId"])
    evidence = json.loads(driver.find_element(By.ID, "detail-evidence").text)
    check("selecting an issue shows its title and evidence",
          text(driver, "detail-title") == repairable["title"] and evidence == repairable["evidence"])
    history_status, _, history = http(base, API + "/issues/" + urllib.parse.quote(repairable["issueId"], safe=""), token)
    check("the history endpoint answers", history_status == 200, f"status {history_status}")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#history-table tbody tr")) == len(history["history"]),
         "the history table")
    causes = [c.text for c in driver.find_elements(By.CSS_SELECTOR, "#history-table tbody tr td:nth-child(6)")]
    check("the issue's history lists every event with its cause", causes and all(c not in ("", "\u2014") for c in causes),
          str(causes))
    timeline_status, _, _ = http(base, API + "/users/" + urllib.parse.quote(repairable["userId"], safe="") + "/timeline?limit=200", token)
    check("the timeline endpoint answers", timeline_status == 200, f"status {timeline_status}")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline-table tbody tr"), "the user's timeline")
    check("the user's timeline shows its entries", True)
    check("apply is offered only after a dry run", not driver.find_element(By.ID, "btn-apply").is_enabled())
    act(driver, "btn-dry-run", "Browser test: look before applying", lambda t: "dry_run" in t)
    plan = driver.find_element(By.ID, "action-plan").text
    check("a dry-run repair shows the plan and offers apply",
          plan.strip() not in ("", "null") and driver.find_element(By.ID, "btn-apply").is_enabled(), plan)
    # The screenshot: the demo's issues, the selected issue and its dry-run plan.
    clear_filters(driver)
    wait(driver, lambda d: len(row_ids(d)) == len(issues), "the whole list for the screenshot")
    driver.execute_script("window.scrollTo(0, 0);")
    driver.save_screenshot(os.path.join(ARTIFACTS, "triage.png"))
    if os.environ.get("ASSURE_UPDATE_SCREENSHOT") == "1":
        driver.save_screenshot(os.path.join(ROOT, "docs", "triage.png"))
    act(driver, "btn-apply", "Browser test: balance synced after review", lambda t: "applied" in t)
    check("apply shows applied", "Outcome: applied" in text(driver, "action-outcome"), text(driver, "action-outcome"))
    deadline = time.monotonic() + 90
    while row(driver, repairable["issueId"]) is not None and time.monotonic() < deadline:
        time.sleep(2)
        driver.find_element(By.ID, "refresh").click()
    clear_filters(driver)
    wait(driver, lambda d: len(row_ids(d)) > 0 and repairable["issueId"] not in row_ids(d), "the repaired issue gone")
    check("the repaired issue leaves the list", True)

    # Explain a non-repairable issue, chosen with the keyboard.
    _, _, report = http(base, API, token)
    open_issues = [i for i in report["issues"] if not i.get("explanation") and not i.get("acknowledgement")
                   and not i.get("snoozedUntil")]
    explainable = next(i for i in open_issues if not i.get("repair"))
    select_issue(driver, explainable["issueId"], keyboard=True)
    check("an issue can be opened with the keyboard, focus moves to its detail",
          driver.switch_to.active_element.get_attribute("id") == "detail-title")
    check("a non-repairable issue offers no repair", not driver.find_element(By.ID, "btn-dry-run").is_displayed())
    act(driver, "btn-explain", "Browser test: known, tracked in INC-42", lambda t: "explained" in t)
    wait(driver, lambda d: row(d, explainable["issueId"]) is not None and "explained" in row(d, explainable["issueId"]).text,
         "the explained state in the list")
    check("explain shows explained and the list marks the issue", True)

    # Acknowledge and snooze: the outcome where the API has the actions, else the API's refusal.
    supports_operator_actions = all("acknowledgement" in i for i in report["issues"])
    check("the report carries acknowledgement on every issue (ack and snooze are on main)", supports_operator_actions)
    rest = [i for i in open_issues if i["issueId"] != explainable["issueId"]]
    acknowledged = rest[0]
    select_issue(driver, acknowledged["issueId"])
    if supports_operator_actions:
        act(driver, "btn-ack", "Browser test: on it", lambda t: "acknowledged" in t)
        wait(driver, lambda d: row(d, acknowledged["issueId"]) is not None
             and "acknowledged" in row(d, acknowledged["issueId"]).text, "the acknowledged state in the list")
        check("acknowledge shows acknowledged and the list marks the issue", True)
        snoozed = rest[1]
        select_issue(driver, snoozed["issueId"])
        driver.execute_script("""
            const d = new Date(Date.now() + 10 * 86400 * 1000), pad = (n) => String(n).padStart(2, '0');
            document.getElementById('snooze-until').value = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
              pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());""")
        outcome = act(driver, "btn-snooze", "Browser test: too long", lambda t: "rejected" in t)
        check("a snooze beyond 7 days shows rejected with the rejection", "(invalid)" in outcome, outcome)
        driver.execute_script("""
            const d = new Date(Date.now() + 3600 * 1000), pad = (n) => String(n).padStart(2, '0');
            document.getElementById('snooze-until').value = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' +
              pad(d.getDate()) + 'T' + pad(d.getHours()) + ':' + pad(d.getMinutes());""")
        act(driver, "btn-snooze", "Browser test: vendor fix tomorrow", lambda t: "snoozed" in t)
        wait(driver, lambda d: row(d, snoozed["issueId"]) is not None
             and "snoozed until" in row(d, snoozed["issueId"]).text, "the snoozed state in the list")
        check("snooze shows snoozed and the list shows until when", True)
    else:
        outcome = act(driver, "btn-ack", "Browser test: on it", lambda t: t.startswith("Refused by the API"))
        check("acknowledge shows the API's refusal where the worker lacks the action", "HTTP 400" in outcome, outcome)

    # An input record whose ids carry markup: shown as text, runs nothing.
    row_id = "ctx_<script>window.__assureXss=1</script>"
    user_id = 'user_<img src=x onerror="window.__assureXss=2">'
    record = {"id": row_id, "userId": user_id, "seq": 1, "type": "PURCHASE", "amount": 250, "balanceAfter": 250,
              "createdAt": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", "billing.ledger.v1", "-k", user_id],
                   input=json.dumps(record) + "\n", text=True, check=True, timeout=60)
    hostile_id = "purchase-without-payment-intent:" + row_id
    report = wait_report(base, token, lambda r: any(i["issueId"] == hostile_id for i in r["issues"]), hostile_id)
    hostile = next(i for i in report["issues"] if i["issueId"] == hostile_id)
    driver.find_element(By.ID, "refresh").click()
    select_issue(driver, hostile_id)
    shown_id = row(driver, hostile_id).find_element(By.CSS_SELECTOR, "button.issue-link").text
    check("an id with <script> is shown as text in the list and the detail",
          shown_id == hostile_id and text(driver, "detail-issue-id") == hostile_id
          and text(driver, "detail-title") == hostile["title"] and "<script>" in text(driver, "detail-evidence"))
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#timeline-table tbody tr"), "the hostile user's timeline")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#history-table tbody tr"),
         "the history of an issue whose id holds '/' and markup (one percent-encoded segment)")
    ran = driver.execute_script("return [window.__assureXss === undefined, document.scripts.length, document.images.length];")
    check("markup from input records runs nothing and adds no element", ran == [True, 1, 0], str(ran))

    # Phone width: nothing overflows the viewport sideways, the list stays usable.
    driver.set_window_size(390, 844)
    try:
        wait(driver, lambda d: d.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1;"),
             "no sideways overflow at phone width", timeout=10)
    except AssertionError:
        wide = driver.execute_script("""
            const out = [];
            for (const e of document.querySelectorAll('body *')) {
              if (e.closest('.scroll')) continue;
              const r = e.getBoundingClientRect();
              if (r.right > window.innerWidth + 1) out.push(e.tagName + '#' + e.id + ' ' + Math.round(r.right));
            }
            return out.slice(0, 10).join(', ');""")
        raise AssertionError("at phone width the page overflows sideways: " + wide)
    check("at phone width the page fits and the list is shown", driver.find_element(By.ID, "issues").is_displayed())
    driver.save_screenshot(os.path.join(ARTIFACTS, "triage-phone.png"))

    driver.find_element(By.ID, "forget-token").click()
    wait(driver, lambda d: d.find_element(By.ID, "token-input").is_displayed(), "the token form after forgetting")
    check("forget token clears the data and the tab's storage",
          not row_ids(driver) and not driver.find_element(By.ID, "detail").is_displayed()
          and driver.execute_script("return sessionStorage.length === 0;"))

    violations = [entry["message"] for entry in driver.get_log("browser")
                  if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]]
    check("the page broke none of its own Content-Security-Policy", not violations, "; ".join(violations))


def main():
    if not os.access(WORKER, os.X_OK):
        print(f"browser: {WORKER} is not built (swift build first)", file=sys.stderr)
        return 1
    os.makedirs(ARTIFACTS, exist_ok=True)
    print(f"browser: artifacts in {ARTIFACTS}", flush=True)
    demo = Demo()
    driver = None
    failed = 0
    try:
        base, token, bootstrap = demo.wait_ready()
        driver = browser()
        run(base, token, bootstrap, driver)
    except Exception as error:  # report the failing step and what the demo said
        failed = 1
        print(f"not ok - {error.__class__.__name__}: {error}", flush=True)
        print("demo log tail:\n" + "\n".join(demo.lines[-30:]), flush=True)
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(ARTIFACTS, "triage-failure.png"))
            except Exception:
                pass
    finally:
        if driver is not None:
            driver.quit()
        demo.stop()
    print(f"browser: {len(passed)} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
