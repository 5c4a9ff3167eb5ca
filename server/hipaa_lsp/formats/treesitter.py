"""Shared tree-sitter plumbing: one cached parser per grammar, and node helpers."""

from __future__ import annotations

from functools import lru_cache

from tree_sitter import Node as TSNode
from tree_sitter import Parser

from ..model import Span


@lru_cache(maxsize=None)
def parser_for(language: str) -> Parser:
    # Imported lazily: loading the language pack costs ~50 ms and the CLI `rules` command needs none.
    from tree_sitter_language_pack import get_parser

    return get_parser(language)


def span_of(node: TSNode, base: int = 0) -> Span:
    return Span(node.start_byte + base, node.end_byte + base)


def text_of(node: TSNode, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def indent_before(data: bytes, offset: int) -> str:
    """The whitespace between the start of the line holding `offset` and `offset`, as spaces."""
    line_start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    prefix = data[line_start:offset]
    # A YAML sequence item ("- key: v") indents its keys past the dash.
    return "".join(ch if ch in " \t" else " " for ch in prefix.decode("utf-8", errors="replace"))


def next_line_start(data: bytes, offset: int) -> int:
    """Offset just past the line terminator following `offset` (or the end of data)."""
    n = data.find(b"\n", offset)
    r = data.find(b"\r", offset)
    candidates = [x for x in (n, r) if x != -1]
    if not candidates:
        return len(data)
    first = min(candidates)
    if data[first : first + 2] == b"\r\n":
        return first + 2
    return first + 1


def first_error(root: TSNode) -> Span:
    """Span of the first ERROR or MISSING node (the place to tell the user about)."""
    node = root
    while True:
        nxt = next((c for c in node.children if c.has_error or c.is_missing or c.type == "ERROR"), None)
        if nxt is None or node.type == "ERROR" and not any(c.has_error for c in node.children):
            return span_of(node)
        if nxt.type == "ERROR" or nxt.is_missing:
            return span_of(nxt)
        node = nxt
