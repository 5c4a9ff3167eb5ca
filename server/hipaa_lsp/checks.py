"""The declarative check language of rules, compiled once and evaluated against settings.

A check is a *violation* condition: when it holds, the rule reports a finding. Forms:

    {setting: PATH, <ops>, default: V}    a leaf: the settings PATH selects, tested by ops
    {all: [check, ...]}                   every check holds
    {any: [check, ...]}                   at least one holds
    {not: check}                          the check does not hold

Leaf ops (all given ops must hold for a selected setting):
    absent: true | present: true
    equals / not_equals: V        in / not_in: [V, ...]       (case-insensitive unless case_sensitive: true)
    matches / not_matches: REGEX  (search, case-insensitive unless case_sensitive: true)
    contains / not_contains: V    (V among the value's tokens, split on white space and commas)
    gt / ge / lt / le: NUMBER     (values with units such as 30s or 512m compare by their number)
    empty: true|false             secret: true (a literal secret, not a reference or placeholder)

`default` is the value the product assumes when the setting is absent; either a scalar or a list of
`{value: V, dialect: D, version: "<14"}` entries, the first that fits the document wins.
When several settings are selected the leaf holds if any of them satisfies the ops; in formats where
a repeated key overrides the earlier one (postgresql.conf, properties, ...) only the last counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .model import Document, Node
from .paths import Path, PathError, compile_path, resolve
from .secrets import is_literal_secret

LEAF_OPS = {
    "absent", "present", "equals", "not_equals", "in", "not_in", "matches", "not_matches",
    "contains", "not_contains", "gt", "ge", "lt", "le", "empty", "secret",
}
LEAF_KEYS = LEAF_OPS | {"setting", "default", "case_sensitive", "occurrence"}

_TOKEN_SPLIT = re.compile(r"[\s,]+")
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


class CheckError(ValueError):
    pass


@dataclass(slots=True)
class Hit:
    """Where a leaf looked: a present setting, or a missing one under `scope`."""

    node: Node | None
    scope: Node
    path: Path
    value: str | None
    default_used: bool = False


@dataclass(slots=True)
class Result:
    holds: bool
    hits: list[Hit] = field(default_factory=list)  # the settings that make it hold (first = primary)
    seen: list[Hit] = field(default_factory=list)  # everything the check looked at


@dataclass(slots=True)
class Context:
    document: Document
    normalize: Any
    last_wins: bool
    versions: dict[str, str]
    # Child-lookup memo for `paths.resolve`, valid for one evaluation of one document.
    cache: dict = field(default_factory=dict)


class Check:
    def evaluate(self, ctx: Context, scope: Node) -> Result:  # pragma: no cover - interface
        raise NotImplementedError

    def paths(self) -> list[Path]:
        return []


@dataclass
class All(Check):
    parts: list[Check]

    def evaluate(self, ctx, scope):
        hits, seen = [], []
        for part in self.parts:
            r = part.evaluate(ctx, scope)
            seen.extend(r.seen)
            if not r.holds:
                return Result(False, [], seen)
            hits.extend(r.hits)
        return Result(True, hits, seen)

    def paths(self):
        return [p for part in self.parts for p in part.paths()]


@dataclass
class AnyOf(Check):
    parts: list[Check]

    def evaluate(self, ctx, scope):
        hits, seen, holds = [], [], False
        for part in self.parts:
            r = part.evaluate(ctx, scope)
            seen.extend(r.seen)
            if r.holds:
                holds = True
                hits.extend(r.hits)
        return Result(holds, hits, seen)

    def paths(self):
        return [p for part in self.parts for p in part.paths()]


@dataclass
class Not(Check):
    inner: Check

    def evaluate(self, ctx, scope):
        r = self.inner.evaluate(ctx, scope)
        # A negated check is "about" whatever the inner check examined.
        return Result(not r.holds, r.seen if not r.holds else [], r.seen)

    def paths(self):
        return self.inner.paths()


@dataclass
class Leaf(Check):
    path: Path
    ops: dict[str, Any]
    default: Any = None
    case_sensitive: bool = False
    occurrence: str = "auto"  # auto | any | last
    regexes: dict[str, re.Pattern] = field(default_factory=dict)

    def paths(self):
        return [self.path]

    def evaluate(self, ctx, scope):
        nodes = resolve(self.path, scope, ctx.document.root, ctx.normalize, ctx.cache)
        if self.occurrence == "last" or (self.occurrence == "auto" and ctx.last_wins and len(nodes) > 1):
            nodes = nodes[-1:]
        if "absent" in self.ops or "present" in self.ops:
            want_absent = bool(self.ops.get("absent", False)) or (self.ops.get("present") is False)
            if want_absent:
                hit = Hit(None, scope, self.path, None)
                return Result(not nodes, [hit] if not nodes else [], [hit] + [self._hit(n, scope) for n in nodes])
            hits = [self._hit(n, scope) for n in nodes]
            return Result(bool(nodes), hits, hits)
        if nodes:
            seen = [self._hit(n, scope) for n in nodes]
            hits = [h for h in seen if self._test(h.value)]
            return Result(bool(hits), hits, seen)
        default = self._default(ctx)
        hit = Hit(None, scope, self.path, default, default_used=default is not None)
        if default is not None and self._test(default):
            return Result(True, [hit], [hit])
        return Result(False, [], [hit])

    def _hit(self, node: Node, scope: Node) -> Hit:
        return Hit(node, scope, self.path, node.value if node.value is not None else "")

    def _default(self, ctx: Context) -> str | None:
        if self.default is None:
            return None
        if not isinstance(self.default, list):
            return _scalar_text(self.default)
        for entry in self.default:
            dialect = entry.get("dialect")
            if dialect is not None and dialect != ctx.document.dialect:
                continue
            version = entry.get("version")
            if version is not None and not _version_matches(version, ctx.versions.get(ctx.document.technology)):
                continue
            return _scalar_text(entry.get("value"))
        return None

    def _test(self, value: str | None) -> bool:
        if value is None:
            return False
        fold = (lambda s: s) if self.case_sensitive else (lambda s: s.lower())
        v = fold(value.strip())
        for op, arg in self.ops.items():
            if op == "equals" and v != fold(_scalar_text(arg)):
                return False
            if op == "not_equals" and v == fold(_scalar_text(arg)):
                return False
            if op == "in" and v not in {fold(_scalar_text(a)) for a in arg}:
                return False
            if op == "not_in" and v in {fold(_scalar_text(a)) for a in arg}:
                return False
            if op == "matches" and not self.regexes[op].search(value):
                return False
            if op == "not_matches" and self.regexes[op].search(value):
                return False
            if op in ("contains", "not_contains"):
                tokens = {fold(t) for t in _TOKEN_SPLIT.split(value.strip()) if t}
                wanted = [fold(_scalar_text(a)) for a in (arg if isinstance(arg, list) else [arg])]
                present = any(w in tokens for w in wanted)
                if present != (op == "contains"):
                    return False
            if op in ("gt", "ge", "lt", "le"):
                number = _number(value)
                if number is None:
                    return False
                if not {"gt": number > arg, "ge": number >= arg, "lt": number < arg, "le": number <= arg}[op]:
                    return False
            if op == "empty" and (v == "") != bool(arg):
                return False
            if op == "secret" and is_literal_secret(value) != bool(arg):
                return False
        return True


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _number(value: str) -> float | None:
    m = _NUMBER.match(value.strip().strip("'\""))
    return float(m.group(1)) if m else None


def _version_matches(spec: str, actual: str | None) -> bool:
    """`<14`, `>=8`, `7` against a configured product version; no configured version matches only
    entries without a version (the newest release's default)."""
    if actual is None:
        return False
    m = re.match(r"^\s*(<=|>=|<|>|==)?\s*([\d.]+)\s*$", str(spec))
    if not m:
        return False
    op, want = m.group(1) or "==", _vtuple(m.group(2))
    have = _vtuple(actual)
    n = max(len(want), len(have))
    have, want = have + (0,) * (n - len(have)), want + (0,) * (n - len(want))
    if op == "==":
        return have[: len(_vtuple(m.group(2)))] == want[: len(_vtuple(m.group(2)))]
    return {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]


def _vtuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", str(text)))


def compile_check(spec: Any, where: str) -> Check:
    if not isinstance(spec, dict) or not spec:
        raise CheckError(f"{where}: a check must be a non-empty mapping, got {spec!r}")
    if "all" in spec or "any" in spec:
        key = "all" if "all" in spec else "any"
        if len(spec) != 1 or not isinstance(spec[key], list) or not spec[key]:
            raise CheckError(f"{where}: '{key}' takes a non-empty list and nothing beside it")
        parts = [compile_check(p, f"{where}.{key}[{i}]") for i, p in enumerate(spec[key])]
        return All(parts) if key == "all" else AnyOf(parts)
    if "not" in spec:
        if len(spec) != 1:
            raise CheckError(f"{where}: 'not' takes one check and nothing beside it")
        return Not(compile_check(spec["not"], f"{where}.not"))
    if "setting" not in spec:
        raise CheckError(f"{where}: a check needs 'setting', 'all', 'any' or 'not' (got {sorted(spec)})")
    unknown = set(spec) - LEAF_KEYS
    if unknown:
        raise CheckError(f"{where}: unknown check keys {sorted(unknown)}")
    try:
        path = compile_path(str(spec["setting"]))
    except PathError as exc:
        raise CheckError(f"{where}: {exc}") from exc
    ops = {k: v for k, v in spec.items() if k in LEAF_OPS}
    case_sensitive = bool(spec.get("case_sensitive", False))
    regexes = {}
    for op in ("matches", "not_matches"):
        if op in ops:
            try:
                regexes[op] = re.compile(str(ops[op]), 0 if case_sensitive else re.IGNORECASE)
            except re.error as exc:
                raise CheckError(f"{where}: bad regex for {op}: {exc}") from exc
    for op in ("in", "not_in"):
        if op in ops and not isinstance(ops[op], list):
            raise CheckError(f"{where}: '{op}' takes a list")
    for op in ("gt", "ge", "lt", "le"):
        if op in ops and not isinstance(ops[op], (int, float)):
            raise CheckError(f"{where}: '{op}' takes a number")
    occurrence = spec.get("occurrence", "auto")
    if occurrence not in ("auto", "any", "last"):
        raise CheckError(f"{where}: occurrence must be auto, any or last")
    if not ops:
        ops = {"present": True}
    return Leaf(path, ops, spec.get("default"), case_sensitive, occurrence, regexes)
