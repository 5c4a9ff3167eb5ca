"""LSP framing over stdio and TCP, with bounds: what pygls' own reader lacks.

pygls 2.1.1 reads `Content-Length` with an unbounded `int()` and then `read(n)`: one header of
100000000000 (or 5,000 digits) kills the process, and a length a few bytes off glues the rest of the
stream into header lines it never matches again, so the server stays alive but deaf. This reader:

- caps header lines (`MAX_HEADER_LINE`), header count (`MAX_HEADERS`) and the digits of a length
  (`MAX_LENGTH_DIGITS`), and parses `Content-Length` as ASCII digits only;
- caps the body (`MAX_BODY_BYTES`, derived from the file size limit), reads and discards a larger one
  in chunks, and answers it with an error when its request id can be read from its first bytes;
- answers a body that is not JSON (or not UTF-8, or nested too deep) with a ParseError;
- after a bad header, scans forward for the next `Content-Length:` and carries on from there.

It never logs a message body. Messages go to `protocol.handle_json(obj)` when the protocol has it
(see `protocol.HipaaProtocol`), else to pygls' `structure_message` + `handle_message`.

Public API: `serve_stdio(server)`, `serve_tcp(server, host, port)` (both return the process exit
code), `parse_tcp_address`, `body_limit`, `MAX_BODY_BYTES`.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import ipaddress
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from .config import Config

log = logging.getLogger("hipaa_lsp.transport")

# The largest file a client may legitimately open is the analysis limit (maxFileSizeKb, default
# 2048 KiB). JSON escaping turns one byte into at most 6 characters (`\u001f`), and the didOpen
# envelope (method, URI, languageId, version) adds a little: 64 KiB covers a very long URI.
DEFAULT_MAX_FILE_SIZE_KB = Config().limits.max_file_size_kb
JSON_ESCAPE_FACTOR = 6
ENVELOPE_BYTES = 64 * 1024
# A client may raise maxFileSizeKb; the frame limit follows it only up to this many KiB.
MAX_FILE_SIZE_KB_CEILING = 16 * 1024


def body_limit(max_file_size_kb: int = DEFAULT_MAX_FILE_SIZE_KB) -> int:
    """Largest message body accepted when files up to `max_file_size_kb` KiB may be opened."""
    return max_file_size_kb * 1024 * JSON_ESCAPE_FACTOR + ENVELOPE_BYTES


MAX_BODY_BYTES = body_limit()  # 12,648,448 bytes with the default 2048 KiB
MAX_HEADER_LINE = 1024  # `Content-Type: application/vscode-jsonrpc; charset=utf-8` is 55
MAX_HEADERS = 16
MAX_LENGTH_DIGITS = 12  # up to 999 GB: larger "lengths" are garbage, not a body to drain
CHUNK = 256 * 1024
ID_PREFIX_BYTES = 4096  # how much of a body is read to recover a request id cheaply
TOKEN_ENV = "HIPAA_LSP_TCP_TOKEN"
TOKEN_TIMEOUT_S = 10.0
MAX_TOKEN_LINE = 1024

_HEADER_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token
# Where a header block may start again after garbage.
_RESYNC = re.compile(rb"(?i)content-length:")
# A complete Content-Length header line. Raw CR/LF cannot occur inside a JSON string and
# `Content-Length` is no JSON token, so this never matches inside a valid JSON body: finding it in a
# body means the declared length ran over into the next message.
_HEADER_IN_BODY = re.compile(rb"(?i)content-length:[ \t]*[0-9]{1,20}\r?\n")
_OVERLAP = 64  # longer than any _HEADER_IN_BODY match, kept between chunks while draining


class _EOF(Exception):
    pass


@dataclass
class Body:
    data: bytes


@dataclass
class Oversized:
    length: int
    limit: int
    prefix: bytes  # the first bytes of the body already received, to recover an id from


class FrameReader:
    """Splits a byte stream into LSP message bodies, within bounds, resynchronising after garbage."""

    def __init__(self, read_chunk: Callable[[int], Awaitable[bytes]], max_body: Callable[[], int]):
        self._read_chunk = read_chunk
        self._max_body = max_body
        self._buf = bytearray()
        self._eof = False

    async def _fill(self, want: int = CHUNK) -> bool:
        if self._eof:
            return False
        chunk = await self._read_chunk(max(1, min(want, CHUNK)))
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def unread(self, data: bytes) -> None:
        """Puts bytes back in front of the stream (the part of a body that belongs to the next frame)."""
        self._buf[0:0] = data

    async def frames(self):
        """Yields `Body` and `Oversized` events until the stream ends."""
        while True:
            try:
                length = await self._headers()
            except _EOF:
                return
            limit = self._max_body()
            if length <= limit:
                try:
                    yield Body(await self._body(length))
                except _EOF:
                    log.error("stream ended inside a %d-byte message body", length)
                    return
                continue
            log.error("message of %d bytes exceeds the limit of %d bytes: discarding it unread", length, limit)
            if not self._buf:
                await self._fill()
            yield Oversized(length, limit, bytes(self._buf[:min(length, ID_PREFIX_BYTES)]))
            if not await self._drain(length):
                return

    async def _headers(self) -> int:
        """Reads one header block and returns its Content-Length; resynchronises on garbage."""
        while True:
            length = await self._header_block()
            if length is not None:
                return length
            await self._resync()

    async def _header_block(self) -> int | None:
        pos = 0
        count = 0
        length: int | None = None
        while True:
            nl = self._buf.find(b"\n", pos)
            if nl < 0:
                if len(self._buf) - pos > MAX_HEADER_LINE + 1:
                    return self._bad(f"header line longer than {MAX_HEADER_LINE} bytes")
                if not await self._fill():
                    if self._buf.strip():
                        log.error("stream ended inside a header (%d bytes unread)", len(self._buf))
                    raise _EOF
                continue
            line = bytes(self._buf[pos:nl]).rstrip(b"\r")
            pos = nl + 1
            if len(line) > MAX_HEADER_LINE:
                return self._bad(f"header line longer than {MAX_HEADER_LINE} bytes")
            if not line:
                if count == 0:  # stray blank line between frames: harmless
                    del self._buf[:pos]
                    pos = 0
                    continue
                if length is None:
                    return self._bad("header block without Content-Length")
                del self._buf[:pos]
                return length
            count += 1
            if count > MAX_HEADERS:
                return self._bad(f"more than {MAX_HEADERS} header lines")
            name, sep, value = line.partition(b":")
            if not sep or not _HEADER_NAME.fullmatch(name):
                # e.g. the tail of a body whose length was too short, glued to the next header
                return self._bad("a line that is not a header")
            if name.lower() != b"content-length":
                continue  # Content-Type and unknown headers are ignored, as vscode-jsonrpc does
            value = value.strip(b" \t")
            if not value.isdigit():  # bytes.isdigit(): ASCII 0-9 only
                return self._bad("a Content-Length that is not a plain number")
            if len(value) > MAX_LENGTH_DIGITS:
                return self._bad(f"a Content-Length of {len(value)} digits")
            if length is not None and int(value) != length:
                return self._bad("two different Content-Length headers")
            length = int(value)

    def _bad(self, what: str) -> None:
        log.error("malformed LSP frame: %s; resynchronising at the next Content-Length header", what)
        return None

    async def _resync(self) -> None:
        """Discards bytes up to the next `Content-Length:` (not the one at the start of the buffer)."""
        skipped = 0
        start = 1  # progress: the bad block started at offset 0
        while True:
            m = _RESYNC.search(self._buf, start)
            if m:
                skipped += m.start()
                del self._buf[:m.start()]
                log.warning("resynchronised after discarding %d bytes", skipped)
                return
            keep_from = max(start, len(self._buf) - 32)  # a header name may straddle two chunks
            skipped += keep_from
            del self._buf[:keep_from]
            start = 0
            if not await self._fill():
                log.warning("stream ended while resynchronising (%d bytes discarded)", skipped + len(self._buf))
                raise _EOF

    async def _body(self, length: int) -> bytes:
        while len(self._buf) < length:
            if not await self._fill(length - len(self._buf)):
                raise _EOF
        with memoryview(self._buf) as view:  # one copy of a body that may be megabytes
            body = bytes(view[:length])
        del self._buf[:length]
        return body

    async def _drain(self, length: int) -> bool:
        """Discards `length` bytes in chunks, never holding more than one. Stops early at a header
        line inside them (the length was a lie). Returns False at the end of the stream."""
        remaining = length
        while remaining > 0:
            avail = min(remaining, len(self._buf))
            m = _HEADER_IN_BODY.search(self._buf, 0, avail)
            if m:
                del self._buf[:m.start()]
                log.warning("a Content-Length header appeared %d bytes into the oversized body: "
                            "its length was wrong; resuming there", length - remaining + m.start())
                return True
            if avail == remaining:
                del self._buf[:avail]
                log.info("discarded the oversized body")
                return True
            cut = max(0, avail - _OVERLAP)
            del self._buf[:cut]
            remaining -= cut
            if not await self._fill():
                log.error("stream ended while discarding an oversized body")
                return False
        return True


# ------------------------------------------------------------------------------- body decoding


class ParseFailure(Exception):
    def __init__(self, reason: str, rest: bytes = b""):
        super().__init__(reason)
        self.reason = reason
        self.rest = rest  # bytes after a complete JSON value: they belong to the next frame


_DECODER = json.JSONDecoder()
_WS = " \t\r\n"


def decode_body(body: bytes) -> Any:
    """The JSON value of a body, or ParseFailure (never RecursionError, never a message body)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        rest = _rest_after_header(body)
        raise ParseFailure(f"invalid UTF-8 at byte {exc.start}", rest) from None
    start = len(text) - len(text.lstrip(_WS))
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        raise ParseFailure("JSON nested too deeply", _rest_after_header(body)) from None
    except ValueError as exc:  # JSONDecodeError, or an integer beyond int_max_str_digits
        pos = getattr(exc, "pos", None)
        where = f" at char {pos}" if pos is not None else ""
        raise ParseFailure(f"invalid JSON{where} ({type(exc).__name__})", _rest_after_header(body)) from None
    if text[end:].strip(_WS):
        # A valid message followed by more bytes: the length was too long and took in the start of
        # the next frame. Put those bytes back so the next frame can still be read.
        raise ParseFailure(f"{len(text) - end} unexpected characters after the JSON value",
                           text[end:].encode("utf-8"))
    return value


