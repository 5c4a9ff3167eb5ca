"""The project configuration file: `.hipaa-lsp.toml`, or `[tool.hipaa-lsp]` in `pyproject.toml`.

Shared by `scan` and `serve`, so both see the same settings. Found by walking up from a file: the
closest one wins (`.hipaa-lsp.toml` before `pyproject.toml` in the same folder), and the walk stops
at the workspace folder, the git root, or the filesystem root. The *project root* is the folder of
a configuration with `root = true`, else that boundary, else the configuration's own folder;
`extend` and `rule-dirs` must stay inside it, so a checkout cannot read files above itself.

Globs are relative to the folder of the file that declares them (gitignore-style: a pattern
without `/` matches a name at any depth, `**` any number of folders, a pattern naming a folder
applies to everything in it). A malformed file or an unknown key is a `ConfigError` with file and
line; nothing is dropped silently. The front processes (CLI, LSP front) resolve a `Config` per file
here; workers only ever receive plain `Config` values. No tree-sitter imports here.
"""

from __future__ import annotations

import difflib
import glob as globlib
import os
import re
import sys
from dataclasses import dataclass, field, replace
from typing import Any

from .config import SEVERITY_NAMES, Config
from .detect import KINDS
from .limits import SETTINGS as LIMIT_SETTINGS
from .limits import Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_NAME = ".hipaa-lsp.toml"
PYPROJECT = "pyproject.toml"
SECTION = "hipaa-lsp"
MAX_EXTEND_DEPTH = 16

# [limits] keys: the editor's limit settings in kebab-case (maxFileSizeKb -> max-file-size-kb).
LIMIT_KEYS = {re.sub(r"(?<!^)([A-Z])", r"-\1", camel).lower(): camel for camel in LIMIT_SETTINGS}
TECHNOLOGIES = frozenset(k.technology for k in KINDS.values())
# Sections kept for what comes next; accepted, reported as having no effect yet.
RESERVED = {"accept": "accepted risks", "policy": "accepted-risk policy", "editor": "editor-only settings"}
TOP_KEYS = ("root", "extend", "rules", "versions", "exclude", "rule-dirs", "associations", "limits", "ci",
            *RESERVED)
FAIL_ON = ("error", "warning", "information", "hint", "never")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ConfigError(Exception):
    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


@dataclass(frozen=True)
class Layer:
    """One configuration file, validated."""

    path: str
    folder: str
    root: bool = False
    extend: str | None = None
    disable: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    version_paths: tuple[tuple[str, dict[str, str]], ...] = ()
    exclude: tuple[str, ...] = ()
    rule_dirs: tuple[str, ...] = ()
    associations: tuple[tuple[str, str], ...] = ()
    limits: dict[str, int] = field(default_factory=dict)  # Limits field -> value
    fail_on: str | None = None  # [ci] fail-on
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Project:
    path: str                 # the closest configuration file
    root: str                 # the project root (see the module docstring)
    layers: tuple[Layer, ...]  # extended files first, the closest file last
    notes: tuple[str, ...] = ()

    def config_for(self, path: str, base: Config | None = None) -> Config:
        """`base` (editor settings, CLI options) with every key this project sets applied for `path`."""
        base = base or Config()
        severity = dict(base.severity_overrides)
        versions = dict(base.product_versions)
        limits: dict[str, int] = {}
        kind = None
        fail_on = base.fail_on
        full = os.path.abspath(path)
        for layer in self.layers:
            severity.update(layer.severity)
            versions.update(layer.versions)
            limits.update(layer.limits)
            fail_on = layer.fail_on or fail_on
        for layer in self.layers:  # per-path entries after the plain ones; later entries win
            rel = _relative(full, layer.folder)
            if rel is None:
                continue
            for pattern, values in layer.version_paths:
                if path_matches(pattern, rel):
                    versions.update(values)
            for pattern, kind_id in layer.associations:
                if path_matches(pattern, rel):
                    kind = kind_id
        associations = dict(base.file_associations)
        if kind is not None:  # the exact path, first: detect_kind takes the first match
            associations = {globlib.escape(path.replace("\\", "/")): kind, **associations}
        layers = base.rule_layers + tuple((layer.disable, layer.enable) for layer in self.layers
                                          if layer.disable or layer.enable)
        return replace(base, severity_overrides=severity, product_versions=versions, file_associations=associations,
                       limits=replace(base.limits, **limits), rule_layers=layers, fail_on=fail_on)

    def excluded(self, path: str, is_dir: bool = False) -> bool:
        full = os.path.abspath(path)
        for layer in self.layers:
            rel = _relative(full, layer.folder)
            if rel is not None and any(path_matches(p, rel, is_dir) for p in layer.exclude):
                return True
        return False


