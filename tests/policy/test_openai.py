"""The openai: backend against a real HTTP server on 127.0.0.1 that speaks the
chat-completions API (a small stdlib server in a thread, no mocks)."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from evoenv.policy import PolicyError, Sampling, load_policy


class ChatServer:
    """Answers /v1/models and /v1/chat/completions; scripted failures per prompt."""

    def __init__(self, model: str = "tiny-chat", fail_first: dict[str, list[int]] | None = None,
                 require_key: str | None = None, delay: float = 0.0, fail_all: int | None = None):
        self.model = model
        self.delay = delay  # seconds per completion: requests overlap, as on a real server
        self.fail_all = fail_all  # answer every completion request with this status
        self.in_flight = self.most_in_flight = 0
        self.fail_first = {k: list(v) for k, v in (fail_first or {}).items()}
        self.require_key = require_key
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if server.require_key and self.headers.get("Authorization") != f"Bearer {server.require_key}":
                    self._send(401, {"error": {"message": "bad key"}})
                    return False
                return True

            def do_GET(self):
                if not self._authorised():
                    return
                if self.path == "/v1/models":
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    self._answer(body)
                finally:
                    with server.lock:
                        server.in_flight -= 1

            def _answer(self, body):
                if server.delay:
                    time.sleep(server.delay)
                if server.fail_all:
                    self._send(server.fail_all, {"error": {"message": "scripted outage"}})
                    return
                content = body["messages"][-1]["content"]
                with server.lock:
                    failures = server.fail_first.get(content)
                    status = failures.pop(0) if failures else None
                if status:
                    self._send(status, {"error": {"message": f"scripted {status}"}})
                    return
                if content == "too long":
                    self._send(400, {"error": {"message": "context length exceeded"}})
                    return
                reply = f"<think>about {content}</think>echo: {content}"
                message = {"role": "assistant", "content": reply}
                if content.startswith("separate"):  # a server whose reasoning parser splits the thinking out
                    message = {"role": "assistant", "content": "final", "reasoning_content": "step by step"}
                choice = {"index": 0, "message": message, "finish_reason": "length" if "cut" in content else "stop"}
                if body.get("logprobs"):
                    k = body.get("top_logprobs", 1)
                    tokens = ["echo", ":", " hi"]
                    choice["logprobs"] = {"content": [
                        {"token": t, "logprob": math.log(0.5),
                         "top_logprobs": [{"token": t, "logprob": math.log(0.5)},
                                          {"token": "x", "logprob": math.log(0.25)},
                                          {"token": "y", "logprob": math.log(0.25)}][:k]}
                        for t in tokens]}
                self._send(200, {"id": "c1", "object": "chat.completion", "model": server.model,
                                 "choices": [choice],
                                 "usage": {"prompt_tokens": len(content.split()), "completion_tokens": 7}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batch_in_order_with_thinking_stripped_and_usage():
    with ChatServer() as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}", concurrency=4)
        prompts = [f"prompt {i}" for i in range(10)] + [[{"role": "system", "content": "be brief"},
                                                         {"role": "user", "content": "chat"}]]
        out = policy.generate(prompts, Sampling(temperature=0.7, max_tokens=32, seed=3))
        policy.close()
    assert [c.text for c in out] == [f"echo: prompt {i}" for i in range(10)] + ["echo: chat"]
    assert out[0].raw == "<think>about prompt 0</think>echo: prompt 0"
    assert out[0].prompt_tokens == 2 and out[0].completion_tokens == 7 and out[0].finish_reason == "stop"
    assert out[0].tokens is None  # not asked for
    sent = server.requests[0]
    assert sent["model"] == "tiny-chat" and sent["temperature"] == 0.7 and sent["max_tokens"] == 32
    assert sent["seed"] == 3 and "logprobs" not in sent
    assert any(r["messages"][0]["role"] == "system" for r in server.requests)


def test_500_then_200_is_retried():
    with ChatServer(fail_first={"flaky": [500, 503], "limited": [429]}) as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}", backoff=0.01)
        out = policy.generate(["flaky", "limited", "fine"], Sampling())
        policy.close()
    assert [c.text for c in out] == ["echo: flaky", "echo: limited", "echo: fine"]
    assert out[0].meta["attempts"] == 3 and out[1].meta["attempts"] == 2 and out[2].meta["attempts"] == 1
    assert sum(1 for r in server.requests if r["messages"][-1]["content"] == "flaky") == 3


def test_retries_exhausted_raise_policy_error_naming_url():
    with ChatServer(fail_first={"down": [502] * 10}) as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}", backoff=0.01, max_retries=2)
        with pytest.raises(PolicyError, match=r"still failing after 3 attempts.*502"):
            policy.generate(["down"], Sampling())
        policy.close()


def test_bad_request_is_an_error_completion_for_that_prompt_only():
    with ChatServer() as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}")
        out = policy.generate(["too long", "ok"], Sampling())
        policy.close()
    assert out[0].finish_reason == "error" and "context length" in out[0].meta["error"]
    assert out[1].text == "echo: ok"


def test_logprobs_and_topk_entropy():
    with ChatServer() as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}")
        (c,) = policy.generate(["hi"], Sampling(logprobs=True, top_logprobs=3))
        policy.close()
    assert server.requests[0]["logprobs"] is True and server.requests[0]["top_logprobs"] == 3
    assert c.tokens == ["echo", ":", " hi"]
    assert c.token_logprobs == pytest.approx([math.log(0.5)] * 3)
    # top-3 mass is 1: the entropy of (0.5, 0.25, 0.25) exactly
    assert c.token_entropies == pytest.approx([1.5 * math.log(2)] * 3)


def test_unreachable_server_fails_at_start_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(PolicyError) as err:
        load_policy(f"openai:m@{url}")
    assert url in str(err.value) and "vllm serve" in str(err.value)


def test_wrong_model_name_lists_served_models():
    with ChatServer(model="served-model") as server:
        with pytest.raises(PolicyError, match=r"does not serve model 'other'.*served-model"):
            load_policy(f"openai:other@{server.url}")


def test_api_key_from_environment(monkeypatch):
    with ChatServer(require_key="sekret") as server:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        monkeypatch.delenv("EVOENV_API_KEY", raising=False)
        with pytest.raises(PolicyError, match="refused the API key"):
            load_policy(f"openai:tiny-chat@{server.url}")
        monkeypatch.setenv("EVOENV_API_KEY", "sekret")
        policy = load_policy(f"openai:tiny-chat@{server.url}")
        assert policy.generate(["k"], Sampling())[0].text == "echo: k"
        policy.close()


def test_base_url_without_v1_and_bad_specs():
    with ChatServer() as server:
        bare = server.url[: -len("/v1")]
        policy = load_policy(f"openai:tiny-chat@{bare}")
        assert policy.generate(["x"], Sampling())[0].text == "echo: x"
        policy.close()
    for spec, message in [("openai:nomodel", "MODEL@URL"), ("openai:m@ftp://h", "not an http"),
                          ("gpt4", "no scheme"), ("magic:x", "unknown policy scheme"), ("hf:", "names no model")]:
        with pytest.raises(PolicyError, match=message):
            load_policy(spec)
    with pytest.raises(PolicyError, match="bad option"):
        load_policy("openai:m@http://127.0.0.1:1/v1", check=False, no_such_option=1)


def test_reasoning_content_is_kept_as_thinking_and_finish_reason_passes_through():
    with ChatServer() as server:
        policy = load_policy(f"openai:tiny-chat@{server.url}")
        separate, cut = policy.generate(["separate thinking", "cut short"], Sampling())
        policy.close()
    assert separate.text == "final" and separate.raw == "<think>step by step</think>final"
    assert cut.finish_reason == "length"
