"""A JSON-RPC client over a real server's stdio that can also send garbage (no framework in between)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


class RawClient:
    """Speaks JSON-RPC over the server's stdio byte by byte, so it can also send garbage."""

    def __init__(self, env: dict | None = None):
        self.proc = subprocess.Popen([sys.executable, "-m", "hipaa_lsp", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=None if os.environ.get("RAW_CLIENT_STDERR") else subprocess.DEVNULL,
                                     env={**os.environ, **(env or {})})
        self.next_id = 0

    def write(self, body: bytes) -> None:
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def send(self, method: str, params, request: bool = True):
        msg = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            msg["id"] = self.next_id
        self.write(json.dumps(msg).encode())
        return msg.get("id")

    def read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            assert line, "server closed its output"
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def until(self, predicate) -> dict:
        while True:
            msg = self.read()
            if "method" in msg and "id" in msg:  # server -> client request: answer it
                self.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": [None]}).encode())
                continue
            if predicate(msg):
                return msg

    def diagnostics_for(self, uri: str) -> list[dict]:
        return self.until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                          and m["params"]["uri"] == uri)["params"]["diagnostics"]

    def open(self, uri: str, text: str) -> None:
        self.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "x", "version": 1,
                                                            "text": text}}, request=False)

    def initialize(self, options: dict | None = None) -> None:
        rid = self.send("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                       "initializationOptions": {"debounceMs": 0, **(options or {})}})
        self.until(lambda m: m.get("id") == rid)
        self.send("initialized", {}, request=False)

    def close(self):
        rid = self.send("shutdown", None)
        self.until(lambda m: m.get("id") == rid)
        self.send("exit", None, request=False)
        self.proc.wait(timeout=20)
