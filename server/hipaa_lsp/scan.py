"""One file of a `hipaa-lsp scan`, as the analysis worker runs it: read safely, analyse, fix, report.

Reading: only regular files, opened without blocking and checked on the open descriptor (a FIFO or
device swapped in after the folder walk can neither hang nor flood us); only the first 64 KB are
read before the kind is known, so a large file that is not a configuration costs nothing; a
configuration file over the size limit is reported by the built-in rule without being read.
"""

from __future__ import annotations

import os
import stat

from .analysis import Report, analyze, unchecked_message
from .config import Config
from .detect import detect_kind
from .engine import Finding
from .fixes import apply_edits, plan_fix
from .limits import UNCHECKED_RULE, too_large
from .model import Node
from .positions import UTF16, UTF32, LineIndex
from .results import EditRecord, FileResult, FindingRecord, FixRecord, NoticeRecord, Pos
from .rulebook import Rulebook

HEAD_BYTES = 65536
# `--fix` repeats until nothing changes: one fix can enable another (insert a section, then a key).
MAX_FIX_PASSES = 5


class Unreadable(Exception):
    pass


def scan_one(path: str, config: Config, rulebook: Rulebook, fix: bool) -> FileResult | None:
    """The result for `path`, or None when it is not a configuration file we know."""
    try:
        with _open_regular(path) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(HEAD_BYTES)
            kind = detect_kind(path, head, config.file_associations)
            if kind is None:
                return None
            over = too_large(size, config.limits)
            if over is not None:
                report = Report(path, kind, b"", unchecked=[over])
                return _without_disabled(file_result(report, rulebook), config)
            data = head + _read_rest(handle, config.limits.max_file_bytes - len(head))
    except Unreadable as exc:
        result = FileResult(path, None)
        result.notices.append(NoticeRecord("input-unreadable", f"hipaa-lsp: {exc}; not checked.", Pos(0, 0, 0)))
        return result
    report = analyze(path, data, rulebook, config, kind)
    outcome = None
    if fix:
        report, outcome = _fix(path, data, report, rulebook, config)
    result = _without_disabled(file_result(report, rulebook), config)
    result.fix_outcome = outcome
    return result


def _without_disabled(result: FileResult, config: Config) -> FileResult:
    """The built-in rule is not filtered by the engine: honour its disabling here, as the server does."""
    if config.rule_disabled(UNCHECKED_RULE):
        result.findings = [f for f in result.findings if f.rule_id != UNCHECKED_RULE]
    return result


def _fix(path: str, data: bytes, report: Report, rulebook: Rulebook, config: Config) -> tuple[Report, str | None]:
    from .atomic_write import write_if_unchanged

    fixed, applied = data, 0
    for _ in range(MAX_FIX_PASSES):
        plans = [p for p in (plan_fix(f, fixed) for f in report.findings) if p is not None and p.safe]
        edits = [e for p in plans for e in p.edits]
        if not edits:
            break
        after = apply_edits(fixed, edits)
        if after == fixed:
            break
        applied += len(plans)
        fixed = after
        report = analyze(path, fixed, rulebook, config, report.kind)
    if fixed == data:
        return report, None
    outcome = write_if_unchanged(path, data, fixed)
    if not outcome.written:
        # The file on disk is what the user has: report on that, and say why nothing was written.
        return analyze(path, data, rulebook, config, report.kind), f"not fixed: {outcome.message}"
    return report, f"fixed {applied} finding{'s' if applied != 1 else ''}"


class _open_regular:
    """A context manager over an unbuffered binary handle of a regular file, or `Unreadable`."""

    def __init__(self, path: str):
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            raise Unreadable(f"cannot open ({exc.strerror or exc})") from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise Unreadable("not a regular file")
        except BaseException:
            os.close(fd)
            raise
        self.handle = os.fdopen(fd, "rb", buffering=0)

    def __enter__(self):
        return self.handle

    def __exit__(self, *exc):
        self.handle.close()
        return False


def _read_rest(handle, budget: int) -> bytes:
    chunks, total = [], 0
    while True:
        try:
            chunk = handle.read(min(1 << 20, budget + 1 - total))
        except OSError as exc:
            raise Unreadable(f"cannot read ({exc.strerror or exc})") from None
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > budget:
            break  # grew past the limit since fstat: the size check will report it
    return b"".join(chunks)


# ------------------------------------------------------------------------- records of a report


def file_result(report: Report, rulebook: Rulebook, with_fixes: bool = True) -> FileResult:
    index = LineIndex(report.data)

    def pos(offset: int) -> Pos:
        a, b = index.position(offset, UTF16), index.position(offset, UTF32)
        return Pos(a.line, a.character, b.character)

    result = FileResult(report.path, report.kind.id if report.kind else None)
    for n in report.notices:
        result.notices.append(NoticeRecord(n.code, n.message, pos(n.start)))
    records = []
    for hit in report.unchecked:
        records.append((hit.start, FindingRecord(UNCHECKED_RULE, unchecked_message(rulebook, hit), pos(hit.start),
                                                 pos(hit.end), f"limit:{hit.setting}")))
    keys = _setting_keys(report)
    for f in report.findings:
        fix = None
        if with_fixes:
            plan = plan_fix(f, report.data)
            if plan is not None:
                fix = FixRecord(plan.title, plan.safe,
                                tuple(EditRecord(pos(e.start), pos(e.end), e.text) for e in plan.edits))
        records.append((f.start, FindingRecord(f.rule.id, f.message, pos(f.start), pos(f.end), keys(f), fix)))
    records.sort(key=lambda r: (r[0], r[1].rule_id))
    result.findings = [r for _, r in records]
    return result


def _setting_keys(report: Report):
    """finding -> its place in the settings model, e.g. `Deployment/web:spec.template.spec.containers[name=app]`."""
    parents: dict[int, dict[int, tuple[Node | None, int]]] = {}

    def tree_of(doc) -> dict[int, tuple[Node | None, int]]:
        table = parents.get(id(doc))
        if table is None:
            table = parents[id(doc)] = {id(doc.root): (None, 0)}
            stack = [doc.root]
            while stack:  # iterative: models can be deep
                node = stack.pop()
                for i, child in enumerate(node.children):
                    table[id(child)] = (node, i)
                    stack.append(child)
        return table

    def step(node: Node, index: int) -> str:
        # A list position is not stable; a name is (containers, services, Hadoop properties).
        # Other items are told apart by the occurrence index.
        for name in ("name", "id"):
            child = node.child(name)
            if child is not None and child.value and len(child.value) <= 200:
                return f"{node.key or ''}[{name}={child.value}]"
        return node.key or "[]"

    def key(f: Finding) -> str:
        node = f.hit.node if f.hit is not None and f.hit.node is not None else f.scope
        table = tree_of(f.document)
        parts = []
        while node is not None and id(node) in table:
            parent, i = table[id(node)]
            if parent is None:
                break
            parts.append(step(node, i))
            node = parent
        path = ".".join(reversed(parts))
        if f.hit is not None and f.hit.node is None:
            path += ("." if path else "") + "(missing:" + (f.hit.path.text or "") + ")"
        return _document_name(f.document.root) + path

    return key


def _document_name(root: Node) -> str:
    """`Kind/name:` for a Kubernetes-style document, so documents keep their identity when reordered."""
    kind = root.child("kind")
    meta = root.child("metadata")
    name = meta.child("name") if meta is not None else None
    if kind is not None and kind.value and name is not None and name.value:
        return f"{kind.value}/{name.value}:"
    return ""
