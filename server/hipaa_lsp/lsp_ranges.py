"""Byte spans of an open document as LSP ranges, and the findings under a span."""

from __future__ import annotations

from .document_store import OpenDocument
from .engine import Finding
from .positions import LineIndex


def lsp_range(index: LineIndex, start: int, end: int, encoding: str) -> dict:
    s, e = index.position(start, encoding), index.position(end, encoding)
    return {"start": {"line": s.line, "character": s.character}, "end": {"line": e.line, "character": e.character}}


def findings_at(doc: OpenDocument, start: int, end: int) -> list[Finding]:
    doc.refresh()
    return [f for f in doc.findings if f.start <= end and start <= f.end]
