"""Generated documents must match the rule data (run `make docs` after changing rules)."""

from __future__ import annotations

import pytest

from hipaa_lsp.docs import coverage_markdown, mapping_yaml, rules_markdown
from hipaa_lsp.rulebook import load_rulebook

from helpers import ROOT

GENERATED = {
    "docs/rules.md": rules_markdown,
    "docs/hipaa-coverage.md": coverage_markdown,
    "rules/mappings/hipaa-security-rule.yaml": mapping_yaml,
}


@pytest.mark.parametrize("relpath", sorted(GENERATED))
def test_generated_file_is_current(relpath):
    path = ROOT / relpath
    assert path.is_file(), f"{relpath} missing: run `make docs`"
    assert path.read_text(encoding="utf-8") == GENERATED[relpath](load_rulebook()), (
        f"{relpath} is stale: run `make docs`")


def test_every_cited_paragraph_is_in_the_catalog():
    rulebook = load_rulebook()
    for rule in rulebook.rules.values():
        for pid in rule.hipaa:
            assert pid in rulebook.paragraphs
