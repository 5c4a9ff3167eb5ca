"""YAML (tree-sitter-yaml) -> settings model. One `Document` per `---` document."""

from __future__ import annotations

import re

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Span
from .tolerant import tolerant_yaml
from .treesitter import first_error, indent_before, next_line_start, span_of, text_of

LANGUAGE = "yaml"

# A document starts at a line that begins with "---" followed by white space or the line end.
_DOC_START = re.compile(rb"^---(?=[ \t\r\n]|$)", re.MULTILINE)


def split_documents(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of the `---`-separated documents (each range starts at its `---` line)."""
    starts = [m.start() for m in _DOC_START.finditer(data)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = starts + [len(data)]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts))]


_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "r": "\r", "0": "\0"}


def _scalar(ts: TSNode, data: bytes) -> tuple[str, str]:
    """(value, quote) of a scalar node."""
    raw = text_of(ts, data)
    if ts.type == "double_quote_scalar":
        inner = raw[1:-1] if len(raw) >= 2 else raw.strip('"')
        return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), inner), '"'
    if ts.type == "single_quote_scalar":
        inner = raw[1:-1] if len(raw) >= 2 else raw.strip("'")
        return inner.replace("''", "'"), "'"
    if ts.type == "block_scalar":
        lines = raw.splitlines()[1:]
        indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
        cut = min(indents) if indents else 0
        folded = "\n".join(line[cut:] for line in lines)
        return (folded.replace("\n", " ") if raw.startswith(">") else folded), ""
    return raw.strip(), ""


class _Builder:
    def __init__(self, data: bytes, base: int, doc: Document):
        self.data = data
        self.base = base
        self.doc = doc

    def span(self, ts: TSNode) -> Span:
        return span_of(ts, self.base)

    def fill(self, target: Node, ts: TSNode | None) -> None:
        """Make `target` hold the YAML value `ts` (scalar, mapping or sequence)."""
        while ts is not None and ts.type in ("block_node", "flow_node", "document"):
            inner = [c for c in ts.named_children if c.type not in ("tag", "anchor", "comment")]
            for c in ts.named_children:
                if c.type == "comment":
                    self.comment(c)
            ts = inner[0] if inner else None
        if ts is None:
            return
        kind = ts.type
        if kind in ("block_mapping", "flow_mapping"):
            self.mapping(target, ts)
        elif kind in ("block_sequence", "flow_sequence"):
            self.sequence(target, ts)
        elif kind in ("plain_scalar", "double_quote_scalar", "single_quote_scalar", "block_scalar"):
            target.value, target.quote = _scalar(ts, self.data)
            target.value_span = self.span(ts)
        elif kind == "alias":
            target.value = text_of(ts, self.data)
            target.value_span = self.span(ts)
        else:
            target.value = text_of(ts, self.data).strip()
            target.value_span = self.span(ts)

    def mapping(self, target: Node, ts: TSNode) -> None:
        for c in ts.named_children:
            if c.type in ("block_mapping_pair", "flow_pair"):
                self.pair(target, c)
            elif c.type == "comment":
                self.comment(c)
            elif c.type == "flow_node":  # a key without value in a flow mapping: {a, b}
                n = target.add(Node(key=text_of(c, self.data).strip(), span=self.span(c), key_span=self.span(c)))
                n.value = None
        self.set_insertion(target, ts)

    def pair(self, target: Node, ts: TSNode) -> None:
        key_ts = ts.child_by_field_name("key")
        value_ts = ts.child_by_field_name("value")
        key = _scalar(_innermost(key_ts), self.data)[0] if key_ts is not None else ""
        node = target.add(
            Node(key=key, span=self.span(ts), key_span=self.span(key_ts) if key_ts is not None else None)
        )
        for c in ts.named_children:
            if c.type == "comment":
                self.comment(c)
        self.fill(node, value_ts)

    def sequence(self, target: Node, ts: TSNode) -> None:
        for c in ts.named_children:
            if c.type == "comment":
                self.comment(c)
                continue
            item_ts = c
            if c.type == "block_sequence_item":
                inner = [x for x in c.named_children if x.type != "comment"]
                for x in c.named_children:
                    if x.type == "comment":
                        self.comment(x)
                item_ts = inner[0] if inner else None
            item = target.add(Node(key=None, is_item=True, span=self.span(c)))
            if item_ts is not None and item_ts.type == "flow_pair":
                pair_holder = item
                self.pair(pair_holder, item_ts)
            else:
                self.fill(item, item_ts)
        self.set_insertion(target, ts)

    def set_insertion(self, target: Node, ts: TSNode) -> None:
        if not target.children or ts.type.startswith("flow"):
            return
        first = target.children[0]
        anchor = first.key_span.start if first.key_span else first.span.start
        target.child_indent = indent_before(self.data, anchor - self.base)
        last_end = target.children[-1].span.end - self.base
        target.insert_at = next_line_start(self.data, last_end) + self.base

    def comment(self, ts: TSNode) -> None:
        self.doc.comments.append(Comment(text_of(ts, self.data).lstrip("#").strip(), self.span(ts)))


def _innermost(ts: TSNode) -> TSNode:
    while ts.type in ("flow_node", "block_node") and ts.named_children:
        ts = ts.named_children[-1]
    return ts


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    """Settings model of one YAML document parsed from `data` (the document's own bytes)."""
    if root.has_error:
        doc = tolerant_yaml(data, [])
        if not doc.problems:
            doc.problems.append(ParseProblem("YAML syntax error", first_error(root)))
        return doc
    doc = Document(root=Node(key=None, span=Span(0, len(data))), span=Span(0, len(data)))
    builder = _Builder(data, 0, doc)
    for c in root.named_children:
        for d in (c.named_children if c.type == "document" else [c]):
            if d.type == "comment":
                builder.comment(d)
            else:
                builder.fill(doc.root, d)
    if doc.root.insert_at is None:
        doc.root.insert_at = len(data)
    return doc
