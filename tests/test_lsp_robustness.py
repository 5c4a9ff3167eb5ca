"""Malformed LSP traffic and hostile files: the server answers with errors or notices and keeps serving."""

from __future__ import annotations

import json

import pytest

from raw_client import RawClient


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
    ("redis.conf", "port 6379\n\x00\x00binary", ("input-binary", 3)),
    ("nginx.conf", "http {\n" * 20000, None),
    # Over a limit: not analysed, and said so by the built-in rule at error severity.
    ("pg_hba.conf", "host all all 0.0.0.0/0 trust\n" * 20000 + "x" * 3_000_000, ("HLSP-UNCHECKED-001", 1)),
    ("docker-compose.yml", "".join(" " * i + f"k{i}:\n" for i in range(300)), ("HLSP-UNCHECKED-001", 1)),
])
def test_hostile_files_get_an_answer(server: RawClient, name, text, code):
    uri = f"file:///hostile/{name}"
    server.open(uri, text)
    diags = server.diagnostics_for(uri)
    if code:
        assert [(d["code"], d["severity"]) for d in diags] == [code]
    server.open("file:///after/redis.conf", "protected-mode no\n")
    assert any(d["code"] == "REDIS-NET-001" for d in server.diagnostics_for("file:///after/redis.conf"))
