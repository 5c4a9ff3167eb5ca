"""Quick fixes: turn a finding and its rule's `fix` into byte edits, written in the file's own syntax.

Edits are `(start, end, new_text)` on the file's bytes. A fix never writes a real secret: rules that
need one insert `secrets.PLACEHOLDER`, which a rule flags until it is replaced. Edits are narrowed to
the bytes that change (`--anonymous-auth=true` -> `false`, not the whole command line), and a plan
whose edits would still repeat a secret of the document is refused (`redaction.Redactor.leaks`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from .engine import Finding, key_normalizer
from .model import Document, Node
from .formats.treesitter import next_line_start as _next_line_start
from .paths import Path, resolve
from .redaction import Redactor, scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class FixPlan:
    title: str
    edits: tuple[Edit, ...]
    # Safe to apply unattended (fix-all, `scan --fix`); False for fixes to apply after review.
    safe: bool = True


_SEPARATORS = {"redis": " ", "nginx": " ", "httpd": " ", "postgresql": " = ", "properties": "=",
               "yaml": ": ", "dockerfile": " "}


def plan_fix(finding: Finding, data: bytes) -> FixPlan | None:
    """The edits that apply the rule's fix to this finding, or None when no safe edit exists."""
    fix = finding.rule.fix
    if fix is None:
        return None
    doc = finding.document
    hit = finding.hit
    base = doc.base
    title = fix.description or _default_title(finding)
    edits: list[Edit] = []
    if fix.kind == "insert":
        if finding.scope.insert_at is None and finding.scope is not doc.root:
            return None  # e.g. a self-closing XML element: no safe place inside it
        at = finding.scope.insert_at if finding.scope.insert_at is not None else doc.span.end
        indent = finding.scope.child_indent
        edits.append(Edit(base + at, base + at, _ensure_break(data, base + at, doc) + indent + fix.value + doc.newline))
    elif hit is None:
        return None
    elif fix.kind == "remove":
        if hit.node is None:
            return None
        node = hit.node
        if node.is_item and (doc.format == "json" or not _own_lines(data, base + node.span.start)):
            start, end = _without_separator(data, base + node.span.start, base + node.span.end)
        else:
            start, end = _whole_lines(data, base + node.span.start, base + node.span.end)
        edits.append(Edit(start, end, ""))
    elif fix.kind == "replace":
        node = hit.node
        if node is None or node.value_span is None or node.value is None:
            return None
        new_value = fix.pattern.sub(fix.replacement, node.value).strip()
        if new_value == node.value:
            return None
        edits.append(_replace_value(doc, node, new_value, data))
    elif fix.kind == "set":
        if hit.node is not None:
            edits.append(_replace_value(doc, hit.node, fix.value, data))
        else:
            edit = _insert_setting(finding, fix.value, data)
            if edit is None:
                return None
            edits.append(edit)
    if not edits:
        return None
    edits = [_narrow(e, data) for e in edits]
    redactor = doc.redactor if isinstance(doc.redactor, Redactor) else Redactor()
    if any(redactor.leaks(e.text) for e in edits):
        # Never the value itself: this line may be logged.
        log.debug("no fix for %s: its edit would repeat a secret of the file", finding.rule.id)
        return None
    if fix.review:
        title += " (review: may change how the service behaves)"
    return FixPlan(scrub(title, redactor), tuple(edits), safe=not fix.review)


def _narrow(edit: Edit, data: bytes) -> Edit:
    """The edit cut down to the bytes that change, widened to whole words so it still reads well.

    A fix that rewrites a value (`kubelet --anonymous-auth=true --token=...`) only needs to touch
    `true`; the rest of the value, secrets included, stays in the file and out of the edit."""
    old = data[edit.start : edit.end]
    new = edit.text.encode("utf-8")
    if not old or not new or old == new:
        return edit
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1

    def inside_word(a: bytes, i: int) -> bool:
        # True when position i of `a` splits a word or a UTF-8 character.
        return 0 < i < len(a) and (a[i] & 0xC0 == 0x80 or (_word(a[i - 1]) and _word(a[i])))

    if len(old) - head - tail == 0 or len(new) - head - tail == 0:
        # A pure deletion (or insertion) can often slide left: delete `-Dx=true ` as one token
        # rather than `Dx=true -`. Take the cut nearest the end that keeps words whole.
        longer, d = (old, len(old) - len(new)) if len(old) > len(new) else (new, len(new) - len(old))
        best = None
        k = head
        while True:
            chunk = longer[k : k + d]
            if not inside_word(longer, k) and not inside_word(longer, k + d):
                tidy = chunk[:1] not in (b" ", b"\t") and chunk[-1:] in (b" ", b"\t")
                if best is None or (tidy and not best[1]):
                    best = (k, tidy)
                if tidy:
                    break
            if k == 0 or longer[k - 1] != longer[k - 1 + d]:
                break
            k -= 1
        if best is not None:
            k = best[0]
            if longer is old:
                return Edit(edit.start + k, edit.start + k + d, "")
            return Edit(edit.start + k, edit.start + k, new[k : k + d].decode("utf-8"))

    while head > 0 and (inside_word(old, head) or inside_word(new, head)):
        head -= 1
    while tail > 0 and (inside_word(old, len(old) - tail) or inside_word(new, len(new) - tail)):
        tail -= 1
    return Edit(edit.start + head, edit.end - tail, new[head : len(new) - tail].decode("utf-8"))


