"""Malformed LSP traffic and hostile files: the server answers with errors or notices and keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


class RawClient:
    """Speaks JSON-RPC over the server's stdio byte by byte, so it can also send garbage."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "hipaa_lsp", "serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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

    def close(self):
        rid = self.send("shutdown", None)
        self.until(lambda m: m.get("id") == rid)
        self.send("exit", None, request=False)
        self.proc.wait(timeout=20)


@pytest.fixture
def server():
    client = RawClient()
    rid = client.send("initialize", {"processId": None, "rootUri": None, "capabilities": {},
                                     "initializationOptions": {"debounceMs": 0}})
    client.until(lambda m: m.get("id") == rid)
    client.send("initialized", {}, request=False)
    yield client
    client.close()


def test_malformed_requests_get_errors_and_the_server_keeps_serving(server: RawClient):
    server.write(b"{this is not json")
    server.write(json.dumps({"jsonrpc": "2.0", "id": 900, "method": "textDocument/hover",
                             "params": {"textDocument": {"uri": 42}}}).encode())
    reply = server.until(lambda m: m.get("id") == 900)
    assert "error" in reply or reply.get("result") is None
    server.write(json.dumps({"jsonrpc": "2.0", "id": 901, "method": "no/suchMethod", "params": {}}).encode())
    assert "error" in server.until(lambda m: m.get("id") == 901)
    # didChange for a document never opened, with a range past its end.
    server.send("textDocument/didChange", {"textDocument": {"uri": "file:///ghost/redis.conf", "version": 3},
                                           "contentChanges": [{"range": {"start": {"line": 99, "character": 5},
                                                                         "end": {"line": 99, "character": 9}},
                                                               "text": "x"}]}, request=False)
    server.open("file:///ok/redis.conf", "protected-mode no\n")
    diags = server.diagnostics_for("file:///ok/redis.conf")
    assert any(d["code"] == "REDIS-NET-001" for d in diags)


@pytest.mark.parametrize("name,text,code", [
    ("deep.json", "[" * 20000 + "]" * 20000, None),
    ("mongod.conf", "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 3000)), None),
    ("server.xml", "<Server>" + "<a>" * 5000 + "</a>" * 5000 + "</Server>", None),
    ("redis.conf", "port 6379\n\x00\x00binary", "input-binary"),
    ("nginx.conf", "http {\n" * 20000, None),
    ("pg_hba.conf", "host all all 0.0.0.0/0 trust\n" * 20000 + "x" * 3_000_000, "input-too-large"),
])
def test_hostile_files_get_an_answer(server: RawClient, name, text, code):
    uri = f"file:///hostile/{name}"
    server.open(uri, text)
    diags = server.diagnostics_for(uri)
    if code:
        assert [d["code"] for d in diags] == [code]
        assert diags[0]["severity"] == 3
    server.open("file:///after/redis.conf", "protected-mode no\n")
    assert any(d["code"] == "REDIS-NET-001" for d in server.diagnostics_for("file:///after/redis.conf"))