def _rest_after_header(body: bytes) -> bytes:
    m = _HEADER_IN_BODY.search(body)
    return body[m.start():] if m else b""


def recover_request_id(prefix: bytes) -> tuple[bool, Any]:
    """(True, id) when the first bytes of a body are a JSON object whose top level holds both a
    `method` and an `id` that is complete (followed by `,` or `}`); (False, None) otherwise.
    Cheap and partial on purpose: it never parses the rest of the body."""
    s = prefix
    n = len(s)
    i = _skip_ws(s, 0)
    if i >= n or s[i] != 0x7B:  # {
        return False, None
    i += 1
    found_id, rid, has_method = False, None, False
    while True:
        i = _skip_ws(s, i)
        if i >= n or s[i] != 0x22:  # "
            break
        key_end = _string_end(s, i)
        if key_end < 0 or key_end - i > 66:
            break
        key = s[i + 1:key_end - 1]
        i = _skip_ws(s, key_end)
        if i >= n or s[i] != 0x3A:  # :
            break
        i = _skip_ws(s, i + 1)
        value_end = _value_end(s, i)
        if value_end < 0:
            break
        raw = s[i:value_end]
        after = _skip_ws(s, value_end)
        if after >= n or s[after] not in b",}":
            break  # the value may be cut short: do not trust it
        if key == b"id":
            if not _SIMPLE_ID.fullmatch(raw):
                return False, None
            try:
                found_id, rid = True, json.loads(raw)
            except ValueError:  # e.g. invalid UTF-8 inside the string
                return False, None
        elif key == b"method":
            has_method = raw.startswith(b'"')
        if s[after] == 0x7D:  # }
            break
        i = after + 1
    return (True, rid) if found_id and has_method else (False, None)


