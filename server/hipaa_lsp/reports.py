"""The CLI's text and JSON reports, written from a `gates.ScanReport` (results after overrides, baseline, gate)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import Config
from .results import display_path
from .rulebook import Rulebook

if TYPE_CHECKING:
    from .gates import ScanReport

SEVERITIES = ("error", "warning", "information", "hint")
_PAINT = {"error": "\033[31m", "warning": "\033[33m", "information": "\033[36m", "hint": "\033[2m"}
_RESET = "\033[0m"


def severity_of(rule_id: str, rulebook: Rulebook, config: Config) -> str:
    return config.severity_overrides.get(rule_id, rulebook.rules[rule_id].severity)


def relative(path: str, base: Path) -> str:
    """`path` relative to `base` when it lies inside it (POSIX separators), else as given."""
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def summary_line(report: ScanReport) -> str:
    """The closing line of the text report (and the Markdown one): counts, baseline, gate."""
    counts = report.counts()
    total = sum(counts.values())
    by_severity = ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if s in counts)
    parts = [f"{len(report.files)} configuration files checked, {total} findings"
             + (f" ({by_severity})" if by_severity else "") + "."]
    if report.baseline_used:
        parts.append(f"{report.baselined} findings in the baseline not shown; "
                     f"{report.fixed} baseline entries fixed.")
    if report.fail_on == "never":
        parts.append("Gate: --fail-on never.")
    else:
        parts.append(f"{report.failing} findings at or above the gate (--fail-on {report.fail_on}).")
    return " ".join(parts)


def text_report(report: ScanReport, rulebook: Rulebook, color: bool) -> str:
    out = []
    for path, why in report.problems:
        out.append(f"{display_path(path)}: note {why}")
    for view in report.files:
        r = view.result
        shown = view.shown_path
        if r.fix_outcome:
            out.append(f"{shown}: note --fix: {r.fix_outcome}")
        for n in r.notices:
            out.append(f"{shown}:{n.start.line + 1}:{n.start.utf32 + 1}: note {n.message}")
        for s in view.findings:
            f = s.record
            label = f"{_PAINT[s.severity]}{s.severity}{_RESET}" if color else s.severity
            out.append(f"{shown}:{f.start.line + 1}:{f.start.utf32 + 1}: {label} {f.rule_id} {f.message}")
            for pid in rulebook.rules[f.rule_id].hipaa:
                p = rulebook.paragraphs[pid]
                out.append(f"    HIPAA 45 CFR § {p.id} {p.title} ({p.requirement})")
    out.append("\n" + summary_line(report))
    return "\n".join(out) + "\n"


def json_report(report: ScanReport, rulebook: Rulebook) -> dict:
    files = []
    for view in report.files:
        r = view.result
        findings = []
        for s in view.findings:
            f = s.record
            rule = rulebook.rules[f.rule_id]
            findings.append({
                "ruleId": f.rule_id, "title": rule.title,
                "severity": s.severity,
                "message": f.message,
                "range": {"start": {"line": f.start.line + 1, "column": f.start.utf16 + 1},
                          "end": {"line": f.end.line + 1, "column": f.end.utf16 + 1}},
                "hipaa": [{"id": p, "title": rulebook.paragraphs[p].title,
                           "requirement": rulebook.paragraphs[p].requirement} for p in rule.hipaa],
                "fixable": f.fix is not None,
                "fingerprint": s.fingerprint,
                "failsGate": s.failing,
            })
        entry = {"path": view.shown_path, "kind": r.kind,
                 "notices": [n.message for n in r.notices], "findings": findings}
        if r.fix_outcome:
            entry["fix"] = r.fix_outcome
        files.append(entry)
    total = sum(len(f["findings"]) for f in files)
    summary = {"files": len(files), "findings": total, "failOn": report.fail_on, "failing": report.failing}
    if report.baseline_used:
        summary["baseline"] = {"notShown": report.baselined, "fixed": report.fixed}
    return {"tool": "hipaa-lsp", "version": __version__, "files": files,
            "notes": [{"path": display_path(p), "note": why} for p, why in report.problems],
            "summary": summary}
