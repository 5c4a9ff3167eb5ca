"""Open documents, kept parsed and checked as they are edited.

Each document is held as UTF-8 bytes plus *segments*: one per `---` document of a YAML file, one
for the whole file otherwise. An edit is applied to the bytes and, with `Tree.edit`, to the tree of
the segment it falls in; only that segment is re-parsed (`parser.parse(new, old_tree)`) and
re-checked. The others keep their documents and findings and just move (`Document.base`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .analysis import (LimitExceeded, Notice, check_documents, encoding_notice, file_limit, input_notice,
                       nesting_recursion, parse_segment, problem_notices, segment_limit, segments, stamp)
from .config import Config
from .detect import Kind
from .engine import Finding
from .limits import LimitHit
from .model import Document
from .positions import LineIndex, detect_newline, ts_point
from .rulebook import Rulebook

log = logging.getLogger(__name__)


@dataclass
class Segment:
    start: int
    end: int
    tree: object | None = None  # tree-sitter Tree (None for our own tokenizer formats)
    documents: list[Document] = field(default_factory=list)
    inner: list[int] = field(default_factory=list)  # each document's offset inside the segment
    findings: list[Finding] = field(default_factory=list)
    dirty: bool = True
    source: bytes = b""  # the bytes the documents and findings were computed from
    # Converted forms of the findings (LSP diagnostics per encoding), dropped when findings change.
    views: dict = field(default_factory=dict)
    # Edits (start, old end, new end; segment-relative) since the last analysis.
    edits: list[tuple[int, int, int]] = field(default_factory=list)
    # The limit that stopped this segment's analysis (segment-relative offsets), if any.
    stop: LimitHit | None = None

    def move_to(self, start: int) -> None:
        delta = start - self.start
        self.start += delta
        self.end += delta
        for doc, inner in zip(self.documents, self.inner):
            doc.base = self.start + inner


@dataclass
class Change:
    """One content change in byte offsets of the text it applies to."""

    start: int
    end: int
    text: bytes


class OpenDocument:
    def __init__(self, uri: str, path: str, data: bytes, version: int, kind: Kind | None,
                 rulebook: Rulebook, config: Config):
        self.uri = uri
        self.path = path
        self.version = version
        self.kind = kind
        self.rulebook = rulebook
        self.config = config
        self.data = data
        self._index: LineIndex | None = None
        self.segments: list[Segment] = []
        self.notices: list[Notice] = []
        self.file_stop: LimitHit | None = None
        self._rebuild_segments()

    # ------------------------------------------------------------------ text

    @property
    def index(self) -> LineIndex:
        if self._index is None or self._index.data is not self.data:
            self._index = LineIndex(self.data)
        return self._index

    def apply(self, changes: list[Change], version: int) -> None:
        """Apply content changes in order (each in offsets of the text left by the previous one)."""
        self.version = version
        structural = False
        for change in changes:
            structural |= not self._edit_segment(change)
            self.data = self.data[: change.start] + change.text + self.data[change.end :]
        if structural or not self.kind or [(s.start, s.end) for s in self.segments] != segments(self.kind, self.data):
            self._rebuild_segments()

    def replace_all(self, data: bytes, version: int) -> None:
        self.version = version
        self.data = data
        self._rebuild_segments()

    def _edit_segment(self, change: Change) -> bool:
        """Move the edit into the segment it falls in; False if it spans segments."""
        if not self.segments:
            return False
        delta = len(change.text) - (change.end - change.start)
        for i, seg in enumerate(self.segments):
            last = i == len(self.segments) - 1
            if seg.start <= change.start and (change.end < seg.end or (last and change.end <= seg.end)):
                rs, re_ = change.start - seg.start, change.end - seg.start
                if seg.tree is not None:
                    old = self.data[seg.start : seg.end]
                    new = old[:rs] + change.text + old[re_:]
                    seg.tree.edit(
                        start_byte=rs, old_end_byte=re_, new_end_byte=rs + len(change.text),
                        start_point=ts_point(old, rs), old_end_point=ts_point(old, re_),
                        new_end_point=ts_point(new, rs + len(change.text)),
                    )
                seg.end += delta
                seg.dirty = True
                seg.edits.append((rs, re_, rs + len(change.text)))
                for later in self.segments[i + 1 :]:
                    later.move_to(later.start + delta)
                return True
        return False

    def _rebuild_segments(self) -> None:
        """Re-split the file; segments whose bytes did not change keep their parse and findings."""
        old = {seg.source: seg for seg in self.segments if not seg.dirty}
        self.segments = []
        if self.kind is None:
            return
        for start, end in segments(self.kind, self.data):
            reused = old.get(self.data[start:end])
            if reused is not None:
                del old[reused.source]  # two identical documents must not share one segment
                reused.move_to(start)
                self.segments.append(reused)
            else:
                self.segments.append(Segment(start, end))

    # ------------------------------------------------------------- analysis

    def refresh(self) -> None:
        """Parse and check whatever is out of date."""
        self.notices = []
        self.file_stop = None
        if self.kind is None:
            return
        stop = input_notice(self.data, self.config)
        self.file_stop = file_limit(self.kind, self.data, self.config, len(self.segments)) if stop is None else None
        if stop is not None or self.file_stop is not None:
            if stop is not None:
                self.notices.append(stop)
            for seg in self.segments:
                seg.documents, seg.findings, seg.dirty, seg.stop = [], [], True, None
            return
        enc = encoding_notice(self.data)
        if enc is not None:
            self.notices.append(enc)
        newline = detect_newline(self.data)
        for seg in self.segments:
            if seg.dirty:
                try:
                    self._analyze_segment(seg, newline)
                except (LimitExceeded, RecursionError) as exc:
                    seg.documents, seg.findings, seg.tree = [], [], None
                    seg.stop = exc.hit if isinstance(exc, LimitExceeded) else nesting_recursion(0)
                    seg.dirty, seg.edits, seg.views = False, [], {}
                    seg.source = self.data[seg.start : seg.end]
        self.notices.extend(problem_notices(self.documents))

    @property
    def unchecked(self) -> list[LimitHit]:
        """What was not analysed: the whole file, or segments, in absolute offsets."""
        if self.file_stop is not None:
            return [self.file_stop]
        return [seg.stop.moved(seg.start) for seg in self.segments if seg.stop is not None]

    def _analyze_segment(self, seg: Segment, newline: str) -> None:
        own = self.data[seg.start : seg.end]
        seg.stop = None
        hit = segment_limit(self.kind, own, self.config)
        if hit is not None:
            raise LimitExceeded(hit)
        edit = seg.edits[0] if len(seg.edits) == 1 else None
        documents, tree = parse_segment(self.kind, own, seg.tree, seg.documents, edit, node_limit=self.config.limits)
        seg.edits = []
        seg.tree = tree
        seg.inner = [d.base for d in documents]
        stamp(documents, self.kind, seg.start, newline)
        seg.documents = documents
        seg.findings = check_documents(documents, self.data, self.rulebook, self.config)
        seg.dirty = False
        seg.source = own
        seg.views = {}

    @property
    def documents(self) -> list[Document]:
        return [d for seg in self.segments for d in seg.documents]

    @property
    def findings(self) -> list[Finding]:
        return [f for seg in self.segments for f in seg.findings]

    def reconfigure(self, config: Config, kind: Kind | None) -> None:
        self.config = config
        if kind is not self.kind:
            self.kind = kind
            self.segments = []
            self._rebuild_segments()
        for seg in self.segments:
            seg.dirty = True