_SIMPLE_ID = re.compile(rb'-?[0-9]{1,15}|"[^"\\\x00-\x1f]{0,256}"')


def _skip_ws(s: bytes, i: int) -> int:
    while i < len(s) and s[i] in b" \t\r\n":
        i += 1
    return i


def _string_end(s: bytes, i: int) -> int:
    """Index just past the string starting at s[i] == '"', or -1 if it does not end in `s`."""
    i += 1
    while i < len(s):
        c = s[i]
        if c == 0x5C:  # backslash
            i += 2
            continue
        if c == 0x22:
            return i + 1
        i += 1
    return -1


def _value_end(s: bytes, i: int) -> int:
    if i >= len(s):
        return -1
    c = s[i]
    if c == 0x22:
        return _string_end(s, i)
    if c in b"{[":
        depth = 0
        while i < len(s):
            c = s[i]
            if c == 0x22:
                i = _string_end(s, i)
                if i < 0:
                    return -1
                continue
            if c in b"{[":
                depth += 1
            elif c in b"}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    j = i
    while j < len(s) and s[j] not in b" \t\r\n,}]":
        j += 1
    return j if j < len(s) else -1


# ------------------------------------------------------------------------------------ serving


def _error(protocol, msg_id, code: int, message: str) -> None:
    protocol._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})