# ---------------------------------------------------------------------------------------- globs


def _relative(full: str, folder: str) -> str | None:
    rel = os.path.relpath(full, folder)
    if rel == "." or rel.startswith(".." + os.sep) or rel == "..":
        return None
    return rel.replace(os.sep, "/")


_GLOB_CACHE: dict[str, re.Pattern] = {}


def _glob_regex(pattern: str) -> re.Pattern:
    rx = _GLOB_CACHE.get(pattern)
    if rx is None:
        body = pattern.strip("/")
        anchored = "/" in body or pattern.startswith("/")
        out, i = [], 0
        while i < len(body):
            if body.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
            elif body.startswith("**", i):
                out.append(".*")
                i += 2
            elif body[i] == "*":
                out.append("[^/]*")
                i += 1
            elif body[i] == "?":
                out.append("[^/]")
                i += 1
            else:
                out.append(re.escape(body[i]))
                i += 1
        rx = _GLOB_CACHE[pattern] = re.compile(("" if anchored else "(?:.*/)?") + "".join(out) + r"\Z")
    return rx


def path_matches(pattern: str, rel: str, is_dir: bool = False) -> bool:
    """Does `pattern` match `rel` (POSIX, relative to the declaring folder) or one of its folders?"""
    rx = _glob_regex(pattern)
    dir_only = pattern.endswith("/")
    parts = rel.split("/")
    for n in range(1, len(parts) + 1):
        candidate_is_dir = n < len(parts) or is_dir
        if dir_only and not candidate_is_dir:
            continue
        if rx.match("/".join(parts[:n])):
            return True
    return False


# ------------------------------------------------------------------------------------ discovery


