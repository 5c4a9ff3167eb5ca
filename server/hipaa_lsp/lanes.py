"""The language server's analysis lanes: worker processes, each fed in order by its own thread.

Two lanes, so that one slow file cannot keep every other file waiting: `main` for ordinary files
and `heavy` (started on first use) for files over `HEAVY_BYTES`, or whose last analysis took longer
than `HEAVY_SECONDS`. Requests on files of the main lane are answered while a heavy file is
checked. In the heavy lane a newer edit kills an analysis that is still running for an older text.

Each lane remembers, in its own thread and in the order it sent them, the texts its worker holds
(`shadow`), so after a kill or a crash it starts a new worker and replays them: no edit is lost or
applied twice, whatever the front has queued meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from .config import Config
from .positions import UTF16
from .worker_pool import WorkerLost, WorkerProcess

log = logging.getLogger("hipaa_lsp.lanes")

HEAVY_BYTES = 512 * 1024
HEAVY_SECONDS = 0.25


class Cancelled(Exception):
    """The call's worker was stopped on purpose: its answer would have been stale."""


class Lane:
    def __init__(self, name: str, log_level: int, start: bool):
        self.name = name
        self.log_level = log_level
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"hipaa-lsp-{name}")
        self.worker: WorkerProcess | None = None
        self.settings: tuple[Config, str] = (Config(), UTF16)
        # uri -> (path, data, version, the document's config), as sent
        self.shadow: dict[str, tuple[str, bytes, int, Config | None]] = {}
        self.lock = threading.Lock()
        self.busy: str | None = None  # the uri of an analysis under way
        self.cancelling = False
        # uri -> the newest version the front has sent: an analysis of an older one is not started.
        self.latest: dict[str, int] = {}
        if start:
            self.executor.submit(self._ensure_worker)

    # ---------------------------------------------------------------- in the lane's thread

    def _ensure_worker(self) -> WorkerProcess:
        if self.worker is None or not self.worker.alive:
            if self.worker is None:
                self.worker = WorkerProcess(self.log_level)
            else:
                self.worker.restart()
            self._replay()
        return self.worker

    def _replay(self) -> None:
        config, encoding = self.settings
        self.worker.call("configure", config, encoding, timeout=None)
        for uri, (path, data, version, doc_config) in list(self.shadow.items()):
            self.worker.call("open", uri, path, data, version, doc_config, timeout=self._budget())

    def _budget(self) -> float:
        return self.settings[0].limits.analysis_timeout_ms / 1000

    def run(self, operation: str, args: tuple, analyses: bool, version: int | None = None):
        """One request to the worker; WorkerLost (after a restart and replay) or Cancelled on failure."""
        if analyses and version is not None and self.latest.get(args[0], version) > version:
            raise Cancelled()  # an edit arrived while this request waited: its answer would be stale
        # The shadow is updated before sending, so a replay after a failure includes this change.
        if operation == "configure":
            self.settings = args
        elif operation == "open":
            uri, path, data, version, doc_config = args
            self.shadow[uri] = (path, data, version, doc_config)
        elif operation == "doc_config":
            uri, doc_config = args
            if uri not in self.shadow:
                return None  # closed meanwhile
            self.shadow[uri] = self.shadow[uri][:3] + (doc_config,)
        elif operation in ("edit", "replace"):
            uri = args[0]
            path, doc_config = self.shadow[uri][0], self.shadow[uri][3]
            data, version = args[-2:] if operation == "edit" else args[1:]
            self.shadow[uri] = (path, data, version, doc_config)
            if operation == "edit":
                args = args[:2] + (version,)  # the worker applies the changes; the text is for replay
        elif operation == "close":
            self.shadow.pop(args[0], None)
            self.latest.pop(args[0], None)
        with self.lock:
            self.busy = args[0] if analyses else None
            self.cancelling = False
        try:
            worker = self._ensure_worker()
            return worker.call(operation, *args, timeout=self._budget())
        except WorkerLost:
            cancelled = self.cancelling
            self._recover()
            if cancelled:
                raise Cancelled() from None
            raise
        finally:
            with self.lock:
                self.busy = None

    def _recover(self) -> None:
        try:
            self._ensure_worker()
        except WorkerLost:  # the replay itself failed: try once more with a clean process
            log.warning("%s lane: replay after a lost worker failed; retrying", self.name)
            self.worker.kill()
            self._ensure_worker()

    # ------------------------------------------------------------- from the event loop

    def cancel_stale(self, uri: str, version: int) -> None:
        """A newer text of `uri` arrived: kill its analysis if one is running (heavy lane only: there
        an analysis can take seconds, while a restart and replay take about half a second)."""
        self.latest[uri] = version
        if self.name != "heavy":
            return
        with self.lock:
            if self.busy != uri or self.worker is None:
                return
            self.cancelling = True
        log.info("%s lane: stopping an analysis made stale by an edit", self.name)
        self.worker.stop_process()  # the lane's thread sees the pipe close and recovers

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self.worker is not None:
            self.worker.kill()


