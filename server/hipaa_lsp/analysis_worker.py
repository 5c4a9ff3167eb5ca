"""The analysis worker: the process that parses and checks files, for the language server and the CLI.

tree-sitter's `parse()` and a regular-expression match hold the GIL and cannot be interrupted by a
thread or a timer, and a native crash ends the whole process. So neither the LSP front nor the CLI
analyses anything itself: they send requests here, over a pipe, and kill this process when it runs
over its time budget or dies, then start a new one and replay the texts they keep.

Requests are `(operation, args)` tuples; the answer is `("ok", value)` or `("error", text)`. Values
are plain data (dicts, lists, dataclasses of `results.py`), never parse trees. Nothing here
imports the LSP libraries.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time

from .config import Config
from .detect import detect_kind
from .document_store import Change, OpenDocument
from .positions import UTF16
from .rulebook import Rulebook, load_rulebook

log = logging.getLogger("hipaa_lsp.worker")


class WorkerState:
    """Open documents (with their incremental trees), the settings and the position encoding."""

    def __init__(self, rulebook: Rulebook | None = None):
        self.rulebook = rulebook or load_rulebook()
        self.config = Config()
        self.encoding = UTF16
        self.documents: dict[str, OpenDocument] = {}
        self.own_configs: dict[str, Config] = {}  # uri -> the document's resolved configuration

    # ------------------------------------------------------------------ documents (server)

    def configure(self, config: Config, encoding: str) -> None:
        self.config, self.encoding = config, encoding
        for uri, doc in self.documents.items():
            if uri not in self.own_configs:
                doc.reconfigure(config, detect_kind(doc.path, doc.data[:65536], config.file_associations))

    def open(self, uri: str, path: str, data: bytes, version: int, config: Config | None = None) -> str | None:
        """`config`: the document's own, resolved by the front (editor settings + project file)."""
        if config is not None:
            self.own_configs[uri] = config
        config = config or self.config
        kind = detect_kind(path, data[:65536], config.file_associations)
        self.documents[uri] = OpenDocument(uri, path, data, version, kind, self.rulebook, config)
        return kind.id if kind else None

    def doc_config(self, uri: str, config: Config) -> None:
        self.own_configs[uri] = config
        doc = self.documents[uri]
        doc.reconfigure(config, detect_kind(doc.path, doc.data[:65536], config.file_associations))

    def edit(self, uri: str, changes: list[tuple[int, int, bytes]], version: int) -> None:
        doc = self.documents[uri]
        doc.apply([Change(*c) for c in changes], version)

    def replace(self, uri: str, data: bytes, version: int) -> None:
        self.documents[uri].replace_all(data, version)

    def close(self, uri: str) -> None:
        self.documents.pop(uri, None)
        self.own_configs.pop(uri, None)

    def diagnostics(self, uri: str) -> tuple[bytes, float]:
        """The document's diagnostics as a JSON array, and how long the analysis took (seconds).

        Serialised here, once: the front splices the bytes into its message unparsed."""
        from .diagnostics import diagnostics

        doc = self.documents[uri]
        _injected_fault(doc.data)
        started = time.perf_counter()
        doc.refresh()
        elapsed = time.perf_counter() - started
        return json.dumps(diagnostics(doc, self.encoding, doc.config, self.rulebook)).encode(), elapsed

    def hover(self, uri: str, line: int, character: int) -> dict | None:
        from .lsp_hover import hover

        return hover(self.documents[uri], line, character, self.encoding, self.rulebook)

    def code_actions(self, uri: str, start: tuple[int, int], end: tuple[int, int], quickfix: bool,
                     fix_all: bool) -> list[dict]:
        from .lsp_code_actions import code_actions

        return code_actions(self.documents[uri], start, end, quickfix, fix_all, self.encoding)

    # ------------------------------------------------------------------------- files (CLI)

    def scan_file(self, path: str, config: Config, fix: bool):
        """Read, analyse (and with `fix`, repair) one file; see `scan.scan_one`."""
        from .scan import scan_one

        _injected_fault(os.fsencode(path))
        return scan_one(path, config, self.rulebook, fix)

    def ping(self) -> str:
        return "pong"


# Fault injection for the isolation tests, off unless HIPAA_LSP_TEST_FAULTS is set: a native crash
# or a GIL-holding loop cannot otherwise be produced on purpose once the input guards hold.
_FAULTS = os.environ.get("HIPAA_LSP_TEST_FAULTS", "")


def _injected_fault(data: bytes) -> None:
    if not _FAULTS:
        return
    if b"HIPAA_LSP_TEST_CRASH" in data and "crash" in _FAULTS:
        os.kill(os.getpid(), getattr(signal, "SIGSEGV", signal.SIGTERM))
    if b"HIPAA_LSP_TEST_HANG" in data and "hang" in _FAULTS:
        while True:  # holds the GIL, like a runaway regex
            pass


def run(conn, log_level: int = logging.WARNING) -> None:
    """The worker's loop; returns when the other end closes the pipe."""
    logging.basicConfig(stream=sys.stderr, level=log_level,
                        format="%(asctime)s %(levelname)s %(name)s[worker %(process)d]: %(message)s")
    try:
        from .log_safety import install_log_safety
    except ImportError:  # pragma: no cover - before the log filter lands
        pass
    else:
        install_log_safety()
    state = WorkerState()
    try:
        conn.send(("ok", "ready"))
    except (BrokenPipeError, OSError):
        return
    while True:
        try:
            operation, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            handler = getattr(state, operation)
            reply = ("ok", handler(*args))
        except Exception as exc:  # noqa: BLE001 - one bad request must not end the worker
            # The type only: an exception's text can quote the file.
            log.warning("%s failed: %s", operation, type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            reply = ("error", type(exc).__name__)
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
