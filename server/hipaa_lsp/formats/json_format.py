"""JSON (tree-sitter-json) -> settings model."""

from __future__ import annotations

import json

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Span
from .treesitter import indent_before, span_of, text_of

LANGUAGE = "json"


def _string_value(ts: TSNode, data: bytes) -> str:
    raw = text_of(ts, data)
    try:
        return json.loads(raw)
    except ValueError:
        return raw.strip('"')


def _fill(target: Node, ts: TSNode | None, data: bytes, doc: Document) -> None:
    if ts is None:
        return
    if ts.type == "object":
        for c in ts.named_children:
            if c.type == "pair":
                key_ts = c.child_by_field_name("key")
                key = _string_value(key_ts, data) if key_ts is not None else ""
                node = target.add(Node(key=str(key), span=span_of(c), key_span=span_of(key_ts) if key_ts else None))
                _fill(node, c.child_by_field_name("value"), data, doc)
            elif c.type == "comment":
                doc.comments.append(Comment(text_of(c, data).lstrip("/").strip("/* "), span_of(c)))
            elif c.type == "ERROR":
                doc.problems.append(ParseProblem("JSON syntax error", span_of(c)))
        if target.children:
            target.child_indent = indent_before(data, target.children[0].span.start)
        # New members go right after the opening brace (then no trailing comma question arises).
        target.insert_at = ts.start_byte + 1
    elif ts.type == "array":
        for c in ts.named_children:
            if c.type == "comment":
                continue
            item = target.add(Node(key=None, is_item=True, span=span_of(c)))
            _fill(item, c, data, doc)
    elif ts.type == "string":
        target.value, target.quote, target.value_span = str(_string_value(ts, data)), '"', span_of(ts)
    elif ts.type == "ERROR":
        doc.problems.append(ParseProblem("JSON syntax error", span_of(ts)))
        for c in ts.named_children:
            _fill(target, c, data, doc)
    else:  # number, true, false, null
        target.value, target.value_span = text_of(ts, data), span_of(ts)


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    doc = Document(root=Node(key=None, span=Span(0, len(data))), span=Span(0, len(data)))
    for c in root.named_children:
        if c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).lstrip("/").strip("/* "), span_of(c)))
        else:
            _fill(doc.root, c, data, doc)
    if root.has_error and not doc.problems:
        doc.problems.append(ParseProblem("JSON syntax error", span_of(root)))
    return doc
