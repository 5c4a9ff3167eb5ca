"""Tolerant readers for YAML and XML that hold a syntax error.

Tree-sitter's error recovery is poor for these two grammars: one missing `:` in a YAML file or one
broken tag in an XML file turns the whole tree into an ERROR node that keeps a fraction of the
settings. A linter that then reports "authorization is missing" (because it can no longer see it)
or nothing at all is worse than useless while the user is typing. So when the tree has an error,
the document is read again by these line- and tag-based readers, which skip only what they cannot
read and produce the same model as the grammar-based builders.
"""

from __future__ import annotations

import html
import re

from ..model import Comment, Document, Node, ParseProblem, Span

_LINES = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|$)")


def _lines(data: bytes):
    """(start, end-of-content, text) of each line."""
    for m in _LINES.finditer(data):
        if m.start() == len(data) and m.start() == m.end():
            break
        raw = m.group()
        content = raw.rstrip(b"\r\n")
        yield m.start(), m.start() + len(content), content


# ------------------------------------------------------------------------------------------ YAML

_KEY = re.compile(rb"""(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-\[\]{},:][^:#]*?|-[^\s:][^:#]*?)\s*:(?=\s|$)""")


def _unquote(raw: str) -> tuple[str, str]:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        inner = raw[1:-1]
        return (inner.replace("''", "'"), "'") if raw[0] == "'" else (inner.replace('\\"', '"'), '"')
    return raw, ""


def _strip_comment(text: bytes) -> bytes:
    """Drop a trailing ` # comment` outside quotes."""
    quote = None
    for i, ch in enumerate(text):
        c = chr(ch)
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'" and (i == 0 or text[i - 1 : i] in (b" ", b"[", b",", b"{")):
            quote = c
        elif c == "#" and (i == 0 or text[i - 1 : i] in (b" ", b"\t")):
            return text[:i].rstrip()
    return text.rstrip()


def _fill_scalar(node: Node, raw: bytes, start: int) -> None:
    """Set the node's value from `raw` (which starts at byte `start`), expanding flow collections."""
    text = _strip_comment(raw)
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    begin = start + lead
    if not text:
        return
    if text[:1] in (b"[", b"{") and text[-1:] in (b"]", b"}"):
        inner_start = begin + 1
        for m in re.finditer(rb"[^,]+", text[1:-1]):
            part = m.group()
            if not part.strip():
                continue
            p_lead = len(part) - len(part.lstrip())
            p_text = part.strip()
            p_start = inner_start + m.start() + p_lead
            if text[:1] == b"{" and b":" in p_text:
                k, _, v = p_text.partition(b":")
                child = node.add(Node(key=_unquote(k.strip().decode("utf-8", "replace"))[0],
                                      span=Span(p_start, p_start + len(p_text)),
                                      key_span=Span(p_start, p_start + len(k.strip()))))
                v_off = p_start + len(k) + 1 + (len(v) - len(v.lstrip()))
                _fill_scalar(child, v.strip(), v_off)
            else:
                item = node.add(Node(key=None, is_item=True, span=Span(p_start, p_start + len(p_text))))
                item.value, item.quote = _unquote(p_text.decode("utf-8", "replace"))
                item.value_span = Span(p_start, p_start + len(p_text))
        return
    node.value, node.quote = _unquote(text.decode("utf-8", "replace"))
    node.value_span = Span(begin, begin + len(text))


def tolerant_yaml(data: bytes, problems: list[ParseProblem]) -> Document:
    root = Node(key=None, span=Span(0, len(data)))
    doc = Document(root=root, span=Span(0, len(data)), problems=problems)
    # Open nodes as (column, node, is_item): a key belongs to the nearest open node at a smaller
    # column; a `- ` item to the nearest key at a smaller or equal column.
    stack: list[tuple[int, Node, bool]] = [(-1, root, False)]
    block: tuple[int, Node] | None = None  # inside a `|` / `>` block scalar of this key column
    for start, end, text in _lines(data):
        stripped = text.strip()
        column = len(text) - len(text.lstrip(b" "))
        if block is not None:
            if not stripped or column > block[0]:
                if stripped:
                    node = block[1]
                    node.value = (node.value + "\n" if node.value else "") + stripped.decode("utf-8", "replace")
                    node.value_span = Span(node.value_span.start if node.value_span else start + column, end)
                    node.span = Span(node.span.start, end)
                continue
            block = None
        if not stripped or stripped in (b"---", b"..."):
            continue
        if stripped.startswith(b"#"):
            doc.comments.append(Comment(stripped.lstrip(b"#").strip().decode("utf-8", "replace"),
                                        Span(start + column, end)))
            continue
        body, col = text[column:], column
        item: Node | None = None
        while body.startswith(b"- ") or body == b"-":
            while stack[-1][0] > col or (stack[-1][0] == col and stack[-1][2]):
                stack.pop()
            item = stack[-1][1].add(Node(key=None, is_item=True, span=Span(start + col, end)))
            stack.append((col, item, True))
            rest = body[1:]
            col += 1 + len(rest) - len(rest.lstrip(b" "))
            body = rest.lstrip(b" ")
        if not body:
            continue
        m = _KEY.match(body)
        if m is None:
            if item is not None:
                _fill_scalar(item, body, start + col)
            else:
                problems.append(ParseProblem("YAML syntax error: not a `key: value` line", Span(start + column, end)))
            continue
        while stack[-1][0] >= col and stack[-1][1] is not item:
            stack.pop()
        key_raw = m.group("key")
        key_start = start + col + m.start("key")
        node = stack[-1][1].add(Node(key=_unquote(key_raw.decode("utf-8", "replace"))[0],
                                     span=Span(start + col, end), key_span=Span(key_start, key_start + len(key_raw))))
        value_start = start + col + m.end()
        token = _strip_comment(body[m.end():]).strip()
        if token[:1] in (b"|", b">"):
            block = (col, node)
            node.value = ""
        elif token:
            _fill_scalar(node, body[m.end():], value_start)
        else:
            stack.append((col, node, False))
    _finish(root, data)
    root.span = Span(0, len(data))
    root.insert_at = len(data)
    return doc


