"""The CLI's text and JSON reports, written from scan results (`results.py`) alone."""

from __future__ import annotations

import os
from pathlib import Path

from . import __version__
from .config import Config
from .results import FileResult, display_path, fingerprint, with_occurrences
from .rulebook import Rulebook

SEVERITIES = ("error", "warning", "information", "hint")
_PAINT = {"error": "\033[31m", "warning": "\033[33m", "information": "\033[36m", "hint": "\033[2m"}


def severity_of(rule_id: str, rulebook: Rulebook, config: Config) -> str:
    return config.severity_overrides.get(rule_id, rulebook.rules[rule_id].severity)


def relative(path: str, base: Path) -> str:
    """`path` relative to `base` when it lies inside it (POSIX separators), else as given."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def text_report(results: list[FileResult], rulebook: Rulebook, config: Config, color: bool,
                problems: list[tuple[str, str]] = ()) -> str:
    out = []
    counts: dict[str, int] = {}
    for path, why in problems:
        out.append(f"{display_path(path)}: note {why}")
    for r in results:
        shown = display_path(r.path)
        if r.fix_outcome:
            out.append(f"{shown}: note --fix: {r.fix_outcome}")
        for n in r.notices:
            out.append(f"{shown}:{n.start.line + 1}:{n.start.utf32 + 1}: note {n.message}")
        for f in r.findings:
            severity = severity_of(f.rule_id, rulebook, config)
            counts[severity] = counts.get(severity, 0) + 1
            label = f"{_PAINT[severity]}{severity}\033[0m" if color else severity
            out.append(f"{shown}:{f.start.line + 1}:{f.start.utf32 + 1}: {label} {f.rule_id} {f.message}")
            for pid in rulebook.rules[f.rule_id].hipaa:
                p = rulebook.paragraphs[pid]
                out.append(f"    HIPAA 45 CFR § {p.id} {p.title} ({p.requirement})")
    total = sum(counts.values())
    summary = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts)
    out.append(f"\n{len(results)} configuration files checked, {total} findings" + (f" ({summary})" if summary else "") + ".")
    return "\n".join(out) + "\n"


def json_report(results: list[FileResult], rulebook: Rulebook, config: Config, base: Path,
                problems: list[tuple[str, str]] = ()) -> dict:
    files = []
    for r in results:
        rel = relative(r.path, base)
        findings = []
        for f, occurrence in with_occurrences(r.findings):
            rule = rulebook.rules[f.rule_id]
            findings.append({
                "ruleId": f.rule_id, "title": rule.title,
                "severity": severity_of(f.rule_id, rulebook, config),
                "message": f.message,
                "range": {"start": {"line": f.start.line + 1, "column": f.start.utf16 + 1},
                          "end": {"line": f.end.line + 1, "column": f.end.utf16 + 1}},
                "hipaa": [{"id": p, "title": rulebook.paragraphs[p].title,
                           "requirement": rulebook.paragraphs[p].requirement} for p in rule.hipaa],
                "fixable": f.fix is not None,
                "fingerprint": fingerprint(f.rule_id, rel, f.key, occurrence),
            })
        entry = {"path": display_path(r.path), "kind": r.kind,
                 "notices": [n.message for n in r.notices], "findings": findings}
        if r.fix_outcome:
            entry["fix"] = r.fix_outcome
        files.append(entry)
    total = sum(len(f["findings"]) for f in files)
    return {"tool": "hipaa-lsp", "version": __version__, "files": files,
            "notes": [{"path": display_path(p), "note": why} for p, why in problems],
            "summary": {"files": len(files), "findings": total}}
