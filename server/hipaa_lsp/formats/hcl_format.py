"""HCL / Terraform (tree-sitter-hcl) -> settings model.

Blocks are nodes keyed by their type with labels as ``args``; attributes are scalar children.
The ``server_properties`` of an ``aws_msk_configuration`` resource is Kafka broker configuration:
it is returned as an extra document (technology kafka, dialect msk) so the Kafka rules read it.
"""

from __future__ import annotations

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Span
from . import properties_format
from .treesitter import indent_before, parser_for, span_of, text_of

LANGUAGE = "hcl"


def _literal(expr: TSNode, data: bytes) -> tuple[str, Span, str]:
    """(value, span, quote) of an attribute expression; strings are unquoted."""
    raw = text_of(expr, data)
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1], span_of(expr), '"'
    return raw.strip(), span_of(expr), ""


def _heredoc_body(expr: TSNode) -> TSNode | None:
    stack = [expr]
    while stack:
        n = stack.pop()
        if n.type == "heredoc_template":
            return next((c for c in n.named_children if c.type == "template_literal"), None)
        stack.extend(n.named_children)
    return None


def _body(target: Node, body: TSNode, data: bytes, doc: Document, extra: list[Document]) -> None:
    for c in body.named_children:
        if c.type == "attribute":
            ident = next((x for x in c.named_children if x.type == "identifier"), None)
            expr = next((x for x in c.named_children if x.type == "expression"), None)
            if ident is None:
                continue
            node = target.add(Node(key=text_of(ident, data), span=span_of(c), key_span=span_of(ident)))
            if expr is not None:
                node.value, node.value_span, node.quote = _literal(expr, data)
                if node.key == "server_properties" and (target.args[:1] and target.args[0].value == "aws_msk_configuration"):
                    embedded = _embedded_properties(expr, data)
                    if embedded is not None:
                        extra.append(embedded)
        elif c.type == "block":
            ident = next((x for x in c.named_children if x.type == "identifier"), None)
            node = target.add(Node(key=text_of(ident, data) if ident else "", span=span_of(c),
                                   key_span=span_of(ident) if ident else None))
            for label in c.named_children:
                if label.type == "string_lit":
                    node.args.append(Node(key=None, value=text_of(label, data).strip('"'), span=span_of(label),
                                          value_span=span_of(label), quote='"'))
            inner = next((x for x in c.named_children if x.type == "body"), None)
            if inner is not None:
                _body(node, inner, data, doc, extra)
            end = next((x for x in c.named_children if x.type == "block_end"), None)
            if end is not None:
                node.insert_at = max(data.rfind(b"\n", 0, end.start_byte) + 1, 0)
                node.child_indent = (indent_before(data, node.children[0].span.start) if node.children
                                     else indent_before(data, c.start_byte) + "  ")
        elif c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).lstrip("#/").strip("/* "), span_of(c)))
        elif c.type == "ERROR":
            doc.problems.append(ParseProblem("HCL syntax error", span_of(c)))


def _embedded_properties(expr: TSNode, data: bytes) -> Document | None:
    body = _heredoc_body(expr)
    if body is None:
        return None
    segment = data[body.start_byte : body.end_byte]
    tree = parser_for(properties_format.LANGUAGE).parse(segment)
    doc = properties_format.build(tree.root_node, segment)
    doc.base = body.start_byte
    doc.technology, doc.dialect, doc.format = "kafka", "msk", "properties"
    return doc


def build_all(root: TSNode, data: bytes) -> list[Document]:
    """The HCL document itself followed by any embedded documents."""
    doc = Document(root=Node(key=None, span=Span(0, len(data)), insert_at=len(data)), span=Span(0, len(data)))
    extra: list[Document] = []
    for c in root.named_children:
        if c.type == "body":
            _body(doc.root, c, data, doc, extra)
        elif c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).lstrip("#/").strip("/* "), span_of(c)))
        elif c.type == "ERROR":
            doc.problems.append(ParseProblem("HCL syntax error", span_of(c)))
    return [doc, *extra]
