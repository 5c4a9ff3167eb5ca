"""What a scan of one file produces, as plain data: findings with their positions and fixes.

The analysis worker builds these (`scan.file_result`: it has the bytes and the parsed model); the CLI's reports (text,
JSON, SARIF) are written from them alone, so the process that writes reports never parses a file.
Every string here has already been through the engine's redaction.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import quote



@dataclass(frozen=True, slots=True)
class Pos:
    """A position: 0-based line, 0-based column in UTF-16 code units and in code points."""

    line: int
    utf16: int
    utf32: int


@dataclass(frozen=True, slots=True)
class EditRecord:
    start: Pos
    end: Pos
    text: str


@dataclass(frozen=True, slots=True)
class FixRecord:
    title: str
    safe: bool
    edits: tuple[EditRecord, ...]


@dataclass(frozen=True, slots=True)
class FindingRecord:
    rule_id: str
    message: str
    start: Pos
    end: Pos
    # Where the finding sits in the settings model (setting path or scope key), never a value:
    # with the rule and the file it identifies the finding across edits (see `fingerprint`).
    key: str
    fix: FixRecord | None = None


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    code: str
    message: str
    start: Pos


@dataclass
class FileResult:
    path: str                    # as walked (may hold surrogate escapes for non-UTF-8 names)
    kind: str | None
    findings: list[FindingRecord] = field(default_factory=list)
    notices: list[NoticeRecord] = field(default_factory=list)
    # `scan --fix`: what happened to the file ("fixed 3", "left alone: changed since read", ...).
    fix_outcome: str | None = None


def display_path(path: str) -> str:
    """A path as text that can always be printed: undecodable bytes shown as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def uri_path(path: str) -> str:
    """A relative path as a URI reference: every byte that is not safe, percent-encoded."""
    return quote(os.fsencode(path), safe="/")


def fingerprint(rule_id: str, rel_path: str, key: str, occurrence: int) -> str:
    """`hipaaLsp/v2`: rule, repository-relative path, setting path and occurrence; no value, no line."""
    text = "\x1f".join(["hipaaLsp/v2", rule_id, uri_path(rel_path), key, str(occurrence)])
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def with_occurrences(findings: list[FindingRecord]) -> list[tuple[FindingRecord, int]]:
    """Each finding with its occurrence index among findings of the same rule and key, in file order."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for f in findings:
        n = seen.get((f.rule_id, f.key), 0)
        seen[(f.rule_id, f.key)] = n + 1
        out.append((f, n))
    return out
