"""The openai: backend over several model servers (real HTTP servers on 127.0.0.1): requests
spread with a bounded number in flight per server, a dead server's requests go elsewhere, and a
server that stays down is reported, not fatal."""

from __future__ import annotations

import logging

import pytest

from evoenv.policy import PolicyError, Sampling, load_policy
from tests.policy.test_openai import ChatServer, free_port


def test_requests_spread_over_servers_with_a_bound_per_server():
    with ChatServer(delay=0.2) as a, ChatServer(delay=0.2) as b:
        policy = load_policy(f"openai:tiny-chat@{a.url},{b.url}", concurrency=2)
        prompts = [f"p{i}" for i in range(12)]
        out = policy.generate(prompts, Sampling())
        status = policy.server_status()
        policy.close()
    assert [c.text for c in out] == [f"echo: p{i}" for i in range(12)]  # in order, whoever answered
    assert len(a.requests) + len(b.requests) == 12
    assert len(a.requests) >= 4 and len(b.requests) >= 4  # both did a share
    assert a.most_in_flight == 2 and b.most_in_flight == 2  # 4 threads in all, never 3 on one server
    assert {c.meta["server"] for c in out} == {a.url, b.url}
    assert [s["down"] for s in status] == [False, False]


def test_a_dead_server_is_reported_and_its_requests_go_elsewhere(caplog):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with ChatServer() as alive:
        with caplog.at_level(logging.WARNING, logger="evoenv.policy"):
            policy = load_policy(f"openai:tiny-chat@{dead},{alive.url}", concurrency=2, backoff=0.01)
            out = policy.generate([f"q{i}" for i in range(6)], Sampling())
        status = {s["url"]: s for s in policy.server_status()}
        policy.close()
    assert [c.text for c in out] == [f"echo: q{i}" for i in range(6)]
    assert len(alive.requests) == 6
    assert status[dead]["down"] and status[dead]["times_down"] >= 1 and "ConnectError" in status[dead]["last_error"]
    assert not status[alive.url]["down"]
    assert any(dead in r.getMessage() and "down" in r.getMessage() for r in caplog.records)


def test_a_server_that_dies_mid_run_has_its_requests_retried_on_another():
    # passes the start-up check (GET /models), then answers every completion with 503
    with ChatServer(fail_all=503) as failing, ChatServer() as healthy:
        policy = load_policy(f"openai:tiny-chat@{failing.url},{healthy.url}", concurrency=1, backoff=0.01,
                             down_after=2, cooldown=60)
        out = policy.generate([f"r{i}" for i in range(8)], Sampling())
        status = {s["url"]: s for s in policy.server_status()}
        policy.close()
    assert [c.text for c in out] == [f"echo: r{i}" for i in range(8)]
    assert all(c.meta["server"] == healthy.url for c in out)
    assert 1 <= len(failing.requests) <= 2  # marked down after 2 failures in a row, then left alone
    assert status[failing.url]["down"] and "503" in status[failing.url]["last_error"]


def test_every_server_down_is_a_policy_error_naming_them():
    with ChatServer(fail_all=502) as a, ChatServer(fail_all=503) as b:
        policy = load_policy(f"openai:tiny-chat@{a.url},{b.url}", backoff=0.01, max_retries=3, cooldown=0.05)
        with pytest.raises(PolicyError, match=r"still failing after 4 attempts") as err:
            policy.generate(["x"], Sampling())
        policy.close()
    assert a.url in str(err.value) and b.url in str(err.value)
    with pytest.raises(PolicyError, match="none of the 2 model servers can be reached"):
        load_policy(f"openai:m@http://127.0.0.1:{free_port()}/v1,http://127.0.0.1:{free_port()}/v1")


def test_servers_file(tmp_path):
    with ChatServer() as a, ChatServer() as b:
        listing = tmp_path / "servers.txt"
        listing.write_text(f"# the vLLM fleet\n{a.url}\n\n{b.url[:-3]}   # without /v1\n{a.url}/\n")
        policy = load_policy("openai:tiny-chat@" + a.url, servers_file=str(listing), concurrency=1)
        assert [s["url"] for s in policy.server_status()] == [a.url, b.url]  # duplicates folded
        policy.generate(["s1", "s2", "s3", "s4"], Sampling())
        policy.close()
    assert a.requests and b.requests
    bad = tmp_path / "bad.txt"
    bad.write_text("http://ok:1/v1\nftp://nope\n")
    with pytest.raises(PolicyError, match=r"bad.txt:2: .*not an http"):
        load_policy("openai:m@http://127.0.0.1:1/v1", servers_file=str(bad), check=False)
    with pytest.raises(PolicyError, match=r"cannot read it"):
        load_policy("openai:m@http://127.0.0.1:1/v1", servers_file=str(tmp_path / "missing.txt"), check=False)


def test_calibration_rollouts_run_in_parallel_across_servers(sandbox, seed_sources):
    """Each calibration probe's m solver prompts are one batch: they run at once, over every server."""
    from evoenv.admission import AdmissionConfig, AdmissionContext, Candidate
    from evoenv.admission.calibration import check_calibration
    from evoenv.admission.l1_parse import check_parse
    from evoenv.admission.l2_execute import check_execution

    with ChatServer(delay=0.3) as a, ChatServer(delay=0.3) as b:
        policy = load_policy(f"openai:tiny-chat@{a.url},{b.url}", concurrency=4)
        ctx = AdmissionContext(sandbox, AdmissionConfig(calibration_max_probes=2), policy=policy)
        candidate = Candidate(code=seed_sources["knapsack"])
        assert check_parse(candidate, ctx).passed and check_execution(candidate, ctx).passed
        result = check_calibration(candidate, ctx)
        policy.close()
    probes = result.details["curve"]
    assert len(probes) == 2 and all(p["n"] == 8 for p in probes)
    assert len(a.requests) + len(b.requests) == 16
    assert len(a.requests) == len(b.requests) == 8  # an even split of each batch of 8 over 2 servers
    assert a.most_in_flight == 4 and b.most_in_flight == 4  # m=8 rollouts at once, 4 per server
