"""Malformed frames and messages, lifecycle and TCP rules, over a real server process.

Each case writes raw bytes to the server (its stdin, or a socket), checks the answer the JSON-RPC and
LSP specifications ask for, then checks that a proper request is still answered. Every wait is
bounded (see lsp_wire.TIMEOUT). No log line may contain a message body (lsp_wire.MARKER).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from hipaa_lsp import transport
from lsp_wire import MARKER, OK_URI, TIMEOUT, StdioServer, TcpServer, closed_by_server, frame, message

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
HOVER = {"textDocument": {"uri": OK_URI}, "position": {"line": 1, "character": 16}, "marker": MARKER}


@pytest.fixture
def stdio(tmp_path):
    server = StdioServer(tmp_path / "stderr.log")
    server.peer.initialize()
    yield server
    log = server.stop()
    assert MARKER not in log, "a message body was logged"


@pytest.fixture
def tcp(tmp_path):
    server = TcpServer(tmp_path / "stderr.log")
    yield server
    log = server.stop()
    assert MARKER not in log, "a message body was logged"


def hover_body(msg_id) -> bytes:
    return message(msg_id, "textDocument/hover", HOVER)


def error_code(reply: dict) -> int:
    assert "error" in reply, reply
    return reply["error"]["code"]


# ------------------------------------------------------------------------------------ frames

# name -> (bytes to write, [(expected reply id, expected error code)])
FRAME_CASES = {
    # 100 GB announced: the body is drained unread; the request id in its first bytes gets an error,
    # and the real header that follows ends the drain (the announced length was a lie).
    "length 100000000000": (b"Content-Length: 100000000000\r\n\r\n" + hover_body(50), [(50, INVALID_REQUEST)]),
    "length of 5000 digits": (b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n" + hover_body(51), []),
    "length 3 bytes short": (b"Content-Length: %d\r\n\r\n" % (len(hover_body(52)) - 3) + hover_body(52),
                             [(52, PARSE_ERROR)]),
    "length 3 bytes long": (b"Content-Length: %d\r\n\r\n" % (len(hover_body(53)) + 3) + hover_body(53),
                            [(53, PARSE_ERROR)]),
    "length not a number": (b"Content-Length: 12abc\r\n\r\n" + hover_body(54), []),
    "length with a sign": (b"Content-Length: +120\r\n\r\n" + hover_body(54), []),
    "non-ASCII digits": ("Content-Length: １２\r\n\r\n".encode() + hover_body(54), []),
    # Resynchronises at the second header, whose 6-byte body is not JSON.
    "two different lengths": (b"Content-Length: 5\r\nContent-Length: 6\r\n\r\n" + hover_body(54),
                              [(None, PARSE_ERROR)]),
    "header line of 100 KB": (b"X-Junk: " + b"x" * 100_000 + b"\r\n\r\n" + hover_body(54), []),
    "100 header lines": (b"X-A: b\r\n" * 100 + b"\r\n" + hover_body(54), []),
    "garbage, no header": (b"hello\r\n\r\n" + hover_body(54), []),
    "not JSON": (frame(b"{this is not json " + MARKER.encode()), [(None, PARSE_ERROR)]),
    "JSON nested 100,000 deep": (frame(b"[" * 100_000 + b"]" * 100_000), [(None, PARSE_ERROR)]),
    "request nested 100,000 deep": (frame(b'{"jsonrpc":"2.0","id":55,"method":"textDocument/hover","params":'
                                          + b"[" * 100_000 + b"]" * 100_000 + b"}"), [(55, PARSE_ERROR)]),
    "invalid UTF-8": (frame(b'{"jsonrpc":"2.0","id":56,"method":"textDocument/hover","params":{"m":"\xff\xfe'
                            + MARKER.encode() + b'"}}'), [(56, PARSE_ERROR)]),
    "truncated id is not trusted": (frame(b'{"jsonrpc":"2.0","id":57'), [(None, PARSE_ERROR)]),
}


def test_malformed_frames_over_stdio(stdio, subtests):
    # One server for all cases (a server start costs seconds on a busy machine); each case is
    # followed by a proper request, so a case that breaks the stream fails by its own name.
    for case, (data, expected) in FRAME_CASES.items():
        with subtests.test(case=case):
            stdio.peer.raw(data)
            stdio.peer.assert_serving()  # its answer comes after any answer to the bad frame
            assert stdio.proc.poll() is None
            check_answers(stdio, expected)


def check_answers(server, expected) -> None:
    """The answers to a bad frame were received before the proper request's answer."""
    answered = server.peer.answers_before_serving
    assert [(r.get("id"), r["error"]["code"]) for r in answered] == expected, answered


