"""Dockerfile (tree-sitter-dockerfile) -> settings model.

The root holds a ``stage`` sequence with one item per build stage (``stage[*]``, ``stage[-1]`` the
final one); each stage holds its instructions keyed by the upper-case instruction name, the stage's
FROM first (instructions before the first FROM, such as global ARGs, form a stage of their own).
``ENV`` and ``ARG`` instructions have one child per variable; ``FROM`` has ``image``, ``tag``,
``digest`` and ``alias`` children, plus ``from_stage`` when the image names an earlier stage's alias
(``FROM builder``).
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
                for key, span in _image_parts(c, data):
                    text = data[span.start : span.end].decode("utf-8", "replace")
                    node.add(Node(key=key, value=text, span=span, key_span=span, value_span=span))
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


def _image_parts(spec: TSNode, data: bytes) -> list[tuple[str, Span]]:
    """(key, span) of the image name, tag and digest of a FROM image reference.

    The grammar reads a registry port as a tag (`host:5000/img:1.2` gives name `host`, tag
    `:5000/img:1.2`); the tag is really what follows the last `:` after the last `/`.
    """
    name = spec.child_by_field_name("name")
    tag = spec.child_by_field_name("tag")
    digest = spec.child_by_field_name("digest")
    parts: list[tuple[str, Span]] = []
    if name is not None:
        name_end = name.end_byte
        if tag is not None and b"/" in data[tag.start_byte : tag.end_byte]:
            raw = data[tag.start_byte : tag.end_byte]
            last = raw.rfind(b":", raw.rfind(b"/"))
            if last == -1:
                name_end, tag = tag.end_byte, None
            else:
                name_end = tag.start_byte + last
                parts.append(("image", Span(name.start_byte, name_end)))
                parts.append(("tag", Span(name_end + 1, tag.end_byte)))
                tag = None
                name = None
        if name is not None:
            parts.append(("image", Span(name.start_byte, name_end)))
    if tag is not None:
        start = tag.start_byte + (1 if data[tag.start_byte : tag.start_byte + 1] == b":" else 0)
        parts.append(("tag", Span(start, tag.end_byte)))
    if digest is not None:
        start = digest.start_byte + (1 if data[digest.start_byte : digest.start_byte + 1] == b"@" else 0)
        parts.append(("digest", Span(start, digest.end_byte)))
    return parts


def _mark_stage_references(doc: Document) -> None:
    """`FROM builder` names an earlier stage, not an image: give its FROM a `from_stage` child."""
    aliases: set[str] = set()
    stages = doc.root.child("stage")
    for stage in stages.children if stages is not None else []:
        from_node = stage.child("FROM")
        if from_node is None:
            continue
        image = from_node.child("image")
        if image is not None and image.value and image.value.lower() in aliases and from_node.child("tag") is None \
                and from_node.child("digest") is None:
            from_node.add(Node(key="from_stage", value=image.value, span=image.span, key_span=image.key_span,
                               value_span=image.value_span))
        alias = from_node.child("alias")
        if alias is not None and alias.value:
            aliases.add(alias.value.lower())


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    doc = Document(root=Node(key=None, span=Span(0, len(data))), span=Span(0, len(data)))
    stages: Node | None = None
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
        if stages is None:
            # One `stage` sequence whose items are the build stages, so `stage[*]` / `stage[-1]` select them.
            stages = doc.root.add(Node(key="stage", span=Span(c.start_byte, len(data))))
        if c.type == "from_instruction" or stage is None:
            stage = stages.add(Node(key=None, is_item=True, span=span_of(c)))
        instruction = stage.add(_instruction(c, data))
        stage.span = Span(stage.span.start, instruction.span.end)
        stage.insert_at = next_line_start(data, instruction.span.end)
    doc.root.insert_at = len(data)
    _mark_stage_references(doc)
    return doc
