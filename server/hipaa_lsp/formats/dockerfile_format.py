"""Dockerfile (tree-sitter-dockerfile) -> settings model.

The root holds one item per build stage (``stage``); each stage holds its instructions keyed by
the upper-case instruction name, the stage's FROM first. ``ENV`` and ``ARG`` instructions have
one child per variable; ``FROM`` has ``image``, ``tag``, ``digest`` and ``alias`` children.
"""

from __future__ import annotations

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Span
from .treesitter import next_line_start, span_of, text_of

LANGUAGE = "dockerfile"


def _unquote(raw: str) -> tuple[str, str]:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1], raw[0]
    return raw, ""


def _instruction(ts: TSNode, data: bytes) -> Node:
    keyword = ts.children[0] if ts.children else ts
    name = text_of(keyword, data).upper()
    node = Node(key=name, span=span_of(ts), key_span=span_of(keyword))
    rest_start = keyword.end_byte
    raw_rest = data[rest_start : ts.end_byte]
    lead = len(raw_rest) - len(raw_rest.lstrip())
    if raw_rest.strip():
        node.value = raw_rest.strip().decode("utf-8", "replace")
        node.value_span = Span(rest_start + lead, rest_start + lead + len(raw_rest.strip()))
    if ts.type in ("env_instruction", "label_instruction"):
        for pair in ts.named_children:
            if pair.type in ("env_pair", "label_pair"):
                key_ts = pair.child_by_field_name("name") or pair.child_by_field_name("key")
                value_ts = pair.child_by_field_name("value")
                if key_ts is None:
                    continue
                child = node.add(Node(key=text_of(key_ts, data), span=span_of(pair), key_span=span_of(key_ts)))
                if value_ts is not None:
                    child.value, child.quote = _unquote(text_of(value_ts, data))
                    child.value_span = span_of(value_ts)
    elif ts.type == "arg_instruction":
        key_ts = ts.child_by_field_name("name")
        value_ts = ts.child_by_field_name("default")
        if key_ts is not None:
            child = node.add(Node(key=text_of(key_ts, data), span=span_of(ts), key_span=span_of(key_ts)))
            if value_ts is not None:
                child.value, child.quote = _unquote(text_of(value_ts, data))
                child.value_span = span_of(value_ts)
    elif ts.type == "from_instruction":
        for c in ts.named_children:
            if c.type == "image_spec":
                for field in ("name", "tag", "digest"):
                    part = c.child_by_field_name(field)
                    if part is not None:
                        text = text_of(part, data).lstrip(":@")
                        key = "image" if field == "name" else field
                        node.add(Node(key=key, value=text, span=span_of(part), key_span=span_of(part),
                                      value_span=span_of(part)))
            elif c.type == "image_alias":
                node.add(Node(key="alias", value=text_of(c, data), span=span_of(c), value_span=span_of(c)))
    elif ts.type in ("expose_instruction",):
        for c in ts.named_children:
            node.args.append(Node(key=None, value=text_of(c, data), span=span_of(c), value_span=span_of(c)))
    elif ts.type == "user_instruction":
        user_ts = ts.child_by_field_name("user")
        if user_ts is not None:
            node.add(Node(key="user", value=_unquote(text_of(user_ts, data))[0], span=span_of(user_ts),
                          value_span=span_of(user_ts)))
    return node


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    doc = Document(root=Node(key=None, span=Span(0, len(data))), span=Span(0, len(data)))
    stage: Node | None = None
    for c in root.named_children:
        if c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).lstrip("#").strip(), span_of(c)))
            continue
        if c.type == "ERROR":
            doc.problems.append(ParseProblem("Dockerfile syntax error", span_of(c)))
            continue
        if not c.type.endswith("_instruction"):
            continue
        if c.type == "from_instruction" or stage is None:
            stage = doc.root.add(Node(key="stage", is_item=True, span=span_of(c)))
        instruction = stage.add(_instruction(c, data))
        stage.span = Span(stage.span.start, instruction.span.end)
        stage.insert_at = next_line_start(data, instruction.span.end)
    doc.root.insert_at = len(data)
    return doc
