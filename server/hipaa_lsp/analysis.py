"""One file in, findings out: detection, parsing, rules, and the notices about input we could not read.

Used directly by the CLI; the language server goes through `document_store`, which adds incremental
re-parsing on top of the same functions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .config import Config
from .detect import Kind, detect_kind
from .engine import Finding, evaluate
from .formats.registry import FORMATS
from .formats.treesitter import parser_for
from .formats.yaml_format import split_documents
from .limits import UNCHECKED_RULE, LimitHit, check_documents as check_document_count, check_lines, check_nesting, check_nodes, too_large
from .model import Document, Reuse, Span
from .positions import detect_newline
from .rulebook import Rulebook

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Notice:
    """Something about the input itself (binary, too large, syntax error), shown as information."""

    message: str
    start: int
    end: int
    code: str


@dataclass
class Report:
    path: str
    kind: Kind | None
    data: bytes
    documents: list[Document] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    # Parts of the file that were not analysed, and why (reported by the built-in rule).
    unchecked: list[LimitHit] = field(default_factory=list)


def input_notice(data: bytes, config: Config) -> Notice | None:
    """Binary content: not a configuration file after all, so a notice rather than a finding."""
    if b"\x00" in data[:8192]:
        return Notice("hipaa-lsp: binary content; not checked.", 0, 0, "input-binary")
    return None


def file_limit(kind: Kind, data: bytes, config: Config, segment_count: int) -> LimitHit | None:
    """A limit the whole file is over (size, line length, number of documents), or None."""
    limits = config.limits
    return (too_large(len(data), limits) or check_lines(data, limits)
            or (check_document_count(segment_count, limits) if FORMATS[kind.format].multi_document else None))


def segment_limit(kind: Kind, data: bytes, config: Config) -> LimitHit | None:
    """A limit one segment is over before parsing (nesting depth), offsets relative to it."""
    return check_nesting(kind.format, data, config.limits)


def encoding_notice(data: bytes) -> Notice | None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Notice(f"hipaa-lsp: file is not valid UTF-8 (byte {exc.start}); invalid bytes were read as U+FFFD.",
                      exc.start, min(exc.end, len(data)), "input-encoding")
    return None


class LimitExceeded(Exception):
    def __init__(self, hit: LimitHit):
        super().__init__(hit.message)
        self.hit = hit


def parse_segment(kind: Kind, data: bytes, old_tree=None, previous: list[Document] | None = None,
                  edit: tuple[int, int, int] | None = None, node_limit=None):
    """Parse one segment's bytes: (documents, tree-sitter tree or None).

    With the edited `old_tree`, tree-sitter re-parses incrementally; with the `previous` documents
    and the one `edit` (start, old end, new end) since, formats that can keep unchanged subtrees do.
    """
    fmt = FORMATS[kind.format]
    if fmt.language is None:
        return fmt.build(data), None
    parser = parser_for(fmt.language)
    tree = parser.parse(data, old_tree) if old_tree is not None else parser.parse(data)
    if node_limit is not None:
        hit = check_nodes(tree.root_node.descendant_count, node_limit)
        if hit is not None:
            raise LimitExceeded(hit)
    if fmt.reuses and old_tree is not None and previous and len(previous) == 1 and edit is not None:
        changed = [(r.start_byte, r.end_byte) for r in old_tree.changed_ranges(tree)]
        changed.append((edit[0], edit[2]))
        reuse = Reuse(previous[0], changed, *edit)
        return fmt.build(tree.root_node, data, reuse=reuse), tree
    return fmt.build(tree.root_node, data), tree


def stamp(documents: list[Document], kind: Kind, base: int, newline: str) -> None:
    for doc in documents:
        doc.base += base
        doc.kind = doc.kind or kind.id
        doc.technology = doc.technology or kind.technology
        doc.format = doc.format or kind.format
        doc.newline = newline
    for doc in documents[1:]:
        # Embedded documents (Kafka properties in Terraform) are read with their own kind.
        if doc.technology == "kafka" and doc.kind == kind.id and kind.id == "msk-terraform":
            doc.kind = "kafka-properties"


def segments(kind: Kind, data: bytes) -> list[tuple[int, int]]:
    if FORMATS[kind.format].multi_document:
        return split_documents(data)
    return [(0, len(data))]


def check_documents(documents: list[Document], data: bytes, rulebook: Rulebook, config: Config) -> list[Finding]:
    findings: list[Finding] = []
    for doc in documents:
        rules = [r for r in rulebook.for_kind(doc.kind, doc.dialect) if not config.rule_disabled(r.id)]
        own = data[doc.base : doc.base + doc.span.end]
        findings.extend(evaluate(doc, own, rules, config.product_versions))
    return findings


def problem_notices(documents: list[Document]) -> list[Notice]:
    notices = []
    for doc in documents:
        for p in doc.problems[:5]:
            notices.append(Notice(f"hipaa-lsp: {p.message}; settings after it are still checked where they "
                                  "can be read.", doc.base + p.span.start, doc.base + p.span.end, "syntax-error"))
    return notices


def analyze(path: str, data: bytes, rulebook: Rulebook, config: Config, kind: Kind | None = None) -> Report:
    kind = kind or detect_kind(path, data[:65536], config.file_associations)
    report = Report(path, kind, data)
    if kind is None:
        return report
    stop = input_notice(data, config)
    if stop is not None:
        report.notices.append(stop)
        return report
    bounds = segments(kind, data)
    limit = file_limit(kind, data, config, len(bounds))
    if limit is not None:
        report.unchecked.append(limit)
        return report
    enc = encoding_notice(data)
    if enc is not None:
        report.notices.append(enc)
    newline = detect_newline(data)
    for start, end in bounds:
        own = data[start:end]
        try:
            hit = segment_limit(kind, own, config)
            if hit is not None:
                raise LimitExceeded(hit)
            docs, _ = parse_segment(kind, own, node_limit=config.limits)
            stamp(docs, kind, start, newline)
            report.findings.extend(check_documents(docs, data, rulebook, config))
            report.documents.extend(docs)
        except LimitExceeded as exc:
            report.unchecked.append(exc.hit.moved(start))
        except RecursionError:
            report.unchecked.append(nesting_recursion(start))
    report.notices.extend(problem_notices(report.documents))
    return report


def unchecked_message(rulebook: Rulebook, hit: LimitHit) -> str:
    return rulebook.rules[UNCHECKED_RULE].message.replace("{reason}", hit.reason())


def nesting_recursion(start: int) -> LimitHit:
    # A builder hit Python's recursion limit: as good as over the nesting limit.
    return LimitHit("maxNestingDepth", "nesting is too deep to read", start, start)


__all__ = ["Notice", "Report", "analyze", "Span"]
