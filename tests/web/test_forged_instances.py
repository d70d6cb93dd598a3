"""The registry browser on an environment whose render forges its values past the guest's own checks
(a lone surrogate in the prompt, a list for an instance): a clear 422 / an error on the page, never a
500 or text that cannot be encoded."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from evoenv.registry import open_registry
from evoenv.web import create_app
from tests.adversarial.hostile_programs import forge

FORGED = {
    "surrogate_prompt": (forge("render", '{"instance": {}, "prompt": "p" + chr(0xD800), "reference": "r"}'),
                         "prompt() must return valid Unicode text, found a lone surrogate U+D800"),
    "list_instance": (forge("render", '{"instance": [1], "prompt": "p", "reference": "r"}'),
                      "sample() must return a dict (a JSON object), got list"),
}


@pytest.fixture(scope="module")
def forged_client(tmp_path_factory, sandbox):
    url = f"sqlite:///{tmp_path_factory.mktemp('forged-web') / 'registry.db'}"
    ids = {}
    with open_registry(url, upgrade_schema=True) as registry:
        for name, (code, _) in FORGED.items():
            record = registry.add_candidate(code, name=name, description="forged", max_difficulty=3)
            registry.admit(record.id)  # as if it had slipped through admission
            ids[name] = record.id
    with TestClient(create_app(url, sandbox=sandbox), raise_server_exceptions=False) as client:
        yield client, ids


@pytest.mark.parametrize("name", FORGED)
def test_a_forged_render_is_a_clear_error_in_the_api_and_on_the_page(forged_client, name):
    client, ids = forged_client
    expected = FORGED[name][1]
    api = client.get(f"/api/envs/{ids[name]}/instance", params={"seed": 1, "difficulty": 1})
    assert api.status_code == 422, api.text
    assert expected in api.json()["detail"]
    page = client.get(f"/envs/{ids[name]}", params={"seed": 1, "difficulty": 1})
    assert page.status_code == 200
    assert expected.replace("()", "") in page.text.replace("()", "")
