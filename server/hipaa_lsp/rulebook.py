"""Loading and validating the rule catalog (`rules/*.yaml`) and the HIPAA catalog (`rules/hipaa.yaml`).

A bad rule stops loading with a message naming the file, the rule id and the problem, so a rule
author sees the mistake at once instead of a rule that silently never fires.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path as FsPath
from typing import Any

import yaml

from .checks import Check, CheckError, compile_check
from .detect import KINDS
from .paths import Path, PathError, compile_path

SEVERITIES = ("error", "warning", "information", "hint")
_ID = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{3}$")
FIX_KINDS = ("set", "remove", "replace", "insert")


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Paragraph:
    id: str
    title: str
    section: str
    section_title: str
    kind: str
    standard: str
    requirement: str
    summary: str
    nist_800_53: tuple[str, ...]
    nist_supplementary: tuple[str, ...]
    ecfr_url: str


@dataclass(frozen=True)
class Fix:
    kind: str  # one of FIX_KINDS
    value: str | None = None  # set / insert text
    pattern: re.Pattern | None = None  # replace
    replacement: str = ""
    description: str = ""
    # A fix that implements the hardening but can change how the service behaves (a container
    # that needed privileges, clients that spoke plaintext): offered as a quick fix to apply after
    # review, never applied by fix-all or `scan --fix`.
    review: bool = False


@dataclass(frozen=True)
class Example:
    name: str
    text: str
    flagged: tuple[int, ...]  # 1-based lines that must carry this rule's finding (empty = negative)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: str
    technology: str
    kinds: tuple[str, ...]
    hipaa: tuple[str, ...]
    check: Check
    message: str
    rationale: str
    remediation: str
    scope: tuple[Path, ...] = ()
    when: Check | None = None
    dialects: tuple[str, ...] = ()
    fix: Fix | None = None
    secret: bool = False
    references: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    # Where a finding is reported when it differs from the settings the check looked at.
    report: Path | None = None
    source_file: str = ""
    # Reported by the tool itself (a file it could not analyse), never evaluated by the engine.
    builtin: bool = False


@dataclass
class Technology:
    id: str
    name: str
    kinds: tuple[str, ...]
    sources: tuple[str, ...]
    rules: list[Rule] = field(default_factory=list)


@dataclass
class Rulebook:
    paragraphs: dict[str, Paragraph]
    not_evidenced: dict[str, str]
    technologies: dict[str, Technology]
    rules: dict[str, Rule]

    # (kind, dialect) -> rules; filled on first use, the rulebook never changes after loading.
    _by_kind: dict[tuple[str, str], list[Rule]] = field(default_factory=dict, repr=False)

    def for_kind(self, kind: str, dialect: str = "") -> list[Rule]:
        key = (kind, dialect)
        if key not in self._by_kind:
            self._by_kind[key] = [r for r in self.rules.values()
                                  if not r.builtin and kind in r.kinds and (not r.dialects or dialect in r.dialects)]
        return self._by_kind[key]


def rules_dir() -> FsPath:
    """`rules/` inside an installed wheel, else the checkout's top-level `rules/`."""
    here = FsPath(__file__).resolve().parent
    for candidate in (here / "rules", here.parent.parent / "rules"):
        if (candidate / "hipaa.yaml").is_file():
            return candidate
    raise RuleError(f"rules directory not found next to {here}")


@lru_cache(maxsize=4)
def load_rulebook(directory: str | None = None) -> Rulebook:
    root = FsPath(directory) if directory else rules_dir()
    paragraphs, not_evidenced = _load_hipaa(root / "hipaa.yaml")
    technologies: dict[str, Technology] = {}
    rules: dict[str, Rule] = {}
    files = sorted(p for p in root.glob("*.yaml") if p.name != "hipaa.yaml")
    for file in files:
        tech = _load_technology(file, paragraphs)
        if tech.id in technologies:
            technologies[tech.id].rules.extend(tech.rules)
            technologies[tech.id].kinds = tuple(dict.fromkeys(technologies[tech.id].kinds + tech.kinds))
        else:
            technologies[tech.id] = tech
        for rule in tech.rules:
            if rule.id in rules:
                raise RuleError(f"{file}: duplicate rule id {rule.id} (also in {rules[rule.id].source_file})")
            rules[rule.id] = rule
    return Rulebook(paragraphs, not_evidenced, technologies, rules)


