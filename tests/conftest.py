"""Test-wide set-up: the test LSP client also remembers the version of pushed diagnostics."""

from __future__ import annotations

import sys
from pathlib import Path

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient
from pytest_lsp import client as pytest_lsp_client

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _publish_diagnostics(client: LanguageClient, params: lsp.PublishDiagnosticsParams):
    client.diagnostics[params.uri] = params.diagnostics
    if not hasattr(client, "versions"):
        client.versions = {}
        client.history = {}
    client.versions[params.uri] = params.version
    client.history.setdefault(params.uri, []).append(params.version)


# Registered on every test client pytest-lsp creates (it copies this table at client creation).
pytest_lsp_client.DEFAULT_CLIENT_FEATURES[lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = _publish_diagnostics
