"""CI gates as a subprocess: --fail-on, severity overrides, HLSP-UNCHECKED-001, baselines, several
formats per run, closed pipes and colours; and each CI format checked against what its consumer reads."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from helpers import ROOT

SARIF_SCHEMA = ROOT.parent / "shared" / "reference" / "sarif" / "sarif-schema-2.1.0.json"
CLI = [sys.executable, "-m", "hipaa_lsp"]

# One file per severity whose findings are all of that severity, or less severe than it (checked below).
FILES = {
    "hint": ("server.xml", '<Server port="-1" shutdown="SHUTDOWN">\n  <Service name="Catalina">\n'
                           '    <Connector port="8443" SSLEnabled="true" xpoweredBy="true" />\n'
                           "  </Service>\n</Server>\n"),
    "information": ("daemon.json", '{\n  "log-driver": "journald"\n}\n'),
    "warning": ("httpd.conf", "<Directory />\n    AllowOverride None\n    Require all granted\n</Directory>\n"),
    "error": ("redis.conf", "bind 0.0.0.0\nprotected-mode no\n# requirepass foobared\n"),
}
ORDER = ("error", "warning", "information", "hint")
GATES = ("error", "warning", "information", "hint", "never")
ANSI = re.compile(r"\x1b\[")


def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "scan", "--jobs", "1", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env=env)


def make_tree(root: Path, worst: str) -> Path:
    """Files whose worst finding is `worst`: one file of that severity and one of each lower one."""
    root.mkdir(parents=True, exist_ok=True)
    for severity in ORDER[ORDER.index(worst):]:
        name, text = FILES[severity]
        (root / name).write_text(text)
    return root


def findings(result: subprocess.CompletedProcess) -> list[dict]:
    return [f for file in json.loads(result.stdout)["files"] for f in file["findings"]]


@pytest.mark.parametrize("worst", ORDER)
def test_each_gate_level_exit_code(tmp_path: Path, worst: str):
    tree = make_tree(tmp_path / worst, worst)
    seen = {f["severity"] for f in findings(run("--format", "json", "--fail-on", "never", ".", cwd=tree))}
    assert seen == set(ORDER[ORDER.index(worst):]), "the fixture files no longer give these severities"
    for gate in GATES:
        expected = 0 if gate == "never" or ORDER.index(worst) > ORDER.index(gate) else 1
        result = run("--fail-on", gate, ".", cwd=tree)
        assert result.returncode == expected, (worst, gate, result.stdout, result.stderr)
    # The default gate is warning: information and hints alone never fail a build.
    assert run(".", cwd=tree).returncode == (1 if worst in ("error", "warning") else 0)


def test_severity_override_moves_a_finding_across_the_gate(tmp_path: Path):
    tree = make_tree(tmp_path / "t", "information")
    assert run(".", cwd=tree).returncode == 0
    up = tmp_path / "up.json"
    up.write_text(json.dumps({"severityOverrides": {"DOCKER-DAEMON-NET-001": "error"}}))
    result = run("--config", str(up), ".", cwd=tree)
    assert result.returncode == 1 and "error DOCKER-DAEMON-NET-001" in result.stdout

    warn = make_tree(tmp_path / "w", "warning")
    assert run(".", cwd=warn).returncode == 1
    down = tmp_path / "down.json"
    down.write_text(json.dumps({"severityOverrides": {"HTTPD-AUTHZ-001": "information"}}))
    assert run("--config", str(down), ".", cwd=warn).returncode == 0


def test_unchecked_file_fails_the_default_gate(tmp_path: Path):
    (tmp_path / "nginx.conf").write_text("http {" * 5000)  # deeper than maxNestingDepth: not parsed
    result = run("--format", "json", ".", cwd=tmp_path)
    assert {f["ruleId"] for f in findings(result)} == {"HLSP-UNCHECKED-001"}
    assert result.returncode == 1
    assert run("--fail-on", "never", ".", cwd=tmp_path).returncode == 0


def test_baseline_survives_inserted_lines_and_shows_only_new_findings(tmp_path: Path):
    tree = make_tree(tmp_path / "repo", "error")
    baseline = tree / "hipaa-baseline.json"
    written = run("--write-baseline", str(baseline), ".", cwd=tree)
    assert written.returncode == 0, written.stdout  # judged against the baseline it wrote
    first = baseline.read_bytes()
    document = json.loads(first)
    assert document["fingerprintVersion"] == "hipaaLsp/v2" and document["version"]
    entries = document["findings"]
    assert entries == sorted(entries, key=lambda e: (e["path"], e["ruleId"], e["fingerprint"]))
    assert all(set(e) == {"ruleId", "path", "fingerprint"} for e in entries)  # no messages, no lines
    assert {e["path"] for e in entries} == {name for name, _ in FILES.values()}
    run("--write-baseline", str(baseline), ".", cwd=tree)
    assert baseline.read_bytes() == first  # stable: the same scan writes the same bytes

    redis = tree / "redis.conf"
    redis.write_text("# moved down by a comment\n\n\n" + FILES["error"][1])
    result = run("--baseline", str(baseline), "--fail-on", "hint", ".", cwd=tree)
    assert result.returncode == 0, result.stdout
    assert f"{len(entries)} findings in the baseline not shown; 0 baseline entries fixed." in result.stdout

    # A new finding in a new file: exit 1, and it is the only one shown.
    (tree / "conf").mkdir()
    (tree / "conf" / "httpd.conf").write_text(FILES["warning"][1])
    sarif_path = tmp_path / "new.sarif"
    result = run("--baseline", str(baseline), "--format", "json", "--format", f"sarif={sarif_path}", ".", cwd=tree)
    assert result.returncode == 1
    assert [(f["ruleId"]) for f in findings(result)] == ["HTTPD-AUTHZ-001"]
    sarif = json.loads(sarif_path.read_text())
    if SARIF_SCHEMA.is_file():
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert [(r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"]] == [("HTTPD-AUTHZ-001", "new")]
    assert json.loads(result.stdout)["summary"]["baseline"] == {"notShown": len(entries), "fixed": 0}

    # A fixed finding: the baseline entry that matches nothing is counted as fixed.
    redis.write_text(FILES["error"][1].replace("protected-mode no\n", ""))
    result = run("--baseline", str(baseline), "--format", "json", ".", cwd=tree)
    assert json.loads(result.stdout)["summary"]["baseline"]["fixed"] == 1


def test_baseline_entries_of_files_not_scanned_are_not_fixed(tmp_path: Path):
    tree = make_tree(tmp_path / "repo", "error")
    baseline = tmp_path / "b.json"
    run("--write-baseline", str(baseline), ".", cwd=tree)
    result = run("--baseline", str(baseline), "--format", "json", "redis.conf", cwd=tree)
    assert json.loads(result.stdout)["summary"]["baseline"]["fixed"] == 0


def test_bad_baseline_and_usage_errors_exit_2(tmp_path: Path):
    tree = make_tree(tmp_path / "t", "error")
    bad = tmp_path / "bad.json"
    bad.write_text('{"findings": []}')
    assert run("--baseline", str(bad), ".", cwd=tree).returncode == 2
    assert run("--baseline", str(tmp_path / "missing.json"), ".", cwd=tree).returncode == 2
    assert run("--format", "json", "--format", "sarif", ".", cwd=tree).returncode == 2  # two on stdout
    assert run("--format", "json", "--format", "sarif", "-o", "x", ".", cwd=tree).returncode == 2
    assert run("--format", "yaml", ".", cwd=tree).returncode == 2
    assert run("--format", "json=a", "--format", "sarif=a", ".", cwd=tree).returncode == 2
    assert run("--fail-on", "critical", ".", cwd=tree).returncode == 2


def test_config_fail_on_is_the_default_and_the_flag_wins():
    from types import SimpleNamespace

    from hipaa_lsp.cli import UsageError, _gate
    from hipaa_lsp.config import Config

    assert _gate(SimpleNamespace(fail_on=None), Config()) == "warning"
    assert _gate(SimpleNamespace(fail_on=None), Config(fail_on="error")) == "error"
    assert _gate(SimpleNamespace(fail_on="hint"), Config(fail_on="error")) == "hint"
    with pytest.raises(UsageError):
        _gate(SimpleNamespace(fail_on=None), Config(fail_on="loud"))


def test_several_formats_in_one_run(tmp_path: Path):
    tree = make_tree(tmp_path / "repo", "error")
    out = tmp_path / "out"
    out.mkdir()
    names = {"json": "r.json", "sarif": "r.sarif", "junit": "junit.xml", "github": "gh.txt",
             "gitlab": "gl-code-quality.json", "markdown": "summary.md"}
    result = run(*[a for fmt, name in names.items() for a in ("--format", f"{fmt}={out / name}")],
                 "--format", "text", "--fail-on", "error", ".", cwd=tree)
    assert result.returncode == 1, result.stderr
    assert "redis.conf:2:16: error REDIS-NET-001" in result.stdout  # text still on stdout

    report = json.loads((out / "r.json").read_text())
    all_findings = [f for file in report["files"] for f in file["findings"]]
    failing = [f for f in all_findings if f["failsGate"]]
    assert failing and all(f["severity"] == "error" for f in failing)
    assert report["summary"]["failOn"] == "error"

    sarif = json.loads((out / "r.sarif").read_text())
    if SARIF_SCHEMA.is_file():
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    assert len(sarif["runs"][0]["results"]) == len(all_findings)

    suites = ET.fromstring((out / "junit.xml").read_text())
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(all_findings) == int(suites.get("tests"))
    assert len(suites.findall("./testsuite/testcase/failure")) == len(failing) == int(suites.get("failures"))
    assert {s.get("name") for s in suites.findall("testsuite")} == {name for name, _ in FILES.values()}

    issues = json.loads((out / "gl-code-quality.json").read_text())
    _check_gitlab(issues)
    assert len(issues) == len(all_findings)
    assert {i["fingerprint"] for i in issues} == {f["fingerprint"] for f in all_findings}

    annotations = (out / "gh.txt").read_text().splitlines()
    assert len(annotations) == len(all_findings)
    pattern = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,"
                         r"title=[A-Z0-9-]+::.+$")
    assert all(pattern.match(a) for a in annotations), annotations
    assert any(a.startswith("::error file=redis.conf,line=2,col=16,") for a in annotations)

    md = (out / "summary.md").read_text()
    assert "| error | 2 | yes |" in md and "| warning | 3 | no |" in md
    assert "Access control" in md and "REDIS-NET-001" in md


def _check_gitlab(issues: list) -> None:
    """GitLab's code quality report: the fields its documentation marks as required."""
    assert isinstance(issues, list)
    for issue in issues:
        assert isinstance(issue["description"], str) and issue["description"]
        assert isinstance(issue["check_name"], str) and issue["check_name"]
        assert isinstance(issue["fingerprint"], str) and issue["fingerprint"]
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
        assert isinstance(issue["location"]["path"], str) and not issue["location"]["path"].startswith("/")
        assert isinstance(issue["location"]["lines"]["begin"], int) and issue["location"]["lines"]["begin"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)


