"""The VS Code extension contributes every limit with the server's own default and bounds."""

from __future__ import annotations

import json
from pathlib import Path

from hipaa_lsp.limits import SETTINGS, Limits

PACKAGE = Path(__file__).resolve().parents[1] / "vscode-client" / "package.json"


def test_limits_match_the_server():
    props = json.loads(PACKAGE.read_text())["contributes"]["configuration"]["properties"]
    defaults = Limits()
    for key, (attr, low, high) in SETTINGS.items():
        prop = props[f"hipaaLsp.{key}"]
        assert (prop["type"], prop["default"], prop["minimum"], prop["maximum"]) == \
            ("integer", getattr(defaults, attr), low, high), key
