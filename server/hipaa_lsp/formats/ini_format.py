"""INI-style files (tree-sitter-ini) -> settings model: my.cnf, systemd units.

The grammar yields ERROR nodes for MySQL's valueless keys (``skip-name-resolve``) and
``!include`` lines; those lines are re-read here by a line pattern so no setting is lost.
"""

from __future__ import annotations

import re

from tree_sitter import Node as TSNode

from ..model import Comment, Document, Node, ParseProblem, Span
from .treesitter import next_line_start, span_of, text_of

LANGUAGE = "ini"

_LINE = re.compile(rb"[ \t]*(?P<key>[^=\s#;][^=\r\n]*?)[ \t]*(?:=[ \t]*(?P<value>[^\r\n]*?))?[ \t]*(?:\r\n|\r|\n|$)")


def _setting(section: Node, ts: TSNode, data: bytes) -> None:
    name_ts = next((c for c in ts.named_children if c.type == "setting_name"), None)
    value_ts = next((c for c in ts.named_children if c.type == "setting_value"), None)
    if name_ts is None:
        return
    node = section.add(Node(key=text_of(name_ts, data).strip(), span=span_of(ts), key_span=span_of(name_ts)))
    node.span = Span(ts.start_byte, _line_end(data, ts.start_byte))
    if value_ts is not None:
        raw = data[value_ts.start_byte : value_ts.end_byte]
        stripped = raw.strip()
        start = value_ts.start_byte + (len(raw) - len(raw.lstrip()))
        node.value = stripped.decode("utf-8", errors="replace")
        node.value_span = Span(start, start + len(stripped))
        if len(node.value) >= 2 and node.value[0] == node.value[-1] and node.value[0] in "\"'":
            node.quote = node.value[0]
            node.value = node.value[1:-1]
    else:
        node.value = ""


def _line_end(data: bytes, offset: int) -> int:
    ends = [x for x in (data.find(b"\n", offset), data.find(b"\r", offset)) if x != -1]
    return min(ends) if ends else len(data)


def _recover_lines(section: Node, ts: TSNode, data: bytes, doc: Document) -> Node:
    """Read the lines an ERROR node covers as `key[=value]` settings (valueless keys, !include).

    Returns the section in force after those lines (an ERROR node can swallow a `[section]` line)."""
    pos = ts.start_byte
    line_start = max(data.rfind(b"\n", 0, pos), data.rfind(b"\r", 0, pos)) + 1
    pos = line_start
    while pos < ts.end_byte:
        end = _line_end(data, pos)
        line = data[pos:end]
        stripped = line.strip()
        if stripped.startswith(b"[") and stripped.endswith(b"]"):
            key_start = pos + line.index(b"[")
            section = doc.root.add(
                Node(key=stripped[1:-1].strip().decode("utf-8", "replace"), span=Span(key_start, end),
                     key_span=Span(key_start, key_start + len(stripped)))
            )
        elif stripped and not stripped.startswith((b"#", b";")):
            m = _LINE.match(data, pos, end if end == len(data) else end + 1)
            if m:
                node = section.add(
                    Node(key=m.group("key").decode("utf-8", "replace"), span=Span(m.start("key"), end),
                         key_span=Span(m.start("key"), m.end("key")))
                )
                if m.group("value") is not None:
                    node.value = m.group("value").decode("utf-8", "replace")
                    node.value_span = Span(m.start("value"), m.end("value"))
                    if len(node.value) >= 2 and node.value[0] == node.value[-1] and node.value[0] in "\"'":
                        node.quote = node.value[0]
                        node.value = node.value[1:-1]
                else:
                    node.value = ""
        elif stripped.startswith((b"#", b";")):
            doc.comments.append(Comment(stripped.lstrip(b"#;").strip().decode("utf-8", "replace"), Span(pos, end)))
        pos = next_line_start(data, end)
    if section.children:
        section.insert_at = next_line_start(data, section.children[-1].span.end)
    return section


def build(root: TSNode, data: bytes, base: int = 0) -> Document:
    doc = Document(root=Node(key=None, span=Span(0, len(data)), insert_at=len(data)), span=Span(0, len(data)))
    current = doc.root
    for c in root.named_children:
        if c.type == "section":
            name_ts = next((x for x in c.named_children if x.type == "section_name"), None)
            name = text_of(name_ts, data).strip().strip("[]").strip() if name_ts else ""
            current = doc.root.add(Node(key=name, span=span_of(c), key_span=span_of(name_ts) if name_ts else None))
            for s in c.named_children:
                if s.type == "setting" and s.has_error:
                    # The grammar folded valueless keys (`skip-grant-tables`) into the next setting.
                    current = _recover_lines(current, s, data, doc)
                elif s.type == "setting":
                    _setting(current, s, data)
                elif s.type == "comment":
                    doc.comments.append(Comment(text_of(s, data).strip().lstrip("#;").strip(), span_of(s)))
                elif s.type == "ERROR":
                    current = _recover_lines(current, s, data, doc)
            last = current.children[-1].span.end if current.children else (name_ts.end_byte if name_ts else c.end_byte)
            current.insert_at = next_line_start(data, last)
        elif c.type == "setting" and c.has_error:
            current = _recover_lines(current, c, data, doc)
        elif c.type == "setting":
            _setting(current, c, data)
        elif c.type == "comment":
            doc.comments.append(Comment(text_of(c, data).strip().lstrip("#;").strip(), span_of(c)))
        elif c.type == "ERROR":
            current = _recover_lines(current, c, data, doc)
    if root.type == "ERROR":
        doc.problems.append(ParseProblem("syntax error", span_of(root)))
        _recover_lines(doc.root, root, data, doc)
    return doc
