"""Command line: `hipaa-lsp serve | scan | rules | explain`.

Exit codes of `scan`: 0 no finding at or above the gate (`--fail-on`, default warning), 1 findings at
or above it, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from . import __version__
from .config import Config
from .file_walk import IGNORE_FILE
from .log_safety import install_log_safety

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

    from .gates import FAIL_ON

    scan = sub.add_parser("scan", help="scan files or folders")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    scan.add_argument("--format", action="append", default=[], metavar="NAME[=PATH]",
                      help="report format: text (default), json, sarif, junit, github, gitlab or markdown; "
                           "=PATH writes it to PATH; repeatable, at most one to standard output")
    scan.add_argument("--output", "-o", metavar="FILE",
                      help="write the report to FILE instead of stdout (with a single --format)")
    scan.add_argument("--fail-on", choices=FAIL_ON, default=None,
                      help="exit 1 when a finding is at or above this severity (default warning)")
    scan.add_argument("--baseline", metavar="FILE",
                      help="report only findings whose fingerprints are not in FILE")
    scan.add_argument("--write-baseline", metavar="FILE",
                      help="write every finding of this scan to FILE as the new baseline (and apply it)")
    scan.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                      help="colours in text on standard output (auto: on a terminal, unless NO_COLOR is set)")
    scan.add_argument("--fix", action="store_true",
                      help="apply all safe fixes in place (not those marked for review), then report what remains")
    scan.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                      help=f"skip paths matching GLOB (gitignore-style; repeatable; also read from {IGNORE_FILE})")
    scan.add_argument("--disable", action="append", default=[], metavar="RULE_ID", help="disable a rule (repeatable)")
    scan.add_argument("--config", metavar="FILE",
                      help="project configuration (TOML, as .hipaa-lsp.toml) for every scanned file, instead of "
                           "discovering it per file; the legacy JSON settings file is still read (deprecated)")
    scan.add_argument("--kind", action="append", default=[], metavar="GLOB=KIND",
                      help="treat files matching GLOB as KIND (see `hipaa-lsp rules --kinds`)")
    scan.add_argument("--no-color", action="store_true", help="plain text output")
    scan.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                      help="analysis processes (default: one per CPU core)")

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
    install_log_safety()  # no message bodies or secrets in any log line
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
    except BrokenPipeError:  # `hipaa-lsp rules | head`: the reader has all it wanted
        _silence_stdout()
        return 1
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


class _Configs:
    """The configuration of each scanned file: `--config FILE` for all of them, else the project
    file discovered from each file (see `project_config.py`); CLI options apply last."""

    def __init__(self, args, base: Config, fixed=None, finder=None):
        self.args, self.base, self.fixed, self.finder = args, base, fixed, finder
        self.noted: set[str] = set()  # notes already printed (an extended file's, once)
        # The reports take one severity table (reports.py has no per-file severity yet): the
        # project files' overrides are gathered into it as files are resolved.
        self.severities: dict[str, str] = {}
        summary = self.for_file(args.paths[0]) if args.paths else base
        self.summary = replace(summary, severity_overrides=self.severities)  # for the reports

    def _project(self, path: str, is_dir: bool = False):
        from .project_config import ConfigError

        if self.fixed is not None:
            return self.fixed
        if self.finder is None:
            return None
        try:
            project = self.finder.project_for(path, is_dir)
        except ConfigError as exc:
            _config_error(exc)
        for note in project.notes if project is not None else ():
            if note not in self.noted:
                self.noted.add(note)
                print(f"hipaa-lsp: note: {note}", file=sys.stderr)
        return project

    def for_file(self, path: str) -> Config:
        project = self._project(path, os.path.isdir(path))
        config = project.config_for(path, self.base) if project is not None else self.base
        kinds = {}
        for item in self.args.kind:  # --kind wins over the project's associations
            glob, _, kind = item.partition("=")
            kinds[glob] = kind
        for rule, level in config.severity_overrides.items():
            if self.severities.setdefault(rule, level) != level:
                note = f"severity of {rule} differs between project files; the report shows {self.severities[rule]}"
                if note not in self.noted:
                    self.noted.add(note)
                    print(f"hipaa-lsp: note: {note}", file=sys.stderr)
        return replace(config, file_associations={**kinds, **config.file_associations},
                       rule_layers=config.rule_layers + ((tuple(r.upper() for r in self.args.disable), ()),))

    def excluded(self, path: str, is_dir: bool) -> bool:
        project = self._project(path, is_dir)
        return project is not None and project.excluded(path, is_dir)


def _config_error(exc) -> None:
    print(f"{_shown(_near(exc.path))}:{exc.line}: {exc.message}", file=sys.stderr)
    raise UsageError("invalid configuration file; nothing scanned")


def _near(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _load_config(args) -> _Configs:
    from .detect import KINDS
    from .project_config import ConfigError, ProjectFinder, discover, legacy_json, load_project
    from .rulebook import load_rulebook

    for item in args.kind:
        glob, sep, kind = item.partition("=")
        if not sep:
            raise UsageError(f"--kind takes GLOB=KIND, got {item!r}")
        if kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}; see `hipaa-lsp rules --kinds`")
    rule_ids = frozenset(load_rulebook().rules)
    unknown = sorted(r for r in args.disable if r.upper() not in rule_ids)
    if unknown:
        print(f"hipaa-lsp: unknown rule ids in --disable/disabledRules: {', '.join(unknown)}", file=sys.stderr)
    if not args.config:
        # Discovery per file: the closest project file wins (stops at the git root).
        return _Configs(args, Config(), finder=ProjectFinder(rule_ids=rule_ids))
    path = os.path.abspath(args.config)
    try:
        with open(path, "rb") as handle:
            text = handle.read((1 << 20) + 1).decode("utf-8", "replace")
    except OSError as exc:
        raise UsageError(f"cannot read --config {args.config}: {exc.strerror or exc}") from None
    if path.endswith(".json") or text.lstrip().startswith("{"):
        print(f"hipaa-lsp: --config {args.config}: JSON settings are deprecated; use a .hipaa-lsp.toml "
              "(see README, Project configuration)", file=sys.stderr)
        config, errors = legacy_json(path, text)
        if errors:
            for exc in errors[:-1]:
                print(f"{_shown(_near(exc.path))}:{exc.line}: {exc.message}", file=sys.stderr)
            _config_error(errors[-1])
        return _Configs(args, config)
    try:
        project = load_project(path, discover(os.path.dirname(path))[1], rule_ids)
    except ConfigError as exc:
        _config_error(exc)
    for note in project.notes:
        print(f"hipaa-lsp: note: {note}", file=sys.stderr)
    return _Configs(args, Config(), fixed=project)


def _scan(args) -> int:
    from .file_walk import MissingPath, collect_files
    from .rulebook import load_rulebook
    from .worker_pool import ScanPool

    configs = _load_config(args)
    config = configs.summary
    rulebook = load_rulebook()
    unknown = sorted(r for r in config.disabled_rules if r not in rulebook.rules)
    if unknown:
        print(f"hipaa-lsp: unknown rule ids in --disable/disabledRules: {', '.join(unknown)}", file=sys.stderr)
    try:
        walk = collect_files(args.paths, args.exclude, configs.excluded)
    except MissingPath as exc:
        raise UsageError(str(exc)) from None
    for path, why in walk.problems:
        print(f"hipaa-lsp: {_shown(path)}: {why}", file=sys.stderr)
    outputs, fail_on, baseline = _output_options(args, config)  # usage errors before any analysis
    results = []
    if walk.files:
        jobs = args.jobs if args.jobs > 0 else (os.cpu_count() or 1)
        pool = ScanPool(min(jobs, len(walk.files)), logging.getLogger("hipaa_lsp").getEffectiveLevel())
        try:
            timeout = config.limits.analysis_timeout_ms / 1000
            tasks = [("scan_file", (path, configs.for_file(path), args.fix)) for path in walk.files]
            for (_, (path, _, _)), outcome in pool.run(tasks, timeout):
                result = _outcome(path, outcome, rulebook)
                if result is not None:
                    results.append(result)
        finally:
            pool.close()
    results.sort(key=lambda r: os.fsencode(r.path))
    for r in results:
        if r.fix_outcome and r.fix_outcome.startswith("not fixed"):
            print(f"hipaa-lsp: {_shown(r.path)}: {r.fix_outcome}", file=sys.stderr)
    return _report(args, outputs, fail_on, baseline, results, rulebook, config, walk.problems)


# Outputs, gate and baseline (kept apart from the configuration loading above, which is worked on separately).


def _outputs(args) -> list[tuple[str, str | None]]:
    """(format, path or None for stdout) for every `--format NAME[=PATH]`, checked before scanning."""
    from .ci_formats import FORMATS

    outputs = []
    for spec in args.format or ["text"]:
        name, sep, path = spec.partition("=")
        if name not in FORMATS:
            raise UsageError(f"unknown --format {name!r}; choose from {', '.join(FORMATS)}")
        if sep and not path:
            raise UsageError(f"--format {spec!r}: give a path after '='")
        outputs.append((name, path or None))
    if args.output:
        if len(outputs) != 1 or outputs[0][1] is not None:
            raise UsageError("-o/--output goes with a single --format; use --format NAME=PATH for several")
        outputs = [(outputs[0][0], args.output)]
    to_stdout = [name for name, path in outputs if path is None]
    if len(to_stdout) > 1:
        raise UsageError(f"only one format can go to standard output ({', '.join(to_stdout)}); "
                         "give the others a path: --format NAME=PATH")
    paths = [path for _, path in outputs if path is not None]
    if len(set(paths)) != len(paths):
        raise UsageError("two formats would write the same file")
    return outputs


def _output_options(args, config: Config):
    from .gates import BaselineError, load_baseline

    outputs, fail_on, baseline = _outputs(args), _gate(args, config), None
    if args.baseline:
        try:
            baseline = load_baseline(args.baseline)
        except BaselineError as exc:
            raise UsageError(str(exc)) from None
    return outputs, fail_on, baseline


def _gate(args, config: Config) -> str:
    from .gates import DEFAULT_FAIL_ON, FAIL_ON

    fail_on = args.fail_on or config.fail_on or DEFAULT_FAIL_ON  # the flag wins over the project file
    if fail_on not in FAIL_ON:
        raise UsageError(f"fail-on must be one of {'|'.join(FAIL_ON)}, got {fail_on!r}")
    return fail_on


def _color(args) -> bool:
    mode = "never" if args.no_color else args.color
    if mode != "auto":
        return mode == "always"
    # https://no-color.org: a non-empty NO_COLOR turns colours off.
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _render(name: str, report, rulebook, color: bool) -> str:
    from .reports import json_report, text_report

    if name == "text":
        return text_report(report, rulebook, color)
    if name == "json":
        return json.dumps(json_report(report, rulebook), indent=2) + "\n"
    if name == "sarif":
        from .sarif import to_sarif

        return json.dumps(to_sarif(report, rulebook), indent=2) + "\n"
    from . import ci_formats

    if name == "gitlab":
        return json.dumps(ci_formats.gitlab_report(report, rulebook), indent=2) + "\n"
    return {"junit": ci_formats.junit_report, "github": ci_formats.github_report,
            "markdown": ci_formats.markdown_report}[name](report, rulebook)


def _report(args, outputs, fail_on, baseline, results, rulebook, config, problems) -> int:
    from .gates import Baseline, BaselineError, baseline_document, build_report, write_baseline

    base = Path.cwd()  # fingerprints hold paths relative to it: run from the repository's root
    if args.write_baseline:
        document = baseline_document(build_report(results, rulebook, config, base, fail_on))
        try:
            write_baseline(args.write_baseline, document)
        except BaselineError as exc:
            raise UsageError(str(exc)) from None
        # The run is judged against the baseline it just wrote: nothing in it is new.
        baseline = Baseline({e["fingerprint"]: e["path"] for e in document["findings"]})
    report = build_report(results, rulebook, config, base, fail_on, baseline, problems)
    stdout_format = None
    for name, path in outputs:
        if path is None:
            stdout_format = name
            continue
        try:
            Path(path).write_text(_render(name, report, rulebook, False), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the {name} report to {path}: {exc}") from None
    if stdout_format is not None:
        text = _render(stdout_format, report, rulebook, stdout_format == "text" and _color(args))
        try:
            _write_stdout(text)
        except BrokenPipeError:  # `| head`: the reader stopped; the gate's answer stands
            _silence_stdout()
    return report.exit_code


def _write_stdout(text: str) -> None:
    """All of `text` to stdout, or BrokenPipeError. Written with os.write in a loop because with
    PYTHONUNBUFFERED set, sys.stdout drops the rest of a partial write without an error."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by a non-file (tests, embedding)
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    data = memoryview(text.encode(sys.stdout.encoding or "utf-8", "backslashreplace"))
    while data:
        data = data[os.write(fd, data):]


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so the interpreter's last flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _shown(path: str) -> str:
    from .results import display_path

    return display_path(path)


def _outcome(path: str, outcome, rulebook):
    """A worker's answer for one file as a result; a lost worker becomes the built-in finding."""
    from .limits import UNCHECKED_RULE
    from .results import FileResult, FindingRecord, Pos
    from .worker_pool import WorkerFailed, WorkerLost

    if isinstance(outcome, WorkerLost):
        message = rulebook.rules[UNCHECKED_RULE].message.replace(
            "{reason}", f"{outcome} (setting analysisTimeoutMs)" if outcome.timed_out else str(outcome))
        return FileResult(path, None, [FindingRecord(UNCHECKED_RULE, message, Pos(0, 0, 0), Pos(0, 0, 0),
                                                     "worker-lost")])
    if isinstance(outcome, WorkerFailed):
        message = rulebook.rules[UNCHECKED_RULE].message.replace("{reason}", f"internal error ({outcome})")
        return FileResult(path, None, [FindingRecord(UNCHECKED_RULE, message, Pos(0, 0, 0), Pos(0, 0, 0),
                                                     "worker-failed")])
    return outcome


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
