"""The language server's front process: LSP in and out, document texts, and nothing that can hang.

All parsing and checking happens in analysis worker processes (`analysis_worker.py`), reached
through `lanes.py`. This process keeps every open document's text, so it can kill a worker that
runs over its time budget or crashes, start a new one and replay the texts; the document that
caused it is reported by the built-in rule HLSP-UNCHECKED-001 until its text changes. Every handler
catches its own failures, logs them (without message bodies) and answers with an empty result.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from dataclasses import replace
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import __version__
from .config import Config, config_from
from .lanes import Cancelled, Lanes
from .limits import UNCHECKED_RULE
from .lsp_names import FIX_ALL_KIND, SEVERITY, SOURCE
from .positions import UTF8, UTF16, UTF32, LineIndex
from .protocol import HipaaProtocol
from .worker_pool import WorkerFailed, WorkerLost

log = logging.getLogger("hipaa_lsp")



def _safe(default=None):
    """Log and swallow a handler's exception; answer with `default`."""

    def wrap(fn):
        if asyncio.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def run_async(*args, **kwargs):
                try:
                    return await fn(*args, **kwargs)
                except Exception:  # noqa: BLE001 - the server must keep serving
                    log.exception("%s failed", fn.__name__)
                    return default
            return run_async

        @functools.wraps(fn)
        def run(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception:  # noqa: BLE001
                log.exception("%s failed", fn.__name__)
                return default
        return run

    return wrap


def _rule_ids() -> frozenset[str]:
    from .rulebook import load_rulebook  # only once a project file is found: keeps start-up light

    return frozenset(load_rulebook().rules)


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "untitled", "") else unquote(parsed.path or uri)


class FrontDocument:
    """What the front keeps of an open document: its text and where its analysis lives."""

    __slots__ = ("uri", "path", "version", "data", "lane", "failed", "_index", "config", "excluded")

    def __init__(self, uri: str, path: str, data: bytes, version: int, lane: str):
        self.uri, self.path, self.data, self.version, self.lane = uri, path, data, version, lane
        # Editor settings with the document's project file applied (see `resolve`); an excluded
        # document gets no findings, as `scan` would not read it.
        self.config: Config = Config()
        self.excluded = False
        # (version, reason) of an analysis that was stopped (time budget, crash): not retried
        # until the text changes.
        self.failed: tuple[int, str] | None = None
        self._index: LineIndex | None = None

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.data is not self.data:
            self._index = LineIndex(self.data)
        return self._index