def test_oversized_real_body_is_drained_in_chunks(stdio):
    """A genuine body over the limit (a didOpen of a huge file, and a request) is read and discarded
    without being held in memory; the request gets an error; the server keeps serving."""
    pid = stdio.proc.pid
    before = _peak_rss_kb(pid)
    size = 64 * 1024 * 1024
    pad = "a" * size
    notification = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///big/redis.conf", "languageId": "x", "version": 1, "text": pad}}}).encode()
    request = json.dumps({"jsonrpc": "2.0", "id": 60, "method": "textDocument/hover",
                          "params": dict(HOVER, pad=pad)}).encode()
    del pad
    writer = threading.Thread(target=lambda: stdio.peer.raw(frame(notification) + frame(request)), daemon=True)
    writer.start()
    reply = stdio.peer.reply(60, timeout=60)
    writer.join(timeout=60)
    assert not writer.is_alive()
    assert error_code(reply) == INVALID_REQUEST and "exceeds the limit" in reply["error"]["message"]
    stdio.peer.assert_serving()
    # Two 64 MB bodies went through: the peak grew by far less than one of them.
    assert _peak_rss_kb(pid) - before < 24 * 1024


def _peak_rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_body_limit_is_derived_from_the_file_size_limit():
    assert transport.MAX_BODY_BYTES == 2048 * 1024 * 6 + transport.ENVELOPE_BYTES
    assert transport.body_limit(4096) > transport.MAX_BODY_BYTES
    # A worst-case didOpen of a file at the limit (every byte escaped as \u00XX) fits.
    text = "\x01" * (2048 * 1024)
    body = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": "file:///" + "d/" * 2000 + "redis.conf", "languageId": "plaintext", "version": 1, "text": text}}})
    assert len(body.encode()) <= transport.MAX_BODY_BYTES


# ---------------------------------------------------------------------------------- messages

MESSAGE_CASES = {
    "batch array": (b'[' + hover_body(70) + b']', [(None, INVALID_REQUEST)]),
    "empty batch": (b"[]", [(None, INVALID_REQUEST)]),
    "a JSON string": (b'"hello"', [(None, INVALID_REQUEST)]),
    "no jsonrpc member": (b'{"id":71,"method":"textDocument/hover","params":{}}', [(71, INVALID_REQUEST)]),
    "huge integer id": (message(10**30, "textDocument/hover", HOVER), [(None, INVALID_REQUEST)]),
    "float id 1e400": (b'{"jsonrpc":"2.0","id":1e400,"method":"textDocument/hover","params":{}}',
                       [(None, INVALID_REQUEST)]),
    "boolean id": (b'{"jsonrpc":"2.0","id":true,"method":"textDocument/hover","params":{}}', [(None, INVALID_REQUEST)]),
    "object id": (b'{"jsonrpc":"2.0","id":{"a":1},"method":"textDocument/hover","params":{}}',
                  [(None, INVALID_REQUEST)]),
    "id of 10,000 characters": (message("i" * 10_000, "textDocument/hover", HOVER), [(None, INVALID_REQUEST)]),
    "method not a string": (b'{"jsonrpc":"2.0","id":72,"method":42}', [(72, INVALID_REQUEST)]),
    "unknown request": (message(73, "no/suchMethod", {"marker": MARKER}), [(73, METHOD_NOT_FOUND)]),
    "unknown $/ request": (message(74, "$/noSuchThing", {}), [(74, METHOD_NOT_FOUND)]),
    "unknown notification": (message(None, "no/suchNotification", {"marker": MARKER}), []),
    "unknown $/ notification": (message(None, "$/noSuchThing", {"marker": MARKER}), []),
    "params of the wrong type": (message(75, "textDocument/hover", {"textDocument": {"uri": 42},
                                                                    "position": {"line": MARKER}}),
                                 [(75, INVALID_PARAMS)]),
    "params a string": (b'{"jsonrpc":"2.0","id":76,"method":"textDocument/hover","params":"' + MARKER.encode()
                        + b'"}', [(76, INVALID_PARAMS)]),
    "request without params": (message(77, "textDocument/hover"), [(77, INVALID_PARAMS)]),
    "notification with bad params": (message(None, "textDocument/didOpen", {"textDocument": MARKER}), []),
    "cancel of an unknown id": (message(None, "$/cancelRequest", {"id": 12345}), []),
    "response to nothing": (b'{"jsonrpc":"2.0","id":"zzz","result":{"m":"' + MARKER.encode() + b'"}}', []),
    "second initialize": (message(78, "initialize", {"processId": None, "rootUri": None, "capabilities": {}}),
                          [(78, INVALID_REQUEST)]),
}


