"""XML (tree-sitter-xml) -> settings model.

An element is a node keyed by its tag name; attributes are children keyed ``@name``; an element
whose content is only text carries it as ``value``.
"""

from __future__ import annotations

import html
from bisect import bisect_left

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Reuse, Span
from .tolerant import tolerant_xml
from .treesitter import first_error, indent_before, span_of, text_of

LANGUAGE = "xml"


def _element(ts: TSNode, data: bytes, doc: Document, reuse: "_Reuser | None" = None) -> Node:
    start_tag = None
    content = None
    end_tag = None
    for c in ts.named_children:
        if c.type in ("STag", "EmptyElemTag"):
            start_tag = c
        elif c.type == "content":
            content = c
        elif c.type == "ETag":
            end_tag = c
    node = Node(key="", span=span_of(ts))
    if start_tag is not None:
        for c in start_tag.named_children:
            if c.type == "Name":
                node.key = text_of(c, data)
                node.key_span = span_of(c)
            elif c.type == "Attribute":
                _attribute(node, c, data)
        closer = 2 if start_tag.type == "EmptyElemTag" else 1
        node.attr_insert_at = start_tag.end_byte - closer
    if content is not None:
        _content(node, content, data, doc, reuse)
    if end_tag is not None:
        # New child elements go on their own line just before the closing tag.
        line_start = max(data.rfind(b"\n", 0, end_tag.start_byte), data.rfind(b"\r", 0, end_tag.start_byte)) + 1
        only_space = not data[line_start : end_tag.start_byte].strip()
        node.insert_at = line_start if only_space else end_tag.start_byte
        elements = [c for c in node.children if not c.key.startswith("@")]
        if elements:
            node.child_indent = indent_before(data, elements[0].span.start)
        else:
            node.child_indent = indent_before(data, ts.start_byte) + "    "
    return node


def _attribute(element: Node, ts: TSNode, data: bytes) -> None:
    name_ts = next((c for c in ts.named_children if c.type == "Name"), None)
    value_ts = next((c for c in ts.named_children if c.type == "AttValue"), None)
    if name_ts is None:
        return
    attr = element.add(Node(key="@" + text_of(name_ts, data), span=span_of(ts), key_span=span_of(name_ts)))
    if value_ts is not None:
        raw = text_of(value_ts, data)
        attr.quote = raw[:1] if raw[:1] in ("'", '"') else ""
        attr.value = html.unescape(raw[1:-1] if attr.quote else raw)
        attr.value_span = span_of(value_ts)


def _content(node: Node, ts: TSNode, data: bytes, doc: Document, reuse: "_Reuser | None" = None) -> None:
    text_parts: list[TSNode] = []
    for c in ts.named_children:
        if c.type == "element":
            old = reuse.take(c, doc) if reuse is not None else None
            node.add(old if old is not None else _element(c, data, doc))
        elif c.type == "Comment":
            doc.comments.append(Comment(text_of(c, data)[4:-3].strip(), span_of(c)))
        elif c.type in ("CharData", "EntityRef", "CharRef", "CDSect"):
            text_parts.append(c)
    # White space around comments is not a value: `<Host>\n <!-- ... -->\n</Host>` has none.
    text_parts = [c for c in text_parts if data[c.start_byte : c.end_byte].strip()]
    if text_parts and not any(not c.key.startswith("@") for c in node.children):
        raw = data[text_parts[0].start_byte : text_parts[-1].end_byte]
        stripped = raw.strip()
        if stripped:
            lead = len(raw) - len(raw.lstrip())
            start = text_parts[0].start_byte + lead
            text = stripped.decode("utf-8", errors="replace")
            if text.startswith("<![CDATA["):
                text = text[9:-3]
            node.value = html.unescape(text)
            node.value_span = Span(start, start + len(stripped))


class _Reuser:
    """Hands back the previous build of an unchanged child element of the root element, moved to
    its new place, so a one-character edit in a 5,000-line file rebuilds one element, not all."""

    def __init__(self, reuse: Reuse):
        self.reuse = reuse
        old_root = next((n for n in reuse.previous.root.children if not (n.key or "").startswith("@")), None)
        self.old = {}
        if old_root is not None:
            for child in old_root.children:
                if not (child.key or "").startswith("@"):
                    self.old[(child.span.start, child.span.end)] = child
        self.comments = sorted(reuse.previous.comments, key=lambda c: c.span.start)
        self.comment_starts = [c.span.start for c in self.comments]

    def take(self, ts: TSNode, doc: Document) -> Node | None:
        start, end = ts.start_byte, ts.end_byte
        if not self.reuse.untouched(start, end):
            return None
        old_start, old_end = self.reuse.to_old(start), self.reuse.to_old(end)
        node = self.old.pop((old_start, old_end), None)
        if node is None:
            return None
        delta = start - old_start
        if delta:
            node.shift(delta)
        i = bisect_left(self.comment_starts, old_start)
        while i < len(self.comments) and self.comments[i].span.start < old_end:
            doc.comments.append(Comment(self.comments[i].text, self.comments[i].span.shifted(delta)))
            i += 1
        return node


def build(root: TSNode, data: bytes, base: int = 0, reuse: Reuse | None = None) -> Document:
    if root.has_error:
        return tolerant_xml(data, [ParseProblem("XML syntax error", first_error(root))])
    doc = Document(root=Node(key=None, span=Span(0, len(data))), span=Span(0, len(data)))
    reuser = _Reuser(reuse) if reuse is not None else None
    pending = [root]
    while pending:
        ts = pending.pop()
        for c in ts.named_children:
            if c.type == "element":
                doc.root.add(_element(c, data, doc, reuser))
            elif c.type == "Comment":
                doc.comments.append(Comment(text_of(c, data)[4:-3].strip(), span_of(c)))
            elif c.type == "prolog":
                pending.append(c)
    if reuser is not None:
        doc.comments.sort(key=lambda c: c.span.start)
    doc.root.insert_at = len(data)
    return doc
