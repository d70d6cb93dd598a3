"""Bad input on every route gets a 4xx with a message that names the problem; never a 500."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from evoenv.web import create_app

BAD_REFS = ["0", "-1", "99999999", "9" * 30, "x y", "a..b c", "%2e%2e%2fetc", "a" * 300, "' OR 1=1 --",
            "%00", "no_such_env"]
# (query parameter, bad values, words the message must contain)
LIST_PARAMS = {
    "status": (["bogus", "ADMITTED", "admitted'--"], "status"),
    "origin": (["alien"], "origin"),
    "tag": (["a b", "x" * 100, "<script>"], "tag"),
    "q": (["x" * 201, "bad\x00byte"], None),
    "sort": (["drop table", "created;--", "pass_rate; x"], "sort"),
    "page": (["0", "-1", "x", "1e3", str(10**9), ""], "page"),
    "per_page": (["0", "201", "many"], "per_page"),
}
INSTANCE_PARAMS = {
    "seed": (["-1", str(2**31), "abc", "1.5", ""], "seed"),
    "difficulty": (["0", "11", "-5", "x", str(10**6), "3.5"], "difficulty"),
}
REJECTED_PARAMS = {
    "stage": (["L9", "l4", "admitted"], "stage"),
    "q": (["y" * 500], None),
    "page": (["0", "x"], "page"),
    "per_page": (["0", "1000"], "per_page"),
}


@pytest.fixture(scope="module")
def app(registry_url, sandbox):
    return create_app(registry_url, sandbox=sandbox)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _message(response) -> str:
    if response.headers["content-type"].startswith("application/json"):
        detail = response.json()["detail"]
        assert isinstance(detail, str), detail
        return detail
    assert response.headers["content-type"].startswith("text/html")
    assert 'class="error-message"' in response.text
    return response.text.split('class="error-message">', 1)[1].split("</p>", 1)[0]


def _check(response, words: str | None, url: str) -> str:
    assert 400 <= response.status_code < 500, f"{url}: {response.status_code} {response.text[:300]}"
    message = _message(response)
    assert message.strip(), url
    if words:
        assert words in message, f"{url}: {message!r} does not name {words!r}"
    return message


def _walk(client, url: str, params: dict, seen: set) -> int:
    walked = 0
    for name, (values, words) in params.items():
        for value in values:
            response = client.get(url, params={name: value})
            _check(response, words, f"{url}?{name}={value!r}")
            walked += 1
    seen.add(url)
    return walked


def test_every_route_rejects_bad_input(app, client, ids):
    env = ids["weighted_sum_mod_prime"]
    seen: set[str] = set()
    walked = 0
    for url in ("/envs", "/api/envs"):
        walked += _walk(client, url, LIST_PARAMS, seen)
    for url in (f"/envs/{env}", f"/api/envs/{env}/instance"):
        walked += _walk(client, url, INSTANCE_PARAMS, seen)
    for url in ("/rejected", "/api/rejected"):
        walked += _walk(client, url, REJECTED_PARAMS, seen)
    for url in ("/funnel", "/api/funnel"):
        walked += _walk(client, url, {"run": (["0", "-3", "x", "99999", str(2**64)], None)}, seen)
    walked += _walk(client, f"/api/envs/{env}/lineage", {"depth": (["0", "99", "deep"], "depth")}, seen)
    walked += _walk(client, f"/api/envs/{env}/instance", {"reveal": (["maybe", "2"], "reveal")}, seen)

    # every environment route with a bad id or name
    templates = ["/envs/{ref}", "/envs/{ref}/lineage", "/api/envs/{ref}", "/api/envs/{ref}/instance",
                 "/api/envs/{ref}/lineage", "/api/envs/{ref}/diff"]
    for template in templates:
        for ref in BAD_REFS:
            url = template.replace("{ref}", ref)
            response = client.get(url)
            message = _check(response, None, url)
            walked += 1
            if ref == "no_such_env" and response.status_code == 404 and "/envs/no_such_env" in url:
                assert "no_such_env" in message
        seen.add(template)
    for template in ("/envs/{ref}/retire", "/api/envs/{ref}/retire"):
        for ref in BAD_REFS:
            _check(client.post(template.replace("{ref}", ref)), None, template)
            walked += 1
        seen.add(template)

    stage_cases = [(r, "L2") for r in BAD_REFS] + [(str(env), s) for s in ("L9", "review", "x" * 80, "%00")]
    for ref, stage in stage_cases:
        url = f"/api/envs/{ref}/stages/{stage}/rerun"
        _check(client.post(url), None, url)
        url = f"/envs/{ref}/rerun"
        _check(client.post(url, data={"stage": stage, "admin_token": "t"}), None, f"{url} stage={stage!r}")
        walked += 2
    _check(client.post(f"/envs/{env}/rerun", data={"admin_token": "t"}), "stage", "rerun without a stage")
    seen |= {"/api/envs/{ref}/stages/{stage}/rerun", "/envs/{ref}/rerun"}

    # every API and page route was walked (routes added later must be added here too)
    routes = {r.path for r in app.routes if isinstance(r, APIRoute)}
    routes -= {"/", "/healthz", "/code.css"}  # take no input
    concrete = {p.replace(str(env), "{ref}") for p in seen}
    assert routes <= concrete, f"routes without a bad-input walk: {sorted(routes - concrete)}"
    assert walked > 150


def test_specific_messages(client, ids):
    env = ids["max_adjacent_gap"]  # max_difficulty 8
    message = _check(client.get(f"/api/envs/{env}/instance", params={"difficulty": 9}), "difficulty", "d=9")
    assert "1..8" in message
    assert client.get(f"/api/envs/{env}/instance", params={"difficulty": 8}).status_code == 200
    message = _check(client.get("/api/envs", params={"sort": "bogus"}), "sort", "sort")
    assert "created" in message  # lists what is allowed
    message = _check(client.get("/api/envs", params={"q": "x" * 201}), "q", "q")
    assert "200" in message
    assert client.get("/api/envs/424242").status_code == 404
    assert "424242" in _message(client.get("/api/envs/424242"))
    assert client.get("/api/funnel", params={"run": 99999}).status_code == 404


def test_unknown_paths_and_methods(client, ids):
    assert client.get("/nope").status_code == 404
    assert "no page at /nope" in _message(client.get("/nope"))
    assert client.get("/api/nope").status_code == 404
    assert client.delete("/api/envs").status_code == 405
    assert client.put(f"/api/envs/{ids['knapsack']}").status_code == 405
    assert client.get(f"/api/envs/{ids['knapsack']}/retire").status_code == 405


def test_admin_inputs(registry_url, sandbox, ids):
    with TestClient(create_app(registry_url, admin_token="admin-token-123", sandbox=sandbox),
                    raise_server_exceptions=False) as c:
        url = f"/envs/{ids['knapsack']}/retire"
        _check(c.post(url, content=b"admin_token=\xff\xfe", headers={"content-type": "application/x-www-form-urlencoded"}),
               "form", url)
        _check(c.post(url, content=b"admin_token=" + b"a" * 10_000,
                      headers={"content-type": "application/x-www-form-urlencoded"}), "limit", url)
        _check(c.post(url, data={"admin_token": ""}), "token", url)
        _check(c.post(f"/api/envs/{ids['knapsack']}/retire", headers={"X-Admin-Token": "x" * 5000}), "token", url)
        assert c.get(f"/api/envs/{ids['knapsack']}").json()["status"] == "admitted"  # nothing changed
