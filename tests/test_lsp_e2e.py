"""The real server over stdio, driven with the captured capabilities of VS Code, Neovim and Emacs.

VS Code 1.65 (UTF-16, push diagnostics), Neovim 0.11 (UTF-8, pull diagnostics) and Emacs 29 eglot
(UTF-32, push) cover both diagnostic modes and all three position encodings.
"""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

CLIENTS = ["visual-studio-code", "neovim@v0.11.0", "emacs"]
SERVER = [sys.executable, "-m", "hipaa_lsp", "serve"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER), params=CLIENTS)
async def client(request, lsp_client: LanguageClient):
    lsp_client.set_configuration({"hipaaLsp": {"debounceMs": 0}})
    result = await lsp_client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities(request.param),
        initialization_options={"debounceMs": 0},
        root_uri="file:///work"))
    lsp_client.encoding = str(getattr(result.capabilities.position_encoding, "value",
                                      result.capabilities.position_encoding) or "utf-16")
    lsp_client.pulls = request.param.startswith("neovim")
    yield
    await lsp_client.shutdown_session()


async def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("timed out waiting for the server")


async def diagnostics(client: LanguageClient, uri: str, version: int | None = None) -> list[lsp.Diagnostic]:
    """Current diagnostics of `uri`, pulled or pushed as the client does it."""
    if client.pulls:
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
        return list(report.items)
    await wait_for(lambda: uri in client.diagnostics and (
        version is None or getattr(client, "versions", {}).get(uri) == version))
    return list(client.diagnostics[uri])


def open_doc(client: LanguageClient, uri: str, text: str, version: int = 1, language: str = "plaintext"):
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)))


def change(client: LanguageClient, uri: str, version: int, edits: list[tuple[lsp.Range, str]]):
    client.diagnostics.pop(uri, None)
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[lsp.TextDocumentContentChangePartial(range=r, text=t) for r, t in edits]))


def rng(l1, c1, l2, c2) -> lsp.Range:
    return lsp.Range(lsp.Position(l1, c1), lsp.Position(l2, c2))


def by_code(diags, code):
    return [d for d in diags if d.code == code]


REDIS = "bind 127.0.0.1\nprotected-mode no\n"


async def test_open_reports_exact_range(client: LanguageClient):
    uri = "file:///work/redis.conf"
    open_doc(client, uri, REDIS)
    diags = await diagnostics(client, uri, 1)
    [d] = by_code(diags, "REDIS-NET-001")
    assert d.range == rng(1, 15, 1, 17)
    assert d.source == "hipaa-lsp"
    assert d.severity == lsp.DiagnosticSeverity.Error


async def test_position_encoding_with_multibyte_text(client: LanguageClient):
    uri = "file:///work/etc/redis/redis.conf"
    open_doc(client, uri, "# café 😀\r\nrequirepass pä😀ss-word\r\n")
    diags = await diagnostics(client, uri, 1)
    [d] = by_code(diags, "REDIS-SECRET-001")
    end = {"utf-8": 26, "utf-16": 23, "utf-32": 22}[client.encoding]
    assert d.range == rng(1, 12, 1, end)
    assert "pä" not in d.message and "[redacted]" in d.message


async def test_hover_cites_hipaa(client: LanguageClient):
    uri = "file:///work/hover/redis.conf"
    open_doc(client, uri, REDIS)
    await diagnostics(client, uri, 1)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), position=lsp.Position(1, 16)))
    text = hover.contents.value
    assert "Protected mode is turned off" in text
    assert "45 CFR § 164.312(a)(1) Access control (Required)" in text
    assert "ecfr.gov" in text
    assert "Why it matters for PHI" in text and "How to fix" in text
    hardened = "file:///work/hover2/redis.conf"
    open_doc(client, hardened, "aclfile /etc/redis/users.acl\nport 0\ntls-port 6379\nappendonly yes\n"
                               "logfile /var/log/redis/redis.log\nprotected-mode yes\n")
    assert await diagnostics(client, hardened, 1) == []
    none = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri=hardened), position=lsp.Position(5, 16)))
    assert none is None


def apply_text_edits(text: str, edits: list[lsp.TextEdit], encoding: str) -> str:
    """Apply LSP edits to text as an editor would (ASCII texts in these tests, so offsets are simple)."""
    lines = text.split("\n")

    def offset(pos: lsp.Position) -> int:
        return sum(len(line) + 1 for line in lines[: pos.line]) + pos.character

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        s, t = offset(e.range.start), offset(e.range.end)
        text = text[:s] + e.new_text + text[t:]
    return text


async def test_quick_fix_removes_the_diagnostic(client: LanguageClient):
    uri = "file:///work/fix/redis.conf"
    open_doc(client, uri, REDIS)
    [d] = by_code(await diagnostics(client, uri, 1), "REDIS-NET-001")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=d.range,
        context=lsp.CodeActionContext(diagnostics=[d], only=[lsp.CodeActionKind.QuickFix])))
    [action] = [a for a in actions if "REDIS-NET-001" in a.title]
    assert action.kind == lsp.CodeActionKind.QuickFix
    edits = action.edit.document_changes[0].edits
    change(client, uri, 2, [(e.range, e.new_text) for e in edits])
    after = await diagnostics(client, uri, 2)
    assert not by_code(after, "REDIS-NET-001")
    assert apply_text_edits(REDIS, edits, client.encoding) == "bind 127.0.0.1\nprotected-mode yes\n"