def test_malformed_messages_over_stdio(stdio, subtests):
    for case, (body, expected) in MESSAGE_CASES.items():
        with subtests.test(case=case):
            stdio.peer.send(body)
            stdio.peer.assert_serving()
            assert stdio.proc.poll() is None
            check_answers(stdio, expected)


# --------------------------------------------------------------------------------- lifecycle


def test_exit_after_shutdown_exits_0_and_requests_after_shutdown_are_errors(tmp_path):
    server = StdioServer(tmp_path / "stderr.log")
    try:
        peer = server.peer
        peer.initialize()
        assert peer.reply(peer.request("shutdown"))["result"] is None
        reply = peer.reply(peer.request("textDocument/hover", HOVER))
        assert error_code(reply) == INVALID_REQUEST
        # A notification after shutdown is dropped: no diagnostics for this file.
        peer.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///late/redis.conf", "languageId": "x",
                                                              "version": 1, "text": "protected-mode no\n"}})
        assert error_code(peer.reply(peer.request("shutdown"))) == INVALID_REQUEST
        peer.notify("exit")
        assert server.wait() == 0
        late = [m for m in _drain(peer) if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == "file:///late/redis.conf"]
        assert late == []
    finally:
        assert MARKER not in server.stop()


def _drain(peer) -> list[dict]:
    out = []
    while (msg := peer.next()) is not None:
        out.append(msg)
    return out


def test_exit_without_shutdown_exits_1(tmp_path):
    server = StdioServer(tmp_path / "stderr.log")
    try:
        server.peer.initialize()
        server.peer.assert_serving()
        server.peer.notify("exit")
        assert server.wait() == 1
    finally:
        server.stop()


def test_end_of_input_without_shutdown_exits_1(tmp_path):
    server = StdioServer(tmp_path / "stderr.log")
    try:
        server.peer.initialize()
        server.peer.close()
        assert server.wait() == 1
    finally:
        server.stop()


def test_requests_before_initialize_are_refused(tmp_path):
    server = StdioServer(tmp_path / "stderr.log")
    try:
        peer = server.peer
        assert error_code(peer.reply(peer.request("textDocument/hover", HOVER))) == -32002
        peer.initialize()
        peer.assert_serving()
    finally:
        server.stop()


@pytest.mark.parametrize("changes", [[], [{"text": "x"}]], ids=["no changes", "full text"])
def test_did_change_for_an_unopened_dev_zero_is_ignored(stdio, changes):
    stdio.peer.notify("textDocument/didChange", {"textDocument": {"uri": "file:///dev/zero", "version": 2},
                                                 "contentChanges": changes})
    stdio.peer.notify("textDocument/didClose", {"textDocument": {"uri": "file:///dev/zero"}})
    stdio.peer.assert_serving()
    # Nothing was published for it (the old server read /dev/zero until memory ran out).
    others = [m for m in stdio.peer.before_serving if m.get("params", {}).get("uri") == "file:///dev/zero"]
    assert others == []


