"""Drive the registry browser in Debian's headless Chromium against a real
``evoenv serve`` process, and keep screenshots of each page as test artifacts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import require

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(registry_url, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "evoenv", "serve", "--db", registry_url, "--port", str(port),
                                 "--sandbox", "process", "--log-level", "warning"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"evoenv serve did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def page(server):
    require(CHROMIUM.exists(), f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.set_default_timeout(20_000)
            tab.console_errors = []  # CSP violations and script errors land here
            tab.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
            tab.on("pageerror", lambda exc: tab.console_errors.append(str(exc)))
            yield tab
        finally:
            browser.close()


def test_browse_the_registry(server, page, artifacts_dir, ids):
    from playwright.sync_api import expect

    shots = artifacts_dir / "web"
    shots.mkdir(exist_ok=True)

    # the list, then a filter, then a search
    page.goto(f"{server}/envs")
    rows = page.locator("table.envs tbody tr")
    assert rows.count() == 18
    page.screenshot(path=str(shots / "01-list.png"), full_page=True)

    page.select_option("select[name=status]", "rejected")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**status=rejected**")
    badges = page.locator("table.envs tbody .badge").all_inner_texts()
    assert len(badges) == 5 and set(badges) == {"rejected"}

    # sort by novelty: the most novel first, its figure in the novelty column
    page.goto(f"{server}/envs")
    page.select_option("select[name=sort]", "novelty")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**sort=novelty**")
    assert page.locator("table.envs tbody tr").first.locator("a.env-name").inner_text() == "max_adjacent_gap"
    assert page.locator("table.envs tbody tr").first.locator("td.novelty").inner_text() == "0.82"
    page.select_option("select[name=sort]", "pass_rate")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**sort=pass_rate**")
    assert page.locator("table.envs tbody tr").first.locator("td.pass-rate").inner_text() == "69%"
    page.screenshot(path=str(shots / "01b-sorted-by-pass-rate.png"), full_page=True)

    page.goto(f"{server}/envs")
    page.fill("input[name=q]", "neighbours")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**q=neighbours**")
    assert page.locator("table.envs tbody tr").count() == 1
    page.screenshot(path=str(shots / "02-search.png"), full_page=True)

    # open it; change the difficulty and see a different instance; reveal the reference
    page.click("a.env-name:has-text('max_adjacent_gap')")
    page.wait_for_url(f"**/envs/{ids['max_adjacent_gap']}")
    prompt = page.locator("#prompt")
    before = prompt.inner_text()
    assert "neighbouring numbers" in before
    assert not page.locator("#reference").is_visible()

    page.locator("#difficulty").fill("7")  # fires input + change: the page fetches a new instance
    expect(page.locator("#instance-label")).to_contain_text("difficulty 7")
    after = prompt.inner_text()
    assert after != before
    assert len(after.split("\n")[0].split(",")) > len(before.split("\n")[0].split(","))
    assert "difficulty=7" in page.url  # the URL follows, so the view can be shared

    page.click("details#reveal > summary")
    reference = page.locator("#reference")
    assert reference.is_visible()
    values = [int(v) for v in after.split(":", 1)[1].split("\n")[0].split(",")]
    assert reference.inner_text() == str(max(abs(b - a) for a, b in zip(values, values[1:])))
    page.screenshot(path=str(shots / "03-environment.png"), full_page=True)

    page.fill("#seed", "12345")
    page.press("#seed", "Enter")
    expect(page.locator("#instance-label")).to_contain_text("seed 12345")
    assert prompt.inner_text() != after
    assert not reference.is_visible()  # a new instance hides the reference again

    # lineage
    page.click("a:has-text('full graph')")
    page.wait_for_url("**/lineage")
    nodes = page.locator("svg g.node")
    assert nodes.count() >= 4
    assert "max_adjacent_gap" in page.locator("svg g.node.root").text_content()
    page.screenshot(path=str(shots / "04-lineage.png"), full_page=True)
    page.click(f"svg a[href='/envs/{ids['weighted_sum_mod_prime']}']")
    page.wait_for_url(f"**/envs/{ids['weighted_sum_mod_prime']}")
    assert page.locator("h1").inner_text().startswith("weighted_sum_mod_prime")

    # funnel
    page.click("header nav a:has-text('Funnel')")
    page.wait_for_url("**/funnel")
    assert page.locator("svg[aria-label='admission funnel']").count() >= 1
    assert page.locator("table.runs tbody tr").count() == 2
    page.screenshot(path=str(shots / "05-funnel.png"), full_page=True)

    # rejected candidates, grouped by failing stage
    page.click("header nav a:has-text('Rejected')")
    page.wait_for_url("**/rejected")
    assert page.locator("article.rejected-item").count() == 5
    page.screenshot(path=str(shots / "06-rejected.png"), full_page=True)
    page.click(".stage-chips a:has-text('L4')")
    page.wait_for_url("**stage=L4**")
    items = page.locator("article.rejected-item")
    assert items.count() == 1
    assert "answers are constant" in items.first.locator(".rej-reason").inner_text()
    page.screenshot(path=str(shots / "07-rejected-L4.png"), full_page=True)

    assert page.console_errors == []

    # a bad link shows a readable error page, not a stack trace
    page.goto(f"{server}/envs/{ids['knapsack']}?difficulty=99")
    assert "difficulty=99 is out of range" in page.locator(".error-message").inner_text()