PARSE_ERROR = -32700
INVALID_REQUEST = -32600


def _dispatcher(protocol) -> Callable[[Any], None]:
    handle_json = getattr(protocol, "handle_json", None)
    if handle_json is not None:
        return handle_json

    def legacy(obj):  # a plain pygls protocol: what pygls' own reader would do
        protocol.handle_message(protocol.structure_message(obj) if isinstance(obj, dict) else obj)

    return legacy


def body_limit_for(server) -> Callable[[], int]:
    """The frame limit, following the server's current maxFileSizeKb upward (never below default)."""

    def limit() -> int:
        limits = getattr(getattr(server, "config", None), "limits", None)
        kb = getattr(limits, "max_file_size_kb", DEFAULT_MAX_FILE_SIZE_KB)
        if not isinstance(kb, int) or kb < DEFAULT_MAX_FILE_SIZE_KB:
            kb = DEFAULT_MAX_FILE_SIZE_KB
        return body_limit(min(kb, MAX_FILE_SIZE_KB_CEILING))

    return limit


async def serve_frames(server, reader: FrameReader) -> int:
    """Reads frames and dispatches them until `exit` or the end of the stream; returns the exit code:
    0 after `shutdown`, 1 without (LSP: `exit` without `shutdown` exits with 1)."""
    protocol = server.protocol
    dispatch = _dispatcher(protocol)
    stop = getattr(server, "_stop_event", None)
    async for event in reader.frames():
        try:
            obj = _decode_or_answer(protocol, reader, event)
            if obj is not _ANSWERED:
                dispatch(obj)
        except SystemExit as exc:  # a protocol without exit_code: pygls' own `exit` handler
            return exc.code if isinstance(exc.code, int) else 1
        except BrokenPipeError:
            log.error("the client closed the connection")
            break
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the server
            # The exception text may quote the message: log its type only (traceback at DEBUG).
            log.error("handling a message failed: %s", type(exc).__name__,
                      exc_info=log.isEnabledFor(logging.DEBUG))
        code = getattr(protocol, "exit_code", None)
        if code is not None:
            return code
        if stop is not None and stop.is_set():
            break
        await asyncio.sleep(0)  # let handlers scheduled by this message run before the next one
    return 0 if getattr(protocol, "_shutdown", False) else 1


_ANSWERED = object()


def _decode_or_answer(protocol, reader: FrameReader, event: Body | Oversized) -> Any:
    """The decoded message, or _ANSWERED once an oversized or unreadable one has been dealt with."""
    if isinstance(event, Oversized):
        ok, rid = recover_request_id(event.prefix)
        if ok:
            _error(protocol, rid, INVALID_REQUEST,
                   f"message of {event.length} bytes exceeds the limit of {event.limit} bytes")
        return _ANSWERED
    try:
        return decode_body(event.data)
    except ParseFailure as exc:
        if exc.rest:
            reader.unread(exc.rest)
        ok, rid = recover_request_id(event.data[:ID_PREFIX_BYTES])
        log.error("unreadable message body of %d bytes: %s%s", len(event.data), exc.reason,
                  "" if ok else "; answered with id null")
        _error(protocol, rid if ok else None, PARSE_ERROR, f"Parse error: {exc.reason}")
        return _ANSWERED


def _prepare(server) -> None:
    if getattr(server, "_stop_event", None) is None:
        server._stop_event = threading.Event()