# libyaml's loader is ~10x faster than the pure-Python one: it keeps start-up under a second.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(file: FsPath) -> Any:
    try:
        return yaml.load(file.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except (OSError, yaml.YAMLError) as exc:
        raise RuleError(f"{file}: cannot read: {exc}") from exc


def _load_hipaa(file: FsPath) -> tuple[dict[str, Paragraph], dict[str, str]]:
    data = _load_yaml(file)
    paragraphs = {}
    for entry in data.get("paragraphs", []):
        p = Paragraph(
            id=entry["id"], title=entry["title"], section=entry["section"],
            section_title=entry.get("section_title", ""), kind=entry["kind"], standard=entry["standard"],
            requirement=entry["requirement"], summary=entry["summary"],
            nist_800_53=tuple(entry.get("nist_800_53") or ()),
            nist_supplementary=tuple(entry.get("nist_supplementary") or ()),
            ecfr_url=entry.get("ecfr_url", ""),
        )
        if p.requirement not in ("Required", "Addressable"):
            raise RuleError(f"{file}: {p.id}: requirement must be Required or Addressable")
        paragraphs[p.id] = p
    not_evidenced = {e["id"]: e.get("why", "") for e in data.get("not_evidenced_by_configuration", [])}
    return paragraphs, not_evidenced


def _load_technology(file: FsPath, paragraphs: dict[str, Paragraph]) -> Technology:
    data = _load_yaml(file)
    if not isinstance(data, dict) or "technology" not in data or "rules" not in data:
        raise RuleError(f"{file}: a rule file needs 'technology' and 'rules'")
    kinds = tuple(data.get("kinds") or ())
    for k in kinds:
        if k not in KINDS:
            raise RuleError(f"{file}: unknown file kind {k!r} (known: {', '.join(sorted(KINDS))})")
    tech = Technology(data["technology"], data.get("name", data["technology"]), kinds,
                      tuple(data.get("sources") or ()))
    for i, spec in enumerate(data["rules"] or []):
        tech.rules.append(_load_rule(spec, tech, file, paragraphs, i))
    return tech


_RULE_KEYS = {
    "id", "title", "severity", "hipaa", "check", "message", "rationale", "remediation", "scope", "when",
    "kinds", "dialects", "fix", "secret", "references", "examples", "report", "builtin",
}


def _load_rule(spec: Any, tech: Technology, file: FsPath, paragraphs: dict[str, Paragraph], index: int) -> Rule:
    rid = spec.get("id", f"#{index}") if isinstance(spec, dict) else f"#{index}"
    where = f"{file.name}: rule {rid}"
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: a rule must be a mapping")
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)}")
    builtin = bool(spec.get("builtin", False))
    for key in ("id", "title", "severity", "hipaa", "check", "message", "rationale", "remediation"):
        if not spec.get(key) and not (builtin and key == "check"):
            raise RuleError(f"{where}: missing '{key}'")
    if not _ID.match(rid):
        raise RuleError(f"{where}: id must look like TECH-AREA-001")
    if spec["severity"] not in SEVERITIES:
        raise RuleError(f"{where}: severity must be one of {SEVERITIES}")
    hipaa = tuple(spec["hipaa"])
    for pid in hipaa:
        if pid not in paragraphs:
            raise RuleError(f"{where}: cites unknown HIPAA paragraph {pid!r}")
    kinds = tuple(spec.get("kinds") or tech.kinds or (tuple(KINDS) if builtin else ()))
    if not kinds:
        raise RuleError(f"{where}: no file kinds (set 'kinds' on the rule or the file)")
    for k in kinds:
        if k not in KINDS:
            raise RuleError(f"{where}: unknown file kind {k!r}")
    try:
        check = compile_check(spec["check"], f"{where}: check") if not builtin else compile_check(
            {"setting": "-", "absent": True}, f"{where}: check")
        when = compile_check(spec["when"], f"{where}: when") if spec.get("when") else None
        scopes = spec.get("scope") or []
        scope = tuple(compile_path(s) for s in ([scopes] if isinstance(scopes, str) else scopes))
        report = compile_path(spec["report"]) if spec.get("report") else None
    except (CheckError, PathError) as exc:
        raise RuleError(f"{where}: {exc}") from exc
    fix = _load_fix(spec.get("fix"), where)
    examples = tuple(_load_example(e, where) for e in spec.get("examples") or ())
    return Rule(
        id=rid, title=spec["title"].strip(), severity=spec["severity"], technology=tech.id, kinds=kinds,
        hipaa=hipaa, check=check, message=spec["message"].strip(), rationale=" ".join(spec["rationale"].split()),
        remediation=" ".join(spec["remediation"].split()), scope=scope, when=when,
        dialects=tuple(spec.get("dialects") or ()), fix=fix, secret=bool(spec.get("secret", False)),
        references=tuple(spec.get("references") or ()), examples=examples, report=report, source_file=file.name,
        builtin=builtin,
    )


def _load_fix(spec: Any, where: str) -> Fix | None:
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise RuleError(f"{where}: fix must be a mapping")
    unknown = set(spec) - set(FIX_KINDS) - {"description", "review"}
    if unknown:
        raise RuleError(f"{where}: unknown fix keys {sorted(unknown)}")
    review = bool(spec.get("review", False))
    kinds = [k for k in FIX_KINDS if k in spec]
    if len(kinds) != 1:
        raise RuleError(f"{where}: fix needs exactly one of {FIX_KINDS}")
    kind = kinds[0]
    description = str(spec.get("description", "")).strip()
    if kind == "replace":
        body = spec["replace"]
        if not isinstance(body, dict) or "pattern" not in body or "with" not in body:
            raise RuleError(f"{where}: fix.replace needs 'pattern' and 'with'")
        try:
            pattern = re.compile(str(body["pattern"]), re.IGNORECASE)
        except re.error as exc:
            raise RuleError(f"{where}: bad fix pattern: {exc}") from exc
        return Fix("replace", pattern=pattern, replacement=str(body["with"]), description=description, review=review)
    if kind == "remove":
        return Fix("remove", description=description, review=review)
    value = spec[kind]
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, (list, dict)):
        value = json.dumps(value)  # flow style: valid in YAML and JSON files alike
    return Fix(kind, value=str(value), description=description, review=review)


def _load_example(spec: Any, where: str) -> Example:
    if not isinstance(spec, dict) or "name" not in spec or "text" not in spec:
        raise RuleError(f"{where}: each example needs 'name' and 'text'")
    flagged = spec.get("flagged") or []
    if not all(isinstance(n, int) and n >= 1 for n in flagged):
        raise RuleError(f"{where}: example 'flagged' lists 1-based line numbers")
    return Example(spec["name"], spec["text"], tuple(flagged))
