"""Shared test helpers: the engine run as the CLI runs it, and where the shared corpus lives."""

from __future__ import annotations

import os
from pathlib import Path

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.positions import LineIndex
from hipaa_lsp.rulebook import Rulebook, load_rulebook, rules_dir

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


def demo_rulebook(folder: Path, rules_yaml: str) -> Rulebook:
    """A rulebook of the real HIPAA catalog plus one demo rule file, loaded from `folder`."""
    import shutil

    shutil.copy(rules_dir() / "hipaa.yaml", folder / "hipaa.yaml")
    (folder / "demo.yaml").write_text(rules_yaml)
    load_rulebook.cache_clear()
    try:
        return load_rulebook(str(folder))
    finally:
        load_rulebook.cache_clear()  # later tests must get the project's real rules again
