"""textDocument/codeAction, computed in the analysis worker: quick fixes and the fix-all action.

Fixes marked for review are offered one by one but never marked preferred (an editor's auto-fix
applies preferred actions) and never included in fix-all.
"""

from __future__ import annotations

import bisect

from .document_store import OpenDocument
from .fixes import FixPlan, plan_fix
from .lsp_names import FIX_ALL_KIND
from .lsp_ranges import findings_at, lsp_range



def code_actions(doc: OpenDocument, start: tuple[int, int], end: tuple[int, int], quickfix: bool, fix_all: bool,
                 encoding: str) -> list[dict]:
    """Actions as LSP dicts; each quick fix carries `ruleId` so the front can attach the client's
    diagnostics of that rule."""
    actions: list[dict] = []
    if quickfix:
        s = doc.index.offset(start[0], start[1], encoding)
        e = doc.index.offset(end[0], end[1], encoding)
        for f in findings_at(doc, s, e):
            plan = plan_fix(f, doc.data)
            if plan is None:
                continue
            actions.append({"title": f"{plan.title} ({f.rule.id})", "kind": "quickfix", "isPreferred": plan.safe,
                            "edit": workspace_edit(doc, [plan], encoding), "ruleId": f.rule.id})
    if fix_all:
        action = fix_all_action(doc, encoding)
        if action is not None:
            actions.append(action)
    return actions


def fix_all_action(doc: OpenDocument, encoding: str) -> dict | None:
    """Computed once per document version and encoding: editors ask for code actions on every
    cursor move, and planning a thousand fixes each time would stall typing."""
    doc.refresh()
    key = (doc.version, encoding, id(doc.config))
    cached = getattr(doc, "fix_all_cache", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    plans = [p for p in (plan_fix(f, doc.data) for f in doc.findings) if p is not None and p.safe]
    action = {"title": f"Apply all {len(plans)} hipaa-lsp fixes", "kind": FIX_ALL_KIND,
              "edit": workspace_edit(doc, plans, encoding)} if plans else None
    doc.fix_all_cache = (key, action)
    return action


def workspace_edit(doc: OpenDocument, plans: list[FixPlan], encoding: str) -> dict:
    edits = []
    starts: list[int] = []  # the taken spans, disjoint and sorted: a plan's overlap test is a bisection
    ends: list[int] = []

    def overlaps(start: int, end: int) -> bool:
        i = bisect.bisect_left(starts, end) - 1
        return i >= 0 and ends[i] > start and starts[i] < end

    for plan in plans:
        # Skip a plan that overlaps one already taken (fix-all must produce non-overlapping edits).
        if any(overlaps(e.start, e.end) for e in plan.edits):
            continue
        for e in plan.edits:
            i = bisect.bisect_left(starts, e.start)
            starts.insert(i, e.start)
            ends.insert(i, e.end)
            edits.append({"range": lsp_range(doc.index, e.start, e.end, encoding), "newText": e.text})
    return {"documentChanges": [{"textDocument": {"uri": doc.uri, "version": doc.version}, "edits": edits}]}
