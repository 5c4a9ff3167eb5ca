"""Shared test helpers: the engine run as the CLI runs it, and where the shared corpus lives."""

from __future__ import annotations

import os
from pathlib import Path

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.positions import LineIndex
from hipaa_lsp.rulebook import load_rulebook

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("HIPAA_LSP_CORPUS", ROOT.parent / "shared" / "corpus"))


def flagged_lines(name: str, data: bytes, rule_id: str | None = None, config: Config | None = None) -> dict[str, list[int]]:
    """rule id -> sorted 1-based lines flagged when scanning `data` as a file called `name`."""
    report = analyze(name, data, load_rulebook(), config or Config())
    index = LineIndex(data)
    out: dict[str, set[int]] = {}
    for f in report.findings:
        if rule_id is None or f.rule.id == rule_id:
            out.setdefault(f.rule.id, set()).add(index.line_of(f.start) + 1)
    return {k: sorted(v) for k, v in out.items()}