class Lanes:
    def __init__(self, log_level: int):
        self.log_level = log_level
        self.lanes = {"main": Lane("main", log_level, start=True)}
        self.settings: tuple[Config, str] = (Config(), UTF16)

    def _lane(self, name: str) -> Lane:
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(name, self.log_level, start=False)
            lane.executor.submit(lane.run, "configure", self.settings, False)
        return lane

    def lane_for_size(self, size: int) -> str:
        return "heavy" if size > HEAVY_BYTES else "main"

    def call(self, lane: str, operation: str, *args, analyses: bool = False,
             version: int | None = None) -> asyncio.Future:
        return asyncio.get_running_loop().run_in_executor(self._lane(lane).executor, self._lane(lane).run,
                                                          operation, args, analyses, version)

    def send(self, lane: str, operation: str, *args) -> None:
        """A request whose answer nobody waits for (open, edit, close); failures are logged."""
        future = self._lane(lane).executor.submit(self._lane(lane).run, operation, args, False)
        future.add_done_callback(_log_failure)

    def configure(self, config: Config, encoding: str) -> None:
        self.settings = (config, encoding)
        for name in self.lanes:
            self.send(name, "configure", config, encoding)

    def open(self, lane: str, uri: str, path: str, data: bytes, version: int, config: Config | None = None) -> None:
        self.send(lane, "open", uri, path, data, version, config)

    def doc_config(self, lane: str, uri: str, config: Config) -> None:
        """A document's own configuration changed (its project file, or the editor settings)."""
        self.send(lane, "doc_config", uri, config)

    def edit(self, lane: str, uri: str, changes, data: bytes, version: int) -> None:
        self.send(lane, "edit", uri, changes, data, version)

    def replace(self, lane: str, uri: str, data: bytes, version: int) -> None:
        self.send(lane, "replace", uri, data, version)

    def close(self, lane: str, uri: str) -> None:
        self.send(lane, "close", uri)

    def cancel_stale(self, lane: str, uri: str, version: int) -> None:
        if lane in self.lanes:
            self.lanes[lane].cancel_stale(uri, version)

    def note_cost(self, doc, elapsed: float) -> None:
        """Move a document whose analysis is slow out of the main lane."""
        if doc.lane == "main" and elapsed > HEAVY_SECONDS:
            log.info("moving %s to the heavy lane (analysis took %.2f s)", doc.uri, elapsed)
            self.close("main", doc.uri)
            doc.lane = "heavy"
            self.open("heavy", doc.uri, doc.path, doc.data, doc.version, doc.config)

    def close_all(self) -> None:
        for lane in self.lanes.values():
            lane.shutdown()


def _log_failure(future) -> None:
    exc = future.exception()
    if exc is not None and not isinstance(exc, Cancelled):
        log.warning("analysis worker request failed: %s", type(exc).__name__ if not isinstance(exc, WorkerLost) else exc)
