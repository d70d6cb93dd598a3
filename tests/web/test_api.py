"""The JSON API and the pages, against a real SQLite registry and the process sandbox."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_fill import ADMIN_TOKEN

from evoenv.registry import open_registry
from evoenv.sources import SEED_NAMES
from evoenv.web import create_app


@pytest.fixture(scope="module")
def client(registry_url, sandbox):
    with TestClient(create_app(registry_url, sandbox=sandbox)) as c:
        yield c


def _copy_registry(url: str, dest: Path) -> str:
    """A private copy of the filled registry, for tests that change it."""
    src = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dest}{suffix}")
    return f"sqlite:///{dest}"


# ------------------------------------------------------------------ list

def test_list_counts_everything_and_pages(client):
    first = client.get("/api/envs", params={"per_page": 5}).json()
    assert first["total"] == len(SEED_NAMES) + 8
    assert len(first["items"]) == 5 and first["has_next"] and first["pages"] == 4
    second = client.get("/api/envs", params={"per_page": 5, "page": 2}).json()
    assert {e["id"] for e in first["items"]}.isdisjoint(e["id"] for e in second["items"])
    last = client.get("/api/envs", params={"per_page": 5, "page": 4}).json()
    assert len(last["items"]) == 3 and not last["has_next"]


def test_list_filters(client):
    rejected = client.get("/api/envs", params={"status": "rejected"}).json()["items"]
    assert {e["name"] for e in rejected} == {"always_zero_sum", "sum_mod_prime", "sum_mod_large_prime",
                                              "sum_of_squares_mod", "count_values"}
    assert all(e["status"] == "rejected" for e in rejected)
    seeds = client.get("/api/envs", params={"origin": "seed"}).json()["items"]
    assert sorted(e["name"] for e in seeds) == sorted(SEED_NAMES)
    tagged = client.get("/api/envs", params={"tag": "arithmetic"}).json()["items"]
    assert {e["name"] for e in tagged} == {"sum_mod_prime", "weighted_sum_mod_prime"}
    both = client.get("/api/envs", params={"origin": "generated", "status": "admitted"}).json()["items"]
    assert {e["name"] for e in both} == {"sum_mod_prime", "weighted_sum_mod_prime", "max_adjacent_gap"}


def test_search_looks_in_name_description_and_code(client):
    by_name = client.get("/api/envs", params={"q": "knapsack"}).json()["items"]
    assert [e["name"] for e in by_name][:1] == ["knapsack"]
    by_description = client.get("/api/envs", params={"q": "neighbours"}).json()["items"]
    assert [e["name"] for e in by_description] == ["max_adjacent_gap"]
    by_code = client.get("/api/envs", params={"q": "enumerate"}).json()["items"]  # only in the code
    assert "weighted_sum_mod_prime" in {e["name"] for e in by_code}
    assert "enumerate" not in by_code[0]["description"]
    assert client.get("/api/envs", params={"q": "zzqqxx"}).json()["total"] == 0


def test_sorts(client):
    names = [e["name"] for e in client.get("/api/envs", params={"sort": "name", "per_page": 200}).json()["items"]]
    assert names == sorted(names)
    newest = client.get("/api/envs", params={"sort": "created"}).json()["items"]
    assert newest[0]["name"] == "count_values"  # added last
    by_reward = [e["name"] for e in client.get("/api/envs", params={"sort": "reward"}).json()["items"]]
    assert by_reward[:5] == ["sum_mod_prime", "max_adjacent_gap", "weighted_sum_mod_prime",
                             "sum_mod_large_prime", "always_zero_sum"]
    generations = [e["generation"] for e in client.get("/api/envs", params={"sort": "generation"}).json()["items"]]
    assert generations == sorted(generations, reverse=True)


def _mean_newest_pass_rate(base: float, levels: int) -> float:
    """What web_fill.calibrate records for the newest checkpoint (step-200), averaged over levels."""
    rates = [round(min(1.0, max(0.0, base + 0.25 - 0.09 * d)) * 8) / 8 for d in range(1, levels + 1)]
    return sum(rates) / len(rates)


def test_sort_by_pass_rate_highest_first_uncalibrated_last(client, ids):
    items = client.get("/api/envs", params={"sort": "pass_rate", "per_page": 200}).json()["items"]
    expected = {"sum_mod_prime": _mean_newest_pass_rate(0.95, 10), "max_adjacent_gap": _mean_newest_pass_rate(0.85, 8),
                "weighted_sum_mod_prime": _mean_newest_pass_rate(0.7, 10)}
    # sum_mod_prime and max_adjacent_gap tie at 0.6875: the newer one comes first.
    rated = sorted(expected, key=lambda name: (expected[name], ids[name]), reverse=True)
    assert [e["name"] for e in items[:3]] == rated
    for e in items[:3]:
        assert e["pass_rate"] == pytest.approx(expected[e["name"]], abs=1e-4)
    rest = items[3:]
    assert rest and all(e["pass_rate"] is None for e in rest)
    assert [e["id"] for e in rest] == sorted((e["id"] for e in rest), reverse=True)  # then newest first


def test_sort_by_novelty_highest_first(client):
    items = client.get("/api/envs", params={"sort": "novelty", "per_page": 200}).json()["items"]
    rated = [e for e in items if e["novelty"] is not None]
    unrated = items[len(rated):]
    # Candidates rejected before the novelty stage have no figure and come last.
    # (the "sum_mod_prime" here is the broken repair, rejected at L2)
    assert sorted(e["name"] for e in unrated) == ["always_zero_sum", "count_values", "sum_mod_prime",
                                                  "sum_of_squares_mod"]
    assert all(e["novelty"] is None for e in unrated)
    scores = [e["novelty"] for e in rated]
    assert scores == sorted(scores, reverse=True)
    assert rated[0]["name"] == "max_adjacent_gap" and rated[0]["novelty"] == pytest.approx(0.82)
    assert rated[-1]["name"] == "sum_mod_large_prime" and rated[-1]["novelty"] == pytest.approx(0.07)
    admitted = client.get("/api/envs", params={"sort": "novelty", "status": "admitted", "origin": "generated"}).json()
    assert [e["name"] for e in admitted["items"]] == ["max_adjacent_gap", "sum_mod_prime", "weighted_sum_mod_prime"]


def test_list_page_shows_pass_rate_and_novelty_and_offers_their_sorts(client):
    html = client.get("/envs", params={"sort": "novelty", "origin": "generated", "status": "admitted"}).text
    assert "<th" in html and "Pass rate</th>" in html and "Novelty</th>" in html
    assert '<option value="pass_rate" >pass rate</option>' in html
    assert '<option value="novelty" selected>novelty</option>' in html
    assert html.index("max_adjacent_gap") < html.index("sum_mod_prime") < html.index("weighted_sum_mod_prime")
    assert '<td class="num novelty">0.82</td>' in html and '<td class="num novelty">0.31</td>' in html
    assert f'<td class="num pass-rate">{_mean_newest_pass_rate(0.85, 8) * 100:.0f}%</td>' in html


def test_list_page_renders_filters_and_rows(client):
    html = client.get("/envs", params={"status": "admitted", "origin": "generated"}).text
    assert "weighted_sum_mod_prime" in html and "always_zero_sum" not in html
    assert '<option value="admitted" selected>' in html
    assert "3 environments match" in html


# ------------------------------------------------------------------ one environment

def test_env_detail_has_stages_reviews_calibration(client, ids):
    env = client.get(f"/api/envs/{ids['sum_mod_prime']}").json()
    if env["status"] != "admitted":  # two share the name; the id map holds the first one
        env = client.get("/api/envs/sum_mod_prime").json()
    assert env["status"] == "admitted" and "class SumModPrime" in env["code"]
    assert [s["stage"] for s in env["latest_stages"]] == ["L1", "L2", "L3", "L4", "L5", "novelty", "review", "calibration"]
    assert len(env["reviews"]) == 3 and {r["verdict"] for r in env["reviews"]} == {"accept"}
    assert set(env["calibration"]) == {"step-0", "step-200"}
    assert [p["difficulty"] for p in env["calibration"]["step-0"]] == list(range(1, 11))
    assert env["pass_rate"] == pytest.approx(_mean_newest_pass_rate(0.95, 10), abs=1e-4)
    assert env["novelty"] == pytest.approx(0.59)
    html = client.get(f"/envs/{env['id']}").text
    assert "pass rate <b>69%</b>" in html and "novelty <b>0.59</b>" in html


def test_by_name_gives_the_admitted_one(client):
    env = client.get("/api/envs/sum_mod_prime").json()
    assert env["status"] == "admitted"


def test_rejected_env_names_its_failing_stage(client, ids):
    env = client.get(f"/api/envs/{ids['always_zero_sum']}").json()
    assert env["failing_stage"] == "L4" and "constant" in env["reason"]
    html = client.get(f"/envs/{ids['always_zero_sum']}").text
    assert "Rejected at L4" in html and "all 24 references are" in html


def test_instance_through_the_sandbox(client, ids):
    env_id = ids["weighted_sum_mod_prime"]
    low = client.get(f"/api/envs/{env_id}/instance", params={"seed": 4, "difficulty": 1}).json()
    high = client.get(f"/api/envs/{env_id}/instance", params={"seed": 4, "difficulty": 9}).json()
    assert low["reference"] is None  # hidden unless asked for
    assert len(high["instance"]["values"]) > len(low["instance"]["values"])
    assert low["prompt"] != high["prompt"]
    shown = client.get(f"/api/envs/{env_id}/instance", params={"seed": 4, "difficulty": 9, "reveal": True}).json()
    values = shown["instance"]["values"]
    assert shown["reference"] == str(sum(i * v for i, v in enumerate(values, 1)) % 1_000_003)
    assert shown["prompt"] == high["prompt"]  # deterministic


def test_env_page_shows_instance_code_and_charts(client, ids):
    env_id = ids["weighted_sum_mod_prime"]
    html = client.get(f"/envs/{env_id}", params={"seed": 3, "difficulty": 6}).text
    expected = client.get(f"/api/envs/{env_id}/instance", params={"seed": 3, "difficulty": 6, "reveal": True}).json()
    assert expected["prompt"].split("\n")[0][:60] in html
    assert f'<pre class="reference" id="reference">{expected["reference"]}</pre>' in html
    assert 'class="code"' in html and "WeightedSumModPrime" in html  # highlighted source
    assert html.count("<polyline") == 2  # one calibration line per checkpoint
    assert "Diff against parent" in html and "enumerate" in html


def test_environment_error_is_reported_not_500(client, ids):
    broken = next(e for e in client.get("/api/envs", params={"status": "rejected", "q": "sum_mod_prime"}).json()["items"]
                  if e["name"] == "sum_mod_prime")
    response = client.get(f"/api/envs/{broken['id']}/instance", params={"seed": 0, "difficulty": 1})
    assert response.status_code == 422 and "ZeroDivisionError" in response.json()["detail"]
    page = client.get(f"/envs/{broken['id']}")
    assert page.status_code == 200 and "ZeroDivisionError" in page.text


# ------------------------------------------------------------------ lineage and diff

def test_lineage_graph(client, ids):
    data = client.get(f"/api/envs/{ids['weighted_sum_mod_prime']}/lineage").json()
    assert [(p["name"], p["relation"], p["generation"]) for p in data["parents"]] == [("sum_mod_prime", "mutation", 1)]
    assert [(c["name"], c["relation"], c["generation"]) for c in data["children"]] == [("max_adjacent_gap", "crossover", 3)]
    layers = {n["name"]: n["layer"] for n in data["nodes"]}
    assert layers["weighted_sum_mod_prime"] == 0 and layers["sum_mod_prime"] == -1
    assert layers["count_inversions"] == -2 and layers["max_adjacent_gap"] == 1
    # max_adjacent_gap is a child of both sum_mod_prime and weighted_sum_mod_prime: drawn below both
    root = client.get(f"/api/envs/{ids['count_inversions']}/lineage").json()
    layers = {n["name"]: n["layer"] for n in root["nodes"]}
    assert layers["max_adjacent_gap"] == 3 and layers["weighted_sum_mod_prime"] == 2
    html = client.get(f"/envs/{ids['weighted_sum_mod_prime']}/lineage").text
    assert html.count('<g class="node') == 4 and f'href="/envs/{ids["max_adjacent_gap"]}"' in html


def test_diff_against_each_parent(client, ids):
    diffs = client.get(f"/api/envs/{ids['max_adjacent_gap']}/diff").json()
    assert [d["parent"]["name"] for d in diffs] == ["sum_mod_prime", "weighted_sum_mod_prime"]
    assert all(d["added"] > 0 and d["removed"] > 0 for d in diffs)
    assert any(line["kind"] == "add" and "zip(" in line["text"] for line in diffs[0]["lines"])
    assert client.get(f"/api/envs/{ids['count_inversions']}/diff").json() == []


# ------------------------------------------------------------------ funnel and rejected

def test_funnel_overall_and_per_run(client):
    data = client.get("/api/funnel").json()
    steps = [b["step"] for b in data["bars"]]
    assert steps == ["proposed", "L1", "L2", "L3", "L4", "L5", "blind", "novelty", "review", "calibration", "admitted"]
    counts = {b["step"]: b["count"] for b in data["bars"]}
    # The eight proposed candidates; the ten seeds are counted apart.
    assert counts["proposed"] == 8 and counts["admitted"] == 3
    assert data["seeds"] == {"total": len(SEED_NAMES), "admitted": len(SEED_NAMES)}
    assert [b["count"] for b in data["bars"]] == [8, 8, 7, 7, 6, 6, 6, 5, 4, 3, 3]  # none stopped at blind
    runs = {r["id"]: r for r in data["runs"]}
    assert len(runs) == 2
    first = min(runs)
    assert runs[first]["proposed"] == 7 and runs[first]["admitted"] == 3
    assert runs[first]["tokens_per_admitted"] == pytest.approx(7 * 1600 / 3, abs=0.1)
    assert runs[first]["seconds_per_admitted"] == pytest.approx(95.0 / 3, abs=0.01)
    one = client.get("/api/funnel", params={"run": max(runs)}).json()
    assert {b["step"]: b["count"] for b in one["bars"]}["calibration"] == 0
    html = client.get("/funnel").text
    assert "Runs over time" in html and "3,733" in html  # tokens per admitted, formatted


def test_rejected_grouped_by_stage(client):
    data = client.get("/api/rejected").json()
    assert data["counts"]["L4"] == 1 and data["counts"]["L2"] == 1 and data["counts"]["novelty"] == 1
    assert {e["failing_stage"] for e in data["items"]} == {"L2", "L4", "review", "calibration", "novelty"}
    l4 = client.get("/api/rejected", params={"stage": "L4"}).json()["items"]
    assert [e["name"] for e in l4] == ["always_zero_sum"]
    assert l4[0]["reason"] == "answers are constant: all 24 references are '0'"
    assert l4[0]["passed_stages"] == ["L1", "L2", "L3"]
    assert client.get("/api/rejected", params={"stage": "L1"}).json()["items"] == []
    searched = client.get("/api/rejected", params={"q": "squares"}).json()["items"]
    assert [e["name"] for e in searched] == ["sum_of_squares_mod"]
    html = client.get("/rejected", params={"stage": "novelty"}).text
    assert "similarity 0.93" in html and "always_zero_sum" not in html


def test_rejected_pages(client):
    first = client.get("/api/rejected", params={"per_page": 2}).json()
    second = client.get("/api/rejected", params={"per_page": 2, "page": 2}).json()
    third = client.get("/api/rejected", params={"per_page": 2, "page": 3}).json()
    seen = [e["id"] for e in first["items"] + second["items"] + third["items"]]
    assert len(seen) == 5 and len(set(seen)) == 5
    assert first["has_next"] and second["has_next"] and not third["has_next"]


def test_page_links_keep_the_filters_and_page_size(client):
    html = client.get("/envs", params={"sort": "name", "per_page": 5, "page": 2}).text
    assert 'href="/envs?sort=name&amp;per_page=5&amp;page=1" rel="prev"' in html
    assert 'href="/envs?sort=name&amp;per_page=5&amp;page=3" rel="next"' in html
    html = client.get("/envs", params={"status": "admitted"}).text  # default page size: not in the link
    assert 'rel="prev"' not in html and 'rel="next"' not in html
    html = client.get("/rejected", params={"q": "sum", "per_page": 1}).text
    assert 'href="/rejected?q=sum&amp;page=2" rel="next"' not in html
    assert 'href="/rejected?q=sum&amp;per_page=1&amp;page=2" rel="next"' in html and 'rel="prev"' not in html


def test_openapi_lists_the_api(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/envs", "/api/envs/{ref}", "/api/envs/{ref}/instance", "/api/envs/{ref}/lineage",
                 "/api/envs/{ref}/diff", "/api/funnel", "/api/rejected", "/api/envs/{ref}/retire"):
        assert path in paths
    assert "/envs" not in paths  # pages are not part of the API schema


# ------------------------------------------------------------------ admin actions

def test_read_only_server_refuses_changes(client, ids):
    response = client.post(f"/api/envs/{ids['knapsack']}/retire", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert response.status_code == 403 and "read-only" in response.json()["detail"]
    assert client.get(f"/api/envs/{ids['knapsack']}").json()["status"] == "admitted"
    assert "Retire" not in client.get(f"/envs/{ids['knapsack']}").text
    rerun = client.post(f"/api/envs/{ids['knapsack']}/stages/L1/rerun", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert rerun.status_code == 403
    assert len(client.get(f"/api/envs/{ids['knapsack']}").json()["stages"]) == 8


def test_retire_needs_the_token(registry_url, ids, sandbox, tmp_path):
    url = _copy_registry(registry_url, tmp_path / "copy.db")
    with TestClient(create_app(url, admin_token=ADMIN_TOKEN, sandbox=sandbox)) as c:
        target = ids["knapsack"]
        assert c.post(f"/api/envs/{target}/retire").status_code == 401
        assert c.post(f"/api/envs/{target}/retire", headers={"X-Admin-Token": "wrong-token"}).status_code == 401
        assert c.get(f"/api/envs/{target}").json()["status"] == "admitted"
        done = c.post(f"/api/envs/{target}/retire", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert done.status_code == 200 and done.json()["env"]["status"] == "retired"
        again = c.post(f"/api/envs/{target}/retire", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert again.status_code == 409
        rejected = c.post(f"/api/envs/{ids['always_zero_sum']}/retire", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert rejected.status_code == 409 and "rejected" in rejected.json()["detail"]
        # the HTML form path, with the token as a form field
        form = c.post(f"/envs/{ids['sat']}/retire", data={"admin_token": ADMIN_TOKEN}, follow_redirects=False)
        assert form.status_code == 303
        assert c.get(f"/api/envs/{ids['sat']}").json()["status"] == "retired"
        bad_form = c.post(f"/envs/{ids['knapsack']}/retire", data={"admin_token": "nope"})
        assert bad_form.status_code == 401 and "admin token" in bad_form.text
    with open_registry(url) as reg:
        assert reg.get(target).status == "retired"
    with open_registry(registry_url) as reg:  # the shared registry is untouched
        assert reg.get(target).status == "admitted"


def test_proposal_text_and_tokens_on_the_environment(client, ids):
    env = client.get(f"/api/envs/{ids['max_adjacent_gap']}").json()
    assert len(env["proposals"]) == 1
    proposal = env["proposals"][0]
    assert proposal["prompt_tokens"] == 900 and proposal["completion_tokens"] == 700
    assert "class MaxAdjacentGap" in proposal["completion"]
    html = client.get(f"/envs/{ids['max_adjacent_gap']}").text
    assert "Generator completion" in html and "completion tokens <b>700</b>" in html
    assert client.get(f"/api/envs/{ids['knapsack']}").json()["proposals"] == []


def test_recurring_reasons_group_by_pattern():
    from evoenv.web.views import common_reasons

    items = [{"failing_stage": "L2", "reason": f"reference() raised ZeroDivisionError at seed {s}, difficulty {d}"}
             for s, d in ((0, 1), (3, 7), (12, 2))]
    items += [{"failing_stage": "L4", "reason": "answers are constant: all 24 references are '0'"},
              {"failing_stage": "L4", "reason": "answers are constant: all 9 references are '-1'"},
              {"failing_stage": "novelty", "reason": "similarity 0.91 to #3 knapsack"}]
    got = common_reasons(items)
    assert got == [
        {"stage": "L2", "pattern": "reference() raised ZeroDivisionError at seed N, difficulty N", "count": 3},
        {"stage": "L4", "pattern": "answers are constant: all N references are '…'", "count": 2},
    ]


def test_pages_carry_a_strict_content_security_policy(client, ids):
    response = client.get(f"/envs/{ids['knapsack']}")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script src=\"/static/instance.js\"" in response.text  # the only script, served from 'self'
    assert "<script>" not in response.text  # nothing inline that the policy would block


def test_stage_filter_pages_and_says_when_it_stopped_scanning(client, registry_url):
    one = client.get("/api/rejected", params={"stage": "L4", "per_page": 1}).json()
    assert [e["name"] for e in one["items"]] == ["always_zero_sum"] and not one["has_next"]
    assert client.get("/api/rejected", params={"stage": "L4", "page": 2}).json()["items"] == []
    from evoenv.web import views

    with open_registry(registry_url) as reg:
        # the two newest rejections failed at calibration and review: L4 is further back
        cut = views.rejected(reg, stage="L4", scan_limit=2)
        assert cut["items"] == [] and cut["scan_truncated"]
        full = views.rejected(reg, stage="L4", scan_limit=6)
        assert [e["name"] for e in full["items"]] == ["always_zero_sum"] and not full["scan_truncated"]


def test_rerun_a_stage_appends_real_results(registry_url, ids, sandbox, tmp_path):
    url = _copy_registry(registry_url, tmp_path / "rerun.db")
    with TestClient(create_app(url, admin_token=ADMIN_TOKEN, sandbox=sandbox)) as c:
        constant = ids["always_zero_sum"]
        before = len(c.get(f"/api/envs/{constant}").json()["stages"])
        assert c.post(f"/api/envs/{constant}/stages/L4/rerun").status_code == 401
        done = c.post(f"/api/envs/{constant}/stages/L4/rerun", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert done.status_code == 200, done.text
        ran = done.json()["ran"]
        assert [r["stage"] for r in ran] == ["L1", "L2", "L3", "L4"]
        assert [r["passed"] for r in ran] == [True, True, True, False]  # the real L4 still sees constant answers
        env = c.get(f"/api/envs/{constant}").json()
        assert len(env["stages"]) == before + 4 and env["status"] == "rejected"  # appended; decision stands
        assert env["latest_stages"][3]["reason"] == ran[3]["reason"]

        healthy = ids["weighted_sum_mod_prime"]
        form = c.post(f"/envs/{healthy}/rerun", data={"admin_token": ADMIN_TOKEN, "stage": "L2"},
                      follow_redirects=False)
        assert form.status_code == 303
        stages = c.get(f"/api/envs/{healthy}").json()["stages"]
        assert [s["stage"] for s in stages].count("L2") == 2 and stages[-1]["passed"] is True

        refused = c.post(f"/api/envs/{healthy}/stages/review/rerun", headers={"X-Admin-Token": ADMIN_TOKEN})
        assert refused.status_code == 400 and "L1, L2, L3, L4, L5" in refused.json()["detail"]
