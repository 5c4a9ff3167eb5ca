"""Findings and notices as LSP diagnostics, in JSON form, ready to send.

A 10,000-line manifest can carry a thousand findings; converting and serialising all of them on
every keystroke would cost more than the analysis. Each segment's diagnostics are converted once
(positions relative to the segment's first line, which is where a YAML document starts) and only
moved to the segment's current line afterwards.
"""

from __future__ import annotations

from .analysis import unchecked_message
from .config import Config
from .document_store import OpenDocument
from .limits import UNCHECKED_RULE
from .lsp_names import SEVERITY, SOURCE
from .positions import LineIndex
from .rulebook import Rulebook



def _range(sl: int, sc: int, el: int, ec: int) -> dict:
    return {"start": {"line": sl, "character": sc}, "end": {"line": el, "character": ec}}


def diagnostics(doc: OpenDocument, encoding: str, config: Config, rulebook: Rulebook) -> list[dict]:
    doc.refresh()
    index = doc.index
    out = []
    for notice in doc.notices:
        s, e = index.position(notice.start, encoding), index.position(notice.end, encoding)
        out.append({"range": _range(s.line, s.character, e.line, e.character), "message": notice.message,
                    "severity": SEVERITY["information"], "source": SOURCE, "code": notice.code})
    if not config.rule_disabled(UNCHECKED_RULE):
        severity = SEVERITY[config.severity_overrides.get(UNCHECKED_RULE, "error")]
        for hit in doc.unchecked:
            s, e = index.position(hit.start, encoding), index.position(hit.end, encoding)
            out.append({"range": _range(s.line, s.character, e.line, e.character),
                        "message": unchecked_message(rulebook, hit), "severity": severity, "source": SOURCE,
                        "code": UNCHECKED_RULE, "data": {"ruleId": UNCHECKED_RULE, "fixable": False}})
    key = (encoding, id(config))
    for seg in doc.segments:
        converted = seg.views.get(key)
        if converted is None:
            converted = seg.views[key] = _convert_segment(seg, encoding, config, rulebook)
        first_line = index.line_of(seg.start)
        for sl, sc, el, ec, payload in converted:
            out.append({"range": _range(first_line + sl, sc, first_line + el, ec), **payload})
    return out


def _convert_segment(seg, encoding: str, config: Config, rulebook: Rulebook) -> list[tuple]:
    local = LineIndex(seg.source)
    converted = []
    for f in seg.findings:
        s = local.position(f.start - seg.start, encoding)
        e = local.position(f.end - seg.start, encoding)
        severity = config.severity_overrides.get(f.rule.id, f.rule.severity)
        payload = {"message": f.message, "severity": SEVERITY[severity], "source": SOURCE, "code": f.rule.id,
                   "data": {"ruleId": f.rule.id, "fixable": f.rule.fix is not None}}
        url = rulebook.paragraphs[f.rule.hipaa[0]].ecfr_url
        if url:
            payload["codeDescription"] = {"href": url}
        converted.append((s.line, s.character, e.line, e.character, payload))
    return converted