async def test_fix_all_inserts_placeholder_that_stays_flagged(client: LanguageClient):
    uri = "file:///work/fixall/redis.conf"
    text = "port 6379\n# requirepass foobared\nprotected-mode no\nappendonly no\n"
    open_doc(client, uri, text)
    await diagnostics(client, uri, 1)
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(uri=uri), range=rng(0, 0, 0, 0),
        context=lsp.CodeActionContext(diagnostics=[], only=["source.fixAll.hipaa-lsp"])))
    [fix_all] = actions
    edits = fix_all.edit.document_changes[0].edits
    new_text = apply_text_edits(text, edits, client.encoding)
    assert "protected-mode yes" in new_text and "appendonly yes" in new_text
    assert "requirepass CHANGE_ME_TO_A_SECRET_FROM_YOUR_VAULT" in new_text
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        text_document=lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=new_text)]))
    client.diagnostics.pop(uri, None)
    after = await diagnostics(client, uri, 2)
    codes = {d.code for d in after}
    assert "REDIS-NET-001" not in codes and "REDIS-AUTH-001" not in codes
    assert "REDIS-AUTH-002" in codes  # the placeholder itself is flagged until replaced


async def test_edits_move_diagnostics(client: LanguageClient):
    uri = "file:///work/edit/redis.conf"
    open_doc(client, uri, REDIS)
    await diagnostics(client, uri, 1)
    change(client, uri, 2, [(rng(0, 0, 0, 0), "# a comment\n\n")])
    [d] = by_code(await diagnostics(client, uri, 2), "REDIS-NET-001")
    assert d.range == rng(3, 15, 3, 17)
    # Typing "yes" over "no" one character at a time.
    change(client, uri, 3, [(rng(3, 15, 3, 17), "")])
    change(client, uri, 4, [(rng(3, 15, 3, 15), "y")])
    change(client, uri, 5, [(rng(3, 16, 3, 16), "es")])
    assert not by_code(await diagnostics(client, uri, 5), "REDIS-NET-001")


async def test_settings_change_takes_effect(client: LanguageClient):
    uri = "file:///work/settings/redis.conf"
    open_doc(client, uri, REDIS)
    assert by_code(await diagnostics(client, uri, 1), "REDIS-NET-001")
    client.set_configuration({"hipaaLsp": {"debounceMs": 0, "disabledRules": ["REDIS-NET-001"],
                                           "severityOverrides": {"REDIS-DUR-001": "hint"}}})
    client.diagnostics.pop(uri, None)
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"hipaaLsp": {"debounceMs": 0, "disabledRules": ["REDIS-NET-001"],
                               "severityOverrides": {"REDIS-DUR-001": "hint"}}}))
    await asyncio.sleep(0.3)
    diags = await diagnostics(client, uri)
    assert not by_code(diags, "REDIS-NET-001")
    [durability] = by_code(diags, "REDIS-DUR-001")
    assert durability.severity == lsp.DiagnosticSeverity.Hint


async def test_close_clears_diagnostics(client: LanguageClient):
    uri = "file:///work/close/redis.conf"
    open_doc(client, uri, REDIS)
    assert await diagnostics(client, uri, 1)
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
    if client.pulls:
        report = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri=uri)))
        assert list(report.items) == []
    else:
        await wait_for(lambda: uri in client.diagnostics and len(client.diagnostics[uri]) == 0)


async def test_bad_input_gets_a_notice_and_server_keeps_serving(client: LanguageClient):
    binary = "file:///work/bin/redis.conf"
    open_doc(client, binary, "port 6379\n\x00\x01\x02garbage")
    diags = await diagnostics(client, binary, 1)
    assert [d.code for d in diags] == ["input-binary"]
    assert diags[0].severity == lsp.DiagnosticSeverity.Information
    broken = "file:///work/broken/mongod.conf"
    open_doc(client, broken, "net:\n  bindIp: [0.0.0.0\nsecurity:\n  authorization: disabled\n")
    await diagnostics(client, broken, 1)
    # A request about a document that was never opened answers, it does not crash the server.
    hover = await client.text_document_hover_async(lsp.HoverParams(
        text_document=lsp.TextDocumentIdentifier(uri="file:///work/nope.conf"), position=lsp.Position(0, 0)))
    assert hover is None
    ok = "file:///work/ok/redis.conf"
    open_doc(client, ok, REDIS)
    assert by_code(await diagnostics(client, ok, 1), "REDIS-NET-001")


async def test_unknown_files_are_ignored(client: LanguageClient):
    uri = "file:///work/notes.txt"
    open_doc(client, uri, "protected-mode no\n")
    assert await diagnostics(client, uri, 1) == []


async def test_debounce_publishes_once_for_a_burst(client: LanguageClient):
    if client.pulls:
        pytest.skip("pull clients ask for diagnostics themselves")
    client.set_configuration({"hipaaLsp": {"debounceMs": 300}})
    client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(
        settings={"hipaaLsp": {"debounceMs": 300}}))
    await asyncio.sleep(0.3)
    uri = "file:///work/debounce/redis.conf"
    open_doc(client, uri, REDIS)
    await wait_for(lambda: getattr(client, "versions", {}).get(uri) == 1, timeout=5)
    for version in range(2, 7):
        change(client, uri, version, [(rng(0, 0, 0, 0), "#")])
    await wait_for(lambda: client.versions.get(uri) == 6, timeout=5)
    await asyncio.sleep(0.5)
    # Versions 2-5 were superseded before the delay ran out: only the last one was published.
    assert client.history[uri] == [1, 6]
