"""CI gates: what a scan shows and whether it fails, after severity overrides and the baseline.

Every output format is written from one `ScanReport`, so they all agree on which findings are shown,
their severity (overrides applied), their `hipaaLsp/v2` fingerprint and whether they fail the gate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import SEVERITY_NAMES, Config
from .results import FileResult, FindingRecord, display_path, fingerprint, with_occurrences

if TYPE_CHECKING:  # the CLI imports this module to parse its arguments: keep the rules' loader out
    from .rulebook import Rulebook

FAIL_ON = (*SEVERITY_NAMES, "never")
DEFAULT_FAIL_ON = "warning"
FINGERPRINT_VERSION = "hipaaLsp/v2"


class BaselineError(Exception):
    pass


def fails(severity: str, fail_on: str) -> bool:
    """True when `severity` is at or above the gate `fail_on` (error > warning > information > hint)."""
    if fail_on == "never":
        return False
    return SEVERITY_NAMES.index(severity) <= SEVERITY_NAMES.index(fail_on)


@dataclass(frozen=True, slots=True)
class Shown:
    """A finding as every report shows it."""

    record: FindingRecord
    severity: str       # after severity overrides
    fingerprint: str    # computed over all of the file's findings, so hiding some never shifts the others
    failing: bool       # at or above the gate


@dataclass
class FileView:
    result: FileResult
    rel: str                                  # relative to the base folder, as fingerprints use it
    findings: list[Shown] = field(default_factory=list)

    @property
    def shown_path(self) -> str:
        return display_path(self.result.path)

    @property
    def shown_rel(self) -> str:
        """The relative path as CI systems want it, printable (undecodable bytes as \\xNN)."""
        return display_path(self.rel)


@dataclass
class ScanReport:
    files: list[FileView]
    problems: list[tuple[str, str]]
    fail_on: str
    base: Path
    baseline_used: bool = False
    baselined: int = 0    # findings matched by the baseline, left out
    fixed: int = 0        # baseline entries of scanned (or deleted) files that matched nothing

    def all_findings(self) -> list[tuple[FileView, Shown]]:
        return [(f, s) for f in self.files for s in f.findings]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, s in self.all_findings():
            out[s.severity] = out.get(s.severity, 0) + 1
        return out

    @property
    def failing(self) -> int:
        return sum(s.failing for _, s in self.all_findings())

    @property
    def exit_code(self) -> int:
        return 1 if self.failing else 0


def build_report(results: list[FileResult], rulebook: Rulebook, config: Config, base: Path, fail_on: str,
                 baseline: Baseline | None = None, problems: list[tuple[str, str]] = ()) -> ScanReport:
    from .reports import relative, severity_of

    report = ScanReport([], list(problems), fail_on, base, baseline_used=baseline is not None)
    matched: set[str] = set()
    for r in results:
        rel = relative(r.path, base)
        view = FileView(r, rel)
        for f, occurrence in with_occurrences(r.findings):
            fp = fingerprint(f.rule_id, rel, f.key, occurrence)
            if baseline is not None and fp in baseline.fingerprints:
                matched.add(fp)
                report.baselined += 1
                continue
            severity = severity_of(f.rule_id, rulebook, config)  # overrides apply before the gate
            view.findings.append(Shown(f, severity, fp, fails(severity, fail_on)))
        report.files.append(view)
    if baseline is not None:
        scanned = {display_path(v.rel) for v in report.files}
        for fp, path in baseline.fingerprints.items():
            # An entry of a file this run did not look at (excluded, or outside the paths given) is not
            # "fixed"; one of a scanned file, or of a file that is gone, is.
            if fp not in matched and (path in scanned or not (base / path).exists()):
                report.fixed += 1
    return report


# ------------------------------------------------------------------------------------------ baseline


@dataclass
class Baseline:
    fingerprints: dict[str, str]   # fingerprint -> relative path (display form)


def load_baseline(path: str) -> Baseline:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BaselineError(f"cannot read --baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("fingerprintVersion") != FINGERPRINT_VERSION \
            or not isinstance(data.get("findings"), list):
        raise BaselineError(f"--baseline {path} is not a hipaa-lsp baseline with {FINGERPRINT_VERSION} fingerprints")
    out: dict[str, str] = {}
    for entry in data["findings"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str)
                and isinstance(entry.get("path", ""), str)):
            raise BaselineError(f"--baseline {path}: bad entry {entry!r:.80}")
        out[entry["fingerprint"]] = entry.get("path", "")
    return Baseline(out)


def baseline_document(report: ScanReport) -> dict:
    """Every finding of this scan (those the old baseline hid too): rule, path, fingerprint; never a message."""
    entries = []
    for r in report.files:
        for f, occurrence in with_occurrences(r.result.findings):
            entries.append({"ruleId": f.rule_id, "path": display_path(r.rel),
                            "fingerprint": fingerprint(f.rule_id, r.rel, f.key, occurrence)})
    entries.sort(key=lambda e: (e["path"], e["ruleId"], e["fingerprint"]))
    return {"tool": "hipaa-lsp", "version": __version__, "fingerprintVersion": FINGERPRINT_VERSION,
            "findings": entries}


def write_baseline(path: str, document: dict) -> None:
    try:
        Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write --write-baseline {path}: {exc}") from None
