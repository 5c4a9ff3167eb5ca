"""Hand-written tokenizers for directive-style configuration files.

Formats: redis.conf / sentinel.conf, postgresql.conf, pg_hba.conf, nginx.conf and Apache httpd.conf /
.htaccess. Each ``parse_*`` function takes the file's bytes and returns one `Document` (see
``model.py`` for how directives, blocks and records map onto nodes).

Common ground:
- Every span is a byte offset into the input; tokens are matched with ``bytes`` regular expressions
  and only decoded (``errors="replace"``) to build values, so invalid UTF-8 never shifts a span.
- Lines end with ``\\n``, ``\\r\\n`` or a lone ``\\r``; no span includes a line terminator.
- Nothing raises on malformed input: problems go to ``Document.problems`` and parsing carries on.
- Quoting and escaping follow what each server itself does (noted where it matters), because a
  rule must see the value the server sees.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from collections.abc import Iterator

from ..model import Comment, Document, Node, ParseProblem, Span

__all__ = ["parse_redis", "parse_postgresql_conf", "parse_pg_hba", "parse_nginx", "parse_httpd"]

_EOL = re.compile(rb"\r\n|\r|\n")
# `@name@` placeholders of build templates such as pg_hba.conf.sample.
_TEMPLATE_PLACEHOLDER = re.compile(r"@[A-Za-z0-9_-]+@")
_INDENT = re.compile(rb"[ \t]*")
_NOT_SPACE = re.compile(rb"\S")
# Indentation used for the children of an empty block.
_DEFAULT_INDENT_STEP = "    "

_HASH = ord("#")
_SEMICOLON = ord(";")
_OPEN_BRACE = ord("{")
_CLOSE_BRACE = ord("}")
_BACKSLASH = ord("\\")
_GREATER_THAN = ord(">")
_QUOTES = (ord('"'), ord("'"))


# --------------------------------------------------------------------------- shared helpers


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _newline(data: bytes) -> str:
    m = _EOL.search(data)
    return m.group().decode("ascii") if m else "\n"


def _new_document(data: bytes, fmt: str) -> tuple[Document, Node]:
    root = Node(key=None, span=Span(0, len(data)), insert_at=len(data), child_indent="")
    return Document(root=root, span=Span(0, len(data)), format=fmt, newline=_newline(data)), root


def _lines(data: bytes) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of every physical line, terminator excluded."""
    pos = 0
    for m in _EOL.finditer(data):
        yield pos, m.start()
        pos = m.end()
    if pos < len(data):
        yield pos, len(data)


def _comment_text(raw: bytes) -> str:
    """A comment's text without its markers.

    All leading ``#`` are stripped so ``## port 6379`` and ``# port 6379`` read the same when a rule
    looks for a commented-out default.
    """
    return _decode(raw).lstrip("#").strip()


def _comment(data: bytes, start: int, end: int) -> Comment:
    """A comment from ``start`` (its ``#``) to ``end``; trailing blanks are left out of the span."""
    raw = data[start:end].rstrip()
    return Comment(_comment_text(raw), Span(start, start + len(raw)))


def _scalar(value: str, start: int, end: int, quote: str = "") -> Node:
    return Node(key=None, value=value, span=Span(start, end), value_span=Span(start, end), quote=quote)


def _directive(key: str, key_span: Span, args: list[Node], span: Span) -> Node:
    """A directive node: ``args`` become its arguments and ``value`` their values joined by a space."""
    node = Node(
        key=key,
        value=" ".join([a.value for a in args]),
        span=span,
        key_span=key_span,
        value_span=Span(args[0].span.start, args[-1].span.end) if args else None,
        args=args,
    )
    return node


class _LineStarts:
    """Finds the start of the line holding a byte offset (computed on first use)."""

    __slots__ = ("data", "_starts")

    def __init__(self, data: bytes):
        self.data = data
        self._starts: list[int] | None = None

    def of(self, pos: int) -> int:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in _EOL.finditer(self.data)]
        return self._starts[bisect_right(self._starts, pos) - 1]

    def indent(self, pos: int) -> str:
        """Indentation of the line holding ``pos``."""
        return _decode(_INDENT.match(self.data, self.of(pos)).group())


