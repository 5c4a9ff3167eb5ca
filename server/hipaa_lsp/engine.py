"""The rule engine: runs the rules that apply to a document and returns findings.

It knows nothing about LSP, files or the CLI: it reads settings documents and rules, and says
which settings break which rule and where to underline.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from .checks import Context, Hit
from .detect import KINDS
from .model import Document, Node, Span
from .paths import resolve
from .redaction import Redactor, collect, scrub
from .rulebook import Rule
from .secrets import redact


@dataclass(slots=True)
class Finding:
    rule: Rule
    document: Document
    span: Span  # relative to document.base
    message: str
    hit: Hit | None
    scope: Node

    @property
    def start(self) -> int:
        return self.document.base + self.span.start

    @property
    def end(self) -> int:
        return self.document.base + self.span.end


def key_normalizer(kind_id: str):
    mode = KINDS[kind_id].keys if kind_id in KINDS else "exact"
    if mode == "lower":
        return str.lower
    if mode == "mysql":
        return lambda k: k.lower().replace("-", "_")
    return lambda k: k


def evaluate(document: Document, data: bytes, rules: list[Rule], versions: dict[str, str] | None = None) -> list[Finding]:
    """Findings of `rules` on `document`; `data` is the document's own bytes."""
    kind = KINDS.get(document.kind)
    ctx = Context(document, key_normalizer(document.kind), bool(kind and kind.last_wins), versions or {})
    redactor = document.redactor = collect(document, data)
    # Parse problems become notices after this: mask them too (`Setting 'p4ss' has no value`).
    for problem in document.problems:
        problem.message = scrub(problem.message, redactor)
    collected = len(redactor.secrets)
    findings: list[Finding] = []
    for rule in rules:
        scopes = _scopes(rule, ctx)
        for scope in scopes:
            if rule.when is not None and not rule.when.evaluate(ctx, scope).holds:
                continue
            result = rule.check.evaluate(ctx, scope)
            if not result.holds:
                continue
            hit = result.hits[0] if result.hits else (result.seen[0] if result.seen else None)
            if rule.secret and hit is not None and hit.value is not None:
                redactor.add([hit.value])  # the rule itself says this value is a secret
            span = _report_span(rule, ctx, scope, hit, data)
            findings.append(Finding(rule, document, span, _message(rule, hit, redactor), hit, scope))
    if len(redactor.secrets) != collected:
        # A secret rule named a value only after earlier messages were written: mask those again.
        for f in findings:
            f.message = scrub(f.message, redactor)
    return _dedupe(findings)


def _scopes(rule: Rule, ctx: Context) -> list[Node]:
    root = ctx.document.root
    if not rule.scope:
        return [root]
    seen: dict[int, Node] = {}
    for path in rule.scope:
        for node in resolve(path, root, root, ctx.normalize, ctx.cache):
            seen.setdefault(id(node), node)
    return list(seen.values())


def _report_span(rule: Rule, ctx: Context, scope: Node, hit: Hit | None, data: bytes) -> Span:
    if rule.report is not None:
        nodes = resolve(rule.report, scope, ctx.document.root, ctx.normalize, ctx.cache)
        if nodes:
            return nodes[0].location()
    if hit is not None and hit.node is not None:
        return hit.node.location()
    return anchor_span(ctx, scope, hit, data)


def anchor_span(ctx: Context, scope: Node, hit: Hit | None, data: bytes) -> Span:
    """Where to underline a setting that is missing.

    The commented-out default line if there is one (`# requirepass foobared`), else the deepest
    part of the setting's path that exists, else the enclosing scope, else the document's first line.
    """
    doc = ctx.document
    if hit is not None:
        deepest, first_missing = _deepest_existing(hit, ctx)
        # The setting's own commented default first; failing that, its missing parent's
        # (`#security:` for a missing `security/authorization`).
        for key in dict.fromkeys(k for k in (hit.path.last_key, first_missing) if k):
            comment = _commented_default(doc, scope, key, data)
            if comment is not None:
                return comment
        if deepest is not None and deepest is not doc.root:
            return deepest.key_span or _first_line(deepest.span, data)
    if scope is not doc.root:
        return scope.key_span or _first_line(scope.span, data)
    return _first_line(doc.span, data)


def _commented_default(doc: Document, scope: Node, key: str, data: bytes) -> Span | None:
    """The comment that reads like the setting switched off (`#listeners=PLAINTEXT://:9092`).

    Among matching comments the one least indented after its marker wins: in upstream files an
    indented match is usually prose or a format example (`#   listeners = name://host:port`)."""
    pattern = re.compile(r"^<?\s*" + re.escape(key.lstrip("@")) + r"(\s|=|:|$)", re.IGNORECASE)
    inside_scope = scope is not doc.root
    best: tuple[int, Span] | None = None
    for comment in doc.comments:
        if inside_scope and not (scope.span.start <= comment.span.start < scope.span.end):
            continue
        if pattern.match(comment.text) and len(comment.text) < 200:
            raw = data[comment.span.start : comment.span.end].lstrip(b"#;/!<- \t")
            indent = len(data[comment.span.start : comment.span.end].lstrip(b"#;/!<-")) - len(raw)
            if best is None or indent < best[0]:
                best = (indent, comment.span)
    return best[1] if best else None


def _deepest_existing(hit: Hit, ctx: Context) -> tuple[Node | None, str | None]:
    """The deepest node along the hit's path that exists, and the key of the first step missing."""
    from .paths import Path

    steps = hit.path.steps
    for n in range(len(steps) - 1, 0, -1):
        partial = Path(hit.path.text, hit.path.absolute, tuple(steps[:n]))
        nodes = resolve(partial, hit.scope, ctx.document.root, ctx.normalize, ctx.cache)
        if nodes:
            missing = steps[n].name
            return nodes[0], (missing if missing.isidentifier() or "-" in missing else None)
    first = steps[0].name if steps else None
    return None, (first if first and not first.startswith(("#", "~", "*")) and first not in (".", "") else None)


def _first_line(span: Span, data: bytes) -> Span:
    start = span.start
    # Skip leading blank lines so the underline lands on text.
    while start < len(data) and data[start : start + 1] in (b"\n", b"\r", b" ", b"\t"):
        start += 1
    end = start
    while end < len(data) and data[end : end + 1] not in (b"\n", b"\r"):
        end += 1
    if start >= len(data):
        return Span(span.start, span.start)
    return Span(start, end)


class _Fields(string.Formatter):
    def get_value(self, key, args, kwargs):
        return kwargs.get(key, "")


def _message(rule: Rule, hit: Hit | None, redactor: Redactor) -> str:
    value = hit.value if hit is not None else None
    key = ""
    if hit is not None:
        key = (hit.node.key if hit.node is not None and hit.node.key else hit.path.last_key) or ""
    # Masked before it is shortened, so a cut cannot leave half a secret behind.
    shown = redact(value) if rule.secret else scrub(value if value is not None else "", redactor)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    try:
        message = _Fields().format(rule.message, value=shown, key=key.lstrip("@"),
                                   default=" (the default, not set here)" if hit is not None and hit.default_used else "")
    except (ValueError, IndexError):
        message = rule.message
    return scrub(message, redactor)


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen = set()
    out = []
    for f in findings:
        key = (f.rule.id, f.span.start, f.span.end)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
