"""textDocument/hover, computed in the analysis worker: the rule, its HIPAA paragraphs and the fix."""

from __future__ import annotations

from .document_store import OpenDocument
from .explain import rule_markdown
from .fixes import plan_fix
from .rulebook import Rulebook
from .lsp_ranges import findings_at, lsp_range


def hover(doc: OpenDocument, line: int, character: int, encoding: str, rulebook: Rulebook) -> dict | None:
    offset = doc.index.offset(line, character, encoding)
    found = findings_at(doc, offset, offset)
    if not found:
        return None
    parts = []
    for f in found:
        plan = plan_fix(f, doc.data)
        parts.append(rule_markdown(f.rule, rulebook, f.message, plan.title if plan else None))
    first = found[0]
    return {"contents": {"kind": "markdown", "value": "\n\n---\n\n".join(parts)},
            "range": lsp_range(doc.index, first.start, first.end, encoding)}
