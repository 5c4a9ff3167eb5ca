"""A bad rule fails loading with a clear message naming the file, the rule and the problem."""

from __future__ import annotations

import pytest

from hipaa_lsp.rulebook import RuleError

from helpers import demo_rulebook

GOOD = """
technology: demo
kinds: [redis-conf]
rules:
  - id: DEMO-X-001
    title: t
    severity: warning
    hipaa: ["164.312(d)"]
    check: {setting: port, equals: "1"}
    message: m
    rationale: r
    remediation: f
"""


def _load(tmp_path, text):
    return demo_rulebook(tmp_path, text)


def test_good_rule_loads(tmp_path):
    assert "DEMO-X-001" in _load(tmp_path, GOOD).rules


@pytest.mark.parametrize("bad,expected", [
    (GOOD.replace('"164.312(d)"', '"164.999(z)"'), "unknown HIPAA paragraph"),
    (GOOD.replace("severity: warning", "severity: critical"), "severity must be"),
    (GOOD.replace("equals:", "equalz:"), "unknown check keys"),
    (GOOD.replace("{setting: port, equals: \"1\"}", "{setting: port, matches: \"(\"}"), "bad regex"),
    (GOOD.replace("DEMO-X-001", "demo1"), "id must look like"),
    (GOOD.replace("kinds: [redis-conf]", "kinds: [no-such-kind]"), "unknown file kind"),
    (GOOD.replace("    remediation: f\n", ""), "missing 'remediation'"),
    (GOOD.replace("setting: port", "setting: 'a[b'"), "bad path step"),
])
def test_bad_rule_is_rejected_clearly(tmp_path, bad, expected):
    with pytest.raises(RuleError) as err:
        _load(tmp_path, bad)
    assert expected in str(err.value)
    assert "demo.yaml" in str(err.value)
