"""Human-readable explanations of a rule: hover markdown, `hipaa-lsp explain`, docs/rules.md."""

from __future__ import annotations

from .redaction import Redactor, scrub
from .rulebook import Paragraph, Rule, Rulebook


def citation_line(p: Paragraph, link: bool = True) -> str:
    text = f"45 CFR § {p.id} {p.title} ({p.requirement})"
    return f"[{text}]({p.ecfr_url})" if link and p.ecfr_url else text


def _nist(p: Paragraph) -> str:
    """NIST SP 800-53 controls of the 800-66r2 crosswalk; others commonly used are labelled as such."""
    parts = []
    if p.nist_800_53:
        parts.append("NIST SP 800-53: " + ", ".join(p.nist_800_53))
    if p.nist_supplementary:
        parts.append("supplementary, not in the crosswalk: " + ", ".join(p.nist_supplementary))
    return (" — " + "; ".join(parts)) if parts else ""


def finding_markdown(finding, rulebook: Rulebook, fix_title: str | None = None) -> str:
    """Hover markdown for one finding, masked with its document's secrets."""
    redactor = finding.document.redactor
    return rule_markdown(finding.rule, rulebook, finding.message, fix_title,
                         redactor if isinstance(redactor, Redactor) else None)


def rule_markdown(rule: Rule, rulebook: Rulebook, message: str | None = None, fix_title: str | None = None,
                  redactor: Redactor | None = None) -> str:
    # The hover is shown to the user: it goes through the redaction choke point like every message.
    return scrub(_rule_markdown(rule, rulebook, message, fix_title), redactor)


def _rule_markdown(rule: Rule, rulebook: Rulebook, message: str | None, fix_title: str | None) -> str:
    lines = [f"### {rule.title}", "", f"`{rule.id}` · {rule.severity} · {rulebook.technologies[rule.technology].name}"]
    if message:
        lines += ["", message]
    lines += ["", "**HIPAA Security Rule**", ""]
    for pid in rule.hipaa:
        p = rulebook.paragraphs[pid]
        lines.append(f"- {citation_line(p)}" + _nist(p))
    lines += ["", "**Why it matters for PHI**", "", rule.rationale, "", "**How to fix**", "", rule.remediation]
    if fix_title:
        lines += ["", f"Quick fix available: *{fix_title}*"]
    if rule.references:
        lines += ["", "References: " + "; ".join(rule.references)]
    return "\n".join(lines)


def rule_text(rule: Rule, rulebook: Rulebook) -> str:
    """Plain-text explanation for the terminal."""
    out = [f"{rule.id}: {rule.title}", f"  severity: {rule.severity}",
           f"  technology: {rulebook.technologies[rule.technology].name} ({', '.join(rule.kinds)})", "  HIPAA:"]
    for pid in rule.hipaa:
        out.append(f"    - {citation_line(rulebook.paragraphs[pid], link=False)}")
    out += ["", "Why it matters:", f"  {rule.rationale}", "", "How to fix:", f"  {rule.remediation}"]
    if rule.fix:
        out += ["", f"Quick fix: {rule.fix.description or rule.fix.kind}"]
    if rule.references:
        out += ["", "References: " + "; ".join(rule.references)]
    return "\n".join(out)