@pytest.mark.parametrize("unbuffered", [False, True])
def test_stdout_closed_early_ends_quietly(tmp_path: Path, unbuffered: bool):
    # Far more than a pipe buffer holds, so the writer really meets the closed pipe.
    for i in range(120):
        (tmp_path / f"svc{i:03}").mkdir()
        (tmp_path / f"svc{i:03}" / "redis.conf").write_text(FILES["error"][1])
    full = run("--format", "github", ".", cwd=tmp_path)
    assert len(full.stdout.encode()) > 2 * 65536
    # Python's stdout behaves differently with PYTHONUNBUFFERED (a partial write is dropped silently).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    for fmt in ("text", "github"):
        proc = subprocess.Popen([*CLI, "scan", "--format", fmt, "."], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        assert proc.stdout.readline()
        proc.stdout.close()  # what `| head -1` does
        stderr = proc.stderr.read().decode()
        code = proc.wait(timeout=120)
        assert "Traceback" not in stderr and "internal error" not in stderr and "Exception" not in stderr, stderr
        assert code == 1  # the gate still decides


def _run_on_pty(args: list[str], cwd: Path, env: dict) -> bytes:
    master, slave = pty.openpty()
    proc = subprocess.Popen([*CLI, "scan", "--jobs", "1", *args], cwd=cwd, stdout=slave, stderr=subprocess.DEVNULL,
                            env=env)
    os.close(slave)
    out = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=60)
    os.close(master)
    return out


