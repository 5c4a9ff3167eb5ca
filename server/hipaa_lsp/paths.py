r"""Setting paths: how a rule names settings in the model, compiled once at rule load.

Syntax: steps separated by ``/``; a leading ``/`` starts at the document root, otherwise at the
rule's scope node.

- ``name``          children keyed ``name`` (a dotted name also matches nested keys:
                    ``xpack.security.enabled`` finds ``xpack: {security: {enabled: ...}}``)
- ``*``             every child; ``**`` this node and all its descendants
- ``~regex``        children whose key matches the regex (``~^listener\.name\..*\.password$``)
- ``name[*]``       the items of the sequence ``name``; ``name[0]``, ``name[-1]`` one item
- ``[*]``           the items of the current node
- ``name[k=v]``     only children whose child ``k`` has value ``v`` (``[@attr=v]`` for XML
                    attributes; ``[k~=regex]`` for a regex); predicates can be chained
- ``#0``, ``#*``    a directive's arguments
- ``.``             the node itself
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .model import Node

_STEP = re.compile(r"^(?P<name>~[^/]*?|[^\[\]]*)(?P<brackets>(\[[^\]]*\])*)$")
_BRACKET = re.compile(r"\[([^\]]*)\]")


class PathError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Predicate:
    field: str
    value: str
    regex: re.Pattern | None = None

    def holds(self, node: Node, normalize) -> bool:
        if self.field.startswith("#"):  # a directive argument: [#0=default]
            index = self.field[1:]
            if not index.lstrip("-").isdigit() or not -len(node.args) <= int(index) < len(node.args):
                return False
            return self._matches(node.args[int(index)].value or "")
        for child in node.children:
            if child.key is not None and normalize(child.key) == normalize(self.field):
                if self._matches(child.value or ""):
                    return True
        return False

    def _matches(self, text: str) -> bool:
        if self.regex is not None:
            return bool(self.regex.search(text))
        return text.lower() == self.value.lower()


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # "", "*", "**", ".", "#N", "#*", "~regex" or a key
    index: str | None = None  # None (no [..]), "*", or an integer as text
    predicates: tuple[Predicate, ...] = ()
    key_regex: re.Pattern | None = None


@dataclass(frozen=True, slots=True)
class Path:
    text: str
    absolute: bool
    steps: tuple[Step, ...] = field(default=())

    @property
    def last_key(self) -> str | None:
        """The key a missing setting would be written under (for anchors and fixes)."""
        for step in reversed(self.steps):
            if step.name not in ("", "*", "**", ".") and not step.name.startswith(("#", "~")):
                return step.name
        return None


def compile_path(text: str) -> Path:
    text = text.strip()
    absolute = text.startswith("/")
    body = text[1:] if absolute else text
    steps: list[Step] = []
    for raw in _split(body):
        m = _STEP.match(raw)
        if not m:
            raise PathError(f"bad path step {raw!r} in {text!r}")
        index = None
        predicates: list[Predicate] = []
        for inner in _BRACKET.findall(m.group("brackets") or ""):
            inner = inner.strip()
            if inner == "*" or re.fullmatch(r"-?\d+", inner):
                if index is not None:
                    raise PathError(f"two indexes in {raw!r}")
                index = inner
            elif "~=" in inner:
                key, pattern = inner.split("~=", 1)
                try:
                    predicates.append(Predicate(key.strip(), pattern, re.compile(pattern, re.IGNORECASE)))
                except re.error as exc:
                    raise PathError(f"bad regex in {raw!r}: {exc}") from exc
            elif "=" in inner:
                key, value = inner.split("=", 1)
                predicates.append(Predicate(key.strip(), value.strip()))
            else:
                raise PathError(f"bad predicate [{inner}] in {text!r}")
        name = m.group("name")
        key_regex = None
        if name.startswith("~"):
            try:
                key_regex = re.compile(name[1:], re.IGNORECASE)
            except re.error as exc:
                raise PathError(f"bad key regex in {raw!r}: {exc}") from exc
        steps.append(Step(name, index, tuple(predicates), key_regex))
    return Path(text, absolute, tuple(steps))


def _split(body: str) -> list[str]:
    """Split on '/' outside brackets (a predicate value may hold a '/')."""
    parts, depth, current = [], 0, []
    for ch in body:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current or not parts:
        parts.append("".join(current))
    return [p for p in parts if p != ""]


def identity(key: str) -> str:
    return key


def resolve(path: Path, scope: Node, root: Node, normalize=identity, cache: dict | None = None) -> list[Node]:
    """The nodes `path` selects. `cache` (one dict per evaluation of a document) memoizes child
    lookups, so 40 rules asking for `property[name=...]` among 1,000 properties stay cheap."""
    nodes = [root if path.absolute else scope]
    cache = {} if cache is None else cache
    for step in path.steps:
        nodes = _apply(step, nodes, normalize, cache)
        if not nodes:
            break
    return nodes


def _apply(step: Step, nodes: list[Node], normalize, cache: dict) -> list[Node]:
    out: list[Node] = []
    name = step.name
    for node in nodes:
        if name == "." or name == "":
            out.append(node)
        elif name == "*":
            out.extend(node.children)
        elif name == "**":
            out.extend(node.walk())
        elif step.key_regex is not None:
            out.extend(c for c in node.children if c.key is not None and step.key_regex.search(c.key))
        elif name.startswith("#"):
            which = name[1:]
            if which == "*":
                out.extend(node.args)
            elif which.lstrip("-").isdigit() and -len(node.args) <= int(which) < len(node.args):
                out.append(node.args[int(which)])
        elif step.predicates and step.index is None:
            # Filtered children are memoized per parent: 40 rules asking for `property[name=...]`
            # among 1,000 properties must not scan them 40 times.
            key = (id(node), name, step.predicates)
            matched = cache.get(key)
            if matched is None:
                first = step.predicates[0]
                if first.regex is None:
                    index_key = (id(node), name, first.field)
                    index = cache.get(index_key)
                    if index is None:
                        index = {}
                        for child in _children_named(node, name, normalize, cache):
                            for value in _field_values(child, first.field, normalize):
                                index.setdefault(value.lower(), []).append(child)
                        cache[index_key] = index
                    candidates = index.get(first.value.lower(), [])
                    rest = step.predicates[1:]
                else:
                    candidates = _children_named(node, name, normalize, cache)
                    rest = step.predicates
                matched = [n for n in candidates if all(p.holds(n, normalize) for p in rest)]
                cache[key] = matched
            out.extend(matched)
        else:
            out.extend(_children_named(node, name, normalize, cache))
    out = _index(step, out)
    indexed = name not in (".", "", "*", "**") and not name.startswith(("#", "~"))
    if step.predicates and not (indexed and step.index is None):
        out = [n for n in out if all(p.holds(n, normalize) for p in step.predicates)]
    return out


def _index(step: Step, out: list[Node]) -> list[Node]:
    if step.index is not None:
        items: list[Node] = []
        for node in out:
            children = [c for c in node.children if c.is_item]
            if step.index == "*":
                items.extend(children)
            else:
                i = int(step.index)
                if -len(children) <= i < len(children):
                    items.append(children[i])
        out = items
    return out


def _field_values(node: Node, field: str, normalize) -> list[str]:
    if field.startswith("#"):
        i = field[1:]
        if i.lstrip("-").isdigit() and -len(node.args) <= int(i) < len(node.args):
            return [node.args[int(i)].value or ""]
        return []
    wanted = normalize(field)
    return [c.value or "" for c in node.children if c.key is not None and normalize(c.key) == wanted]


def _children_named(node: Node, name: str, normalize, cache: dict) -> list[Node]:
    wanted = normalize(name)
    index = cache.get(id(node))
    if index is None:
        index = {}
        for c in node.children:
            if c.key is not None:
                index.setdefault(normalize(c.key), []).append(c)
        cache[id(node)] = index
    found = index.get(wanted, [])
    if found or "." not in name:
        return found
    # Dotted keys may be written nested in YAML: `a.b.c` == `a: {b.c}` == `a: {b: {c}}`.
    out: list[Node] = []
    for child in node.children:
        if child.key is None:
            continue
        key = normalize(child.key)
        if wanted.startswith(key + "."):
            out.extend(_children_named(child, name[len(key) + 1 :], normalize, cache))
    return out
