"""Command line: `hipaa-lsp serve | scan | rules | explain`.

Exit codes of `scan`: 0 no findings, 1 findings, 2 usage or internal error.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import logging
import os
import sys
from pathlib import Path

from . import __version__
from .config import Config, config_from

# Folders never worth scanning: dependencies, caches, VCS internals.
DEFAULT_EXCLUDES = (".git/", ".hg/", ".svn/", "node_modules/", ".venv/", "venv/", "__pycache__/",
                    ".tox/", ".mypy_cache/", ".pytest_cache/", "dist/", "build/")
IGNORE_FILE = ".hipaa-lspignore"


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hipaa-lsp", description="HIPAA-focused security linter for configuration files.")
    p.add_argument("--version", action="version", version=f"hipaa-lsp {__version__}")
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                   help="logging level on stderr (default WARNING)")
    sub = p.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--stdio", action="store_true", help="use stdio (the default)")
    serve.add_argument("--tcp", metavar="HOST:PORT",
                       help="listen on TCP instead of stdio: loopback only, one client per process; "
                            "set HIPAA_LSP_TCP_TOKEN to require a token as the client's first line")

    scan = sub.add_parser("scan", help="scan files or folders")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.add_argument("--format", choices=["text", "json", "sarif"], default="text")
    scan.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE instead of stdout")
    scan.add_argument("--fix", action="store_true",
                      help="apply all safe fixes in place (not those marked for review), then report what remains")
    scan.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                      help=f"skip paths matching GLOB (gitignore-style; repeatable; also read from {IGNORE_FILE})")
    scan.add_argument("--disable", action="append", default=[], metavar="RULE_ID", help="disable a rule (repeatable)")
    scan.add_argument("--config", metavar="FILE", help="JSON file with hipaaLsp settings")
    scan.add_argument("--kind", action="append", default=[], metavar="GLOB=KIND",
                      help="treat files matching GLOB as KIND (see `hipaa-lsp rules --kinds`)")
    scan.add_argument("--no-color", action="store_true", help="plain text output")

    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=["text", "json", "markdown", "coverage", "mapping"], default="text")
    rules.add_argument("--kinds", action="store_true", help="list the file kinds instead")
    rules.add_argument("--output", "-o", metavar="FILE")

    explain = sub.add_parser("explain", help="explain a rule")
    explain.add_argument("rule_id")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help/--version
        return int(exc.code or 0)
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, args.log_level),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # pygls logs every message at INFO: keep it quiet unless asked.
    logging.getLogger("pygls").setLevel(max(logging.WARNING, getattr(logging, args.log_level)))
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "scan":
            return _scan(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "explain":
            return _explain(args)
        parser.print_help(sys.stderr)
        return 2
    except UsageError as exc:
        print(f"hipaa-lsp: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - report, never a traceback wall for users
        logging.getLogger("hipaa_lsp").debug("internal error", exc_info=True)
        print(f"hipaa-lsp: internal error: {exc}", file=sys.stderr)
        return 2


def _serve(args) -> int:
    from . import transport
    from .server import create_server

    if args.tcp:
        try:
            host, port = transport.parse_tcp_address(args.tcp)  # loopback only
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        return transport.serve_tcp(create_server(), host, port, on_listening=lambda h, p: print(
            f"hipaa-lsp: listening on {h}:{p} (one client)", file=sys.stderr, flush=True))
    # Bounded frames, and the LSP exit code (0 after shutdown, 1 without).
    return transport.serve_stdio(create_server())


# -------------------------------------------------------------------------------------------- scan


def _load_config(args) -> Config:
    config = Config()
    if args.config:
        try:
            settings = json.loads(Path(args.config).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read --config {args.config}: {exc}") from exc
        config, problems = config_from(settings)
        for p in problems:
            print(f"hipaa-lsp: --config: {p}", file=sys.stderr)
    associations = dict(config.file_associations)
    for item in args.kind:
        glob, sep, kind = item.partition("=")
        if not sep:
            raise UsageError(f"--kind takes GLOB=KIND, got {item!r}")
        from .detect import KINDS

        if kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}; see `hipaa-lsp rules --kinds`")
        associations[glob] = kind
    return Config(debounce_ms=config.debounce_ms, disabled_rules=config.disabled_rules | set(args.disable),
                  severity_overrides=config.severity_overrides, max_file_size_kb=config.max_file_size_kb,
                  file_associations=associations, product_versions=config.product_versions)


def _ignore_patterns(root: Path, extra: list[str]) -> list[str]:
    patterns = list(DEFAULT_EXCLUDES) + list(extra)
    ignore = root / IGNORE_FILE
    if ignore.is_file():
        for line in ignore.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                patterns.append(line)
    return patterns


def _ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        pat = pattern.rstrip("/")
        if dir_only and not is_dir:
            continue
        if pat.startswith("/"):
            if fnmatch.fnmatch(rel, pat[1:]):
                return True
        elif fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, "*/" + pat):
            return True
    return False


def collect_files(paths: list[str], excludes: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_file():
            files.append(p)
            continue
        if not p.is_dir():
            raise UsageError(f"no such file or folder: {raw}")
        patterns = _ignore_patterns(p, excludes)
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            rel_dir = Path(dirpath).relative_to(p).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir + "/"
            dirnames[:] = sorted(d for d in dirnames if not _ignored(rel_dir + d, True, patterns))
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if not full.is_symlink() and not _ignored(rel_dir + name, False, patterns):
                    files.append(full)
    return files


def _scan(args) -> int:
    from .analysis import analyze
    from .fixes import apply_edits, plan_fix
    from .rulebook import load_rulebook

    config = _load_config(args)
    rulebook = load_rulebook()
    unknown = sorted(r for r in config.disabled_rules if r not in rulebook.rules)
    if unknown:
        print(f"hipaa-lsp: unknown rule ids in --disable/disabledRules: {', '.join(unknown)}", file=sys.stderr)
    reports = []
    for path in collect_files(args.paths, args.exclude):
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"hipaa-lsp: cannot read {path}: {exc}", file=sys.stderr)
            continue
        report = analyze(str(path), data, rulebook, config)
        if report.kind is None:
            continue
        if args.fix and report.findings:
            edits = [e for f in report.findings if (plan := plan_fix(f, data)) and plan.safe for e in plan.edits]
            if edits:
                fixed = apply_edits(data, edits)
                if fixed != data:
                    path.write_bytes(fixed)
                    report = analyze(str(path), fixed, rulebook, config)
        reports.append(report)
    output = _render(args.format, reports, rulebook, config, color=not args.no_color and not args.output
                     and sys.stdout.isatty())
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        sys.stdout.write(output)
    return 1 if any(r.findings for r in reports) else 0


def _render(fmt: str, reports, rulebook, config: Config, color: bool) -> str:
    if fmt == "sarif":
        from .sarif import to_sarif

        return json.dumps(to_sarif(reports, rulebook, Path.cwd(), config.severity_overrides), indent=2) + "\n"
    if fmt == "json":
        return json.dumps(_json_report(reports, rulebook, config), indent=2) + "\n"
    return _text_report(reports, rulebook, config, color)


def _json_report(reports, rulebook, config: Config) -> dict:
    from .fixes import plan_fix
    from .positions import UTF16, LineIndex

    files = []
    for r in reports:
        index = LineIndex(r.data)
        findings = []
        for f in sorted(r.findings, key=lambda f: f.start):
            s, e = index.position(f.start, UTF16), index.position(f.end, UTF16)
            findings.append({
                "ruleId": f.rule.id, "title": f.rule.title,
                "severity": config.severity_overrides.get(f.rule.id, f.rule.severity),
                "message": f.message,
                "range": {"start": {"line": s.line + 1, "column": s.character + 1},
                          "end": {"line": e.line + 1, "column": e.character + 1}},
                "hipaa": [{"id": p, "title": rulebook.paragraphs[p].title,
                           "requirement": rulebook.paragraphs[p].requirement} for p in f.rule.hipaa],
                "fixable": plan_fix(f, r.data) is not None,
            })
        files.append({"path": r.path, "kind": r.kind.id if r.kind else None,
                      "notices": [n.message for n in r.notices], "findings": findings})
    total = sum(len(f["findings"]) for f in files)
    return {"tool": "hipaa-lsp", "version": __version__, "files": files,
            "summary": {"files": len(files), "findings": total}}


def _text_report(reports, rulebook, config: Config, color: bool) -> str:
    from .positions import UTF32, LineIndex

    paint = {"error": "\033[31m", "warning": "\033[33m", "information": "\033[36m", "hint": "\033[2m"}
    out = []
    counts: dict[str, int] = {}
    for r in reports:
        index = LineIndex(r.data)
        for n in r.notices:
            pos = index.position(n.start, UTF32)
            out.append(f"{r.path}:{pos.line + 1}:{pos.character + 1}: note {n.message}")
        for f in sorted(r.findings, key=lambda f: f.start):
            severity = config.severity_overrides.get(f.rule.id, f.rule.severity)
            counts[severity] = counts.get(severity, 0) + 1
            pos = index.position(f.start, UTF32)
            label = f"{paint[severity]}{severity}\033[0m" if color else severity
            out.append(f"{r.path}:{pos.line + 1}:{pos.character + 1}: {label} {f.rule.id} {f.message}")
            for pid in f.rule.hipaa:
                p = rulebook.paragraphs[pid]
                out.append(f"    HIPAA 45 CFR § {p.id} {p.title} ({p.requirement})")
    total = sum(counts.values())
    summary = ", ".join(f"{counts[s]} {s}" for s in ("error", "warning", "information", "hint") if s in counts)
    out.append(f"\n{len(reports)} configuration files checked, {total} findings" + (f" ({summary})" if summary else "") + ".")
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------ rules, explain


def _rules(args) -> int:
    from .docs import rules_markdown
    from .rulebook import load_rulebook

    rulebook = load_rulebook()
    if args.kinds:
        from .detect import KINDS

        text = "\n".join(f"{k.id:22} {k.technology:14} {k.title}" for k in KINDS.values()) + "\n"
    elif args.format == "json":
        text = json.dumps([{
            "id": r.id, "title": r.title, "severity": r.severity, "technology": r.technology,
            "kinds": list(r.kinds), "hipaa": list(r.hipaa), "rationale": r.rationale,
            "remediation": r.remediation, "fixable": r.fix is not None, "references": list(r.references),
        } for r in sorted(rulebook.rules.values(), key=lambda r: r.id)], indent=2) + "\n"
    elif args.format == "markdown":
        text = rules_markdown(rulebook)
    elif args.format == "coverage":
        from .docs import coverage_markdown

        text = coverage_markdown(rulebook)
    elif args.format == "mapping":
        from .docs import mapping_yaml

        text = mapping_yaml(rulebook)
    else:
        text = "\n".join(f"{r.id:24} {r.severity:12} {r.title}" for r in
                         sorted(rulebook.rules.values(), key=lambda r: r.id)) + f"\n\n{len(rulebook.rules)} rules\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _explain(args) -> int:
    from .explain import rule_text
    from .rulebook import load_rulebook

    rulebook = load_rulebook()
    rule = rulebook.rules.get(args.rule_id.upper())
    if rule is None:
        raise UsageError(f"unknown rule {args.rule_id!r}; see `hipaa-lsp rules`")
    print(rule_text(rule, rulebook))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