# --------------------------------------------------------------------------------------- TCP


@pytest.mark.parametrize("address", ["0.0.0.0:0", "192.168.1.10:0", "[::]:0", "example.com:0",
                                     "127.0.0.1:99999", "127.0.0.1"])
def test_tcp_refuses_non_loopback_and_bad_addresses(address):
    proc = subprocess.run([sys.executable, "-m", "hipaa_lsp", "serve", "--tcp", address],
                          capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert "--tcp" in proc.stderr and "Traceback" not in proc.stderr


def test_tcp_serves_one_client_and_refuses_a_second(tcp):
    first = tcp.peer()
    first.initialize()
    first.assert_serving()
    second = tcp.connect()
    try:
        assert closed_by_server(second), "a second client was not refused"
    finally:
        second.close()
    first.assert_serving()  # the first session is untouched
    assert "refused a connection" in tcp.log_path.read_text()
    assert first.reply(first.request("shutdown"))["result"] is None
    first.notify("exit")
    assert tcp.wait() == 0


def test_tcp_malformed_frames_keep_the_session(tcp):
    peer = tcp.peer()
    peer.initialize()
    for name in ("length 100000000000", "length of 5000 digits", "length 3 bytes short",
                 "length 3 bytes long", "not JSON", "JSON nested 100,000 deep", "invalid UTF-8"):
        data, expected = FRAME_CASES[name]
        peer.raw(data)
        peer.assert_serving()
        assert [(r.get("id"), r["error"]["code"]) for r in peer.answers_before_serving] == expected, name
    assert tcp.proc.poll() is None


def test_tcp_token_is_required_when_set(tmp_path):
    server = TcpServer(tmp_path / "stderr.log", env={"HIPAA_LSP_TCP_TOKEN": "s3cret-token"})
    try:
        assert "s3cret-token" not in " ".join(server.proc.args)
        for first_line in (b"", b"wrong-token\n"):
            sock = server.connect()
            sock.sendall(first_line + frame(message(1, "initialize", {"processId": None, "capabilities": {}})))
            assert closed_by_server(sock), f"accepted a client that sent {first_line!r}"
            sock.close()
        sock = server.connect()
        sock.sendall(b"s3cret-token\r\n")
        peer = server.peer(sock)
        peer.initialize()
        peer.assert_serving()
        assert "missing or wrong token" in server.log_path.read_text()
    finally:
        log = server.stop()
    assert "s3cret-token" not in log


def test_parse_tcp_address():
    assert transport.parse_tcp_address("127.0.0.1:2087") == ("127.0.0.1", 2087)
    assert transport.parse_tcp_address(":2087") == ("127.0.0.1", 2087)
    assert transport.parse_tcp_address("localhost:0") == ("127.0.0.1", 0)
    assert transport.parse_tcp_address("[::1]:2087") == ("::1", 2087)
    assert transport.parse_tcp_address("127.1.2.3:5") == ("127.1.2.3", 5)
    for bad in ("0.0.0.0:1", "10.0.0.1:1", "host.example:1", "127.0.0.1:-1", "127.0.0.1:", "::1"):
        with pytest.raises(ValueError):
            transport.parse_tcp_address(bad)


def test_recover_request_id():
    assert transport.recover_request_id(b'{"jsonrpc":"2.0","id":5,"method":"x","params":{"id":9') == (True, 5)
    assert transport.recover_request_id(b'{"method":"x","params":{"id":9},"id":"a"}') == (True, "a")
    assert transport.recover_request_id(b'{"jsonrpc":"2.0","id":5') == (False, None)  # may be 5x
    assert transport.recover_request_id(b'{"jsonrpc":"2.0","id":5,"result":1}') == (False, None)  # a response
    assert transport.recover_request_id(b'{"params":{"text":"\\"id\\":3,"},"method":"m"}') == (False, None)
    assert transport.recover_request_id(b"[1,2]") == (False, None)
