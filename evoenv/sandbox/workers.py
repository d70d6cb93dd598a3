"""The sandbox's worker pool (``WorkerPool``), the mechanics both backends share: idle workers in a queue, the static
policy gate, one-off workers for fresh hash seeds, recycling and closing.

A backend supplies ``_start(hash_seed)`` (a new worker: a zygote process or a
container) and ``_stop(worker)``. A worker is a ``Worker``: it has ``alive``,
``jobs_run``, ``layers``, ``notes`` and ``run(code, calls, limits, builtins)``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from evoenv.answers import over_answer_cap
from evoenv.sandbox import layers as L
from evoenv.sandbox import policy
from evoenv.sandbox.base import (
    CRASH,
    OK,
    TIMEOUT,
    CallResult,
    JobResult,
    Limits,
    SandboxUnavailable,
    new_nonce,
    protocol,
)

#: Seconds the host waits beyond a job's own wall limit before it gives the worker up.
HOST_GRACE_S = 5.0


class Worker:
    """One zygote behind a byte stream (a process's pipes, a container's attach socket).
    Not thread-safe; the pool hands it to one caller at a time.

    A subclass supplies ``alive``, ``_send(frame, deadline)``, ``_read(deadline)`` (the
    next frame, None at end of stream, ``TimeoutError`` past the deadline) and
    ``_abandon()`` (never use this worker again)."""

    what = "worker"  # for messages: "sandbox worker failed: ..."
    jobs_run = 0

    def _send(self, frame: bytes, deadline: float) -> None:
        raise NotImplementedError

    def _read(self, deadline: float) -> dict | None:
        raise NotImplementedError

    def _abandon(self) -> None:
        raise NotImplementedError

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits, builtins: tuple[str, ...] | None = None) -> JobResult:
        """One job: send its frame, wait for the reply that carries its nonce. Anything else
        (timeout, end of stream, a broken or foreign frame) abandons the worker."""
        nonce = new_nonce()
        job = {"nonce": nonce, "code": code, "calls": calls, "limits": limits.as_dict()}
        if builtins is not None:
            job["builtins"] = list(builtins)
        started = time.monotonic()
        deadline = started + limits.wall_s + HOST_GRACE_S
        try:
            self._send(protocol.encode_job(job), deadline)
            reply = self._read(deadline)
        except TimeoutError:
            self._abandon()
            return JobResult(TIMEOUT, detail=f"host wall-clock limit of {limits.wall_s} s exceeded")
        except protocol.MalformedFrame as exc:
            # The zygote checked the frame's length and nonce before passing it on, so the stream is
            # in step: only this job failed, and the worker serves the next one.
            self.jobs_run += 1
            return JobResult(CRASH, detail=f"malformed result: {exc}")
        except (OSError, protocol.ProtocolError) as exc:
            self._abandon()
            return JobResult(CRASH, detail=f"sandbox {self.what} failed: {exc}")
        self.jobs_run += 1
        if reply is None:
            self._abandon()
            return JobResult(CRASH, detail=f"sandbox {self.what} exited")
        if reply.get("nonce") != nonce:
            self._abandon()
            return JobResult(CRASH, detail="reply did not carry this job's nonce")
        result = JobResult.from_reply(reply, calls)
        result.duration_s = time.monotonic() - started
        return result


class WorkerPool:
    kind = "abstract"

    def __init__(self, workers: int, limits: Limits | None, recycle_after: int,
                 static_policy: bool, restricted_builtins: bool):
        self.limits = limits or Limits()
        self.recycle_after = recycle_after
        self.static_policy = static_policy
        self.restricted_builtins = restricted_builtins
        self.required_layers = L.required_layers(self.limits)
        self._workers = max(1, workers)
        self._idle: queue.Queue[Any] = queue.Queue()  # None: a slot whose worker starts lazily
        self._lock = threading.Lock()
        self._all: set[Any] = set()
        self._closed = False
        # Warm workers started with a fixed PYTHONHASHSEED, idle ones per seed (see run()).
        self._seeded: OrderedDict[int, list[Any]] = OrderedDict()

    #: How many distinct hash seeds keep warm workers (L3 uses two).
    SEEDED_KEPT = 4

    # ---- what a backend provides ---------------------------------------------------------

    def _start(self, hash_seed: int | None = None):
        raise NotImplementedError

    def _stop(self, worker) -> None:
        raise NotImplementedError

    # ---- shared mechanics ----------------------------------------------------------------

    def _open(self) -> None:
        """Start the first worker now: it reports the layers this machine allows, and we
        refuse here, before any job, when the configured minimum is not met."""
        first = self._launch()
        self.layers, self.notes = first.layers, first.notes
        self.required_layers = L.required_layers(self.limits, self.layers, self.kind)
        try:
            L.enforce(self.kind, self.layers, self.required_layers, self.notes)
        except SandboxUnavailable:
            self.close()
            raise
        self._idle.put(first)
        for _ in range(self._workers - 1):
            self._idle.put(None)

    def _launch(self, hash_seed: int | None = None):
        worker = self._start(hash_seed)
        with self._lock:
            self._all.add(worker)
            closed = self._closed
        if closed:
            self._retire(worker)
            raise RuntimeError("sandbox is closed")
        return worker

    def _retire(self, worker) -> None:
        self._stop(worker)
        with self._lock:
            self._all.discard(worker)

    def _take(self):
        worker = self._idle.get()
        if worker is not None and (not worker.alive or worker.jobs_run >= self.recycle_after):
            self._retire(worker)
            worker = None
        if worker is None:
            try:
                worker = self._launch()
            except BaseException:
                self._idle.put(None)  # keep the slot: the next caller tries again
                raise
        return worker

    def run(self, code: str, calls: Sequence[protocol.Call], limits: Limits | None = None,
            fresh_hash_seed: int | None = None) -> JobResult:
        if self._closed:
            raise RuntimeError("sandbox is closed")
        # The platform owns the answer-size cap: an over-long answer scores 0 here, on the host, and never
        # reaches the environment (one place that every scoring path, admission included, goes through).
        capped = [over_answer_cap(call) for call in calls]
        if not any(capped):
            return self._run_job(code, calls, limits, fresh_hash_seed)
        sent = [call for call, cap in zip(calls, capped) if not cap]
        result = self._run_job(code, sent, limits, fresh_hash_seed) if sent else JobResult(OK)
        if result.ok:
            answered = iter(result.results)
            result.results = [CallResult(True, 0.0) if cap else next(answered) for cap in capped]
        return result

    def _run_job(self, code: str, calls: Sequence[protocol.Call], limits: Limits | None,
                 fresh_hash_seed: int | None) -> JobResult:
        limits = limits or self.limits
        if self.static_policy:
            refused = policy.gate(code)
            if refused is not None:
                return refused
        builtins = policy.restricted_builtin_names() if self.restricted_builtins else None
        if fresh_hash_seed is not None:
            return self._run_seeded(int(fresh_hash_seed), code, calls, limits, builtins)
        worker = self._take()
        try:
            return worker.run(code, calls, limits, builtins)
        finally:
            if worker.alive:
                self._idle.put(worker)
            else:
                self._retire(worker)
                self._idle.put(None)

    def _run_seeded(self, hash_seed: int, code: str, calls: Sequence[protocol.Call], limits: Limits, builtins) -> JobResult:
        """A job in a worker started with this PYTHONHASHSEED. The worker is kept warm for the
        next job with the same seed: each job still runs in a freshly forked child of a zygote
        that never ran environment code, so nothing of one job reaches the next, and the
        hash order is exactly that of a new interpreter with this seed."""
        with self._lock:
            idle = self._seeded.setdefault(hash_seed, [])
            self._seeded.move_to_end(hash_seed)
            worker = idle.pop() if idle else None
        if worker is None or not worker.alive or worker.jobs_run >= self.recycle_after:
            if worker is not None:
                self._retire(worker)
            worker = self._launch(hash_seed=hash_seed)
        try:
            return worker.run(code, calls, limits, builtins)
        finally:
            evicted = []
            with self._lock:
                if worker.alive and not self._closed:
                    self._seeded.setdefault(hash_seed, []).append(worker)
                else:
                    evicted.append(worker)
                while len(self._seeded) > self.SEEDED_KEPT:
                    evicted.extend(self._seeded.popitem(last=False)[1])
            for stale in evicted:
                self._retire(stale)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._seeded.clear()
        for worker in workers:
            self._stop(worker)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