def _word(byte: int) -> bool:
    return chr(byte).isalnum() or byte == 0x5F or byte >= 0x80


def _default_title(finding: Finding) -> str:
    fix = finding.rule.fix
    key = finding.hit.path.last_key if finding.hit else None
    if fix.kind == "set" and key:
        return f"Set {key.lstrip('@')} to {fix.value}"
    if fix.kind == "remove":
        return "Remove this setting"
    return f"Fix: {finding.rule.title}"


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    """Apply non-overlapping edits (later ones first so offsets stay valid)."""
    out = data
    last_start = None
    for e in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        if last_start is not None and e.end > last_start:
            continue  # overlaps an edit already applied: skip it rather than corrupt the file
        out = out[: e.start] + e.text.encode("utf-8") + out[e.end :]
        last_start = e.start
    return out


# ----------------------------------------------------------------------------- rendering values


def _render_value(doc: Document, value: str, quote: str) -> str:
    fmt = doc.format
    if fmt == "json":
        if value in ("true", "false", "null") or re.fullmatch(r"-?\d+(\.\d+)?", value):
            return value
        if value.startswith(("[", "{")):
            return value
        return json.dumps(value)
    if fmt == "xml":
        escaped = value.replace("&", "&amp;").replace("<", "&lt;")
        return escaped.replace('"', "&quot;") if quote != "'" else escaped.replace("'", "&apos;")
    if quote:
        return f"{quote}{value}{quote}"
    if fmt == "yaml" and value.startswith(("[", "{")):
        return value  # a flow sequence or mapping given by the rule
    if fmt == "yaml" and (re.search(r"[:#{}\[\],&*!|>%@`]", value) or value != value.strip() or value == ""):
        return json.dumps(value)
    if fmt == "postgresql" and not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
        return "'" + value.replace("'", "''") + "'"
    if fmt == "nginx" and re.search(r"[\s;{}]", value) and " " not in value:
        return f'"{value}"'
    return value


def _replace_value(doc: Document, node: Node, value: str, data: bytes) -> Edit:
    base = doc.base
    if node.value_span is None and node.children and doc.format in ("yaml", "json") and node.key_span:
        # A key holding a list or mapping: replace what follows its colon up to its last child,
        # keeping any comment or blank line after the collection.
        colon = data.find(b":", base + node.key_span.end)
        flow = data[colon + 1 : base + node.span.end].lstrip()[:1] in (b"[", b"{")
        # A flow collection ends at its bracket (the entry's end); a block one at its last child.
        last = node.span.end if flow else max(n.span.end for n in node.walk() if n is not node)
        return Edit(colon + 1, base + last, " " + _render_value(doc, value, ""))
    if node.value_span is None:
        # A valueless key (`skip-grant-tables`, `key=`): rewrite the whole entry.
        start, end = base + node.span.start, base + node.span.end
        sep = _separator(doc)
        return Edit(start, end, f"{node.key}{sep}{_render_value(doc, value, '')}" + (";" if doc.format == "nginx" else ""))
    start, end = base + node.value_span.start, base + node.value_span.end
    raw = data[start:end]
    quote = node.quote
    if doc.format == "xml":
        # The attribute value span includes its quotes: replace what is inside them.
        if raw[:1] in (b'"', b"'"):
            return Edit(start + 1, end - 1, _render_value(doc, value, raw[:1].decode()))
        return Edit(start, end, _render_value(doc, value, ""))
    if quote and raw[:1] == quote.encode() and raw[-1:] == quote.encode() and len(raw) >= 2:
        if doc.format == "json":
            return Edit(start, end, _render_value(doc, value, ""))
        # Keep the author's quotes; escape the new value the way that quote style needs.
        return Edit(start + 1, end - 1, _escape_inside(doc, value, quote))
    return Edit(start, end, _render_value(doc, value, ""))