def _finish_block(node: Node, lines: _LineStarts, close_at: int | None) -> None:
    """Set where new children of a block go and how they are indented.

    ``close_at`` is the offset of the closing ``}`` / ``</...>``, or None for a block that is never
    closed (children are then appended at the end of the file).
    """
    data = lines.data
    if close_at is None:
        node.insert_at = len(data)
    else:
        line_start = lines.of(close_at)
        # `server { listen 80; }`: inserting at the line start would land before `server`.
        node.insert_at = line_start if _NOT_SPACE.search(data, line_start, close_at) is None else close_at
    block_line = lines.of(node.span.start)
    if node.children and lines.of(node.children[0].span.start) != block_line:
        node.child_indent = lines.indent(node.children[0].span.start)
    else:
        node.child_indent = lines.indent(node.span.start) + _DEFAULT_INDENT_STEP


class _LogicalLine:
    """Physical lines joined by backslash continuation, as httpd and PostgreSQL read them.

    ``text`` is the joined line (each continuation backslash and line break removed); `span` maps
    offsets in ``text`` back to the file.
    """

    __slots__ = ("text", "start", "end", "_text_starts", "_file_starts")

    def __init__(self, text: bytes, start: int, end: int, segments: list[tuple[int, int]]):
        self.text = text
        self.start = start  # file offset of the first physical line
        self.end = end  # file offset of the end of the last physical line
        # Where each physical piece starts, in `text` and in the file; one entry when not continued.
        self._text_starts = [s[0] for s in segments]
        self._file_starts = [s[1] for s in segments]

    def _pos(self, i: int) -> int:
        k = bisect_right(self._text_starts, i) - 1
        return self._file_starts[k] + i - self._text_starts[k]

    def span(self, i: int, j: int) -> Span:
        """File span of ``text[i:j]``; its end stays on the physical line of its last byte."""
        if len(self._text_starts) == 1:
            return Span(self.start + i, self.start + j)
        start = self._pos(i)
        return Span(start, self._pos(j - 1) + 1 if j > i else start)

    def comment(self, i: int) -> Comment:
        """The comment running from ``text[i]`` (a ``#``) to the end of the line."""
        raw = self.text[i:].rstrip()
        return Comment(_comment_text(raw), self.span(i, i + len(raw)))


def _logical_lines(data: bytes, escaped_backslash: bool) -> Iterator[_LogicalLine]:
    """Logical lines of ``data``; a line ending in a backslash continues on the next one.

    With ``escaped_backslash`` a line ending in two backslashes is not continued (httpd's rule).
    """
    parts: list[bytes] = []
    segments: list[tuple[int, int]] = []
    length = 0
    start = 0
    for ls, le in _lines(data):
        if not parts:
            start = ls
        continued = (
            le > ls
            and data[le - 1] == _BACKSLASH
            and not (escaped_backslash and le - 1 > ls and data[le - 2] == _BACKSLASH)
        )
        piece_end = le - 1 if continued else le
        segments.append((length, ls))
        parts.append(data[ls:piece_end])
        length += piece_end - ls
        if not continued:
            yield _LogicalLine(b"".join(parts), start, le, segments)
            parts, segments, length = [], [], 0
    if parts:  # the file ends in a continued line
        yield _LogicalLine(b"".join(parts), start, len(data), segments)


# --------------------------------------------------------------------------- redis


# One argument: runs of bare text and quoted strings glued together, as Redis's sdssplitargs
# accepts (`foo"bar baz"` is one argument). An unterminated quote runs to the end of the line.
_REDIS_ARG = re.compile(rb"""(?:[^\s"']+|"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)+""")
_REDIS_PART = re.compile(rb"""[^"']+|"((?:[^"\\]|\\.)*)("?)|'((?:[^'\\]|\\.)*)('?)""")
_REDIS_DQ_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[\s\S])")
_REDIS_SQ_ESCAPE = re.compile(rb"\\'")
_REDIS_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"a": b"\a"}