def test_colours_only_on_a_terminal_and_never_with_no_color(tmp_path: Path):
    tree = make_tree(tmp_path / "t", "error")
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["TERM"] = "xterm"
    tty = _run_on_pty(["."], tree, env)
    assert b"REDIS-NET-001" in tty and ANSI.search(tty.decode()), "a terminal gets colours"
    assert not ANSI.search(_run_on_pty(["--no-color", "."], tree, env).decode())
    assert not ANSI.search(_run_on_pty(["--color", "never", "."], tree, env).decode())
    no_color = _run_on_pty(["."], tree, {**env, "NO_COLOR": "1"})
    assert b"REDIS-NET-001" in no_color and not ANSI.search(no_color.decode())
    piped = run(".", cwd=tree, env=env)
    assert "REDIS-NET-001" in piped.stdout and not ANSI.search(piped.stdout)
    assert ANSI.search(run("--color", "always", ".", cwd=tree, env=env).stdout)
    # Reports written to files never carry colours.
    run("--color", "always", "--format", f"text={tmp_path / 'r.txt'}", ".", cwd=tree, env=env)
    assert not ANSI.search((tmp_path / "r.txt").read_text())


# ------------------------------------------------------------------ escaping, on a hostile message


def _hostile_report(message: str, path: str = "conf/app.conf"):
    from hipaa_lsp.config import Config
    from hipaa_lsp.gates import build_report
    from hipaa_lsp.results import FileResult, FindingRecord, Pos
    from hipaa_lsp.rulebook import load_rulebook

    rulebook = load_rulebook()
    record = FindingRecord("REDIS-NET-001", message, Pos(1, 15, 15), Pos(1, 17, 17), "protected-mode")
    return build_report([FileResult(path, "redis-conf", [record])], rulebook, Config(), Path("/nonexistent"),
                        "warning"), rulebook


