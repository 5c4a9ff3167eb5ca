"""Fix rendering in the awkward corners of YAML and JSON: flow mappings, flow sequences, arrays, and
keys whose value is a collection. Each fixed file must parse and lose its finding."""

from __future__ import annotations

import pytest

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.fixes import apply_edits, plan_fix

from helpers import demo_rulebook

RULES = """
technology: demo
kinds: [docker-daemon-json, docker-compose]
rules:
  - id: DEMO-REMOVE-001
    title: insecure registry
    severity: warning
    hipaa: ["164.312(e)(1)"]
    scope: "insecure-registries[*]"
    check: {setting: ., matches: "."}
    message: m
    rationale: r
    remediation: f
    fix: {remove: true}
  - id: DEMO-SETLIST-001
    title: cap_drop without ALL
    severity: warning
    hipaa: ["164.312(a)(1)"]
    scope: "services/*"
    check: {not: {setting: "cap_drop[*]", equals: ALL}}
    report: cap_drop
    message: m
    rationale: r
    remediation: f
    fix: {set: ["ALL"]}
  - id: DEMO-SETLIST-002
    title: cap_drop without ALL (the list itself)
    severity: warning
    hipaa: ["164.312(a)(1)"]
    scope: "services/*"
    check:
      all:
        - {setting: cap_drop, present: true}
        - {not: {setting: "cap_drop[*]", equals: ALL}}
    message: m
    rationale: r
    remediation: f
    fix: {set: ["ALL"]}
"""


@pytest.fixture(scope="module")
def rulebook(tmp_path_factory):
    return demo_rulebook(tmp_path_factory.mktemp("rules"), RULES)


def fix_all(rulebook, name: str, text: str, rule_id: str) -> str:
    data = text.encode()
    for _ in range(5):  # a fix per finding, re-analysing in between like a user would
        report = analyze(name, data, rulebook, Config())
        findings = [f for f in report.findings if f.rule.id == rule_id]
        if not findings:
            break
        plan = plan_fix(findings[0], data)
        assert plan is not None
        data = apply_edits(data, list(plan.edits))
        assert not analyze(name, data, rulebook, Config()).notices, data.decode()
    assert not [f for f in analyze(name, data, rulebook, Config()).findings if f.rule.id == rule_id]
    return data.decode()


@pytest.mark.parametrize("text,expected", [
    ('{"insecure-registries": ["a:5000", "b:5000"], "icc": false}\n',
     '{"insecure-registries": [], "icc": false}\n'),
    ('{\n  "insecure-registries": [\n    "a:5000",\n    "b:5000"\n  ],\n  "icc": false\n}\n',
     '{\n  "insecure-registries": [],\n  "icc": false\n}\n'),
])
def test_remove_json_array_items(rulebook, text, expected):
    assert fix_all(rulebook, "daemon.json", text, "DEMO-REMOVE-001") == expected


def test_set_list_replaces_block_sequence_and_keeps_comments(rulebook):
    text = "services:\n  app:\n    image: x:1\n    cap_drop:\n      - NET_RAW\n    # keep me\n    read_only: true\n"
    fixed = fix_all(rulebook, "compose.yaml", text, "DEMO-SETLIST-002")
    assert fixed == 'services:\n  app:\n    image: x:1\n    cap_drop: ["ALL"]\n    # keep me\n    read_only: true\n'


def test_set_list_inserts_missing_key(rulebook):
    text = "services:\n  app:\n    image: x:1\n"
    fixed = fix_all(rulebook, "compose.yaml", text, "DEMO-SETLIST-001")
    assert fixed == 'services:\n  app:\n    image: x:1\n    cap_drop: ["ALL"]\n'


def test_set_into_flow_mappings(rulebook):
    text = "services:\n  app: {image: 'x:1'}\n  db: {}\n"
    fixed = fix_all(rulebook, "compose.yaml", text, "DEMO-SETLIST-001")
    assert fixed == "services:\n  app: {image: 'x:1', cap_drop: [\"ALL\"]}\n  db: {cap_drop: [\"ALL\"]}\n"