def _redis_dq_unescape(m: re.Match) -> bytes:
    esc = m.group(1)
    if len(esc) == 3:
        return bytes([int(esc[1:], 16)])
    return _REDIS_ESCAPES.get(esc, esc)


def _redis_arg(data: bytes, start: int, end: int, problems: list[ParseProblem]) -> Node:
    raw = data[start:end]
    first = raw[0]
    quote = chr(first) if first in _QUOTES else ""
    if b'"' not in raw and b"'" not in raw:
        return _scalar(_decode(raw), start, end)
    out: list[bytes] = []
    parts = list(_REDIS_PART.finditer(raw))
    for i, p in enumerate(parts):
        dq_body, dq_close, sq_body, sq_close = p.groups()
        if dq_body is not None:
            out.append(_REDIS_DQ_ESCAPE.sub(_redis_dq_unescape, dq_body))
            closed = dq_close
        elif sq_body is not None:
            out.append(_REDIS_SQ_ESCAPE.sub(b"'", sq_body))
            closed = sq_close
        else:
            out.append(p.group())
            continue
        # Redis refuses to start on either of these.
        if not closed:
            problems.append(ParseProblem("Unbalanced quotes in configuration line", Span(start, end)))
        elif i + 1 < len(parts):
            problems.append(ParseProblem("A closing quote must be followed by a space", Span(start, end)))
    return _scalar(_decode(b"".join(out)), start, end, quote)


def parse_redis(data: bytes) -> Document:
    """redis.conf / sentinel.conf: ``directive arg ...`` per line, ``#`` comments at line start."""
    doc, root = _new_document(data, "redis")
    problems = doc.problems
    for ls, le in _lines(data):
        m = _NOT_SPACE.search(data, ls, le)
        if m is None:
            continue
        first = m.start()
        if data[first] == _HASH:
            doc.comments.append(_comment(data, first, le))
            continue
        tokens = [_redis_arg(data, t.start(), t.end(), problems) for t in _REDIS_ARG.finditer(data, first, le)]
        name = tokens[0]
        root.add(_directive(name.value.lower(), name.span, tokens[1:], Span(ls, le)))
    return doc


# --------------------------------------------------------------------------- postgresql.conf


