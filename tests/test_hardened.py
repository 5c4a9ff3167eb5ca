"""Hardened configurations written the way a careful operator would: not a single finding.

A false positive is a bug as serious as a miss; these files are the checks that a secure setup
stays quiet under every rule at once (the rules' own negative examples test them one by one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipaa_lsp.detect import detect_kind

from helpers import ROOT, flagged_lines

HARDENED = sorted((ROOT / "tests" / "fixtures" / "hardened").iterdir())


@pytest.mark.parametrize("path", HARDENED, ids=[p.name for p in HARDENED])
def test_hardened_file_has_no_findings(path: Path):
    assert detect_kind(path.name, path.read_bytes()) is not None, "not recognised: the test would prove nothing"
    assert flagged_lines(path.name, path.read_bytes()) == {}
