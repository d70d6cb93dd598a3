"""The browser's numbers, checked in headless Chromium against a real ``evoenv serve``: the funnel's
order, seeds and tokens; chips that count what they filter; whole legends; every probed level; the
calibration empty state. Screenshots go to test-artifacts/web/numbers-*.png."""

from __future__ import annotations

import pytest
import web_numbers
from web_numbers import LONG_CHECKPOINT, MEETS

from tests.web.test_browser import page, server  # noqa: F401 (fixtures: serve + Chromium)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('numbers-browser') / 'r.db'}"
    web_numbers.built = web_numbers.build(url)
    return url


def _texts_within_svg(page, selector: str) -> list[dict]:
    """Each <text> of the SVG with whether its drawn box lies inside the SVG's viewBox (not clipped)."""
    return page.eval_on_selector(selector, """svg => {
        const box = svg.viewBox.baseVal;
        return Array.from(svg.querySelectorAll('text')).map(t => {
            const b = t.getBBox();
            return {text: t.textContent, cls: t.getAttribute('class') || '',
                    inside: b.x >= box.x - 0.5 && b.x + b.width <= box.x + box.width + 0.5};
        });
    }""")


def test_numbers_in_chromium(page, server, artifacts_dir):
    ids, run = web_numbers.built
    shots = artifacts_dir / "web"
    shots.mkdir(parents=True, exist_ok=True)

    page.goto(f"{server}/funnel")
    funnel = "svg[aria-label='admission funnel']"
    labels = [t["text"] for t in _texts_within_svg(page, funnel) if "tick" in t["cls"]]
    assert labels == ["proposed", *MEETS, "admitted"]
    counts = [int(t.split(" · ")[0]) for t in page.locator(funnel).first.locator("text.count").all_text_contents()]
    assert counts == sorted(counts, reverse=True) and counts[0] == 5 and counts[-1] == 1
    notes = page.locator(".funnel-notes").inner_text()
    assert "Seeds, counted apart: 2" in notes and "1 of the 5 proposed were exact copies" in notes
    row = page.locator("table.runs tbody tr").first.inner_text()
    assert "5,000" in row and "—" not in row.split("\t")[5]
    legend = [t for t in _texts_within_svg(page, "svg[aria-label='proposed and admitted per run']")
              if "grey" in t["text"]]
    assert legend and legend[0]["text"] == "grey: proposed · green: admitted" and legend[0]["inside"]
    page.screenshot(path=str(shots / "numbers-funnel.png"), full_page=True)

    page.goto(f"{server}/rejected")
    chips = {}
    for chip in page.locator(".stage-chips a.chip").all():
        name, _, count = chip.inner_text().strip().rpartition(" ")
        if name != "all":
            chips[name.strip()] = (int(count), chip.get_attribute("href"))
    assert set(chips) == set(MEETS)
    for stage, (count, href) in chips.items():
        page.goto(f"{server}{href}")
        assert page.locator("article.rejected-item").count() == count, stage
    page.goto(f"{server}/rejected?stage=novelty")
    assert page.locator("article.rejected-item .badge").first.inner_text() == "novelty"
    assert "behaviourally identical" in page.locator("article.rejected-item .rej-reason").first.inner_text()
    page.goto(f"{server}/envs/{ids['copycat']}")
    assert "Rejected at novelty" in page.locator(".callout.fail").first.inner_text()

    page.goto(f"{server}/envs/{ids['good']}#calibration")
    chart = "#calibration svg"
    texts = _texts_within_svg(page, chart)
    legend_text = " ".join(t["text"] for t in texts if t["cls"] == "legend")
    assert f"{LONG_CHECKPOINT} (1 level probed)" in legend_text and "…" not in legend_text
    assert all(t["inside"] for t in texts), [t for t in texts if not t["inside"]]
    probed = [t["text"] for t in texts if "probed" in t["cls"]]
    assert probed == ["2", "4", "5", "7", "9"]
    assert "3/8" in [t["text"] for t in texts if "point-label" in t["cls"]]
    page.locator("#calibration").screenshot(path=str(shots / "numbers-calibration.png"))

    page.goto(f"{server}/envs/{ids['knapsack']}#calibration")
    empty = page.locator("#calibration .empty-calibration")
    assert empty.is_visible() and "How to calibrate it" in empty.inner_text()
    assert "evoenv train --config" in empty.inner_text()
    assert page.console_errors == []
