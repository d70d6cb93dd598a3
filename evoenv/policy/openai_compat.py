"""``openai:MODEL@URL``: any server that speaks the OpenAI chat-completions API
(``vllm serve``, SGLang, llama.cpp's server, Ollama, a hosted API).

Several servers of one model: ``openai:MODEL@URL1,URL2,...`` or the option
``servers_file=PATH`` (one URL a line, ``#`` comments). Requests go to the
server with the fewest in flight, at most ``concurrency`` in flight per server.
A server that fails a request (connection error, 5xx) has it retried at once on
another; after ``down_after`` failures in a row it is marked down for
``cooldown`` seconds (logged, listed by ``server_status()``), then tried again.
The policy fails only when every server is down for all its retries.

Requests for one batch run concurrently on a bounded thread pool, one
``httpx.Client`` per server. Rate limits (429), server errors (5xx) and connection errors
are retried with exponential backoff (honouring ``Retry-After``); a request
the server rejects as bad (400, 413, 422) becomes an ``error`` completion for
that prompt only; anything that means the policy itself is unusable raises
``PolicyError`` with the URL and what to check.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from evoenv.policy.base import Completion, PolicyError, Prompt, Sampling
from evoenv.policy.logprobs import topk_entropy

#: Statuses worth another try: rate limits, timeouts at a proxy, server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: The server understood but refuses this one request (e.g. prompt too long).
PER_REQUEST_STATUSES = frozenset({400, 413, 422})
API_KEY_VARS = ("EVOENV_API_KEY", "OPENAI_API_KEY")
log = logging.getLogger("evoenv.policy")


def normalise_base_url(url: str) -> str:
    """``http://host:8000`` and ``http://host:8000/v1/`` both mean ``http://host:8000/v1``."""
    url = url.strip().rstrip("/")
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise PolicyError(
            f"openai policy URL {url!r} is not an http(s) URL; write it like openai:MODEL@http://127.0.0.1:8000/v1"
        )
    if parsed.path in ("", "/"):
        url += "/v1"
    return url


def server_urls(base_url: str | list[str], servers_file: str | os.PathLike | None = None) -> list[str]:
    """The servers' base URLs: a comma-separated list (or a list) plus those in ``servers_file``."""
    urls = [u for u in (base_url.split(",") if isinstance(base_url, str) else list(base_url or [])) if u.strip()]
    if servers_file is not None:
        path = Path(servers_file)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise PolicyError(f"servers_file {path}: cannot read it ({exc.strerror or exc})") from None
        for number, line in enumerate(lines, 1):
            line = line.split("#", 1)[0].strip()
            if line:
                try:
                    urls.append(normalise_base_url(line))
                except PolicyError as exc:
                    raise PolicyError(f"{path}:{number}: {exc}") from None
    if not urls:
        raise PolicyError("openai policy has no server URL; write openai:MODEL@URL[,URL...] or pass servers_file=PATH")
    seen: list[str] = []
    for url in map(normalise_base_url, urls):
        if url not in seen:
            seen.append(url)
    return seen


@dataclass
class Server:
    """One model server and what the policy knows of its health."""

    url: str
    client: httpx.Client
    in_flight: int = 0
    requests: int = 0
    failures: int = 0  # in a row
    down_until: float = 0.0
    times_down: int = 0
    last_error: str = ""

    def up(self, now: float) -> bool:
        return self.down_until <= now


def as_messages(prompt: Prompt) -> list[dict]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


