"""A planted secret in a file of every kind reaches no output, through the CLI or the server.

Channels: `scan` text, `--format json`, `--format sarif` (fixes included), `scan --fix` stdout and
stderr, all at `--log-level DEBUG`; the server's publishDiagnostics, hover on every finding, code
action titles and edits for every finding (quick fixes and fix-all), window messages, and its stderr
at DEBUG, including after messages pygls logs whole (an unknown "jsonrpc" value, unreadable params).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time

import pytest
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, client_capabilities

from hipaa_lsp.detect import KINDS
from planted import NO_RULE_ON_THE_SECRET, planted_files

PLANTED = planted_files()
CLI = [sys.executable, "-m", "hipaa_lsp", "--log-level", "DEBUG"]


def needles(secrets: list[str]) -> list[str]:
    # The whole secret, and a piece of its random part: a shortened message must not keep half of it.
    return [n for s in secrets for n in (s, s[5:17] if s.startswith("Pl4nt") else s[:16])]


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [n for n in needles(secrets) if n in text]


def test_every_kind_has_a_planted_file():
    assert set(PLANTED) == set(KINDS)


# ------------------------------------------------------------------------------------------ CLI


@pytest.fixture(scope="module")
def cli_outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    scan_dir, fix_dir = root / "scan", root / "fix"
    for kind, (name, text, _) in PLANTED.items():
        (scan_dir / kind).mkdir(parents=True)
        (scan_dir / kind / name).write_text(text)
    shutil.copytree(scan_dir, fix_dir)

    def run(*args) -> subprocess.CompletedProcess:
        result = subprocess.run([*CLI, "scan", "--no-color", *args], capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stderr
        return result

    text = run(str(scan_dir))
    as_json = run("--format", "json", str(scan_dir))
    sarif = run("--format", "sarif", str(scan_dir))
    fixed = run("--fix", str(fix_dir))
    return {
        "scan text": text.stdout, "scan stderr": text.stderr + as_json.stderr + sarif.stderr,
        "json": as_json.stdout, "sarif": sarif.stdout,
        "--fix stdout": fixed.stdout, "--fix stderr": fixed.stderr,
        "_report": json.loads(as_json.stdout), "_sarif": json.loads(sarif.stdout),
    }


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_cli_outputs_hold_no_secret(kind, cli_outputs):
    name, text, secrets = PLANTED[kind]
    [report] = [f for f in cli_outputs["_report"]["files"] if f["path"].endswith(f"/{kind}/{name}")]
    assert report["kind"] == kind and report["findings"], "rules must fire in this file"
    lines = text.splitlines()
    on_secret = [f for f in report["findings"] if any(s in lines[f["range"]["start"]["line"] - 1] for s in secrets)]
    assert on_secret or kind in NO_RULE_ON_THE_SECRET, "rules must fire on the secret's own line"
    for channel, output in cli_outputs.items():
        if not channel.startswith("_"):
            assert not leaks(output, secrets), f"{kind}: secret in {channel}"


def test_sarif_fixes_are_offered_without_secrets(cli_outputs):
    # The four fixes that used to rewrite a whole value are still offered, only smaller.
    fixed_rules = {r["ruleId"] for r in cli_outputs["_sarif"]["runs"][0]["results"] if r.get("fixes")}
    assert {"K8S-KUBELET-004", "REDIS-ACL-001", "SOLR-EXEC-005", "SOLR-REPL-002"} <= fixed_rules


# --------------------------------------------------------------------------------------- server


# The server's stderr goes to a file. pygls is also let log at DEBUG (the CLI caps it at WARNING
# today): every message it sends or receives must then be withheld too.
_WRAPPER = """
import logging, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(fd, 2)
pygls = logging.getLogger("pygls")
pygls.setLevel(logging.DEBUG)
pygls.setLevel = lambda level: None
from hipaa_lsp.cli import main
sys.exit(main(["--log-level", "DEBUG", "serve"]))
"""


async def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the server")


def dump(client, obj) -> str:
    return json.dumps(client.protocol._converter.unstructure(obj))


async def test_server_channels_hold_no_secret(tmp_path):
    server_log = tmp_path / "server.log"
    client = await ClientServerConfig(server_command=[sys.executable, "-c", _WRAPPER, str(server_log)]).start()
    problems: list[str] = []
    try:
        await client.initialize_session(lsp.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 0},
            root_uri="file:///planted"))
        for kind, (name, text, secrets) in sorted(PLANTED.items()):
            uri = f"file:///planted/{kind}/{name}"
            client.text_document_did_open(lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=text)))
            await wait_for(lambda: uri in client.diagnostics)
            diags = list(client.diagnostics[uri])
            if not diags:
                problems.append(f"{kind}: no diagnostics")
            outputs = {"publishDiagnostics": dump(client, diags)}
            doc = lsp.TextDocumentIdentifier(uri=uri)
            for i, d in enumerate(diags):
                hover = await client.text_document_hover_async(lsp.HoverParams(doc, d.range.start))
                outputs[f"hover {d.code}"] = dump(client, hover)
                actions = await client.text_document_code_action_async(lsp.CodeActionParams(
                    doc, d.range, lsp.CodeActionContext(diagnostics=[d])))
                outputs[f"code actions {d.code}"] = dump(client, actions)
            for channel, output in outputs.items():
                if leaks(output, secrets):
                    problems.append(f"{kind}: secret in {channel}")
        await _messages_pygls_logs_whole(client)
        window = dump(client, list(client.log_messages) + list(client.messages))
        all_secrets = [s for _, _, secrets in PLANTED.values() for s in secrets]
        if leaks(window, all_secrets):
            problems.append("secret in window/logMessage or showMessage")
        await client.shutdown_session()
    finally:
        await client.stop()
    log = server_log.read_text(errors="replace")
    for kind, (_, _, secrets) in PLANTED.items():
        if leaks(log, secrets):
            problems.append(f"{kind}: secret in the server's stderr log")
    # The hostile messages reached a logging path: pygls' own ("Unknown message") or protocol.py's.
    if "DEBUG" not in log or not any(m in log for m in ("Unknown message", "rejected request", "ignored notification")):
        problems.append("the server's DEBUG log was not captured")
    assert not problems, "\n".join(problems)


async def _messages_pygls_logs_whole(client):
    """An unknown "jsonrpc" value and unreadable params: pygls logs such messages whole."""
    name, text, _ = PLANTED["redis-conf"]
    bogus = {"textDocument": {"uri": f"file:///bogus/{name}", "languageId": "plaintext", "version": 1, "text": text}}
    client.protocol._send_data({"jsonrpc": "1.0", "method": "textDocument/didOpen", "params": bogus})
    client.protocol._send_data({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                                "params": {**bogus, "textDocument": {**bogus["textDocument"], "version": text}}})
    client.protocol._send_data({"jsonrpc": "2.0", "id": "bad-hover", "method": "textDocument/hover",
                                "params": {"textDocument": {"uri": text}, "position": {"line": 0, "character": text}}})
    # A round trip, so the server has read (and logged) the messages above.
    await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri="file:///none/redis.conf"), lsp.Position(0, 0)))