def _has_section(pyproject: str) -> bool:
    try:
        with open(pyproject, "rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    # Parsed (and its errors reported) only when it has our table: a pyproject.toml that merely names
    # hipaa-lsp (as a dependency, or this project's own) is somebody else's file.
    return b"tool.hipaa-lsp" in head.replace(b'"', b"").replace(b"'", b"").replace(b" ", b"")


def is_config_file(path: str) -> bool:
    return os.path.basename(path) in (CONFIG_NAME, PYPROJECT)


def config_in(folder: str) -> str | None:
    own = os.path.join(folder, CONFIG_NAME)
    if os.path.isfile(own):
        return own
    py = os.path.join(folder, PYPROJECT)
    if os.path.isfile(py) and _has_section(py):
        return py
    return None


def is_boundary(folder: str, stop_dirs: tuple[str, ...]) -> bool:
    return folder in stop_dirs or os.path.exists(os.path.join(folder, ".git"))


def discover(start: str, stop_dirs: tuple[str, ...] = ()) -> tuple[str | None, str | None]:
    """(closest configuration file, boundary folder) walking up from the folder `start`."""
    folder = os.path.abspath(start)
    stops = tuple(os.path.abspath(s) for s in stop_dirs)
    closest = None
    while True:
        if closest is None:
            closest = config_in(folder)
        if is_boundary(folder, stops):
            return closest, folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return closest, None
        folder = parent


def load_project(config_path: str, boundary: str | None = None, rule_ids: frozenset[str] | None = None,
                 text: str | None = None) -> Project:
    """The project whose closest configuration is `config_path`, or ConfigError (the first problem).

    `text`, when given, is the file's content as an editor holds it."""
    config_path = os.path.abspath(config_path)
    first = parse_layer(config_path, rule_ids, text)
    if first.root:
        root = first.folder
    elif boundary is not None and _inside(first.folder, boundary):
        root = boundary
    else:
        root = first.folder
    layers = [first]
    seen = [os.path.realpath(config_path)]
    while layers[-1].extend is not None:
        layer = layers[-1]
        target = os.path.normpath(os.path.join(layer.folder, layer.extend))
        line = _line_of(_read(layer.path), _keys(layer.path, ("extend",)))
        if not _inside(target, root):
            raise ConfigError(layer.path, line, f"extend: {layer.extend!r} is outside the project root {root}")
        if os.path.realpath(target) in seen:
            chain = " -> ".join(seen + [os.path.realpath(target)])
            raise ConfigError(layer.path, line, f"extend: cycle {chain}")
        if len(layers) >= MAX_EXTEND_DEPTH:
            raise ConfigError(layer.path, line, f"extend: more than {MAX_EXTEND_DEPTH} files deep")
        if not os.path.isfile(target):
            raise ConfigError(layer.path, line, f"extend: no such file {layer.extend!r}")
        seen.append(os.path.realpath(target))
        layers.append(parse_layer(target, rule_ids, pyproject=os.path.basename(target) == PYPROJECT))
    notes = []
    for layer in layers:
        for d in layer.rule_dirs:
            line = _line_of(_read(layer.path), _keys(layer.path, ("rule-dirs",)))
            if not _inside(d, root):
                raise ConfigError(layer.path, line, f"rule-dirs: {d!r} is outside the project root {root}")
            if not os.path.isdir(d):
                raise ConfigError(layer.path, line, f"rule-dirs: {d!r} is not a folder")
        if layer.rule_dirs:
            notes.append(f"{layer.path}: rule-dirs: coming; the folders are checked but their rules are not "
                         "loaded yet")
        notes.extend(layer.notes)
    return Project(config_path, root, tuple(reversed(layers)), tuple(notes))


def _inside(path: str, root: str) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


class ProjectFinder:
    """Discovery with caches, for many files of one scan (or one editor session)."""

    def __init__(self, stop_dirs: tuple[str, ...] = (), rule_ids=None):
        # rule_ids: a set, or a function returning it (the server loads the rules only when a
        # project file exists: its front keeps start-up light).
        self.stop_dirs = tuple(os.path.abspath(s) for s in stop_dirs)
        self.rule_ids = rule_ids
        self._by_folder: dict[str, tuple[str | None, str | None]] = {}
        self._projects: dict[tuple[str, str | None], Project | ConfigError] = {}

    def project_for(self, path: str, is_dir: bool = False) -> Project | None:
        """The project of the file (or folder) `path`, None without one; raises ConfigError."""
        folder = os.path.abspath(path if is_dir else os.path.dirname(os.path.abspath(path)))
        found = self._by_folder.get(folder)
        if found is None:
            found = self._by_folder[folder] = discover(folder, self.stop_dirs)
        closest, boundary = found
        if closest is None:
            return None
        return self.load(closest, boundary)

    def load(self, config_path: str, boundary: str | None) -> Project:
        key = (config_path, boundary)
        project = self._projects.get(key)
        if project is None:
            try:
                if callable(self.rule_ids):
                    self.rule_ids = self.rule_ids()
                project = load_project(config_path, boundary, self.rule_ids)
            except ConfigError as exc:
                project = exc
            self._projects[key] = project
        if isinstance(project, ConfigError):
            raise project
        return project


# ----------------------------------------------------------------------------------- validation


def _read(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return handle.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return ""


def _keys(path: str, keys: tuple) -> tuple:
    return (("tool", SECTION) if os.path.basename(path) == PYPROJECT else ()) + keys


def _line_of(text: str, keys: tuple) -> int:
    """The 1-based line that declares the key path `keys` (strings, and ints for [[array]] items):
    a plain scan of the text, good enough to point at the place (tomllib gives no positions)."""
    lines = text.splitlines()
    names = [k for k in keys if isinstance(k, str)]
    start, best = 0, 1
    # The deepest table header that is a prefix of the key path, and its n-th occurrence for arrays.
    for depth in range(len(keys), 0, -1):
        prefix = keys[:depth]
        if not isinstance(prefix[-1], str) and depth > 1:
            header, index = ".".join(str(k) for k in prefix[:-1]), prefix[-1]
        else:
            header, index = ".".join(str(k) for k in prefix), 0
        header_re = re.compile(r"^\s*\[\[?\s*" + re.escape(header).replace(r"\-", "-") + r"\s*\]\]?\s*(#.*)?$")
        hits = [i for i, line in enumerate(lines) if header_re.match(line)]
        if len(hits) > index:
            start, best = hits[index], hits[index] + 1
            names = [k for k in keys[depth:] if isinstance(k, str)]
            break
    if not names:
        return best
    key = names[0]
    key_re = re.compile(r"""^\s*(?:[\w.-]+\.)?["']?""" + re.escape(key) + r"""["']?\s*(=|\.)""")
    for i in range(start, len(lines)):
        if i > start and lines[i].lstrip().startswith("["):
            break  # the next table: the key is not declared in this one
        if key_re.match(lines[i]):
            return i + 1
    for i, line in enumerate(lines):  # inline tables, odd layouts: the first mention
        if re.search(r"""(^|[\s{,"'])""" + re.escape(key) + r"""["']?\s*=""", line):
            return i + 1
    return best


def parse_layer(path: str, rule_ids: frozenset[str] | None = None, text: str | None = None,
                pyproject: bool | None = None) -> Layer:
    """One configuration file, validated; ConfigError on the first problem."""
    path = os.path.abspath(path)
    if text is None:
        try:
            with open(path, "rb") as handle:
                raw = handle.read((1 << 20) + 1)
        except OSError as exc:
            raise ConfigError(path, 1, f"cannot read ({exc.strerror or exc})") from None
        if len(raw) > 1 << 20:
            raise ConfigError(path, 1, "larger than 1 MiB; not a configuration file")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(path, 1, "not UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)$", message)
        # tomllib (before 3.14) only says where in its message; "end of document" is the last line.
        line = int(m.group(1)) if m else max(1, len(text.rstrip().splitlines()))
        message = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)$", "", message)
        raise ConfigError(path, line, f"invalid TOML: {message}") from None
    is_py = os.path.basename(path) == PYPROJECT if pyproject is None else pyproject
    if is_py:
        data = data.get("tool", {}).get(SECTION)
        if data is None:
            raise ConfigError(path, 1, f"no [tool.{SECTION}] table")
    return _validate(path, text, data, rule_ids)


def _validate(path: str, text: str, data: dict, rule_ids: frozenset[str] | None) -> Layer:
    def fail(keys: tuple, message: str):
        raise ConfigError(path, _line_of(text, _keys(path, keys)), message)

    def unknown(keys: tuple, key: str, known) -> None:
        hint = difflib.get_close_matches(key, list(known), n=1)
        where = ".".join(str(k) for k in keys if isinstance(k, str))
        fail(keys + (key,), f"unknown key {key!r}" + (f" in [{where}]" if where else "")
             + (f" (did you mean {hint[0]!r}?)" if hint else ""))

    def strings(keys: tuple, value) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            fail(keys, f"{'.'.join(k for k in keys if isinstance(k, str))} must be a list of strings")
        return value

    def table(keys: tuple, value) -> dict:
        if not isinstance(value, dict):
            fail(keys, f"{'.'.join(k for k in keys if isinstance(k, str))} must be a table")
        return value

    def version(keys: tuple, value) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            fail(keys, f"{keys[-1]}: a version is a string such as \"16\"")
        return str(value)

    def rule_pattern(keys: tuple, value: str) -> str:
        where = ".".join(k for k in keys[:2] if isinstance(k, str))  # rules.disable, rules.severity
        pattern = value.upper()
        if not RULE_ID.match(pattern):
            fail(keys, f"{where}: {value!r} is not a rule id or prefix")
        if rule_ids is not None:
            if pattern.endswith("-") and not any(r.startswith(pattern) for r in rule_ids):
                fail(keys, f"{where}: no rule id starts with {value!r}")
            if not pattern.endswith("-") and pattern not in rule_ids:
                fail(keys, f"{where}: unknown rule id {value!r}")
        return pattern

    folder = os.path.dirname(path)
    out: dict[str, Any] = {}
    notes = []
    for key in data:
        if key not in TOP_KEYS:
            unknown((), key, TOP_KEYS)
    if "root" in data:
        if not isinstance(data["root"], bool):
            fail(("root",), "root must be true or false")
        out["root"] = data["root"]
    if "extend" in data:
        if not isinstance(data["extend"], str) or not data["extend"]:
            fail(("extend",), "extend must be a path to a configuration file")
        out["extend"] = data["extend"]
    if "rules" in data:
        rules = table(("rules",), data["rules"])
        for key in rules:
            if key not in ("disable", "enable", "severity"):
                unknown(("rules",), key, ("disable", "enable", "severity"))
        for key in ("disable", "enable"):
            if key in rules:
                out[key] = tuple(rule_pattern(("rules", key), v) for v in strings(("rules", key), rules[key]))
        if "severity" in rules:
            severity = {}
            for rule, level in table(("rules", "severity"), rules["severity"]).items():
                keys = ("rules", "severity", rule)
                if rule.endswith("-"):
                    fail(keys, f"severity: {rule!r}: give a rule id, not a prefix")
                rule_pattern(keys, rule)
                if not isinstance(level, str) or level.lower() not in SEVERITY_NAMES:
                    fail(keys, f"severity of {rule}: {level!r} is not one of {', '.join(SEVERITY_NAMES)}")
                severity[rule.upper()] = level.lower()
            out["severity"] = severity
    if "versions" in data:
        versions = table(("versions",), data["versions"])
        plain, paths = {}, []
        for key, value in versions.items():
            if key == "paths":
                if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                    fail(("versions", "paths"), "versions.paths must be [[versions.paths]] tables")
                for i, entry in enumerate(value):
                    keys = ("versions", "paths", i)
                    if not isinstance(entry.get("pattern"), str) or not entry["pattern"]:
                        fail(keys, "[[versions.paths]] needs a pattern (a glob relative to this file)")
                    values = {}
                    for product, v in entry.items():
                        if product == "pattern":
                            continue
                        if product not in TECHNOLOGIES:
                            unknown(keys, product, TECHNOLOGIES | {"pattern"})
                        values[product] = version(keys + (product,), v)
                    paths.append((entry["pattern"], values))
            elif key in TECHNOLOGIES:
                plain[key] = version(("versions", key), value)
            else:
                unknown(("versions",), key, TECHNOLOGIES | {"paths"})
        out["versions"], out["version_paths"] = plain, tuple(paths)
    if "exclude" in data:
        out["exclude"] = tuple(strings(("exclude",), data["exclude"]))
    if "rule-dirs" in data:
        out["rule_dirs"] = tuple(os.path.normpath(os.path.join(folder, d))
                                 for d in strings(("rule-dirs",), data["rule-dirs"]))
    if "associations" in data:
        entries = data["associations"]
        if not isinstance(entries, list) or not all(isinstance(v, dict) for v in entries):
            fail(("associations",), "associations must be [[associations]] tables with pattern and kind")
        assoc = []
        for i, entry in enumerate(entries):
            keys = ("associations", i)
            for key in entry:
                if key not in ("pattern", "kind"):
                    unknown(keys, key, ("pattern", "kind"))
            if not isinstance(entry.get("pattern"), str) or not entry["pattern"]:
                fail(keys, "[[associations]] needs a pattern (a glob relative to this file)")
            kind = entry.get("kind")
            if not isinstance(kind, str):
                fail(keys, "[[associations]] needs a kind; see `hipaa-lsp rules --kinds`")
            if kind not in KINDS:
                hint = difflib.get_close_matches(str(kind), list(KINDS), n=1)
                fail(keys + ("kind",), f"unknown kind {kind!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                     + "; see `hipaa-lsp rules --kinds`")
            assoc.append((entry["pattern"], kind))
        out["associations"] = tuple(assoc)
    if "limits" in data:
        limits = {}
        defaults = Limits()
        for key, value in table(("limits",), data["limits"]).items():
            if key not in LIMIT_KEYS:
                unknown(("limits",), key, LIMIT_KEYS)
            attr, low, _ = LIMIT_SETTINGS[LIMIT_KEYS[key]]
            high = getattr(defaults, attr)  # a project may only lower the built-in limits
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                fail(("limits", key), f"limits.{key} must be a whole number from {low} to {high} "
                                      "(a project may only lower the built-in limits)")
            limits[attr] = value
        out["limits"] = limits
    if "ci" in data:
        ci = table(("ci",), data["ci"])
        for key in ci:
            if key != "fail-on":
                unknown(("ci",), key, ("fail-on",))
        if "fail-on" in ci:
            if ci["fail-on"] not in FAIL_ON:
                fail(("ci", "fail-on"), f"ci.fail-on must be one of {', '.join(FAIL_ON)}, got {ci['fail-on']!r}")
            out["fail_on"] = ci["fail-on"]
    for key, what in RESERVED.items():
        if key in data:
            line = _line_of(text, _keys(path, (key,)))
            notes.append(f"{path}:{line}: [{key}] ({what}) is reserved for a coming release and has no effect yet")
    return Layer(path=path, folder=folder, notes=tuple(notes), **out)


# ----------------------------------------------------------------------------- legacy JSON


def legacy_json(path: str, text: str) -> tuple[Config, list[ConfigError]]:
    """`--config FILE.json` (camelCase `hipaaLsp` settings): deprecated, still read, strictly."""
    import json

    from .config import KNOWN_KEYS, config_from

    try:
        data = json.loads(text)
    except ValueError as exc:
        return Config(), [ConfigError(path, getattr(exc, "lineno", 1), f"invalid JSON: {getattr(exc, 'msg', exc)}")]
    if isinstance(data, dict) and isinstance(data.get("hipaaLsp"), dict):
        data = data["hipaaLsp"]
    errors = []
    if isinstance(data, dict):
        for key in data:
            if key not in KNOWN_KEYS:
                hint = difflib.get_close_matches(key, list(KNOWN_KEYS), n=1)
                line = next((i + 1 for i, t in enumerate(text.splitlines()) if f'"{key}"' in t), 1)
                errors.append(ConfigError(path, line, f"unknown key {key!r}"
                                          + (f" (did you mean {hint[0]!r}?)" if hint else "")))
    config, problems = config_from(data)
    for problem in problems:
        key = problem.split(" ", 1)[0].rstrip(":")
        line = next((i + 1 for i, t in enumerate(text.splitlines()) if f'"{key}"' in t), 1)
        errors.append(ConfigError(path, line, problem))
    return config, errors
