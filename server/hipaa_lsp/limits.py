"""Limits that bound the work done on one file, and the linear pre-checks that enforce them.

Every check here is a single pass over the bytes, run before a parser sees them: a file over a
limit is never parsed (tree-sitter-yaml segfaults on block nesting around 250 levels), and is
reported as a finding of the built-in rule `HLSP-UNCHECKED-001`, so it cannot pass a CI gate
silently. A project may lower these limits; the hard ceilings below cannot be raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The built-in rule that reports a file which was not (fully) analysed.
UNCHECKED_RULE = "HLSP-UNCHECKED-001"

# Hard ceilings: a setting above them is clamped. YAML's comes from the grammar's crash.
MAX_FILE_KB_CEILING = 16 * 1024
MAX_DEPTH_CEILING = 200


@dataclass(frozen=True)
class Limits:
    max_file_size_kb: int = 2048       # checked with stat() before a file is read
    max_line_length_kb: int = 256      # one physical line
    max_nesting_depth: int = 100       # mappings, lists, elements, blocks inside each other
    max_documents: int = 10_000        # `---` documents in one YAML file
    max_nodes: int = 1_000_000         # syntax nodes of one parsed segment
    analysis_timeout_ms: int = 10_000  # wall-clock budget of one file's analysis (worker process)

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_size_kb * 1024


# setting name (editor, camelCase) -> (field, minimum, ceiling)
SETTINGS = {
    "maxFileSizeKb": ("max_file_size_kb", 1, MAX_FILE_KB_CEILING),
    "maxLineLengthKb": ("max_line_length_kb", 1, 16 * 1024),
    "maxNestingDepth": ("max_nesting_depth", 4, MAX_DEPTH_CEILING),
    "maxDocuments": ("max_documents", 1, 1_000_000),
    "maxNodes": ("max_nodes", 1_000, 20_000_000),
    "analysisTimeoutMs": ("analysis_timeout_ms", 100, 600_000),
}


@dataclass(frozen=True, slots=True)
class LimitHit:
    """Why a file (or one segment of it) was not analysed, and where."""

    setting: str   # the setting that names the limit, e.g. "maxNestingDepth"
    message: str
    start: int = 0
    end: int = 0

    def moved(self, delta: int) -> "LimitHit":
        return LimitHit(self.setting, self.message, self.start + delta, self.end + delta)

    def reason(self) -> str:
        return f"{self.message} (setting {self.setting})" if self.setting else self.message


def too_large(size: int, limits: Limits) -> LimitHit | None:
    if size > limits.max_file_bytes:
        return LimitHit("maxFileSizeKb", f"file is {size // 1024} KB, over the {limits.max_file_size_kb} KB limit")
    return None


def check_lines(data: bytes, limits: Limits) -> LimitHit | None:
    longest, at, pos = 0, 0, 0
    cap = limits.max_line_length_kb * 1024
    if len(data) <= cap:
        return None
    for line in data.split(b"\n"):  # in C; the loop only sees line lengths
        if len(line) > longest:
            longest, at = len(line), pos
        pos += len(line) + 1
    if longest > cap:
        return LimitHit("maxLineLengthKb", f"a line is {longest // 1024} KB long, over the "
                        f"{limits.max_line_length_kb} KB limit", at, at)
    return None


def check_nesting(fmt: str, data: bytes, limits: Limits) -> LimitHit | None:
    """Deepest nesting of the bytes in format `fmt`, against the limit (a linear scan)."""
    cap = min(limits.max_nesting_depth, MAX_DEPTH_CEILING)
    scan = _SCANNERS.get(fmt)
    if scan is None:
        return None
    depth, at = scan(data, cap)
    if depth > cap:
        return LimitHit("maxNestingDepth", f"nesting is deeper than {cap} levels", at, at)
    return None


def check_nodes(count: int, limits: Limits) -> LimitHit | None:
    if count > limits.max_nodes:
        return LimitHit("maxNodes", f"the file has {count:,} syntax nodes, over the {limits.max_nodes:,} limit")
    return None


def check_documents(count: int, limits: Limits) -> LimitHit | None:
    if count > limits.max_documents:
        return LimitHit("maxDocuments", f"the file holds {count:,} YAML documents, over the "
                        f"{limits.max_documents:,} limit")
    return None


# ----------------------------------------------------------------------------------- the scanners

_BLOCK_SCALAR = re.compile(rb"[|>][-+0-9]*[ \t]*(#[^\n]*)?$")
_ENTRIES = re.compile(rb"(?:[-?](?: +|$))*")
_KEY = re.compile(rb"(?:[^\s#'\"{\[][^:#]*|'[^']*'|\"[^\"]*\"):(?:\s|$)")


def _yaml_depth(data: bytes, cap: int) -> tuple[int, int]:
    """Upper bound of the indentation levels tree-sitter-yaml's scanner keeps on its stack.

    Each line pops the levels at or right of its indentation, then pushes one level per inline
    sequence entry (`- `) or complex key (`? `) and one for a mapping key. Lines inside a block
    scalar (`key: |`) are text, not structure. Flow collections (`{`, `[`) add their depth.
    """
    stack: list[int] = []
    deepest, at, pos = 0, 0, 0
    scalar_indent = -1  # inside a block scalar: lines indented more than this are text
    flow = 0
    for line in data.split(b"\n"):
        start = pos
        pos += len(line) + 1
        body = line.lstrip(b" ")
        indent = len(line) - len(body)
        if not body.strip() or body.startswith(b"#"):
            continue
        if scalar_indent >= 0:
            if indent > scalar_indent:
                continue
            scalar_indent = -1
        if flow == 0:
            while stack and stack[-1] >= indent:
                stack.pop()
            m = _ENTRIES.match(line, indent)
            if m.end() > indent:
                # One level per `- ` / `? ` marker; counted without slicing, so a line of a
                # hundred thousand dashes stays linear.
                stack.extend([indent] * (line.count(b"-", indent, m.end()) + line.count(b"?", indent, m.end())))
                if len(stack) > cap:
                    return len(stack), start
                body = line[m.end():]
            if _KEY.match(body):
                stack.append(indent)
            if _BLOCK_SCALAR.search(body):
                scalar_indent = indent
        opens = body.count(b"{") + body.count(b"[")
        if opens or flow:
            flow = max(0, flow + opens - body.count(b"}") - body.count(b"]"))
        depth = len(stack) + flow
        if depth > deepest:
            deepest, at = depth, start
            if deepest > cap:
                break
    return deepest, at


_BRACKETS = re.compile(rb'[{}\[\]]|"(?:[^"\\\n]|\\.)*"')


def _deepest(steps, cap: int) -> tuple[int, int]:
    """The deepest point of a walk of (+1 or -1, offset) steps, stopping once it passes `cap`."""
    depth = deepest = at = 0
    for step, offset in steps:
        depth = max(0, depth + step)
        if depth > deepest:
            deepest, at = depth, offset
            if deepest > cap:
                break
    return deepest, at


def _bracket_depth(data: bytes, cap: int) -> tuple[int, int]:
    """JSON, HCL and nginx: `{`/`[` depth outside double-quoted strings."""
    return _deepest(((1 if m.group()[:1] in (b"{", b"[") else -1, m.start())
                     for m in _BRACKETS.finditer(data) if m.group()[:1] != b'"'), cap)


_TAG = re.compile(rb"<!--|<!\[CDATA\[|<[?!]|</|/>|<")


def _xml_depth(data: bytes, cap: int) -> tuple[int, int]:
    """Element depth: open tags minus closing and self-closing ones; comments and CDATA skipped."""
    depth = deepest = at = 0
    pos = 0
    n = len(data)
    while pos < n:
        m = _TAG.search(data, pos)
        if m is None:
            break
        tok = m.group()
        pos = m.end()
        if tok == b"<!--":
            end = data.find(b"-->", pos)
            pos = n if end < 0 else end + 3
        elif tok == b"<![CDATA[":
            end = data.find(b"]]>", pos)
            pos = n if end < 0 else end + 3
        elif tok in (b"<?", b"<!"):
            end = data.find(b">", pos)
            pos = n if end < 0 else end + 1
        elif tok == b"</":
            depth = max(0, depth - 1)
        elif tok == b"/>":
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > deepest:
                deepest, at = depth, m.start()
                if deepest > cap:
                    break
    return deepest, at


_SECTION = re.compile(rb"^[ \t]*<(/?)[A-Za-z]", re.MULTILINE)


def _httpd_depth(data: bytes, cap: int) -> tuple[int, int]:
    """Apache httpd `<Section>` depth (one section tag per line)."""
    return _deepest(((-1 if m.group(1) else 1, m.start()) for m in _SECTION.finditer(data)), cap)


_SCANNERS = {
    "yaml": _yaml_depth,
    "json": _bracket_depth,
    "hcl": _bracket_depth,
    "nginx": _bracket_depth,
    "xml": _xml_depth,
    "httpd": _httpd_depth,
}