class _StdinChunks:
    """Reads stdin on a daemon thread (a blocked read must not keep the process alive after `exit`),
    at most a few chunks ahead of the parser."""

    def __init__(self, stream: BinaryIO, loop: asyncio.AbstractEventLoop):
        self._stream = stream
        self._loop = loop
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._slots = threading.Semaphore(4)
        threading.Thread(target=self._run, name="hipaa-lsp-stdin", daemon=True).start()

    def _run(self) -> None:
        # The raw descriptor, not the BufferedReader: a daemon thread blocked inside a buffered read
        # holds its lock, and interpreter shutdown then aborts trying to take it.
        try:
            fd = self._stream.fileno()
            read = functools.partial(os.read, fd)
        except (AttributeError, OSError, ValueError):
            read = getattr(self._stream, "read1", None) or self._stream.read
        while True:
            self._slots.acquire()
            try:
                chunk = read(CHUNK)
            except (OSError, ValueError):
                chunk = b""
            try:
                self._loop.call_soon_threadsafe(self._queue.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: the server has stopped
                return
            if not chunk:
                return

    async def read(self, _n: int) -> bytes:
        chunk = await self._queue.get()
        self._slots.release()
        return chunk


def serve_stdio(server, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None,
                max_body: Callable[[], int] | None = None) -> int:
    """Serves one client over stdin/stdout with the bounded reader; returns the exit code."""
    from pygls.io_ import StdoutWriter

    _prepare(server)
    out = stdout or sys.stdout.buffer
    server.protocol.set_writer(StdoutWriter(out))

    async def main() -> int:
        chunks = _StdinChunks(stdin or sys.stdin.buffer, asyncio.get_running_loop())
        return await serve_frames(server, FrameReader(chunks.read, max_body or body_limit_for(server)))

    try:
        code = asyncio.run(main())
    except BrokenPipeError:
        log.error("the client closed the connection")
        code = 1
    except KeyboardInterrupt:
        code = 1
    try:
        out.flush()
    except (OSError, ValueError):
        pass
    return code


# ------------------------------------------------------------------------------------------ TCP


def parse_tcp_address(value: str) -> tuple[str, int]:
    """`HOST:PORT` for `serve --tcp`: HOST must be a loopback address (empty or `localhost` mean
    127.0.0.1). Raises ValueError with a message for the user."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or len(port) > 5 or int(port) > 65535:
        raise ValueError("--tcp takes HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:2087")
    host = host.strip("[]")
    if host in ("", "localhost"):
        return "127.0.0.1", int(port)
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"--tcp refuses to listen on {host!r}: only a loopback address (127.0.0.1, ::1) "
                         "is allowed, as the protocol carries the contents of your files unencrypted")
    return host, int(port)


def serve_tcp(server, host: str, port: int, *, token: str | None = None,
              on_listening: Callable[[str, int], None] | None = None,
              max_body: Callable[[], int] | None = None) -> int:
    """Listens on a loopback address and serves exactly one client; later connections are closed
    at once and logged. With a token (argument, else the HIPAA_LSP_TCP_TOKEN environment variable,
    which is then removed from this process's environment), a client must send it as its first line.
    Returns the exit code when the client sends `exit` or disconnects."""
    host, port = parse_tcp_address(f"{host}:{port}")
    if token is None:
        token = os.environ.pop(TOKEN_ENV, None)  # not inherited by any process we start
    expected = token.encode("utf-8") if token else None
    _prepare(server)

    async def main() -> int:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        taken = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal taken
            peer = writer.get_extra_info("peername")
            if taken:
                log.warning("refused a connection from %s: this server already serves a client", peer)
                writer.close()
                return
            if expected is not None and not await _token_ok(reader, expected):
                log.warning("refused a connection from %s: missing or wrong token", peer)
                writer.close()
                return
            if taken:  # another client authenticated while this one was sending its token
                log.warning("refused a connection from %s: this server already serves a client", peer)
                writer.close()
                return
            taken = True
            log.info("client connected from %s", peer)
            server.protocol.set_writer(writer)
            try:
                code = await serve_frames(server, FrameReader(reader.read, max_body or body_limit_for(server)))
            except (ConnectionError, OSError):
                log.error("the client connection failed")
                code = 1
            writer.close()
            if not done.done():
                done.set_result(code)

        listener = await asyncio.start_server(connection, host, port)
        bound = listener.sockets[0].getsockname()
        log.info("listening on %s:%s for one client", bound[0], bound[1])
        if on_listening is not None:
            on_listening(bound[0], bound[1])
        try:
            return await done
        finally:
            listener.close()  # no wait_closed(): a refused client still sending its token must not delay exit

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 1


async def _token_ok(reader: asyncio.StreamReader, expected: bytes) -> bool:
    try:
        line = await asyncio.wait_for(reader.readuntil(b"\n"), TOKEN_TIMEOUT_S)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return False
    if len(line) > MAX_TOKEN_LINE:
        return False
    return hmac.compare_digest(line.rstrip(b"\r\n"), expected)