def _finish(node: Node, data: bytes) -> None:
    """Spans that cover children, and where new children go (after the last one, at its indent)."""
    from .treesitter import indent_before, next_line_start

    for child in node.children:
        _finish(child, data)
    if node.children:
        last_end = max(c.span.end for c in node.children)
        node.span = Span(node.span.start, max(node.span.end, last_end))
        first = node.children[0]
        node.child_indent = indent_before(data, (first.key_span or first.span).start)
        node.insert_at = next_line_start(data, last_end)


# ------------------------------------------------------------------------------------------- XML

_XML_TOKEN = re.compile(
    rb"<!--(?P<comment>.*?)-->"
    rb"|<!\[CDATA\[.*?\]\]>"
    rb"|<\?.*?\?>"
    rb"|<!DOCTYPE[^>]*>"
    rb"|</(?P<end>[\w:.-]+)\s*>"
    rb"|<(?P<start>[\w:.-]+)(?P<attrs>(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(?P<close>/?)>",
    re.S,
)
_XML_ATTR = re.compile(rb"([\w:.-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")


def tolerant_xml(data: bytes, problems: list[ParseProblem]) -> Document:
    from .treesitter import indent_before

    root = Node(key=None, span=Span(0, len(data)), insert_at=len(data))
    doc = Document(root=root, span=Span(0, len(data)), problems=problems)
    stack: list[tuple[Node, int]] = [(root, 0)]  # (element, end of its start tag)
    for m in _XML_TOKEN.finditer(data):
        if m.group("comment") is not None:
            doc.comments.append(Comment(m.group("comment").strip().decode("utf-8", "replace"), Span(m.start(), m.end())))
        elif m.group("start") is not None:
            name = m.group("start")
            el = Node(key=name.decode("utf-8", "replace"), span=Span(m.start(), m.end()),
                      key_span=Span(m.start() + 1, m.start() + 1 + len(name)))
            attrs_start = m.start("attrs")
            for a in _XML_ATTR.finditer(m.group("attrs")):
                a_start = attrs_start + a.start()
                raw = a.group(2)
                attr = el.add(Node(key="@" + a.group(1).decode("utf-8", "replace"),
                                   span=Span(a_start, attrs_start + a.end()),
                                   key_span=Span(a_start, a_start + len(a.group(1)))))
                attr.quote = raw[:1].decode()
                attr.value = html.unescape(raw[1:-1].decode("utf-8", "replace"))
                attr.value_span = Span(attrs_start + a.start(2), attrs_start + a.end(2))
            el.attr_insert_at = m.end() - (2 if m.group("close") else 1)
            stack[-1][0].add(el)
            if not m.group("close"):
                stack.append((el, m.end()))
        elif m.group("end") is not None:
            name = m.group("end").decode("utf-8", "replace")
            depth = next((i for i in range(len(stack) - 1, 0, -1) if stack[i][0].key == name), None)
            if depth is None:
                continue  # a stray end tag: skip it
            while len(stack) > depth:
                el, content_start = stack.pop()
                _close(el, content_start, m.start(), m.end() if len(stack) == depth else m.start(), data,
                       indent_before)
    while len(stack) > 1:
        el, content_start = stack.pop()
        _close(el, content_start, len(data), len(data), data, indent_before)
    return doc


def _close(el: Node, content_start: int, end_tag_start: int, end: int, data: bytes, indent_before) -> None:
    el.span = Span(el.span.start, end)
    elements = [c for c in el.children if not c.key.startswith("@")]
    if not elements:
        raw = data[content_start:end_tag_start]
        text = raw.strip()
        if text and b"<" not in text:
            lead = len(raw) - len(raw.lstrip())
            el.value = html.unescape(text.decode("utf-8", "replace"))
            el.value_span = Span(content_start + lead, content_start + lead + len(text))
    line_start = max(data.rfind(b"\n", 0, end_tag_start), data.rfind(b"\r", 0, end_tag_start)) + 1
    el.insert_at = line_start if not data[line_start:end_tag_start].strip() else end_tag_start
    el.child_indent = indent_before(data, elements[0].span.start) if elements else indent_before(data, el.span.start) + "    "
