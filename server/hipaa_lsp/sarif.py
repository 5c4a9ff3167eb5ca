"""SARIF 2.1.0 output that GitHub code scanning accepts.

Rules carry their HIPAA paragraphs as `properties.tags` and as relationships to a HIPAA taxonomy
(`runs[].taxonomies`); results carry exact regions (UTF-16 columns), `fixes` where a fix exists, and
`partialFingerprints` (`hipaaLsp/v2`: rule, relative path, setting path, occurrence; never a value
or a line, so they survive inserted lines and reveal nothing). Paths that are not valid UTF-8 are
percent-encoded bytes, as URIs require.
"""

from __future__ import annotations

from pathlib import Path

from . import __version__
from typing import TYPE_CHECKING

from .reports import relative
from .results import Pos, uri_path
from .rulebook import Rule, Rulebook

if TYPE_CHECKING:
    from .gates import ScanReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/hipaa-lsp/hipaa-lsp"
_LEVEL = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}
_SECURITY_SEVERITY = {"error": "8.0", "warning": "6.0", "information": "3.0", "hint": "1.0"}
TAXONOMY = "HIPAA Security Rule"


def _rule_descriptor(rule: Rule, rulebook: Rulebook) -> dict:
    citations = [rulebook.paragraphs[p] for p in rule.hipaa]
    help_md = "\n".join([
        f"**{rule.title}**", "", rule.rationale, "", f"**Fix:** {rule.remediation}", "",
        "**HIPAA:** " + "; ".join(f"[45 CFR § {p.id} {p.title} ({p.requirement})]({p.ecfr_url})" for p in citations),
    ])
    help_text = f"{rule.rationale}\nFix: {rule.remediation}\nHIPAA: " + "; ".join(
        f"45 CFR § {p.id} {p.title} ({p.requirement})" for p in citations)
    return {
        "id": rule.id,
        "name": "".join(w.capitalize() for w in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": help_text, "markdown": help_md},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", "hipaa", rule.technology] + [f"HIPAA-{p}" for p in rule.hipaa],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high",
        },
        "relationships": [
            {"target": {"id": p, "toolComponent": {"name": TAXONOMY}}, "kinds": ["relevant"]} for p in rule.hipaa
        ],
    }


def _region(start: Pos, end: Pos) -> dict:
    return {"startLine": start.line + 1, "startColumn": start.utf16 + 1, "endLine": end.line + 1,
            "endColumn": end.utf16 + 1}


def _uri(path: str, base: Path) -> str:
    rel = relative(path, base)
    if rel != path or not Path(path).is_absolute():
        return uri_path(rel)
    return Path(path).resolve().as_uri()


def to_sarif(report: ScanReport, rulebook: Rulebook) -> dict:
    base = report.base
    rules = sorted(rulebook.rules.values(), key=lambda r: r.id)
    rule_index = {r.id: i for i, r in enumerate(rules)}
    used_paragraphs = sorted({p for r in rules for p in r.hipaa})
    sarif_results = []
    for view in report.files:
        uri = _uri(view.result.path, base)
        for shown in view.findings:
            f = shown.record
            location = {"physicalLocation": {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                                             "region": _region(f.start, f.end)}}
            result = {
                "ruleId": f.rule_id,
                "ruleIndex": rule_index[f.rule_id],
                "level": _LEVEL[shown.severity],
                "message": {"text": f.message},
                "locations": [location],
                "partialFingerprints": {"hipaaLsp/v2": shown.fingerprint},
            }
            if report.baseline_used:
                result["baselineState"] = "new"  # findings the baseline matched are left out
            if f.fix is not None:
                result["fixes"] = [{
                    "description": {"text": f.fix.title},
                    "artifactChanges": [{
                        "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                        "replacements": [{"deletedRegion": _region(e.start, e.end),
                                          "insertedContent": {"text": e.text}} for e in f.fix.edits],
                    }],
                }]
            sarif_results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hipaa-lsp", "version": __version__, "semanticVersion": __version__,
                "informationUri": INFO_URI,
                "rules": [_rule_descriptor(r, rulebook) for r in rules],
                "supportedTaxonomies": [{"name": TAXONOMY}],
            }},
            "taxonomies": [{
                "name": TAXONOMY,
                "organization": "U.S. Department of Health and Human Services",
                "shortDescription": {"text": "45 CFR Part 164 Subpart C: Security Standards for the Protection of ePHI"},
                "informationUri": "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C",
                "taxa": [{
                    "id": pid,
                    "name": rulebook.paragraphs[pid].title,
                    "shortDescription": {"text": f"45 CFR § {pid} {rulebook.paragraphs[pid].title} "
                                                 f"({rulebook.paragraphs[pid].requirement})"},
                    "fullDescription": {"text": rulebook.paragraphs[pid].summary},
                    "helpUri": rulebook.paragraphs[pid].ecfr_url,
                } for pid in used_paragraphs],
            }],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": base.resolve().as_uri() + "/"}},
            "columnKind": "utf16CodeUnits",
            "invocations": [{"executionSuccessful": True}],
            "results": sarif_results,
        }],
    }