def _escape_inside(doc: Document, value: str, quote: str) -> str:
    if quote == "'":
        # YAML and PostgreSQL double a single quote; elsewhere a single quote cannot be escaped.
        return value.replace("'", "''") if doc.format in ("yaml", "postgresql") else value
    return json.dumps(value)[1:-1] if doc.format in ("yaml", "redis", "nginx") else value.replace('"', '\\"')


def _separator(doc: Document) -> str:
    if doc.format == "ini":
        return " = " if doc.kind == "my-cnf" else "="
    return _SEPARATORS.get(doc.format, " ")


# ---------------------------------------------------------------------------- inserting settings


def _insert_setting(finding: Finding, value: str, data: bytes) -> Edit | None:
    doc = finding.document
    hit = finding.hit
    normalize = key_normalizer(doc.kind)
    # Walk the path as far as it exists; the rest must be written.
    parent = hit.scope if not hit.path.absolute else doc.root
    steps = list(hit.path.steps)
    if steps and steps[-1].index == "*" and not steps[-1].predicates and value.startswith("["):
        # Setting the items of a missing list to a list value: write the list itself.
        steps[-1] = type(steps[-1])(steps[-1].name)
    while steps:
        step = steps[0]
        if step.index is not None or step.predicates or step.name in ("*", "**", "") or step.name.startswith(("#", "~")):
            return None  # cannot invent list items or arguments safely
        if step.name == ".":
            steps.pop(0)
            continue
        found = resolve(Path(step.name, False, (step,)), parent, doc.root, normalize)
        if not found:
            break
        parent = found[-1]
        steps.pop(0)
    keys = [s.name for s in steps]
    if not keys:
        return None
    base = doc.base
    fmt = doc.format
    if fmt == "xml":
        return _insert_xml(doc, parent, keys, value, data)
    if fmt == "json":
        return _insert_json(doc, parent, keys, value, data)
    if fmt == "yaml":
        return _insert_yaml(doc, parent, keys, value, data)
    if len(keys) != 1:
        return None
    line = f"{keys[0]}{_separator(doc)}{_render_value(doc, value, '')}" + (";" if fmt == "nginx" else "")
    # Right after the commented-out default when there is one: that is where a reader looks for it.
    anchor = _comment_anchor(finding)
    if anchor is not None:
        at = _next_line_start(data, base + anchor)
        indent = parent.child_indent
        return Edit(at, at, _ensure_break(data, at, doc) + indent + line + doc.newline)
    at = base + (parent.insert_at if parent.insert_at is not None else doc.span.end)
    return Edit(at, at, _ensure_break(data, at, doc) + parent.child_indent + line + doc.newline)


def _comment_anchor(finding: Finding) -> int | None:
    """End offset (relative) of the commented-out default the finding is anchored on, if any."""
    for comment in finding.document.comments:
        if comment.span.start == finding.span.start and comment.span.end == finding.span.end:
            return comment.span.end
    return None


def _insert_yaml(doc: Document, parent: Node, keys: list[str], value: str, data: bytes) -> Edit:
    base = doc.base
    flow = _flow_mapping(doc, parent, data)
    if flow is not None:
        # `key: {}` or `key: {a: 1}`: add the member inside the braces, in flow style.
        open_at, close_at = flow
        member = _render_value(doc, value, "")
        for key in reversed(keys[1:]):
            member = "{" + f"{key}: {member}" + "}"
        member = f"{keys[0]}: {member}"
        empty = not data[open_at + 1 : close_at].strip()
        return Edit(close_at, close_at, member if empty else ", " + member)
    if parent is doc.root or parent.children:
        indent = parent.child_indent if parent.children else ""
        at = base + (parent.insert_at if parent.insert_at is not None else doc.span.end)
    else:
        # The parent key exists but holds no mapping (`security:` alone): nest under it.
        indent = _indent_of(data, base + parent.span.start) + "  "
        at = _next_line_start(data, base + parent.span.end)
    lines = []
    for depth, key in enumerate(keys):
        pad = indent + "  " * depth
        if depth == len(keys) - 1:
            lines.append(f"{pad}{key}: {_render_value(doc, value, '')}")
        else:
            lines.append(f"{pad}{key}:")
    return Edit(at, at, _ensure_break(data, at, doc) + doc.newline.join(lines) + doc.newline)


