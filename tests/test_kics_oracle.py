"""KICS test samples as an outside oracle.

For every KICS query mapped in tests/kics/<platform>.yaml to our rule ids: each positive sample must
get a finding of a mapped rule at every line KICS expects, and no negative sample may get one.
The recall and false-positive figures per platform are printed (run with -s) and asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import CORPUS, ROOT, flagged_lines

KICS = CORPUS / "kics"
MAPS = sorted((ROOT / "tests" / "kics").glob("*.yaml"))

pytestmark = pytest.mark.skipif(not KICS.is_dir(), reason="shared KICS corpus not present")


def _expected(test_dir: Path) -> dict[str, set[int]]:
    raw = json.loads((test_dir / "positive_expected_result.json").read_text())
    positives = sorted(p.name for p in test_dir.iterdir() if p.name.startswith("positive") and not p.name.endswith(".json"))
    out: dict[str, set[int]] = {name: set() for name in positives}
    for entry in raw:
        name = entry.get("fileName") or entry.get("filename") or (positives[0] if len(positives) == 1 else None)
        if name is None:
            continue
        out.setdefault(name, set()).add(int(entry["line"]))
    return out


def _cases():
    for map_file in MAPS:
        platform = map_file.stem
        mapping = yaml.safe_load(map_file.read_text()) or {}
        for query, rule_ids in mapping.items():
            yield platform, query, [rule_ids] if isinstance(rule_ids, str) else list(rule_ids)


CASES = list(_cases())


def _score(platform: str, query: str, rule_ids: list[str]):
    test_dir = KICS / platform / query / "test"
    expected_hits = found_hits = 0
    false_positives: list[str] = []
    misses: list[str] = []
    for name, lines in _expected(test_dir).items():
        got: set[int] = set()
        for rid, flagged in flagged_lines(name, (test_dir / name).read_bytes()).items():
            if rid in rule_ids:
                got.update(flagged)
        expected_hits += len(lines)
        found_hits += len(lines & got)
        misses += [f"{name}:{n}" for n in sorted(lines - got)]
    for negative in sorted(p for p in test_dir.iterdir() if p.name.startswith("negative")):
        got = {rid for rid in flagged_lines(negative.name, negative.read_bytes()) if rid in rule_ids}
        if got:
            false_positives.append(f"{negative.name}: {sorted(got)}")
    return expected_hits, found_hits, misses, false_positives


@pytest.mark.parametrize("platform,query,rule_ids", CASES, ids=[f"{p}/{q}" for p, q, _ in CASES])
def test_kics_query(platform, query, rule_ids):
    expected, found, misses, false_positives = _score(platform, query, rule_ids)
    assert not false_positives, f"false positives on negative samples: {false_positives}"
    assert found == expected, f"missed KICS-expected lines: {misses}"


def test_kics_summary(capsys):
    """Prints recall and false positives per platform (the figures quoted in the closing note)."""
    totals: dict[str, list[int]] = {}
    for platform, query, rule_ids in CASES:
        expected, found, _, fps = _score(platform, query, rule_ids)
        t = totals.setdefault(platform, [0, 0, 0, 0])
        t[0] += expected
        t[1] += found
        t[2] += len(fps)
        t[3] += 1
    with capsys.disabled():
        for platform, (expected, found, fps, queries) in sorted(totals.items()):
            print(f"\nKICS {platform}: {queries} queries, recall {found}/{expected} lines, "
                  f"{fps} negative samples with false positives")
    assert CASES, "no KICS queries mapped"
