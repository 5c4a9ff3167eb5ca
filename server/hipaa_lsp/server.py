"""The language server: LSP messages in, diagnostics / hovers / code actions out.

The protocol layer is thin: documents live in `document_store`, analysis in `engine`, fixes in
`fixes`, texts in `explain`. Every handler catches its own failures, logs them and answers with
an empty result, so one bad file or request never takes the server down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import unquote, urlparse

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from . import __version__
from .config import Config, config_from
from .detect import detect_kind
from .diagnostics import SOURCE
from .diagnostics import diagnostics as diagnostic_dicts
from .document_store import Change, OpenDocument
from .engine import Finding
from .explain import rule_markdown
from .fixes import FixPlan, plan_fix
from .positions import UTF8, UTF16, UTF32, LineIndex
from .protocol import HipaaProtocol
from .rulebook import Rulebook, load_rulebook

log = logging.getLogger("hipaa_lsp")

FIX_ALL_KIND = "source.fixAll.hipaa-lsp"


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


def uri_to_path(uri: str) -> str:
    parsed = urlparse(uri)
    return unquote(parsed.path) if parsed.scheme in ("file", "untitled", "") else unquote(parsed.path or uri)


class HipaaLanguageServer(LanguageServer):
    def __init__(self, rulebook: Rulebook | None = None):
        super().__init__("hipaa-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=HipaaProtocol)
        self.rulebook = rulebook or load_rulebook()
        self.config = Config()
        self.documents: dict[str, OpenDocument] = {}
        self.pending: dict[str, asyncio.Task] = {}
        self.client_pulls = False
        self.client_has_configuration = False
        self.fix_all_cache: dict[str, tuple[tuple[int, int], lsp.CodeAction | None]] = {}

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

    def to_range(self, index: LineIndex, start: int, end: int) -> lsp.Range:
        s, e = index.position(start, self.encoding), index.position(end, self.encoding)
        return lsp.Range(lsp.Position(s.line, s.character), lsp.Position(e.line, e.character))

    def to_offset(self, index: LineIndex, pos: lsp.Position) -> int:
        return index.offset(pos.line, pos.character, self.encoding)

    # ------------------------------------------------------------ documents

    def open(self, uri: str, text: str, version: int) -> OpenDocument:
        path = uri_to_path(uri)
        # A lone surrogate sent by a client becomes "?": one UTF-16 unit, like the original.
        data = text.encode("utf-8", errors="replace")
        kind = detect_kind(path, data[:65536], self.config.file_associations)
        doc = OpenDocument(uri, path, data, version, kind, self.rulebook, self.config)
        self.documents[uri] = doc
        return doc

    def diagnostics(self, doc: OpenDocument) -> list[dict]:
        return diagnostic_dicts(doc, self.encoding, self.config, self.rulebook)

    def publish(self, doc: OpenDocument) -> None:
        # Sent as plain JSON: going through the typed converter costs ~10 ms per 1,000 diagnostics.
        self.protocol._send_data({"jsonrpc": "2.0", "method": lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
                                  "params": {"uri": doc.uri, "version": doc.version,
                                             "diagnostics": self.diagnostics(doc)}})

    def schedule(self, uri: str) -> None:
        """Debounced push of diagnostics (clients that pull ask for them themselves)."""
        if self.client_pulls:
            return
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        if self.config.debounce_ms <= 0:
            doc = self.documents.get(uri)
            if doc is not None:
                self.publish(doc)
            return
        self.pending[uri] = asyncio.ensure_future(self._publish_later(uri))

    async def _publish_later(self, uri: str) -> None:
        try:
            await asyncio.sleep(self.config.debounce_ms / 1000)
            doc = self.documents.get(uri)
            if doc is not None:
                self.publish(doc)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001
            log.exception("publishing diagnostics for %s failed", uri)
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                self.pending.pop(uri, None)

    def findings_at(self, doc: OpenDocument, start: int, end: int) -> list[Finding]:
        doc.refresh()
        return [f for f in doc.findings if f.start <= end and start <= f.end]

    def fix_all_action(self, doc: OpenDocument) -> lsp.CodeAction | None:
        """The fix-all action, computed once per document version: editors ask for code actions
        on every cursor move, and planning a thousand fixes each time would stall typing."""
        doc.refresh()
        cached = self.fix_all_cache.get(doc.uri)
        if cached is not None and cached[0] == (doc.version, id(self.config)):
            return cached[1]
        plans = [p for p in (plan_fix(f, doc.data) for f in doc.findings) if p is not None and p.safe]
        action = lsp.CodeAction(title=f"Apply all {len(plans)} hipaa-lsp fixes", kind=FIX_ALL_KIND,
                                edit=_workspace_edit(self, doc, plans)) if plans else None
        self.fix_all_cache[doc.uri] = ((doc.version, id(self.config)), action)
        return action

    def apply_config(self, settings, source: str) -> None:
        config, problems = config_from(settings, self.config)
        for p in problems:
            log.warning("settings (%s): %s", source, p)
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, f"hipaa-lsp: {p}"))
        self.config = config
        for doc in self.documents.values():
            doc.reconfigure(config, detect_kind(doc.path, doc.data[:65536], config.file_associations))

    def refresh_all(self) -> None:
        if self.client_pulls:
            try:
                self.workspace_diagnostic_refresh(None)
            except Exception:  # noqa: BLE001 - an old client may not support refresh
                log.debug("diagnostic refresh not supported", exc_info=True)
        else:
            for uri in list(self.documents):
                self.schedule(uri)


def create_server(rulebook: Rulebook | None = None) -> HipaaLanguageServer:
    server = HipaaLanguageServer(rulebook)

    @server.feature(lsp.INITIALIZE)
    @_safe()
    def initialize(ls: HipaaLanguageServer, params: lsp.InitializeParams):
        caps = params.capabilities
        ls.client_pulls = bool(caps.text_document and caps.text_document.diagnostic is not None)
        ls.client_has_configuration = bool(caps.workspace and caps.workspace.configuration)
        if params.initialization_options is not None:
            ls.apply_config(params.initialization_options, "initializationOptions")
        log.info("initialized: encoding=%s pull=%s", ls.encoding, ls.client_pulls)

    @server.feature(lsp.INITIALIZED)
    @_safe()
    async def initialized(ls: HipaaLanguageServer, params: lsp.InitializedParams):
        await _pull_configuration(ls)

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
            # Never opened: do not fall back to reading the URI's path (it may be /dev/zero or a FIFO).
            log.warning("ignored didChange for a document that is not open")
            return
        else:
            version = params.text_document.version
            for change in params.content_changes:
                if isinstance(change, lsp.TextDocumentContentChangePartial) and change.range is not None:
                    # Each change's range is in the text left by the previous change.
                    start = ls.to_offset(doc.index, change.range.start)
                    end = max(start, ls.to_offset(doc.index, change.range.end))
                    doc.apply([Change(start, end, change.text.encode("utf-8", "replace"))], version)
                else:
                    doc.replace_all(change.text.encode("utf-8", "replace"), version)
            doc.version = params.text_document.version
        ls.schedule(uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @_safe()
    def did_close(ls: HipaaLanguageServer, params: lsp.DidCloseTextDocumentParams):
        uri = params.text_document.uri
        if uri not in ls.documents:
            log.warning("ignored didClose for a document that is not open")
            return
        ls.documents.pop(uri, None)
        ls.fix_all_cache.pop(uri, None)
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        if not ls.client_pulls:
            ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC, lsp.DiagnosticOptions(
        identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False))
    @_safe()
    def pull_diagnostics(ls: HipaaLanguageServer, params: lsp.DocumentDiagnosticParams):
        doc = ls.documents.get(params.text_document.uri)
        items = ls.diagnostics(doc) if doc is not None else []
        return {"kind": "full", "items": items}

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @_safe()
    def hover(ls: HipaaLanguageServer, params: lsp.HoverParams):
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        offset = ls.to_offset(doc.index, params.position)
        found = ls.findings_at(doc, offset, offset)
        if not found:
            return None
        parts = []
        for f in found:
            plan = plan_fix(f, doc.data)
            parts.append(rule_markdown(f.rule, ls.rulebook, f.message, plan.title if plan else None))
        first = found[0]
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)),
            range=ls.to_range(doc.index, first.start, first.end))

    @server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
        code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll, FIX_ALL_KIND]))
    @_safe(default=[])
    def code_action(ls: HipaaLanguageServer, params: lsp.CodeActionParams):
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return []
        only = params.context.only or []
        actions: list[lsp.CodeAction] = []
        wants_fix_all = not only or any(str(k).startswith("source") for k in only)
        wants_quickfix = not only or lsp.CodeActionKind.QuickFix in only
        if wants_quickfix:
            start = ls.to_offset(doc.index, params.range.start)
            end = ls.to_offset(doc.index, params.range.end)
            for f in ls.findings_at(doc, start, end):
                plan = plan_fix(f, doc.data)
                if plan is None:
                    continue
                actions.append(lsp.CodeAction(
                    title=f"{plan.title} ({f.rule.id})", kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[d for d in params.context.diagnostics if d.code == f.rule.id] or None,
                    # A fix that needs review must not be applied by an editor's "auto fix".
                    is_preferred=plan.safe, edit=_workspace_edit(ls, doc, [plan])))
        if wants_fix_all:
            fix_all = ls.fix_all_action(doc)
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    @server.feature(lsp.SHUTDOWN)
    def shutdown(ls: HipaaLanguageServer, *args):
        for task in ls.pending.values():
            task.cancel()

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


def _workspace_edit(ls: HipaaLanguageServer, doc: OpenDocument, plans: list[FixPlan]) -> lsp.WorkspaceEdit:
    edits, taken = [], []
    for plan in plans:
        # Skip a plan that overlaps one already taken (fix-all must produce non-overlapping edits).
        if any(e.start < t_end and t_start < e.end for e in plan.edits for t_start, t_end in taken):
            continue
        for e in plan.edits:
            taken.append((e.start, e.end))
            edits.append(lsp.TextEdit(range=ls.to_range(doc.index, e.start, e.end), new_text=e.text))
    return lsp.WorkspaceEdit(document_changes=[lsp.TextDocumentEdit(
        text_document=lsp.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
        edits=edits)])