def _flow_mapping(doc: Document, parent: Node, data: bytes) -> tuple[int, int] | None:
    """Offsets of `{` and `}` when the parent's value is a one-line YAML flow mapping."""
    if parent is doc.root or parent.key_span is None:
        return None
    start = doc.base + parent.key_span.end
    line_end = data.find(b"\n", start)
    line = data[start : line_end if line_end != -1 else len(data)]
    opening, closing = line.find(b"{"), line.rfind(b"}")
    if opening == -1 or closing < opening or not line[:opening].strip(b" \t:") == b"":
        return None
    return start + opening, start + closing


def _insert_xml(doc: Document, parent: Node, keys: list[str], value: str, data: bytes) -> Edit | None:
    base = doc.base
    if len(keys) == 1 and keys[0].startswith("@"):
        if parent.attr_insert_at is None:
            return None
        at = base + parent.attr_insert_at
        # Keep the element's tidy end: insert before any white space that precedes `>` or `/>`.
        while at > 0 and data[at - 1 : at] in (b" ", b"\t"):
            at -= 1
        return Edit(at, at, f' {keys[0][1:]}="{_render_value(doc, value, chr(34))}"')
    if any(k.startswith("@") for k in keys[:-1]) or parent.insert_at is None:
        return None
    indent = parent.child_indent
    last = keys[-1]
    if last.startswith("@"):
        inner = f'<{keys[-2]} {last[1:]}="{_render_value(doc, value, chr(34))}"/>'
        keys = keys[:-1]
        body = inner
        keys_to_wrap = keys[:-1]
    else:
        body = f"<{last}>{_render_value(doc, value, '')}</{last}>"
        keys_to_wrap = keys[:-1]
    for key in reversed(keys_to_wrap):
        body = f"<{key}>{body}</{key}>"
    at = base + parent.insert_at
    prefix = "" if _at_line_start(data, at) else doc.newline
    return Edit(at, at, prefix + indent + body + doc.newline)


def _insert_json(doc: Document, parent: Node, keys: list[str], value: str, data: bytes) -> Edit | None:
    if parent.insert_at is None:
        return None
    rendered = _render_value(doc, value, "")
    for key in reversed(keys[1:]):
        rendered = "{" + json.dumps(key) + ": " + rendered + "}"
    member = json.dumps(keys[0]) + ": " + rendered
    indent = parent.child_indent or "  "
    at = doc.base + parent.insert_at
    text = doc.newline + indent + member + ("," if parent.children else doc.newline)
    return Edit(at, at, text)


# --------------------------------------------------------------------------------- line helpers


def _at_line_start(data: bytes, offset: int) -> bool:
    return offset == 0 or data[offset - 1 : offset] in (b"\n", b"\r")


def _ensure_break(data: bytes, at: int, doc: Document) -> str:
    """A newline first when inserting at the end of a file that lacks a final newline."""
    return "" if _at_line_start(data, at) else doc.newline


def _indent_of(data: bytes, offset: int) -> str:
    start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    raw = data[start:offset]
    return raw[: len(raw) - len(raw.lstrip(b" \t"))].decode()


def _own_lines(data: bytes, start: int) -> bool:
    line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
    return data[line_start:start].strip() in (b"", b"-")


def _without_separator(data: bytes, start: int, end: int) -> tuple[int, int]:
    """An item of a flow sequence or JSON array with the comma that separates it from a neighbour."""
    after = end
    while after < len(data) and data[after : after + 1] in (b" ", b"\t"):
        after += 1
    if data[after : after + 1] == b",":
        after += 1
        while after < len(data) and data[after : after + 1] in (b" ", b"\t", b"\r", b"\n"):
            after += 1
        return start, after
    before = start
    while before > 0 and data[before - 1 : before] in (b" ", b"\t", b"\r", b"\n"):
        before -= 1
    if data[before - 1 : before] == b",":
        return before - 1, end
    # The only item: leave an empty, tidy `[]`.
    while after < len(data) and data[after : after + 1] in (b"\r", b"\n", b" ", b"\t"):
        after += 1
    if data[before - 1 : before] == b"[" and data[after : after + 1] == b"]":
        return before, after
    return start, end


def _whole_lines(data: bytes, start: int, end: int) -> tuple[int, int]:
    line_start = max(data.rfind(b"\n", 0, start), data.rfind(b"\r", 0, start)) + 1
    if data[line_start:start].strip() == b"":
        start = line_start
        end = _next_line_start(data, end)
    return start, end