class OpenAIPolicy:
    """A chat model behind an OpenAI-compatible HTTP endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str | list[str],
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        extra_body: dict | None = None,
        servers_file: str | None = None,
        down_after: int = 2,
        cooldown: float = 30.0,
    ):
        if not model:
            raise PolicyError("openai policy has no model name; write openai:MODEL@URL")
        self.model = model
        urls = server_urls(base_url, servers_file)
        self.base_url = urls[0]
        self.name = f"openai:{model}@{self.base_url}" + (f" (+{len(urls) - 1} servers)" if len(urls) > 1 else "")
        #: requests in flight per server
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.down_after = max(1, int(down_after))
        self.cooldown = float(cooldown)
        self.extra_body = dict(extra_body or {})
        key = api_key or next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.servers = [Server(url, httpx.Client(
            base_url=url, headers=headers,
            timeout=httpx.Timeout(float(timeout), connect=float(connect_timeout)),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )) for url in urls]
        self._free = threading.Condition()
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency * len(self.servers),
                                        thread_name_prefix="evoenv-openai")

    # --- servers --------------------------------------------------------------------------

    def _acquire(self, avoid: Server | None) -> Server:
        """The up server with the fewest requests in flight (not ``avoid`` while another is up),
        waiting while all are full. When every server is down, the one down longest is tried."""
        with self._free:
            while True:
                now = time.monotonic()
                up = [s for s in self.servers if s.up(now)] or [min(self.servers, key=lambda s: s.down_until)]
                if avoid is not None and len(up) > 1:
                    up = [s for s in up if s is not avoid]
                open_ = [s for s in up if s.in_flight < self.concurrency]
                if open_:
                    server = min(open_, key=lambda s: (s.in_flight, s.requests))
                    server.in_flight += 1
                    server.requests += 1
                    return server
                self._free.wait(1.0)

    def _release(self, server: Server, problem: str | None) -> None:
        """Give the slot back; count a failure (marking the server down after ``down_after``) or a success."""
        with self._free:
            server.in_flight -= 1
            if problem is None:
                if server.times_down and server.failures >= self.down_after:
                    log.warning("model server %s is answering again", server.url)
                server.failures = 0
            else:
                server.failures += 1
                server.last_error = problem
                if server.failures >= self.down_after and server.up(time.monotonic()):
                    server.down_until = time.monotonic() + self.cooldown
                    server.times_down += 1
                    others = sum(1 for s in self.servers if s.up(time.monotonic()))
                    if len(self.servers) > 1:
                            log.warning("model server %s is down (%s); %d other server(s) take its requests, "
                                    "retrying it in %.0f s", server.url, problem, others, self.cooldown)
            self._free.notify_all()

    def server_status(self) -> list[dict]:
        """Per server: URL, requests sent, whether it is down now, how often it went down, the last error."""
        now = time.monotonic()
        with self._free:
            return [{"url": s.url, "requests": s.requests, "down": not s.up(now), "times_down": s.times_down,
                     "last_error": s.last_error} for s in self.servers]

    # --- start-up check -------------------------------------------------------------------

    def check(self) -> None:
        """Raise PolicyError naming what to fix when no server can be used (unreachable, refuses
        the key, does not serve the model). With several servers, one that cannot be reached is
        marked down and logged; the others carry on."""
        problems = []
        for server in self.servers:
            try:
                self._check_one(server)
            except PolicyError as exc:
                if "refused the API key" in str(exc) or "does not serve model" in str(exc):
                    raise  # a configuration error, not a dead server
                problems.append(str(exc))
                with self._free:
                    server.down_until = time.monotonic() + self.cooldown
                    server.times_down += 1
                    server.last_error = str(exc)
                log.warning("model server %s is down at start: %s", server.url, exc)
        if len(problems) == len(self.servers):
            raise PolicyError(problems[0] if len(problems) == 1 else
                              f"none of the {len(problems)} model servers can be reached: " + " | ".join(problems))

    def _check_one(self, server: Server) -> None:
        url = server.url
        try:
            response = server.client.get("/models", timeout=15.0)
        except httpx.TransportError as exc:
            raise PolicyError(
                f"cannot reach the OpenAI-compatible server at {url} ({type(exc).__name__}: {exc}). "
                "Check that the server is running (e.g. `vllm serve MODEL --port 8000`), "
                "that host and port are right, and that the URL ends in /v1."
            ) from None
        if response.status_code in (401, 403):
            raise PolicyError(
                f"{url} refused the API key (HTTP {response.status_code}): "
                f"set {' or '.join(API_KEY_VARS)} to a key the server accepts."
            )
        if response.status_code == 404:
            return  # some servers do not list models; the first request will tell
        if response.status_code >= 400:
            raise PolicyError(f"{url}/models answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            served = [m.get("id") for m in response.json().get("data", [])]
        except (ValueError, AttributeError):
            raise PolicyError(
                f"{url}/models did not answer OpenAI-style JSON; is this an OpenAI-compatible endpoint "
                "(the URL usually ends in /v1)?"
            ) from None
        if served and self.model not in served:
            raise PolicyError(
                f"{url} does not serve model {self.model!r}; it serves: {', '.join(map(str, served))}. "
                f"Use openai:{served[0]}@{url}"
            )

    # --- generation -----------------------------------------------------------------------

    def generate(self, prompts: list[Prompt], sampling: Sampling) -> list[Completion]:
        return list(self._pool.map(lambda p: self._one(p, sampling), prompts))

    def _body(self, prompt: Prompt, sampling: Sampling) -> dict:
        body = {
            "model": self.model,
            "messages": as_messages(prompt),
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = max(1, min(20, sampling.top_logprobs))
        body.update(self.extra_body)
        return body

    def _one(self, prompt: Prompt, sampling: Sampling) -> Completion:
        body = self._body(prompt, sampling)
        started = time.monotonic()
        attempt = 0
        server: Server | None = None
        while True:
            server = self._acquire(avoid=server)
            response, failed = None, None
            try:
                response = server.client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:
                failed = problem = f"{type(exc).__name__}: {exc}"
            else:
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                # 429 is the server asking for patience, not a sign that it is dead
                if response.status_code >= 500 or response.status_code == 408:
                    failed = problem
            finally:
                self._release(server, failed)
            if response is not None:
                if response.status_code == 200:
                    completion = self._parse(response, server.url)
                    completion.seconds = time.monotonic() - started
                    completion.meta["attempts"] = attempt + 1
                    completion.meta["server"] = server.url
                    return completion
                if response.status_code in PER_REQUEST_STATUSES:
                    return Completion(text="", finish_reason="error", seconds=time.monotonic() - started,
                                      meta={"error": problem, "attempts": attempt + 1, "server": server.url})
                if response.status_code in (401, 403):
                    raise PolicyError(f"{server.url} refused the API key ({problem}); "
                                      f"set {' or '.join(API_KEY_VARS)}.")
                if response.status_code not in RETRY_STATUSES:
                    raise PolicyError(f"{server.url}/chat/completions failed for model {self.model!r}: {problem}")
            if attempt >= self.max_retries:
                where = server.url if len(self.servers) == 1 else "every server (" + ", ".join(
                    f"{s.url}: {s.last_error or 'ok'}" for s in self.servers) + ")"
                raise PolicyError(
                    f"{where}/chat/completions still failing after {attempt + 1} attempts ({problem}). "
                    "Check the server's log and that it is up."
                )
            other_up = any(s is not server and s.up(time.monotonic())
                                                  for s in self.servers)
            if not (failed and other_up):  # a failed server's request goes to another one at once
                time.sleep(self._delay(attempt, response))
            attempt += 1

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after:
                try:
                    return min(self.max_backoff, max(0.0, float(retry_after)))
                except ValueError:
                    pass
        # Full jitter keeps many clients from retrying in lockstep.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2**attempt))

    def _parse(self, response: httpx.Response, url: str) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            raise PolicyError(
                f"{url}/chat/completions answered 200 but not chat-completions JSON: {response.text[:200]}"
            ) from None
        content = message.get("content") or ""
        # Servers with a reasoning parser return the thinking separately.
        reasoning = message.get("reasoning_content") or message.get("reasoning") or ""
        raw = f"<think>{reasoning}</think>{content}" if reasoning else content
        usage = data.get("usage") or {}
        completion = Completion.from_output(
            raw,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            finish_reason=choice.get("finish_reason") or "stop",
            meta={"model": data.get("model", self.model)},
        )
        content_logprobs = (choice.get("logprobs") or {}).get("content")
        if content_logprobs:
            completion.tokens = [t.get("token", "") for t in content_logprobs]
            completion.token_logprobs = [float(t.get("logprob", 0.0)) for t in content_logprobs]
            completion.token_entropies = [
                topk_entropy([float(a.get("logprob", -1e10)) for a in t.get("top_logprobs") or []]
                             or [float(t.get("logprob", 0.0))])
                for t in content_logprobs
            ]
        return completion

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for server in self.servers:
            server.client.close()
