"""A raw LSP peer for end-to-end tests: writes any bytes to a real server process (stdio or TCP) and
reads its replies on a thread, so every wait is bounded and a regression fails instead of hanging."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

TIMEOUT = float(os.environ.get("LSP_WIRE_TIMEOUT", "15"))
MARKER = "BODY-MARKER-must-never-be-logged"
OK_URI = "file:///ok/redis.conf"
OK_TEXT = f"# {MARKER}\nprotected-mode no\n"


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def message(msg_id, method: str, params=None) -> bytes:
    msg = {"jsonrpc": "2.0", "method": method}
    if msg_id is not None:
        msg["id"] = msg_id
    if params is not None:
        msg["params"] = params
    return json.dumps(msg).encode()


class Peer:
    def __init__(self, write, read_chunk, close):
        self._write = write
        self._close = close
        self.replies: queue.Queue = queue.Queue()
        self.next_id = 1000
        threading.Thread(target=self._reader, args=(read_chunk,), daemon=True).start()

    def _reader(self, read_chunk) -> None:
        buf = b""
        try:
            while True:
                m = re.search(rb"Content-Length: (\d+)\r\n(?:[^\r\n]*\r\n)*?\r\n", buf)
                if m and len(buf) >= m.end() + int(m.group(1)):
                    end = m.end() + int(m.group(1))
                    self.replies.put(json.loads(buf[m.end():end]))
                    buf = buf[end:]
                    continue
                chunk = read_chunk()
                if not chunk:
                    break
                buf += chunk
        except (OSError, ValueError):
            pass
        self.replies.put(None)  # end of stream

    def raw(self, data: bytes) -> None:
        self._write(data)

    def send(self, body: bytes) -> None:
        self._write(frame(body))

    def request(self, method: str, params=None) -> int:
        self.next_id += 1
        self.send(message(self.next_id, method, params))
        return self.next_id

    def notify(self, method: str, params=None) -> None:
        self.send(message(None, method, params))

    def next(self, timeout: float = TIMEOUT):
        """The next message from the server, answering its requests (workspace/configuration)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no message from the server in time")
            try:
                msg = self.replies.get(timeout=left)
            except queue.Empty:
                raise AssertionError("no message from the server in time") from None
            if msg is not None and "method" in msg and "id" in msg:
                self.send(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": [None]}).encode())
                continue
            return msg

    def reply(self, msg_id, timeout: float = TIMEOUT) -> dict:
        """The response to `msg_id`; what came before it is kept in `self.before`."""
        self.before = []
        while True:
            msg = self.next(timeout)
            assert msg is not None, f"server closed the stream before answering {msg_id!r}"
            if "method" not in msg and msg.get("id") == msg_id:
                return msg
            self.before.append(msg)

    def initialize(self) -> None:
        rid = self.request("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                          "initializationOptions": {"debounceMs": 0}})
        assert "result" in self.reply(rid)
        self.notify("initialized", {})
        self.notify("textDocument/didOpen", {"textDocument": {"uri": OK_URI, "languageId": "plaintext",
                                                              "version": 1, "text": OK_TEXT}})

    def assert_serving(self) -> None:
        """A proper request is still answered, with a real result."""
        rid = self.request("textDocument/hover", {"textDocument": {"uri": OK_URI},
                                                  "position": {"line": 1, "character": 16}})
        reply = self.reply(rid)
        assert "error" not in reply, reply
        assert "REDIS-NET-001" in json.dumps(reply["result"]), reply
        self.before_serving = self.before
        self.answers_before_serving = [m for m in self.before if "method" not in m]

    def close(self) -> None:
        self._close()


def server_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "hipaa_lsp", "--log-level", "DEBUG", "serve", *args]


class StdioServer:
    def __init__(self, log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(server_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)
        out = self.proc.stdout

        def write(data: bytes) -> None:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

        self.peer = Peer(write, lambda: os.read(out.fileno(), 65536), self.proc.stdin.close)

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.log.close()
        return self.log_path.read_text(errors="replace")


class TcpServer:
    def __init__(self, log_path: Path, address: str = "127.0.0.1:0", env: dict | None = None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(server_command("--tcp", address), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + TIMEOUT
        while True:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", log_path.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                break
            assert self.proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the TCP server did not start listening"
            time.sleep(0.05)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def peer(self, sock: socket.socket | None = None) -> Peer:
        sock = sock or self.connect()

        def read() -> bytes:
            while True:
                try:
                    return sock.recv(65536)
                except TimeoutError:
                    continue

        def close() -> None:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        return Peer(sock.sendall, read, close)

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=TIMEOUT)
        self.log.close()
        return self.log_path.read_text(errors="replace")


def closed_by_server(sock: socket.socket, timeout: float = TIMEOUT) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