# `name [=] value [# comment]`; the value is a quoted string ('' and backslash escapes inside) or a
# bare token. Whatever the match leaves on the line is a syntax error.
_PG_ENTRY = re.compile(
    rb"""
    [ \t\f\v]*
    (?:
        (?P<name>[^\s=#']+)
        [ \t\f\v]*=?[ \t\f\v]*
        (?P<value>'(?P<body>(?:[^'\\]|\\.|'')*)(?P<close>'?)|[^\s#]+)?
    )?
    [ \t\f\v]*
    (?P<comment>\#.*)?
    """,
    re.X,
)
_PG_ESCAPE = re.compile(rb"\\([0-7]{1,3}|[\s\S])|''")
_PG_ESCAPES = {b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t"}


def _pg_unescape(m: re.Match) -> bytes:
    esc = m.group(1)
    if esc is None:  # ''
        return b"'"
    if esc[0] in b"01234567":
        return bytes([int(esc, 8) & 0xFF])
    return _PG_ESCAPES.get(esc, esc)


def parse_postgresql_conf(data: bytes) -> Document:
    """postgresql.conf: ``name = value`` or ``name value``, ``#`` comments anywhere outside quotes."""
    doc, root = _new_document(data, "postgresql")
    for ls, le in _lines(data):
        m = _PG_ENTRY.match(data, ls, le)
        if m.end() < le:
            doc.problems.append(ParseProblem("Syntax error: unexpected text", Span(m.end(), le)))
        if m.group("comment") is not None:
            doc.comments.append(_comment(data, m.start("comment"), m.end("comment")))
        name = m.group("name")
        if name is None:
            continue
        node = Node(key=_decode(name).lower(), value="", span=Span(ls, le), key_span=Span(*m.span("name")))
        raw = m.group("value")
        if raw is None:
            doc.problems.append(ParseProblem(f"Setting {node.key!r} has no value", node.key_span))
        else:
            node.value_span = Span(*m.span("value"))
            body = m.group("body")
            if body is None:
                node.value = _decode(raw)
            else:
                node.quote = "'"
                node.value = _decode(_PG_ESCAPE.sub(_pg_unescape, body))
                if not m.group("close"):
                    doc.problems.append(ParseProblem("Unterminated quoted string", node.value_span))
        root.add(node)
    return doc


# --------------------------------------------------------------------------- pg_hba.conf


# After blanks, a comment (group 1) or a field (group 2). A field is a comma-separated list whose
# items may be double-quoted ("" is a literal quote); whitespace after a comma does not end the
# field (PostgreSQL's next_field_expand). An unterminated quote runs to the end of the line.
_HBA_ITEM = rb'(?:[^\s#",]+|"(?:[^"]|"")*"?)*'
_HBA_TOKEN = re.compile(rb"\s*+(?:(\#.*)|((?=\S)" + _HBA_ITEM + rb"(?:,\s*" + _HBA_ITEM + rb")*))")
_HBA_PIECE = re.compile(rb'"((?:[^"]|"")*)("?)|[^",]+|,\s*')
_HBA_COMMA_BLANKS = re.compile(rb",\s+")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\Z")
_HBA_HOSTNAME = re.compile(r"\.?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?\Z")
_HBA_HOST_TYPES = frozenset({"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"})
_HBA_INCLUDES = frozenset({"include", "include_dir", "include_if_exists"})


class _HbaField:
    """One field of a record: its offsets in the logical line and its unquoted value."""

    __slots__ = ("start", "end", "value", "quote", "closed")

    def __init__(self, raw: bytes, start: int):
        self.start = start  # offsets in the logical line's text
        self.end = start + len(raw)
        self.quote = '"' if raw[:1] == b'"' else ""
        self.closed = True
        if b'"' not in raw:
            self.value = _decode(_HBA_COMMA_BLANKS.sub(b",", raw) if b"," in raw else raw)
            return
        out: list[bytes] = []
        for p in _HBA_PIECE.finditer(raw):
            body, close = p.groups()
            if body is None:
                out.append(p.group().rstrip())  # bare text, or a comma without the blanks after it
            else:
                out.append(body.replace(b'""', b'"'))
                self.closed = self.closed and bool(close)
        self.value = _decode(b"".join(out))


def _is_ip(value: str) -> bool:
    if _IPV4.match(value):
        return True
    if ":" not in value:  # neither IPv4 nor IPv6: spare the costly ipaddress exception
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _hba_looks_like_address(value: str) -> bool:
    return "/" in value or _is_ip(value) or _HBA_HOSTNAME.match(value) is not None


def _hba_child(line: _LogicalLine, key: str, fields: list[_HbaField]) -> Node:
    span = line.span(fields[0].start, fields[-1].end)
    if len(fields) == 1:
        value, quote = fields[0].value, fields[0].quote
    else:
        value, quote = " ".join([f.value for f in fields]), ""
    return Node(
        key=key,
        value=value,
        span=span,
        key_span=Span(span.start, span.end),
        value_span=Span(span.start, span.end),
        quote=quote,
    )


def _hba_record(line: _LogicalLine, fields: list[_HbaField], problems: list[ParseProblem]) -> Node:
    kind = fields[0].value.lower()
    value_span = line.span(fields[0].start, fields[-1].end)
    record = Node(
        key=kind,
        value=_decode(line.text[fields[0].start : fields[-1].end]),
        span=Span(line.start, line.end),
        key_span=line.span(fields[0].start, fields[0].end),
        value_span=value_span,
    )
    record.add(_hba_child(line, "type", fields[:1]))
    if kind in _HBA_INCLUDES:
        if len(fields) < 2:
            problems.append(ParseProblem(f"{kind} needs a file name", value_span))
        else:
            record.add(_hba_child(line, "file", fields[1:2]))
        if len(fields) > 2:
            extra = line.span(fields[2].start, fields[-1].end)
            problems.append(ParseProblem("Unexpected fields after the file name", extra))
        return record
    known = kind == "local" or kind in _HBA_HOST_TYPES
    if not known and not _TEMPLATE_PLACEHOLDER.search(fields[0].value or ""):
        # Reported once: what the remaining fields should be is unknown. Build-template lines
        # (`@authcomment@`, `@remove-line-for-nolocal@local ...`) are not mistakes of the user.
        problems.append(ParseProblem(f"Unknown connection type {fields[0].value!r}", record.key_span))
    missing = []
    i = 1
    for name in ("database", "user"):
        if i < len(fields):
            record.add(_hba_child(line, name, fields[i : i + 1]))
            i += 1
        else:
            missing.append(name)
    # The address is positional for host records, but when only one field is left it is more
    # likely the method (a missing address, or a template line such as
    # `@remove-line-for-nolocal@local all all @authmethodlocal@`) unless it looks like an address.
    if kind != "local" and i < len(fields) and (len(fields) - i >= 2 or _hba_looks_like_address(fields[i].value)):
        address = fields[i]
        record.add(_hba_child(line, "address", [address]))
        i += 1
        # An IP address without a CIDR suffix takes its netmask from the next field.
        if "/" not in address.value and i < len(fields) and _is_ip(address.value) and _is_ip(fields[i].value):
            record.add(_hba_child(line, "mask", fields[i : i + 1]))
            i += 1
    elif kind != "local":
        missing.append("client address")
    if i < len(fields):
        record.add(_hba_child(line, "method", fields[i : i + 1]))
        if i + 1 < len(fields):
            record.add(_hba_child(line, "options", fields[i + 1 :]))
    else:
        missing.append("authentication method")
    if known and missing:
        problems.append(ParseProblem(f"pg_hba record is missing the {missing[0]}", value_span))
    return record


def parse_pg_hba(data: bytes) -> Document:
    """pg_hba.conf: one whitespace-separated record per (backslash-continued) line."""
    doc, root = _new_document(data, "pg_hba")
    for line in _logical_lines(data, escaped_backslash=False):
        fields: list[_HbaField] = []
        for m in _HBA_TOKEN.finditer(line.text):
            raw = m.group(2)
            if raw is None:
                doc.comments.append(line.comment(m.start(1)))
                break
            # rstrip: the blanks after a trailing comma are not part of the field.
            field = _HbaField(raw.rstrip(), m.start(2))
            if not field.closed:
                doc.problems.append(ParseProblem("Unterminated quoted field", line.span(field.start, field.end)))
            fields.append(field)
        if fields:
            root.add(_hba_record(line, fields, doc.problems))
    return doc


# --------------------------------------------------------------------------- nginx


# One token per match, in group 1, after the whitespace before it (matching the whitespace here
# rather than letting finditer search over it byte by byte halves the scan time). Tokens follow
# nginx's reader: a `#` starts a comment only where a token starts, quotes only open a string at a
# token's start (and strings may span lines), a bare word ends at whitespace, `;`, `{` or `}` except
# inside `${...}`, and a backslash escapes the next byte. A quote never closed is taken to the end
# of its line only, so one stray quote does not swallow the rest of the file.
_NGINX_TOKEN = re.compile(
    rb"""
    \s*+
    (
      \#[^\r\n]*
    | [;{}]
    | "[^"\\]*(?:\\[\s\S][^"\\]*)*"
    | '[^'\\]*(?:\\[\s\S][^'\\]*)*'
    | (?P<unclosed>["'][^\r\n]*)
    | (?:[^\s;{}\\$]+|\\[\s\S]?|\$\{[^}\s]*\}|\$)+
    )
    """,
    re.X,
)
# The escapes nginx decodes in arguments; any other backslash is kept (regexes need `\.`).
_NGINX_ESCAPE = re.compile(rb"""\\(["'\\trn])""")
_NGINX_ESCAPES = {b"t": b"\t", b"r": b"\r", b"n": b"\n"}


def _nginx_unescape(m: re.Match) -> bytes:
    c = m.group(1)
    return _NGINX_ESCAPES.get(c, c)


def _nginx_value(raw: bytes, unclosed: bool) -> tuple[str, str]:
    """The value of a token that is quoted or holds a backslash, and the quote it was written with."""
    quote = ""
    if raw[0] in _QUOTES:
        quote = chr(raw[0])
        raw = raw[1:] if unclosed else raw[1:-1]
    if b"\\" in raw:
        raw = _NGINX_ESCAPE.sub(_nginx_unescape, raw)
    return raw.decode("utf-8", "replace"), quote


def _nginx_directive(tokens: list[re.Match], end: int) -> Node:
    """The directive read from ``tokens`` (name first), its entry ending at ``end``."""
    # This runs for every directive on every keystroke: plain tokens take an inline fast path and
    # nodes are built here directly, without helper calls or temporary tuples per argument.
    name = tokens[0]
    start, stop = name.start(1), name.end()
    raw = name.group(1)
    if raw[0] in _QUOTES or b"\\" in raw:
        key = _nginx_value(raw, name.start("unclosed") >= 0)[0]
    else:
        key = raw.decode("utf-8", "replace")
    node = Node(key=key, value="", span=Span(start, end), key_span=Span(start, stop))
    if len(tokens) > 1:
        args = node.args
        values = []
        for t in tokens[1:]:
            raw = t.group(1)
            if raw[0] in _QUOTES or b"\\" in raw:
                value, quote = _nginx_value(raw, t.start("unclosed") >= 0)
            else:
                value, quote = raw.decode("utf-8", "replace"), ""
            start, stop = t.start(1), t.end()
            span, value_span = Span(start, stop), Span(start, stop)
            args.append(Node(key=None, value=value, span=span, value_span=value_span, quote=quote))
            values.append(value)
        node.value = " ".join(values)
        node.value_span = Span(args[0].span.start, stop)
    return node


def parse_nginx(data: bytes) -> Document:
    """nginx.conf: ``name args ;`` directives and ``name args { ... }`` blocks nested to any depth."""
    doc, root = _new_document(data, "nginx")
    problems = doc.problems
    lines = _LineStarts(data)
    # Open blocks, innermost last: (node receiving directives, offset of its `{`, whether a `}`
    # closes that node). A `{` without a directive name re-enters the enclosing node so that its `}`
    # still balances.
    stack: list[tuple[Node, int, bool]] = [(root, 0, False)]
    parent = root
    tokens: list[re.Match] = []  # the directive being read
    last_end = 0  # end of the last token, where an unterminated directive or block ends

    def unterminated(end: int) -> None:
        node = _nginx_directive(tokens, end)
        problems.append(ParseProblem(f"Directive {node.key!r} is not terminated by ';'", node.span))
        parent.add(node)

    for m in _NGINX_TOKEN.finditer(data):
        start = m.start(1)
        c = data[start]
        if c == _HASH:
            doc.comments.append(_comment(data, start, m.end()))
            continue
        end = last_end = m.end()
        if c == _SEMICOLON:
            if tokens:
                parent.add(_nginx_directive(tokens, end))
                tokens = []
            else:
                problems.append(ParseProblem("Unexpected ';'", Span(start, end)))
        elif c == _OPEN_BRACE:
            if tokens:
                parent = parent.add(_nginx_directive(tokens, end))
                stack.append((parent, start, True))
                tokens = []
            else:
                problems.append(ParseProblem("Unexpected '{' without a directive name", Span(start, end)))
                stack.append((parent, start, False))
        elif c == _CLOSE_BRACE:
            if tokens:
                unterminated(tokens[-1].end())
                tokens = []
            if len(stack) == 1:
                problems.append(ParseProblem("Unexpected '}'", Span(start, end)))
                continue
            node, _, closes = stack.pop()
            parent = stack[-1][0]
            if closes:
                node.span.end = end
                _finish_block(node, lines, start)
        else:
            if c in _QUOTES and m.start("unclosed") >= 0:
                problems.append(ParseProblem("Unterminated quoted string", Span(start, end)))
            tokens.append(m)
    if tokens:
        unterminated(tokens[-1].end())
    while len(stack) > 1:
        node, brace, closes = stack.pop()
        if closes:
            node.span.end = last_end
            _finish_block(node, lines, None)
            problems.append(ParseProblem(f"Block {node.key!r} is not closed", node.key_span))
        else:
            problems.append(ParseProblem("Unclosed '{'", Span(brace, brace + 1)))
    return doc


# --------------------------------------------------------------------------- Apache httpd


# A word as httpd's ap_getword_conf reads it: a quoted string (backslash escapes the quote and
# itself; an unterminated one runs to the end of the line) or a run of non-blanks.
_HTTPD_WORD = re.compile(rb"""\"((?:[^"\\]|\\.)*)("?)|'((?:[^'\\]|\\.)*)('?)|\S+""")
_HTTPD_DQ_ESCAPE = re.compile(rb'\\([\\"])')
_HTTPD_SQ_ESCAPE = re.compile(rb"\\([\\'])")
_HTTPD_OPEN = re.compile(rb"<([^\s>]+)")
_HTTPD_CLOSE = re.compile(rb"</([^\s>]*)")


def _httpd_words(line: _LogicalLine, start: int, end: int) -> list[Node]:
    words = []
    for m in _HTTPD_WORD.finditer(line.text, start, end):
        dq, _, sq, _ = m.groups()
        if dq is not None:
            value, quote = _HTTPD_DQ_ESCAPE.sub(rb"\1", dq), '"'
        elif sq is not None:
            value, quote = _HTTPD_SQ_ESCAPE.sub(rb"\1", sq), "'"
        else:
            value, quote = m.group().replace(b"\\\\", b"\\"), ""
        span = line.span(m.start(), m.end())
        words.append(_scalar(_decode(value), span.start, span.end, quote))
    return words


def parse_httpd(data: bytes) -> Document:
    """Apache httpd.conf / .htaccess: ``Directive args`` lines and nested ``<Section args>`` blocks."""
    doc, root = _new_document(data, "httpd")
    problems = doc.problems
    lines = _LineStarts(data)
    stack = [root]  # open sections, innermost last
    last_end = 0  # end of the last directive or tag, where an unclosed section ends
    for line in _logical_lines(data, escaped_backslash=True):
        text = line.text
        m = _NOT_SPACE.search(text)
        if m is None:
            continue
        start, end = m.start(), len(text.rstrip())
        if text[start] == _HASH:
            doc.comments.append(line.comment(start))
            continue
        span = line.span(start, end)
        if text.startswith(b"</", start):
            name = _decode(_HTTPD_CLOSE.match(text, start).group(1))
            depth = len(stack) - 1
            while depth > 0 and stack[depth].key.lower() != name.lower():
                depth -= 1
            if depth == 0:
                problems.append(ParseProblem(f"</{name}> without matching <{name}> section", span))
            else:
                while len(stack) - 1 > depth:
                    inner = stack.pop()
                    inner.span.end = last_end
                    _finish_block(inner, lines, span.start)
                    problems.append(ParseProblem(f"<{inner.key}> is not closed", inner.key_span))
                section = stack.pop()
                section.span.end = span.end
                _finish_block(section, lines, span.start)
        elif (tag := _HTTPD_OPEN.match(text, start)) is not None:
            args_end = end
            if text[end - 1] == _GREATER_THAN:
                args_end -= 1
            else:
                problems.append(ParseProblem(f"<{_decode(tag.group(1))}> is missing its closing '>'", span))
            args = _httpd_words(line, tag.end(), args_end)
            section = _directive(_decode(tag.group(1)), line.span(*tag.span(1)), args, span)
            stack[-1].add(section)
            stack.append(section)
        else:
            words = _httpd_words(line, start, end)
            stack[-1].add(_directive(words[0].value, words[0].span, words[1:], span))
        last_end = span.end
    while len(stack) > 1:
        section = stack.pop()
        section.span.end = last_end
        _finish_block(section, lines, None)
        problems.append(ParseProblem(f"<{section.key}> is not closed", section.key_span))
    return doc
