"""openai: backend throughput: concurrent requests against sequential ones.

A local chat-completions server on 127.0.0.1 answers each request after a fixed
delay (standing in for model latency). The same batch is sent with
concurrency 1 (the baseline, measured in the same run) and with higher
concurrency; the script prints requests/s and the speed-up ratio.

    PYTHONPATH=. python3 bench/policy_openai.py [N_REQUESTS] [DELAY_MS]
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from evoenv.policy import Sampling, load_policy


def serve(delay_s: float) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self._send({"data": [{"id": "bench"}]})

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay_s)
            self._send({"choices": [{"message": {"content": "<answer>1</answer>"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 3}})

        def _send(self, body):
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ThreadingHTTPServer.request_queue_size = 128  # the default backlog (5) drops bursts of connects
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    delay = (float(sys.argv[2]) if len(sys.argv) > 2 else 50.0) / 1000
    server = serve(delay)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    prompts = [f"prompt {i}" for i in range(n)]
    baseline = None
    print(f"{n} requests, {delay * 1000:.0f} ms server latency each")
    print(f"{'concurrency':>11} {'seconds':>8} {'req/s':>8} {'vs 1':>6}")
    for concurrency in (1, 4, 8, 16):
        policy = load_policy(f"openai:bench@{url}", concurrency=concurrency)
        started = time.perf_counter()
        out = policy.generate(prompts, Sampling(max_tokens=8))
        seconds = time.perf_counter() - started
        policy.close()
        assert len(out) == n and all(c.text == "<answer>1</answer>" for c in out)
        baseline = baseline or seconds
        print(f"{concurrency:>11} {seconds:>8.2f} {n / seconds:>8.1f} {baseline / seconds:>5.1f}x")
    server.shutdown()


if __name__ == "__main__":
    main()
