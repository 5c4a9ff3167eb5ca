"""Every rule's own examples: positives flagged at exactly the listed lines, negatives not at all,
and every fix makes its finding go away without creating a new error-level finding."""

from __future__ import annotations

import pytest

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.fixes import apply_edits, plan_fix
from hipaa_lsp.rulebook import load_rulebook

from helpers import flagged_lines

# Built-in rules are reported by the tool itself, not by the engine: their fixtures are the limit
# and isolation tests (tests/test_limits.py, tests/test_worker_isolation.py).
RULES = sorted((r for r in load_rulebook().rules.values() if not r.builtin), key=lambda r: r.id)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_positive_and_negative_example(rule):
    assert any(e.flagged for e in rule.examples), f"{rule.id} has no positive example"
    assert any(not e.flagged for e in rule.examples), f"{rule.id} has no negative example"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples_flag_exact_lines(rule):
    for example in rule.examples:
        got = flagged_lines(example.name, example.text.encode(), rule.id).get(rule.id, [])
        assert got == list(example.flagged), f"{rule.id} on example {example.name!r}:\n{example.text}"


FIXABLE = [r for r in RULES if r.fix is not None]


@pytest.mark.parametrize("rule", FIXABLE, ids=[r.id for r in FIXABLE])
def test_fix_removes_the_finding(rule):
    rulebook = load_rulebook()
    for example in (e for e in rule.examples if e.flagged):
        data = example.text.encode()
        report = analyze(example.name, data, rulebook, Config())
        findings = [f for f in report.findings if f.rule.id == rule.id]
        plans = [plan_fix(f, data) for f in findings]
        assert all(plans), f"{rule.id}: no fix planned for {example.name}"
        fixed = apply_edits(data, [e for p in plans for e in p.edits])
        after = analyze(example.name, fixed, rulebook, Config())
        assert not [f for f in after.findings if f.rule.id == rule.id], (
            f"{rule.id}: still flagged after fix:\n{fixed.decode()}")
        assert not after.notices, f"{rule.id}: fix broke the syntax:\n{fixed.decode()}"
