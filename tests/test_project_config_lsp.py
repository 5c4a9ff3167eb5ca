"""One project file, two front ends: the server over stdio (pytest-lsp) and `hipaa-lsp scan` give the
same findings for a file beside a `.hipaa-lsp.toml`; a broken file is shown on itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from test_lsp_e2e import SERVER, wait_for

REDIS = "bind 0.0.0.0\nprotected-mode no\nappendonly no\n"
PROJECT = '[rules]\ndisable = ["REDIS-NET-001"]\n\n[rules.severity]\nREDIS-NET-002 = "hint"\n'
SEVERITY = {1: "error", 2: "warning", 3: "information", 4: "hint"}


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".hipaa-lsp.toml").write_text(PROJECT)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "redis.conf").write_text(REDIS)
    # A relative editor glob is relative to the workspace folder (it used to never match).
    lsp_client.set_configuration({"hipaaLsp": {"debounceMs": 0, "fileAssociations": {"deploy/*.cfg": "redis-conf"}}})
    await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), initialization_options={"debounceMs": 0},
        root_uri=tmp_path.as_uri(),
        workspace_folders=[lsp.WorkspaceFolder(uri=tmp_path.as_uri(), name="ws")]))
    lsp_client.root = tmp_path
    yield
    await lsp_client.shutdown_session()


async def opened(client: LanguageClient, path: Path) -> list[lsp.Diagnostic]:
    uri = path.as_uri()
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="plaintext", version=1, text=path.read_text())))
    await wait_for(lambda: uri in client.diagnostics)
    return list(client.diagnostics[uri])


async def test_editor_and_scan_agree_on_the_project_file(client: LanguageClient):
    root: Path = client.root
    diags = await opened(client, root / "cache" / "redis.conf")
    in_editor = sorted((d.code, SEVERITY[d.severity], d.range.start.line + 1) for d in diags)
    proc = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", ".", "--format", "json"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    [entry] = json.loads(proc.stdout)["files"]
    in_scan = sorted((f["ruleId"], f["severity"], f["range"]["start"]["line"]) for f in entry["findings"])
    assert in_editor == in_scan
    codes = {code: severity for code, severity, _ in in_editor}
    assert "REDIS-NET-001" not in codes and codes["REDIS-NET-002"] == "hint"  # the project file applied


async def test_broken_project_file_is_shown_on_itself_and_defaults_apply(client: LanguageClient):
    root: Path = client.root
    (root / ".hipaa-lsp.toml").write_text('exclude = "not-a-list"\n' + PROJECT)
    diags = await opened(client, root / "cache" / "redis.conf")
    assert any(d.code == "REDIS-NET-001" for d in diags)  # defaults meanwhile
    await wait_for(lambda: any("exclude must be a list" in m.message for m in client.messages))
    [problem] = await opened(client, root / ".hipaa-lsp.toml")
    assert problem.range.start.line == 0 and "exclude must be a list" in problem.message


async def test_relative_editor_association_matches_in_the_workspace(client: LanguageClient):
    root: Path = client.root
    (root / "deploy").mkdir()
    (root / "deploy" / "cache.cfg").write_text(REDIS)
    uri = (root / "deploy" / "cache.cfg").as_uri()
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(text_document=lsp.TextDocumentItem(
        uri=uri, language_id="plaintext", version=1, text=REDIS)))
    await wait_for(lambda: any(d.code == "REDIS-NET-002" for d in client.diagnostics.get(uri, [])))
