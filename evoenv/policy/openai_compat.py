"""``openai:MODEL@URL``: any server that speaks the OpenAI chat-completions API
(``vllm serve``, SGLang, llama.cpp's server, Ollama, a hosted API).

Requests for one batch run concurrently on a bounded thread pool over one
``httpx.Client``. Rate limits (429), server errors (5xx) and connection errors
are retried with exponential backoff (honouring ``Retry-After``); a request
the server rejects as bad (400, 413, 422) becomes an ``error`` completion for
that prompt only; anything that means the policy itself is unusable raises
``PolicyError`` with the URL and what to check.
"""

from __future__ import annotations

import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx

from evoenv.policy.base import Completion, PolicyError, Prompt, Sampling
from evoenv.policy.logprobs import topk_entropy

#: Statuses worth another try: rate limits, timeouts at a proxy, server errors.
RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
#: The server understood but refuses this one request (e.g. prompt too long).
PER_REQUEST_STATUSES = frozenset({400, 413, 422})
API_KEY_VARS = ("EVOENV_API_KEY", "OPENAI_API_KEY")


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


def as_messages(prompt: Prompt) -> list[dict]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


class OpenAIPolicy:
    """A chat model behind an OpenAI-compatible HTTP endpoint."""

    def __init__(
        self,
        model: str,
        base_url: str,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        extra_body: dict | None = None,
    ):
        if not model:
            raise PolicyError("openai policy has no model name; write openai:MODEL@URL")
        self.model = model
        self.base_url = normalise_base_url(base_url)
        self.name = f"openai:{model}@{self.base_url}"
        self.concurrency = max(1, int(concurrency))
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.extra_body = dict(extra_body or {})
        key = api_key or next((os.environ[v] for v in API_KEY_VARS if os.environ.get(v)), None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(float(timeout), connect=float(connect_timeout)),
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
        )
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="evoenv-openai")

    # --- start-up check -------------------------------------------------------------------

    def check(self) -> None:
        """Raise PolicyError naming what to fix when the server is unreachable,
        refuses the key, or does not serve the model."""
        try:
            response = self._client.get("/models", timeout=15.0)
        except httpx.TransportError as exc:
            raise PolicyError(
                f"cannot reach the OpenAI-compatible server at {self.base_url} ({type(exc).__name__}: {exc}). "
                "Check that the server is running (e.g. `vllm serve MODEL --port 8000`), "
                "that host and port are right, and that the URL ends in /v1."
            ) from None
        if response.status_code in (401, 403):
            raise PolicyError(
                f"{self.base_url} refused the API key (HTTP {response.status_code}): "
                f"set {' or '.join(API_KEY_VARS)} to a key the server accepts."
            )
        if response.status_code == 404:
            return  # some servers do not list models; the first request will tell
        if response.status_code >= 400:
            raise PolicyError(f"{self.base_url}/models answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            served = [m.get("id") for m in response.json().get("data", [])]
        except (ValueError, AttributeError):
            raise PolicyError(
                f"{self.base_url}/models did not answer OpenAI-style JSON; is this an OpenAI-compatible endpoint "
                "(the URL usually ends in /v1)?"
            ) from None
        if served and self.model not in served:
            raise PolicyError(
                f"{self.base_url} does not serve model {self.model!r}; it serves: {', '.join(map(str, served))}. "
                f"Use openai:{served[0]}@{self.base_url}"
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
        while True:
            try:
                response = self._client.post("/chat/completions", json=body)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                response = None
            else:
                if response.status_code == 200:
                    completion = self._parse(response)
                    completion.seconds = time.monotonic() - started
                    completion.meta["attempts"] = attempt + 1
                    return completion
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code in PER_REQUEST_STATUSES:
                    return Completion(text="", finish_reason="error", seconds=time.monotonic() - started,
                                      meta={"error": problem, "attempts": attempt + 1})
                if response.status_code in (401, 403):
                    raise PolicyError(f"{self.base_url} refused the API key ({problem}); "
                                      f"set {' or '.join(API_KEY_VARS)}.")
                if response.status_code not in RETRY_STATUSES:
                    raise PolicyError(f"{self.base_url}/chat/completions failed for model {self.model!r}: {problem}")
            if attempt >= self.max_retries:
                raise PolicyError(
                    f"{self.base_url}/chat/completions still failing after {attempt + 1} attempts ({problem}). "
                    "Check the server's log and that it is up."
                )
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

    def _parse(self, response: httpx.Response) -> Completion:
        try:
            data = response.json()
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (ValueError, KeyError, IndexError, TypeError):
            raise PolicyError(
                f"{self.base_url}/chat/completions answered 200 but not chat-completions JSON: {response.text[:200]}"
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
        self._client.close()