class HipaaLanguageServer(LanguageServer):
    def __init__(self):
        super().__init__("hipaa-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=HipaaProtocol)
        self.config = Config()
        self.documents: dict[str, FrontDocument] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.client_pulls = False
        self.client_has_configuration = False
        self.lanes = Lanes(logging.getLogger("hipaa_lsp").getEffectiveLevel())
        self.finder = None  # project_config.ProjectFinder, rebuilt when settings or project files change
        self.config_errors: dict[str, object] = {}  # config file path -> its ConfigError
        self.warned: set[str] = set()  # showMessage warnings already sent

    # ------------------------------------------------------------ encoding

    @property
    def encoding(self) -> str:
        enc = self.workspace.position_encoding if self._workspace_ready() else None
        value = getattr(enc, "value", enc) or "utf-16"
        return {"utf-8": UTF8, "utf-16": UTF16, "utf-32": UTF32}.get(str(value), UTF16)

    def _workspace_ready(self) -> bool:
        try:
            return self.workspace is not None
        except RuntimeError:
            return False

    # ------------------------------------------------------------ documents

    def open(self, uri: str, text: str, version: int) -> FrontDocument:
        # A lone surrogate sent by a client becomes "?": one UTF-16 unit, like the original.
        data = text.encode("utf-8", errors="replace")
        doc = FrontDocument(uri, uri_to_path(uri), data, version, self.lanes.lane_for_size(len(data)))
        self.documents[uri] = doc
        self.resolve(doc)
        self.lanes.open(doc.lane, uri, doc.path, data, version, doc.config)
        return doc

    # ------------------------------------------------------------ project files

    def stop_dirs(self) -> tuple[str, ...]:
        if not self._workspace_ready():
            return ()
        folders = [uri_to_path(f.uri) for f in self.workspace.folders.values()]
        if self.workspace.root_uri:
            folders.append(uri_to_path(self.workspace.root_uri))
        return tuple(folders)

    def resolve(self, doc: FrontDocument) -> None:
        """The document's configuration: the closest project file over the editor settings. A
        broken project file is reported (and shown on itself when open); defaults apply meanwhile."""
        from .project_config import ConfigError, ProjectFinder

        doc.config, doc.excluded = self.editor_config(doc.path), False
        if not doc.uri.startswith("file:"):
            return
        if self.finder is None:
            self.finder = ProjectFinder(self.stop_dirs(), _rule_ids)
        try:
            project = self.finder.project_for(doc.path)
        except ConfigError as exc:
            self.config_error(exc)
            return
        if project is not None:
            doc.config = project.config_for(doc.path, doc.config)
            doc.excluded = project.excluded(doc.path)
            for note in project.notes:
                self.warn_once(note, lsp.MessageType.Info)

    def editor_config(self, path: str) -> Config:
        """The editor settings for `path`: relative `fileAssociations` globs are relative to the
        workspace folder holding it (paths here are absolute, so they would never match)."""
        import glob as globlib

        relative = [g for g in self.config.file_associations if not g.startswith(("/", "*"))]
        folder = next((f for f in sorted(self.stop_dirs(), key=len, reverse=True)
                       if path.startswith(f.rstrip("/") + "/")), None)
        if not relative or folder is None:
            return self.config
        prefix = globlib.escape(folder.rstrip("/")) + "/"
        associations = {(prefix + g if g in relative else g): k for g, k in self.config.file_associations.items()}
        return replace(self.config, file_associations=associations)

    def config_error(self, exc) -> None:
        self.config_errors[exc.path] = exc
        self.warn_once(f"{exc} (project configuration ignored until fixed)", lsp.MessageType.Warning)

    def warn_once(self, text: str, kind) -> None:
        if text in self.warned:
            return
        self.warned.add(text)
        log.warning("project configuration: %s", text)
        self.window_show_message(lsp.ShowMessageParams(kind, f"hipaa-lsp: {text}"))

    def reload_projects(self) -> None:
        """Project files changed (or the settings they are merged over): resolve every document again."""
        self.finder, self.config_errors, self.warned = None, {}, set()
        for doc in list(self.documents.values()):
            self.resolve(doc)
            doc.failed = None
            self.lanes.doc_config(doc.lane, doc.uri, doc.config)

    def config_file_diagnostics(self, doc: FrontDocument) -> list[dict]:
        """Diagnostics on an open project file: its own problems, from the editor's text."""
        from .project_config import PYPROJECT, ConfigError, parse_layer

        if os.path.basename(doc.path) == PYPROJECT and b"hipaa-lsp" not in doc.data:
            return []
        try:
            parse_layer(doc.path, _rule_ids(), doc.data.decode("utf-8", "replace"))
            error = self.config_errors.get(doc.path)  # e.g. an extend cycle, found on disk
        except ConfigError as exc:
            error = exc
        if error is None:
            return []
        line = max(0, error.line - 1)
        return [{"range": {"start": {"line": line, "character": 0}, "end": {"line": line + 1, "character": 0}},
                 "message": error.message, "severity": 1, "source": SOURCE, "code": "config"}]

    def change(self, doc: FrontDocument, content_changes, version: int) -> None:
        changes: list[tuple[int, int, bytes]] = []
        data = doc.data
        whole = None
        for change in content_changes:
            text = change.text.encode("utf-8", "replace")
            if isinstance(change, lsp.TextDocumentContentChangePartial) and change.range is not None:
                # Each change's range is in the text left by the previous change.
                index = LineIndex(data) if data is not doc.data else doc.index
                start = index.offset(change.range.start.line, change.range.start.character, self.encoding)
                end = max(start, index.offset(change.range.end.line, change.range.end.character, self.encoding))
                data = data[:start] + text + data[end:]
                changes.append((start, end, text))
            else:
                data, changes, whole = text, [], text
        doc.data, doc.version, doc.failed = data, version, None
        # A newer text makes an older analysis still running in the heavy lane worthless.
        self.lanes.cancel_stale(doc.lane, doc.uri, version)
        if whole is not None and not changes:
            self.lanes.replace(doc.lane, doc.uri, data, version)
        else:
            if whole is not None:  # a full text, then ranges in that text
                self.lanes.replace(doc.lane, doc.uri, whole, version)
            self.lanes.edit(doc.lane, doc.uri, changes, data, version)

    async def analyse(self, doc: FrontDocument, operation: str, *args):
        """Run `operation` on the document in its worker: (value, None), or (None, why it failed)."""
        if doc.failed is not None and doc.failed[0] == doc.version:
            return None, doc.failed[1]
        version = doc.version
        try:
            value = await self.lanes.call(doc.lane, operation, doc.uri, *args, analyses=True, version=version)
        except Cancelled:
            return None, None
        except WorkerLost as exc:
            if doc.version == version:
                doc.failed = (version, f"{exc} (setting analysisTimeoutMs)" if exc.timed_out else str(exc))
                log.warning("analysis of %s stopped: %s", doc.uri, doc.failed[1])
                return None, doc.failed[1]
            return None, None
        except WorkerFailed as exc:
            log.warning("analysis of %s failed in the worker: %s", doc.uri, exc)
            return None, None
        return value, None

    async def diagnostics(self, doc: FrontDocument) -> bytes | None:
        """The document's diagnostics as a JSON array, or None when a newer version made them stale.

        JSON, not objects: the worker serialises them once and `publish` sends the bytes as they are
        (unpickling and re-serialising a thousand diagnostics here would cost more than the analysis)."""
        from .project_config import is_config_file

        if doc.excluded:
            return b"[]"
        if is_config_file(doc.path) and doc.uri.startswith("file:"):
            return json.dumps(self.config_file_diagnostics(doc)).encode()
        version = doc.version
        result, failure = await self.analyse(doc, "diagnostics")
        if doc.version != version or self.documents.get(doc.uri) is not doc:
            return None
        if failure is not None:
            return json.dumps(self.unchecked_diagnostics(failure, doc.config)).encode()
        if result is None:
            return None
        items, elapsed = result
        self.lanes.note_cost(doc, elapsed)
        return items

    def unchecked_diagnostics(self, reason: str, config: Config) -> list[dict]:
        if config.rule_disabled(UNCHECKED_RULE):
            return []
        from .rulebook import load_rulebook  # only when a worker was lost: keep start-up light

        message = load_rulebook().rules[UNCHECKED_RULE].message.replace("{reason}", reason)
        severity = SEVERITY[config.severity_overrides.get(UNCHECKED_RULE, "error")]
        zero = {"line": 0, "character": 0}
        return [{"range": {"start": zero, "end": zero}, "message": message, "severity": severity,
                 "source": SOURCE, "code": UNCHECKED_RULE, "data": {"ruleId": UNCHECKED_RULE, "fixable": False}}]

    async def publish(self, uri: str) -> None:
        doc = self.documents.get(uri)
        if doc is None:
            return
        items = await self.diagnostics(doc)
        if items is None:
            return
        head = json.dumps({"jsonrpc": "2.0", "method": lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
                           "params": {"uri": doc.uri, "version": doc.version, "diagnostics": None}})
        # The worker's JSON array takes the place of the null, byte for byte.
        self.protocol.send_json_body(head[: -len("null}}")].encode() + items + b"}}")

    def schedule(self, uri: str) -> None:
        """Debounced push of diagnostics (clients that pull ask for them themselves)."""
        if self.client_pulls:
            return
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri))

    async def _publish_later(self, uri: str) -> None:
        try:
            if self.config.debounce_ms > 0:
                await asyncio.sleep(self.config.debounce_ms / 1000)
            await self.publish(uri)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001
            log.exception("publishing diagnostics for %s failed", uri)
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                self.pending.pop(uri, None)

    def apply_config(self, settings, source: str) -> None:
        config, problems = config_from(settings, self.config)
        for p in problems:
            log.warning("settings (%s): %s", source, p)
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, f"hipaa-lsp: {p}"))
        self.config = config
        for doc in self.documents.values():
            doc.failed = None
        self.lanes.configure(config, self.encoding)
        self.reload_projects()  # project files are merged over the editor settings

    def refresh_all(self) -> None:
        if self.client_pulls:
            try:
                self.workspace_diagnostic_refresh(None)
            except Exception:  # noqa: BLE001 - an old client may not support refresh
                log.debug("diagnostic refresh not supported", exc_info=True)
        else:
            for uri in list(self.documents):
                self.schedule(uri)


