"""The uniform settings model every format is turned into, and every rule reads.

A parsed file becomes one or more `Document`s (a multi-document YAML file gives one per `---`
document; a Terraform file can carry embedded Kafka properties). Each document has a root `Node`
tree. All positions are UTF-8 byte offsets relative to the document's `base` offset in the file;
converting them to editor positions is the job of `positions.py`, so formats and rules never deal
with encodings.

Mapping of formats onto nodes:
- YAML / JSON: mappings are nodes with keyed children; sequences are nodes whose children are
  items (``key=None``, ``is_item=True``); scalars carry ``value``.
- XML: an element is a node keyed by its tag; attributes are children keyed ``@name``; an
  element holding only text has that text as ``value``.
- INI / systemd / my.cnf: sections are nodes keyed by section name, settings are children.
- Properties, redis.conf, postgresql.conf: flat children of the root.
- Directive formats (nginx, httpd, redis): a directive is a node keyed by its name, its
  arguments are ``args`` (scalar nodes) and ``value`` is the arguments joined by one space;
  a block (``server { }``, ``<Directory />``) has its inner directives as ``children``.
- Records (pg_hba.conf lines): a node keyed by the first field with named children
  (``type``, ``database``, ``user``, ``address``, ``method``, ``options``).
- Dockerfile: each instruction is a node keyed by the upper-case instruction name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Span:
    """Half-open byte range ``[start, end)`` in the file's UTF-8 bytes."""

    start: int
    end: int

    def shifted(self, delta: int) -> "Span":
        return Span(self.start + delta, self.end + delta)


@dataclass(slots=True, eq=False)
class Node:
    key: str | None
    value: str | None = None
    # Where the node's key, value and whole entry sit. `span` covers the full entry (key,
    # separator, value, block body); it is what a "remove this setting" fix deletes.
    span: Span = field(default_factory=lambda: Span(0, 0))
    key_span: Span | None = None
    value_span: Span | None = None
    children: list["Node"] = field(default_factory=list)
    args: list["Node"] = field(default_factory=list)
    is_item: bool = False
    # The quote character the value was written with ('"', "'" or ""), so a fix keeps the style.
    quote: str = ""
    # Where a new child belongs (byte offset) and the indentation children use; set by formats
    # that support inserting settings.
    insert_at: int | None = None
    child_indent: str = ""
    # XML only: where a new attribute of this element goes (just before `>` or `/>`).
    attr_insert_at: int | None = None

    def add(self, child: "Node") -> "Node":
        # No parent links: trees without cycles are freed by reference counting, not the slow GC.
        self.children.append(child)
        return child

    def child(self, key: str) -> "Node | None":
        for c in self.children:
            if c.key == key:
                return c
        return None

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def shift(self, delta: int) -> None:
        """Move this subtree by `delta` bytes (reusing an unchanged part of a re-parsed file)."""
        for node in self.walk():
            node.span = node.span.shifted(delta)
            if node.key_span is not None:
                node.key_span = node.key_span.shifted(delta)
            if node.value_span is not None:
                node.value_span = node.value_span.shifted(delta)
            if node.insert_at is not None:
                node.insert_at += delta
            if node.attr_insert_at is not None:
                node.attr_insert_at += delta
            for arg in node.args:
                arg.shift(delta)

    def location(self) -> Span:
        """The span a finding about this node should underline."""
        return self.value_span or self.key_span or self.span


@dataclass(slots=True)
class Comment:
    """A comment with its text stripped of comment markers (``#``, ``;``, ``//``, ``<!-- -->``)."""

    text: str
    span: Span


@dataclass(slots=True)
class ParseProblem:
    message: str
    span: Span


@dataclass(slots=True)
class Reuse:
    """What a format may reuse from the previous parse of the same bytes-region after one edit.

    `changed` are byte ranges (new coordinates) that differ; a subtree of the previous document
    outside them is unchanged and can be moved into the new document with `Node.shift`.
    """

    previous: "Document"
    changed: list[tuple[int, int]]
    edit_start: int
    old_end: int
    new_end: int

    def to_old(self, offset: int) -> int | None:
        if offset <= self.edit_start:
            return offset
        if offset >= self.new_end:
            return offset - (self.new_end - self.old_end)
        return None

    def untouched(self, start: int, end: int) -> bool:
        return all(end < s or start > e for s, e in self.changed)


@dataclass(slots=True, eq=False)
class Document:
    """One logical configuration document inside a file."""

    root: Node
    comments: list[Comment] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)
    # Byte range of this document, relative to `base`; every span inside the document is relative
    # to `base`, the document's offset in the file, so an unchanged YAML document that moved
    # (because an earlier one grew) is reused by updating `base` alone.
    span: Span = field(default_factory=lambda: Span(0, 0))
    base: int = 0
    # Which rule pack applies (e.g. "redis", "kubernetes") and an optional dialect
    # ("msk" for AWS MSK properties) that rules and defaults can depend on.
    technology: str = ""
    dialect: str = ""
    # The detected file kind (e.g. "redis-conf", "kubernetes"); rules name the kinds they read.
    kind: str = ""
    # The file format the document was read from; fix rendering depends on it.
    format: str = ""
    # Newline style of the file, used when a fix inserts a line.
    newline: str = "\n"
    # The secrets this document holds (`redaction.Redactor`), collected when it is checked: every
    # text shown about the document is masked with it.
    redactor: object | None = None
