"""The scanner over every upstream file in the shared corpus.

- Nothing crashes, every file gets an answer.
- No finding sits on a comment line.
- For files listed in tests/corpus_expected/*.yaml the findings are exactly the expected ones
  (rule id -> lines), written from reading the files as a security engineer would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.positions import LineIndex
from hipaa_lsp.rulebook import load_rulebook

from helpers import CORPUS, ROOT, flagged_lines

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")

FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and "kics" not in p.parts
               and p.name not in ("README.md", "MANIFEST.tsv")) if CORPUS.is_dir() else []


def _expectations() -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for f in sorted((ROOT / "tests" / "corpus_expected").glob("*.yaml")):
        out.update(yaml.safe_load(f.read_text()) or {})
    return out


EXPECTED = _expectations()
_COMMENT_PREFIXES = (b"#", b";", b"//", b"<!--")


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_corpus_file_scans_cleanly(path: Path):
    data = path.read_bytes()
    report = analyze(str(path), data, load_rulebook(), Config())
    index = LineIndex(data)
    for f in report.findings:
        line = index.line_text(index.line_of(f.start)).strip()
        # A missing setting may be anchored on its commented-out default; a present one never is.
        if f.hit is not None and f.hit.node is not None:
            assert not line.startswith(_COMMENT_PREFIXES), f"{f.rule.id} flagged a comment: {line!r}"


@pytest.mark.parametrize("relpath", sorted(EXPECTED), ids=sorted(EXPECTED))
def test_corpus_expected_findings(relpath: str):
    path = CORPUS / relpath
    got = flagged_lines(str(path), path.read_bytes())
    want = {rule: sorted(lines) for rule, lines in (EXPECTED[relpath] or {}).items()}
    assert got == want


def test_every_covered_corpus_file_has_expectations():
    """A corpus file of a covered technology must have a written expectation (even an empty one)."""
    from hipaa_lsp.detect import detect_kind

    missing = [str(p.relative_to(CORPUS)) for p in FILES
               if detect_kind(str(p), p.read_bytes()[:65536]) is not None
               and str(p.relative_to(CORPUS)) not in EXPECTED]
    assert not missing, f"no expected findings written for: {missing}"
