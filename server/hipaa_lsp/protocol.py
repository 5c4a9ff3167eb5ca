"""JSON-RPC / LSP message rules that pygls 2.1.1 leaves out, as a pygls protocol class.

`HipaaProtocol.handle_json(obj)` takes one decoded JSON value (from `transport.py`) and either
dispatches it to pygls or answers/ignores it as the specifications say:

- batches, non-objects, a wrong `jsonrpc`, a bad `method` or `id` (ids must be strings of at most
  256 characters or integers within +-(2**53-1), so they survive a round trip through JavaScript):
  InvalidRequest (id null when the id itself is unusable); a notification is dropped;
- requests before `initialize`: ServerNotInitialized; notifications before it (but `exit`) dropped;
  a second `initialize`: InvalidRequest;
- after `shutdown`: requests get InvalidRequest, notifications other than `exit` are dropped;
- `exit` sets `exit_code` (0 after `shutdown`, 1 without) instead of calling `sys.exit`; the
  transport stops reading and the process exits with it;
- unknown methods: MethodNotFound for requests; unknown notifications are ignored (`$/...` quietly);
- params that are not an object/array, or do not fit the method's type: InvalidParams for a
  request, dropped notification;
- didChange/didClose for a document that was never opened: ignored before pygls touches its
  workspace (pygls would otherwise read the URI's path from disk).

Log lines name the method and id but never contain params or document text.
"""

from __future__ import annotations

import asyncio
import inspect

import logging
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import ResponseErrorMessage
from pygls.protocol.language_server import lsp_method

log = logging.getLogger("hipaa_lsp.protocol")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_NOT_INITIALIZED = -32002

MAX_SAFE_INTEGER = 2**53 - 1
MAX_ID_CHARS = 256
MAX_METHOD_CHARS = 256


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER
    return isinstance(value, str) and len(value) <= MAX_ID_CHARS


class HipaaProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with the checks above; `handle_json` is the entry point."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.exit_code: int | None = None
        self._initialize_seen = False
        self._warned_not_open: set[str] = set()

    # ----------------------------------------------------------------------- answers

    def send_json_body(self, body: bytes) -> None:
        """Send a message whose JSON was written elsewhere (the analysis worker serialises
        diagnostics once; parsing them here only to serialise them again would double the cost)."""
        if self.writer is None:
            return
        header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        result = self.writer.write(header.encode("ascii") + body)
        if inspect.isawaitable(result):
            asyncio.ensure_future(result)

    def send_error(self, msg_id: Any, code: int, message: str) -> None:
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def _reject(self, obj: dict, code: int, message: str) -> None:
        """Answers a request with an error (id null if its id is unusable); a notification is only logged."""
        method = obj.get("method")
        if "id" in obj:
            msg_id = obj["id"] if valid_id(obj["id"]) else None
            log.warning("rejected request %s %s: %s", _short(msg_id), _short(method), message)
            self.send_error(msg_id, code, message)
        else:
            log.warning("ignored notification %s: %s", _short(method), message)

    # ----------------------------------------------------------------------- entry point

    def handle_json(self, obj: Any) -> None:
        if isinstance(obj, list):
            log.warning("ignored a batch of %d messages: LSP does not use JSON-RPC batches", len(obj))
            self.send_error(None, INVALID_REQUEST, "batch messages are not supported")
            return
        if not isinstance(obj, dict):
            log.warning("ignored a message that is a JSON %s, not an object", type(obj).__name__)
            self.send_error(None, INVALID_REQUEST, "a message must be a JSON object")
            return
        if "method" not in obj:
            self._handle_client_response(obj)
            return
        method = obj["method"]
        is_request = "id" in obj
        if obj.get("jsonrpc") != "2.0":
            return self._reject(obj, INVALID_REQUEST, 'jsonrpc must be "2.0"')
        if not isinstance(method, str) or not method or len(method) > MAX_METHOD_CHARS:
            return self._reject(obj, INVALID_REQUEST, "method must be a non-empty string")
        if is_request and not valid_id(obj["id"]):
            return self._reject(obj, INVALID_REQUEST,
                                f"id must be a string (at most {MAX_ID_CHARS} characters) or an integer "
                                f"within +-{MAX_SAFE_INTEGER}")

        # Lifecycle (LSP "Server lifetime").
        if method != lsp.EXIT:
            if self._shutdown:
                if is_request:
                    return self._reject(obj, INVALID_REQUEST, "the server is shut down")
                log.info("dropped notification %s after shutdown", _short(method))
                return
            if not self._initialize_seen and method != lsp.INITIALIZE:
                if is_request:
                    return self._reject(obj, SERVER_NOT_INITIALIZED, "the server is not initialized")
                log.info("dropped notification %s before initialize", _short(method))
                return
            if self._initialize_seen and method == lsp.INITIALIZE:
                return self._reject(obj, INVALID_REQUEST, "initialize may only be sent once")

        if "params" in obj and obj["params"] is not None and not isinstance(obj["params"], (dict, list)):
            return self._reject(obj, INVALID_PARAMS, "params must be an object or an array")

        if not self._has_handler(method):
            if not is_request and method.startswith("$/"):
                log.debug("ignored notification %s", _short(method))
                return
            return self._reject(obj, METHOD_NOT_FOUND, f"unhandled method {method[:80]}")

        message_type = self.get_message_type(method)
        try:
            if message_type is None:
                message = super().structure_message(obj)
            else:
                if message_type in (lsp.ShutdownRequest, lsp.ExitNotification):
                    obj = {k: v for k, v in obj.items() if k != "params"}  # void: tolerate {} or []
                message = self._converter.structure(obj, message_type)
        except Exception as exc:  # noqa: BLE001 - cattrs errors quote values: log the type only
            return self._reject(obj, INVALID_PARAMS, f"invalid params for {method} ({type(exc).__name__})")
        if method == lsp.INITIALIZE:
            self._initialize_seen = True
        self.handle_message(message)

    def _has_handler(self, method: str) -> bool:
        return (method == lsp.CANCEL_REQUEST or method in self.fm.builtin_features
                or method in self.fm.features)

    def _handle_client_response(self, obj: dict) -> None:
        msg_id = obj.get("id")
        if "id" not in obj or not ("result" in obj or "error" in obj):
            log.warning("ignored a message with neither a method nor a result or error")
            if "id" not in obj:
                self.send_error(None, INVALID_REQUEST, "a message needs a method, or an id and a result")
            elif "params" in obj:  # a request that lost its method: answer it so the client does not wait
                self.send_error(msg_id if valid_id(msg_id) else None, INVALID_REQUEST, "method is missing")
            return
        if obj.get("jsonrpc") != "2.0":
            log.warning("ignored a response whose jsonrpc is not \"2.0\"")
            return
        if self._shutdown:
            log.info("dropped a response after shutdown")
            return
        if not valid_id(msg_id):
            log.warning("ignored a response with an unusable id %s", _short(msg_id))
            return
        try:
            message = super().structure_message(obj)
        except Exception as exc:  # noqa: BLE001
            log.warning("malformed response to request %s (%s)", _short(msg_id), type(exc).__name__)
            # Fail the waiting request rather than leave it pending.
            self._handle_response(msg_id, None, lsp.ResponseError(code=INTERNAL_ERROR, message="malformed response"))
            return
        self.handle_message(message)

    def structure_message(self, data):
        """pygls' own entry (used when this class runs under pygls' reader, not `transport.py`):
        answers a request whose params cannot be read with an error, instead of leaving it unanswered
        (pygls logs such a request and drops it, which leaves the client waiting forever)."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                self._send_data(ResponseErrorMessage(id=data["id"], error=exc.to_response_error()))
            raise

    # ----------------------------------------------------------------------- builtins

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args):
        """Records the exit code instead of pygls' `sys.exit` deep inside a handler (which
        `start_io` turned into exit code 0 whatever came before)."""
        if (user_handler := self.fm.features.get(lsp.EXIT)) is not None:
            yield user_handler, args, None
        self.exit_code = 0 if self._shutdown else 1
        log.info("exit received (%s shutdown): exit code %d", "after" if self._shutdown else "without",
                 self.exit_code)
        if getattr(self._server, "_stop_event", None) is not None:
            self._server._stop_event.set()

    def _is_open(self, uri: str, event: str) -> bool:
        if unquote(uri) in self.workspace.text_documents:
            return True
        # Once per URI: a document whose didOpen was too large to read sends a didChange per keystroke.
        if uri not in self._warned_not_open and len(self._warned_not_open) < 1000:
            self._warned_not_open.add(uri)
            log.warning("ignored %s for a document that is not open: %s", event, _short(uri))
        return False

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams):
        if self._is_open(params.text_document.uri, "didChange"):
            yield from super().lsp_text_document__did_change(params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams):
        if self._is_open(params.text_document.uri, "didClose"):
            yield from super().lsp_text_document__did_close(params)
