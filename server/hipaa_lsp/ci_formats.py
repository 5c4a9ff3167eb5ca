"""Reports for CI systems, written from a `gates.ScanReport`: JUnit XML, GitHub workflow annotations,
GitLab code quality JSON and a Markdown pull-request summary.

Messages have been redacted by the engine, but they can still quote a configuration's values, so
each format escapes them for its own syntax: a value must not become a workflow command, an XML
tag, or a Markdown link or HTML.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from .reports import SEVERITIES, summary_line
from .rulebook import Rulebook

if TYPE_CHECKING:
    from .gates import ScanReport

FORMATS = ("text", "json", "sarif", "junit", "github", "gitlab", "markdown")

# ----------------------------------------------------------------------------------------------- JUnit

# Characters XML 1.0 cannot hold at all (control characters, lone surrogates, U+FFFE/U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def junit_report(report: ScanReport, rulebook: Rulebook) -> str:
    """One testsuite per file, one testcase per finding; a failure for those at or above the gate."""
    root = ET.Element("testsuites", name="hipaa-lsp")
    total = failures = 0
    for view in report.files:
        path = _xml_text(view.shown_rel)
        suite = ET.SubElement(root, "testsuite", name=path, tests=str(len(view.findings)),
                              failures=str(sum(s.failing for s in view.findings)), errors="0", skipped="0")
        for s in view.findings:
            f = s.record
            where = f"{f.start.line + 1}:{f.start.utf32 + 1}"
            case = ET.SubElement(suite, "testcase", name=f"{f.rule_id} at {path}:{where}", classname=path,
                                 file=path, line=str(f.start.line + 1))
            text = _xml_text(f"{s.severity}: {f.message}\n" + _citations(f.rule_id, rulebook))
            if s.failing:
                failure = ET.SubElement(case, "failure", message=_xml_text(f.message), type=s.severity)
                failure.text = text
            else:
                ET.SubElement(case, "system-out").text = text + f"(below --fail-on {report.fail_on})"
        total += len(view.findings)
        failures += sum(s.failing for s in view.findings)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _citations(rule_id: str, rulebook: Rulebook) -> str:
    return "".join(f"HIPAA 45 CFR § {p} {rulebook.paragraphs[p].title} ({rulebook.paragraphs[p].requirement})\n"
                   for p in rulebook.rules[rule_id].hipaa)


# ------------------------------------------------------------------------------------ GitHub Actions

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "information": "notice", "hint": "notice"}


def github_escape_data(text: str) -> str:
    """The message of a workflow command (as @actions/core escapes it): no new line can start a command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_report(report: ScanReport, rulebook: Rulebook) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=RULE::message` per finding."""
    lines = []
    for view in report.files:
        path = github_escape_property(view.shown_rel)
        for s in view.findings:
            f = s.record
            props = (f"file={path},line={f.start.line + 1},col={f.start.utf16 + 1},"
                     f"endLine={f.end.line + 1},endColumn={f.end.utf16 + 1},title={github_escape_property(f.rule_id)}")
            cites = ", ".join(f"45 CFR § {p}" for p in rulebook.rules[f.rule_id].hipaa)
            message = f"{f.message} (HIPAA {cites})" if cites else f.message
            lines.append(f"::{_GITHUB_LEVEL[s.severity]} {props}::{github_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


# ------------------------------------------------------------------------------ GitLab code quality

_GITLAB_SEVERITY = {"error": "critical", "warning": "major", "information": "minor", "hint": "info"}


def gitlab_report(report: ScanReport, rulebook: Rulebook) -> list[dict]:
    """The code quality report GitLab documents: an array of issues with a unique fingerprint each."""
    issues = []
    for view in report.files:
        for s in view.findings:
            f = s.record
            issues.append({
                "type": "issue",
                "check_name": f.rule_id,
                "description": f"{f.rule_id}: {f.message}",
                "categories": ["Security"],
                "fingerprint": s.fingerprint,
                "severity": _GITLAB_SEVERITY[s.severity],
                "location": {"path": view.shown_rel,
                             "lines": {"begin": f.start.line + 1, "end": f.end.line + 1}},
            })
    return issues


# ------------------------------------------------------------------------------------------ Markdown

# Markdown list entries beyond this are summarised: a pull-request comment holds at most 65,536 characters.
MARKDOWN_MAX_FINDINGS = 200
# Inline markup (emphasis, code, links, images, HTML, entities, tables, strikethrough); the text these
# escape is ours (summary, paragraph titles), and messages go into code spans instead.
_MD_PUNCT = re.compile(r"([\\`*_\[\]<>&!|~])")


def md_escape(text: str) -> str:
    """Plain text for Markdown: every markup character escaped, one line, no control characters."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    return _MD_PUNCT.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """`text` as an inline code span: nothing inside one is a link, an autolink or HTML."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"  # the spaces keep a leading or trailing backtick apart from the fence


def markdown_report(report: ScanReport, rulebook: Rulebook) -> str:
    counts = report.counts()
    out = ["## hipaa-lsp", "", md_escape(summary_line(report)), ""]
    out += ["| Severity | Findings | Fails the gate |", "|---|---:|---|"]
    from .gates import fails

    for severity in SEVERITIES:
        out.append(f"| {severity} | {counts.get(severity, 0)} | {'yes' if fails(severity, report.fail_on) else 'no'} |")
    per_paragraph: dict[str, int] = {}
    for _, s in report.all_findings():
        for pid in rulebook.rules[s.record.rule_id].hipaa:
            per_paragraph[pid] = per_paragraph.get(pid, 0) + 1
    if per_paragraph:
        out += ["", "| HIPAA paragraph | Safeguard | Findings |", "|---|---|---:|"]
        for pid in sorted(per_paragraph, key=lambda p: (-per_paragraph[p], p)):
            p = rulebook.paragraphs[pid]
            out.append(f"| 45 CFR § {md_escape(pid)} | {md_escape(f'{p.title} ({p.requirement})')} "
                       f"| {per_paragraph[pid]} |")
    findings = sorted(report.all_findings(),
                      key=lambda item: (SEVERITIES.index(item[1].severity), item[0].shown_rel, item[1].record.start.line))
    if findings:
        out += ["", "### Findings", ""]
        for view, s in findings[:MARKDOWN_MAX_FINDINGS]:
            f = s.record
            where = f"{view.shown_rel}:{f.start.line + 1}:{f.start.utf32 + 1}"
            mark = "**" if s.failing else ""
            out.append(f"- {mark}{s.severity}{mark} {md_code(f.rule_id)} {md_code(where)}: {md_code(f.message)}")
        if len(findings) > MARKDOWN_MAX_FINDINGS:
            out.append(f"- … and {len(findings) - MARKDOWN_MAX_FINDINGS} more (see the other reports)")
    return "\n".join(out) + "\n"