def create_server() -> HipaaLanguageServer:
    server = HipaaLanguageServer()

    @server.feature(lsp.INITIALIZE)
    @_safe()
    def initialize(ls: HipaaLanguageServer, params: lsp.InitializeParams):
        caps = params.capabilities
        ls.client_pulls = bool(caps.text_document and caps.text_document.diagnostic is not None)
        ls.client_has_configuration = bool(caps.workspace and caps.workspace.configuration)
        if params.initialization_options is not None:
            ls.apply_config(params.initialization_options, "initializationOptions")
        else:
            ls.lanes.configure(ls.config, ls.encoding)
        log.info("initialized: encoding=%s pull=%s", ls.encoding, ls.client_pulls)

    @server.feature(lsp.INITIALIZED)
    @_safe()
    async def initialized(ls: HipaaLanguageServer, params: lsp.InitializedParams):
        await _pull_configuration(ls)
        if ls.documents:  # opened while the settings were on their way: check them with the settings
            ls.refresh_all()

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @_safe()
    async def did_change_configuration(ls: HipaaLanguageServer, params: lsp.DidChangeConfigurationParams):
        if ls.client_has_configuration:
            await _pull_configuration(ls)
        elif params.settings is not None:
            ls.apply_config(params.settings, "didChangeConfiguration")
        ls.refresh_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @_safe()
    def did_open(ls: HipaaLanguageServer, params: lsp.DidOpenTextDocumentParams):
        item = params.text_document
        ls.open(item.uri, item.text, item.version)
        ls.schedule(item.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @_safe()
    def did_change(ls: HipaaLanguageServer, params: lsp.DidChangeTextDocumentParams):
        uri = params.text_document.uri
        doc = ls.documents.get(uri)
        if doc is None:
            # Never read from disk what the client did not open: the URI could name a FIFO or a
            # device. (protocol.py already drops and logs these; this guards the handler itself.)
            return
        ls.change(doc, params.content_changes, params.text_document.version)
        ls.schedule(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @_safe()
    def did_save(ls: HipaaLanguageServer, params: lsp.DidSaveTextDocumentParams):
        from .project_config import is_config_file

        if is_config_file(uri_to_path(params.text_document.uri)):
            ls.reload_projects()
            ls.refresh_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @_safe()
    def did_close(ls: HipaaLanguageServer, params: lsp.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        doc = ls.documents.pop(uri, None)
        if doc is None:
            return
        ls.lanes.close(doc.lane, uri)
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        if not ls.client_pulls:
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC, lsp.DiagnosticOptions(
        identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False))
    @_safe()
    async def pull_diagnostics(ls: HipaaLanguageServer, params: lsp.DocumentDiagnosticParams):
        doc = ls.documents.get(params.text_document.uri)
        items = None
        while doc is not None and items is None:  # retried when an edit made the answer stale
            items = await ls.diagnostics(doc)
            items = json.loads(items) if items is not None else None
            doc = ls.documents.get(params.text_document.uri)
        return {"kind": "full", "items": items or []}

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @_safe()
    async def hover(ls: HipaaLanguageServer, params: lsp.HoverParams):
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        value, _ = await ls.analyse(doc, "hover", params.position.line, params.position.character)
        return value

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
        code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll, FIX_ALL_KIND]))
    @_safe(default=[])
    async def code_action(ls: HipaaLanguageServer, params: lsp.CodeActionParams):
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return []
        only = params.context.only or []
        wants_fix_all = not only or any(str(k).startswith("source") for k in only)
        wants_quickfix = not only or lsp.CodeActionKind.QuickFix in only
        r = params.range
        actions, _ = await ls.analyse(doc, "code_actions", (r.start.line, r.start.character),
                                      (r.end.line, r.end.character), wants_quickfix, wants_fix_all)
        for action in actions or []:
            rule_id = action.pop("ruleId", None)
            if rule_id is not None:
                action["diagnostics"] = [d for d in params.context.diagnostics if d.code == rule_id] or None
        return actions or []

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: HipaaLanguageServer, *args):
        for task in ls.pending.values():
            task.cancel()
        ls.lanes.close_all()

    return server


async def _pull_configuration(ls: HipaaLanguageServer) -> None:
    if not ls.client_has_configuration:
        return
    try:
        result = await asyncio.wait_for(ls.workspace_configuration_async(lsp.ConfigurationParams(
            items=[lsp.ConfigurationItem(section="hipaaLsp")])), timeout=5)
    except Exception:  # noqa: BLE001 - a client may not answer; keep what we have
        log.warning("workspace/configuration request failed", exc_info=True)
        return
    if result and result[0] is not None:
        ls.apply_config(result[0], "workspace/configuration")
