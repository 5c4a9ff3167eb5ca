"""Java properties (tree-sitter-properties) -> settings model: Kafka, NiFi, Hadoop-style files."""

from __future__ import annotations

import re

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, Span
from .treesitter import span_of, text_of

LANGUAGE = "properties"

_CONTINUATION = re.compile(r"\\\r?\n[ \t]*|\\\r[ \t]*")


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    size = len(data)
    doc = Document(root=Node(key=None, span=Span(base, base + size), insert_at=base + size),
                   span=Span(base, base + size))
    for c in root.named_children:
        if c.type == "property":
            key_ts = next((x for x in c.named_children if x.type == "key"), None)
            value_ts = next((x for x in c.named_children if x.type == "value"), None)
            if key_ts is None:
                continue
            node = doc.root.add(Node(key=text_of(key_ts, data).strip(), span=span_of(c, base),
                                     key_span=span_of(key_ts, base)))
            if value_ts is not None:
                node.value = _CONTINUATION.sub("", text_of(value_ts, data)).strip()
                node.value_span = span_of(value_ts, base)
            else:
                node.value = ""
        elif c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).strip().lstrip("#!").strip(), span_of(c, base)))
    return doc