def test_github_annotations_escape_commands():
    from hipaa_lsp.ci_formats import github_report

    report, rulebook = _hostile_report("100% bad\r\n::error file=x::injected", path="a,b:c%.conf")
    [line] = github_report(report, rulebook).splitlines()
    assert "file=a%2Cb%3Ac%25.conf," in line
    assert line.split("::", 2)[2].startswith("100%25 bad%0D%0A::error file=x::injected")


def test_junit_holds_control_characters_and_markup():
    from hipaa_lsp.ci_formats import junit_report

    report, rulebook = _hostile_report('<b>"x"</b> & \x1b[31m\x00 ]]>')
    root = ET.fromstring(junit_report(report, rulebook))
    failure = root.find("./testsuite/testcase/failure")
    assert failure.get("message") == '<b>"x"</b> & \\x1b[31m\\x00 ]]>'


def _outside_code_spans(markdown: str) -> str:
    """The text CommonMark does not put inside code spans: a backtick run opens one that only a run of
    the same length closes; an unmatched run is literal."""
    out, i = [], 0
    while i < len(markdown):
        if markdown[i] == "`":
            n = len(re.match(r"`+", markdown[i:]).group())
            close = re.compile(r"(?<!`)`{%d}(?!`)" % n).search(markdown, i + n)
            if close:
                i = close.end()
                continue
            out.append(markdown[i:i + n])
            i += n
            continue
        out.append(markdown[i])
        i += 1
    return "".join(out)


@pytest.mark.parametrize("message", [
    "[click](https://evil.example) <img src=x onerror=alert(1)>",
    "``` ` `` https://evil.example <script>x</script>",
    "`[x](y)`",
    "end with a backtick `",
])
def test_markdown_cannot_inject_links_or_html(message: str):
    from hipaa_lsp.ci_formats import markdown_report

    report, rulebook = _hostile_report(message, path="[p](https://evil.example)<i>.conf")
    md = markdown_report(report, rulebook)
    outside = _outside_code_spans(md)
    for bad in ("evil", "<img", "<script", "<i>", "]("):
        assert bad not in outside, (bad, md)
    assert "\n" not in md.split("### Findings", 1)[1].strip()  # one finding, one line


def test_project_file_sets_the_gate(tmp_path):
    """`[ci] fail-on` in .hipaa-lsp.toml is the gate; `--fail-on` on the command line wins over it."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "redis.conf").write_text("bind 0.0.0.0\nrequirepass ${REDIS_PASSWORD}\nprotected-mode yes\n"
                                         "appendonly yes\nlogfile /var/log/redis.log\n")
    base = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", ".", "--format", "json", "--fail-on", "never"],
                          cwd=tmp_path, capture_output=True, timeout=120)
    severities = {f["severity"] for f in json.loads(base.stdout)["files"][0]["findings"]}
    assert severities and "error" not in severities, severities
    (tmp_path / ".hipaa-lsp.toml").write_text('[ci]\nfail-on = "error"\n')
    gated = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "."], cwd=tmp_path, capture_output=True,
                           timeout=120)
    assert gated.returncode == 0, gated.stdout.decode() + gated.stderr.decode()
    flag = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", ".", "--fail-on", "hint"], cwd=tmp_path,
                          capture_output=True, timeout=120)
    assert flag.returncode == 1
    (tmp_path / ".hipaa-lsp.toml").write_text('[ci]\nfail-on = "sometimes"\n')
    bad = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "."], cwd=tmp_path, capture_output=True,
                         timeout=120)
    assert bad.returncode == 2 and b".hipaa-lsp.toml:2: ci.fail-on must be one of" in bad.stderr
