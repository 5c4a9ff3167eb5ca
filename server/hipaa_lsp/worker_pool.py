"""Analysis worker processes, as the LSP front and the CLI use them: start, call with a budget, kill.

A call that runs over its budget kills the worker (nothing else can stop a parse or a regex that
holds the GIL); a worker that dies (a segfault in a grammar) is noticed as a closed pipe. Either
way the caller gets an exception naming what happened, and `restart()` gives a fresh process.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from multiprocessing.connection import wait


log = logging.getLogger("hipaa_lsp.pool")

# Workers are started with "spawn" everywhere: forking a process that runs threads (the LSP front)
# can deadlock, and spawn behaves the same on Linux, macOS and Windows.
_CONTEXT = multiprocessing.get_context("spawn")


# Starting a worker (a Python process importing the grammars and loading the rules) takes about half
# a second; this bounds a start that never finishes.
STARTUP_SECONDS = 120.0


def _worker_entry(conn, log_level: int) -> None:
    # Imported here, in the worker, so the LSP front and the CLI's main process never load the
    # grammars and the rules they do not use.
    from .analysis_worker import run

    run(conn, log_level)


class WorkerLost(Exception):
    """The worker ran over its budget (`timed_out`) or died; it has been stopped."""

    def __init__(self, timed_out: bool, detail: str):
        super().__init__(detail)
        self.timed_out = timed_out


class WorkerFailed(Exception):
    """The request raised inside the worker (the worker itself is fine)."""


class WorkerProcess:
    def __init__(self, log_level: int = logging.WARNING, wait: bool = True):
        self.log_level = log_level
        self.process = None
        self.conn = None
        self.start(wait)

    def start(self, wait: bool = True) -> None:
        parent, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_worker_entry, args=(child, self.log_level), daemon=True,
                                        name="hipaa-lsp-analysis")
        self.process.start()
        child.close()
        self.conn = parent
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the worker's first message, sent once it has loaded the rules: a request's time
        budget must not include the process start (seconds on a loaded machine)."""
        if self.receive(STARTUP_SECONDS) != "ready":
            raise WorkerFailed("unexpected first message from the analysis worker")

    def send(self, operation: str, *args) -> None:
        try:
            self.conn.send((operation, args))
        except (BrokenPipeError, OSError, EOFError):
            self._died()

    def receive(self, timeout: float | None):
        """The answer to the request sent last; WorkerLost when the budget runs out or the worker dies."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if self.conn.poll(remaining):
                try:
                    status, value = self.conn.recv()
                except (EOFError, OSError):
                    self._died()
                if status == "error":
                    raise WorkerFailed(value)
                return value
            if deadline is not None and time.monotonic() >= deadline:
                self.kill()
                raise WorkerLost(True, f"analysis took longer than {timeout:g} s")

    def call(self, operation: str, *args, timeout: float | None = None):
        self.send(operation, *args)
        return self.receive(timeout)

    def _died(self):
        self.process.join(timeout=5)
        code = self.process.exitcode
        self.kill()
        detail = f"the analysis process stopped (signal {-code})" if code and code < 0 else \
            f"the analysis process stopped (exit code {code})"
        raise WorkerLost(False, detail)

    def stop_process(self) -> None:
        """Kill the process only; safe from another thread (the pipe is closed by whoever reads it)."""
        if self.process is not None and self.process.is_alive():
            self.process.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(timeout=5)
        if self.conn is not None:
            self.conn.close()

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()


class ScanPool:
    """Workers for `hipaa-lsp scan`: one file at a time each, results as they finish, with a per-file
    budget. A file that kills or outlasts its worker is returned as lost, and the worker replaced."""

    def __init__(self, jobs: int, log_level: int = logging.WARNING):
        self.workers = [WorkerProcess(log_level, wait=False) for _ in range(max(1, jobs))]
        for worker in self.workers:  # started together, waited for together
            worker.wait_ready()

    def run(self, tasks, timeout: float):
        """Yield (task, result or WorkerLost or WorkerFailed) for each `(operation, args)` task."""
        pending = list(reversed(tasks))
        busy: dict[object, tuple[WorkerProcess, tuple, float]] = {}
        idle = list(self.workers)
        while pending or busy:
            while idle and pending:
                worker, task = idle.pop(), pending.pop()
                worker.send(task[0], *task[1])
                busy[worker.conn] = (worker, task, time.monotonic() + timeout)
            soonest = min(deadline for _, _, deadline in busy.values())
            ready = wait(list(busy), timeout=max(0.0, soonest - time.monotonic()))
            now = time.monotonic()
            for conn in list(busy):
                worker, task, deadline = busy[conn]
                if conn not in ready and now < deadline:
                    continue
                del busy[conn]
                if conn in ready:
                    try:
                        outcome = worker.receive(None)
                    except (WorkerLost, WorkerFailed) as exc:
                        outcome = exc
                else:
                    worker.kill()
                    outcome = WorkerLost(True, f"analysis took longer than {timeout:g} s")
                if isinstance(outcome, WorkerLost):
                    worker.start(wait=True)
                idle.append(worker)
                yield task, outcome

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
