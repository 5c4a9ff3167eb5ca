"""User settings (section `hipaaLsp`), from initializationOptions, workspace/configuration or the CLI.

A bad value is reported and replaced by its default; it never stops the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .limits import SETTINGS as LIMIT_SETTINGS
from .limits import Limits

SEVERITY_NAMES = ("error", "warning", "information", "hint")


@dataclass(frozen=True)
class Config:
    debounce_ms: int = 150
    disabled_rules: frozenset[str] = frozenset()
    severity_overrides: dict[str, str] = field(default_factory=dict)
    # `scan`'s gate (error|warning|information|hint|never), e.g. from a project file's `[ci] fail-on`;
    # None means the default (warning). `--fail-on` wins over it.
    fail_on: str | None = None
    limits: Limits = field(default_factory=Limits)
    # glob -> file kind id, for files whose names say nothing (e.g. "deploy/*.yaml": "kubernetes").
    file_associations: dict[str, str] = field(default_factory=dict)
    # technology -> product version, for defaults that changed between versions ("postgresql": "13").
    product_versions: dict[str, str] = field(default_factory=dict)
    # From project files (`project_config.py`), farthest first: (disable, enable) rule ids or
    # prefixes ending in "-"; a later layer's `enable` re-enables what an earlier one disabled.
    rule_layers: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    def rule_disabled(self, rule_id: str) -> bool:
        off = rule_id in self.disabled_rules
        for disable, enable in self.rule_layers:
            if any(_rule_matches(p, rule_id) for p in disable):
                off = True
            if any(_rule_matches(p, rule_id) for p in enable):
                off = False
        return off


def _rule_matches(pattern: str, rule_id: str) -> bool:
    return rule_id.startswith(pattern) if pattern.endswith("-") else rule_id == pattern


# Every key `config_from` reads: a legacy `--config` JSON file with another key is an error.
KNOWN_KEYS = frozenset({"debounceMs", "disabledRules", "severityOverrides", "fileAssociations",
                        "productVersions", *LIMIT_SETTINGS})


def config_from(data: Any, base: Config | None = None) -> tuple[Config, list[str]]:
    """Merge a `hipaaLsp` settings object over `base`; returns the config and a list of problems."""
    config = base or Config()
    problems: list[str] = []
    if data is None:
        return config, problems
    if isinstance(data, dict) and isinstance(data.get("hipaaLsp"), dict):
        data = data["hipaaLsp"]
    if not isinstance(data, dict):
        return config, [f"hipaaLsp settings must be an object, got {type(data).__name__}"]
    changes: dict[str, Any] = {}
    if "debounceMs" in data:
        v = data["debounceMs"]
        if isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 10000:
            changes["debounce_ms"] = int(v)
        else:
            problems.append(f"debounceMs must be a number from 0 to 10000, got {v!r}")
    if "disabledRules" in data:
        v = data["disabledRules"]
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            changes["disabled_rules"] = frozenset(v)
        else:
            problems.append("disabledRules must be a list of rule ids")
    if "severityOverrides" in data:
        v = data["severityOverrides"]
        if isinstance(v, dict):
            good = {k: s for k, s in v.items() if isinstance(s, str) and s.lower() in SEVERITY_NAMES}
            bad = sorted(set(v) - set(good))
            if bad:
                problems.append(f"severityOverrides: ignored {bad} (use error|warning|information|hint)")
            changes["severity_overrides"] = {k: s.lower() for k, s in good.items()}
        else:
            problems.append("severityOverrides must be an object of rule id -> severity")
    limit_changes = {}
    for key, (attr, low, high) in LIMIT_SETTINGS.items():
        if key in data:
            v = data[key]
            if isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high:
                limit_changes[attr] = int(v)
            else:
                problems.append(f"{key} must be a number from {low} to {high}, got {v!r}")
    if limit_changes:
        changes["limits"] = replace(config.limits, **limit_changes)
    if isinstance(data.get("fileAssociations"), dict):
        from .detect import KINDS  # plain data, no parser imports

        bad = sorted(f"{g} -> {k}" for g, k in data["fileAssociations"].items() if k not in KINDS)
        if bad:  # detect_kind would skip them without a word
            problems.append(f"fileAssociations: unknown kinds ignored: {', '.join(bad)} (see `hipaa-lsp rules --kinds`)")
            data = {**data, "fileAssociations": {g: k for g, k in data["fileAssociations"].items() if k in KINDS}}
    for key, attr in (("fileAssociations", "file_associations"), ("productVersions", "product_versions")):
        if key in data:
            v = data[key]
            if isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, (str, int, float)) for a, b in v.items()):
                changes[attr] = {a: str(b) for a, b in v.items()}
            else:
                problems.append(f"{key} must be an object of strings")
    return replace(config, **changes), problems
