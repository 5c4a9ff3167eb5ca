"""Property test of the incremental path.

Random sequences of LSP edits, expressed in UTF-8, UTF-16 or UTF-32 positions, applied one by one to
an open document, must leave exactly the text, the trees and the findings of a fresh parse of the
final text. The expected text is computed here independently, on Python strings.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaa_lsp.analysis import parse_segment, segments
from hipaa_lsp.config import Config
from hipaa_lsp.detect import detect_kind
from hipaa_lsp.document_store import Change, OpenDocument
from hipaa_lsp.positions import LineIndex
from hipaa_lsp.rulebook import load_rulebook

SAMPLES = {
    "redis.conf": "# café 😀\nbind 0.0.0.0\nprotected-mode no\r\nport 6379\n",
    "deploy.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n  - name: x\n"
                    "    image: nginx:latest\n    securityContext:\n      privileged: true\n---\n"
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: b  # é\nspec:\n  hostNetwork: true\n"
                    "  containers:\n  - name: y\n    image: redis\n"),
    "mongod.conf": "net:\r\n  bindIp: 0.0.0.0\r\nsecurity:\r\n  authorization: disabled\r\n",
    "server.xml": ('<?xml version="1.0"?>\n<Server port="8005" shutdown="SHUTDOWN">\n  <Service name="C">\n'
                   '    <Connector port="8080" protocol="HTTP/1.1"/>\n    <!-- ü 😀 -->\n  </Service>\n</Server>\n'),
    "pg_hba.conf": "local all all trust\rhost all all 0.0.0.0/0 md5\r",
}
PIECES = ["", "a", " ", "\n", "\r\n", "\r", "é", "😀", "#", ":", "---\n", "  ", "- ", "no", "yes", "=", "<", ">", '"']


def line_starts(text: str) -> list[int]:
    """Code-point offsets of LSP line starts (\\n, \\r\\n, lone \\r)."""
    starts = [0]
    i = 0
    while i < len(text):
        if text[i] == "\r":
            i += 2 if text[i + 1 : i + 2] == "\n" else 1
            starts.append(i)
        elif text[i] == "\n":
            i += 1
            starts.append(i)
        else:
            i += 1
    return starts


def units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def to_index(text: str, line: int, character: int, encoding: str) -> int:
    """Reference conversion of an LSP position to a str index (clamped like editors do)."""
    starts = line_starts(text)
    if line >= len(starts):
        return len(text)
    i = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    while end > i and text[end - 1] in "\r\n":
        end -= 1
    count = 0
    while i < end and count + units(text[i], encoding) <= character:
        count += units(text[i], encoding)
        i += 1
    return i


def position_of(text: str, index: int, encoding: str) -> tuple[int, int]:
    starts = line_starts(text)
    line = max(n for n, s in enumerate(starts) if s <= index)
    return line, sum(units(ch, encoding) for ch in text[starts[line] : index])


@st.composite
def edit_scripts(draw):
    name = draw(st.sampled_from(sorted(SAMPLES)))
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-32"]))
    text = SAMPLES[name]
    edits = []
    for _ in range(draw(st.integers(1, 8))):
        a = draw(st.integers(0, len(text)))
        b = draw(st.integers(a, min(len(text), a + 6)))
        # Never split a \r\n pair: an LSP position cannot point between them.
        if 0 < a < len(text) and text[a - 1 : a + 1] == "\r\n":
            a -= 1
        if 0 < b < len(text) and text[b - 1 : b + 1] == "\r\n":
            b += 1
        inserted = "".join(draw(st.lists(st.sampled_from(PIECES), max_size=3)))
        start, end = position_of(text, a, encoding), position_of(text, b, encoding)
        edits.append((start, end, inserted))
        text = text[:a] + inserted + text[b:]
    return name, encoding, edits, text


def snapshot(doc: OpenDocument):
    doc.refresh()
    findings = sorted((f.rule.id, f.start, f.end, f.message) for f in doc.findings)
    trees = [str(s.tree.root_node) if s.tree is not None else None for s in doc.segments]
    return findings, trees, [(n.code, n.start, n.end) for n in doc.notices]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit_scripts())
def test_incremental_edits_match_a_fresh_parse(script):
    name, encoding, edits, expected_text = script
    rulebook, config = load_rulebook(), Config()
    text = SAMPLES[name]
    kind = detect_kind(name, text.encode())
    doc = OpenDocument(f"file:///{name}", name, text.encode(), 1, kind, rulebook, config)
    doc.refresh()
    for version, ((l1, c1), (l2, c2), inserted) in enumerate(edits, start=2):
        index = LineIndex(doc.data)
        start, end = index.offset(l1, c1, encoding), index.offset(l2, c2, encoding)
        doc.apply([Change(start, end, inserted.encode())], version)
        if version % 2:
            doc.refresh()  # findings computed mid-way must not disturb later edits
    assert doc.data.decode() == expected_text
    fresh = OpenDocument(f"file:///{name}", name, expected_text.encode(), 1, kind, rulebook, config)
    assert snapshot(doc) == snapshot(fresh)
    # And the trees equal a parse from scratch, segment by segment.
    for seg, (s, e) in zip(doc.segments, segments(kind, doc.data)):
        _, tree = parse_segment(kind, doc.data[s:e])
        if tree is not None:
            assert str(seg.tree.root_node) == str(tree.root_node)


def test_reference_conversion_agrees_with_line_index():
    text = "a😀b\r\nc\rd\n"
    data = text.encode()
    index = LineIndex(data)
    for encoding in ("utf-8", "utf-16", "utf-32"):
        for i in range(len(text) + 1):
            if 0 < i < len(text) and text[i - 1 : i + 1] == "\r\n":
                continue
            line, char = position_of(text, i, encoding)
            assert index.offset(line, char, encoding) == len(text[:i].encode())
            pos = index.position(len(text[:i].encode()), encoding)
            assert (pos.line, pos.character) == (line, char)
