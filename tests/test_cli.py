"""The CLI as a subprocess: exit codes, text/JSON/SARIF output, --fix, rules and explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from helpers import ROOT

SARIF_SCHEMA = ROOT.parent / "shared" / "reference" / "sarif" / "sarif-schema-2.1.0.json"

INSECURE = "bind 0.0.0.0\nprotected-mode no\n# requirepass foobared\n"
HARDENED = ("aclfile /etc/redis/users.acl\nport 0\ntls-port 6379\nappendonly yes\n"
            "logfile /var/log/redis/redis.log\nprotected-mode yes\nbind 127.0.0.1 -::1\n")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hipaa_lsp", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "redis.conf").write_text(INSECURE)
    (tmp_path / "notes.txt").write_text("protected-mode no\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "redis.conf").write_text(INSECURE)
    return tmp_path


def test_exit_codes(tmp_path: Path, tree: Path):
    assert run("scan", str(tree)).returncode == 1
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "redis.conf").write_text(HARDENED)
    result = run("scan", str(clean))
    assert result.returncode == 0, result.stdout
    assert run("scan", str(tmp_path / "does-not-exist")).returncode == 2
    assert run("scan", "--format", "yaml", str(tree)).returncode == 2
    assert run("explain", "NOPE-000").returncode == 2
    assert run().returncode == 2


def test_text_output_cites_hipaa_and_skips_excluded_folders(tree: Path):
    out = run("scan", str(tree)).stdout
    assert "cache/redis.conf:2:16: error REDIS-NET-001" in out
    assert "HIPAA 45 CFR § 164.312(a)(1) Access control (Required)" in out
    assert "node_modules" not in out and "notes.txt" not in out


def test_exclude_and_ignore_file(tree: Path):
    assert run("scan", "--exclude", "cache/", str(tree)).returncode == 0
    (tree / ".hipaa-lspignore").write_text("# local caches\nredis.conf\n")
    assert run("scan", str(tree)).returncode == 0


def test_json_output(tree: Path):
    result = run("scan", "--format", "json", str(tree))
    report = json.loads(result.stdout)
    [file] = report["files"]
    assert file["kind"] == "redis-conf"
    net = [f for f in file["findings"] if f["ruleId"] == "REDIS-NET-001"][0]
    assert net["range"]["start"] == {"line": 2, "column": 16}
    assert net["severity"] == "error" and net["fixable"] is True
    assert {"id": "164.312(a)(1)", "title": "Access control", "requirement": "Required"} in net["hipaa"]
    assert report["summary"]["findings"] == len(file["findings"])


def test_sarif_is_valid_and_complete(tree: Path, tmp_path: Path):
    out = tmp_path / "report.sarif"
    result = run("scan", "--format", "sarif", "--output", str(out), str(tree), cwd=tree)
    assert result.returncode == 1
    sarif = json.loads(out.read_text())
    if SARIF_SCHEMA.is_file():
        jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(sarif)
    run_ = sarif["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert run_["tool"]["driver"]["name"] == "hipaa-lsp"
    taxa = {t["id"] for t in run_["taxonomies"][0]["taxa"]}
    net_rule = next(r for r in rules if r["id"] == "REDIS-NET-001")
    assert "HIPAA-164.312(a)(1)" in net_rule["properties"]["tags"]
    assert net_rule["relationships"][0]["target"]["id"] in taxa
    assert net_rule["help"]["text"]
    result_ = next(r for r in run_["results"] if r["ruleId"] == "REDIS-NET-001")
    assert rules[result_["ruleIndex"]]["id"] == "REDIS-NET-001"
    region = result_["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], region["endColumn"]) == (2, 16, 18)
    assert result_["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "cache/redis.conf"
    assert result_["fixes"][0]["artifactChanges"][0]["replacements"][0]["insertedContent"]["text"] == "yes"
    assert all(r["partialFingerprints"] for r in run_["results"])
    # Fingerprints are stable when unrelated lines are added above.
    first = {r["ruleId"]: r["partialFingerprints"] for r in run_["results"]}
    (tree / "cache" / "redis.conf").write_text("# a new comment\n\n" + INSECURE)
    run("scan", "--format", "sarif", "--output", str(out), str(tree), cwd=tree)
    second = {r["ruleId"]: r["partialFingerprints"] for r in json.loads(out.read_text())["runs"][0]["results"]}
    assert first["REDIS-NET-001"] == second["REDIS-NET-001"]


def test_fix_applies_safe_fixes(tree: Path):
    target = tree / "cache" / "redis.conf"
    result = run("scan", "--fix", str(tree))
    fixed = target.read_text()
    assert "protected-mode yes" in fixed
    assert "bind 127.0.0.1 -::1" in fixed
    assert "requirepass CHANGE_ME_TO_A_SECRET_FROM_YOUR_VAULT" in fixed
    # What remains is reported: the placeholder must be replaced by a person.
    assert "REDIS-AUTH-002" in result.stdout
    assert result.returncode == 1


def test_secrets_never_printed(tmp_path: Path):
    (tmp_path / "redis.conf").write_text("requirepass Sup3rS3cretValue\n")
    for fmt in ("text", "json", "sarif"):
        result = run("scan", "--format", fmt, str(tmp_path), cwd=tmp_path)
        assert "Sup3rS3cretValue" not in result.stdout + result.stderr, fmt


def test_rules_and_explain():
    listing = run("rules", "--format", "json")
    rules = json.loads(listing.stdout)
    assert any(r["id"] == "REDIS-AUTH-001" for r in rules)
    text = run("explain", "redis-auth-001").stdout
    assert "45 CFR § 164.312(d) Person or entity authentication (Required)" in text
    assert run("--version").stdout.startswith("hipaa-lsp ")
    kinds = run("rules", "--kinds").stdout
    assert "pg-hba" in kinds and "kubernetes" in kinds


def test_bad_files_do_not_crash(tmp_path: Path):
    (tmp_path / "redis.conf").write_bytes(b"\xff\xfe\x00binary\x00")
    (tmp_path / "mongod.conf").write_bytes(b"net:\n  bindIp: \xff\xfe 0.0.0.0\n")
    (tmp_path / "nginx.conf").write_text("http {" * 5000)
    result = run("scan", "--format", "json", str(tmp_path))
    assert result.returncode in (0, 1), result.stderr
    files = {Path(f["path"]).name: f for f in json.loads(result.stdout)["files"]}
    assert any("binary" in n for n in files["redis.conf"]["notices"])
    assert any("UTF-8" in n for n in files["mongod.conf"]["notices"])


def test_fix_leaves_review_fixes_alone(tmp_path: Path):
    """`--fix` applies only fixes that are safe unattended; a fix marked for review stays a suggestion."""
    from hipaa_lsp.rulebook import load_rulebook

    review = [r for r in load_rulebook().rules.values() if r.fix is not None and r.fix.review
              and any(e.flagged for e in r.examples)]
    if not review:
        pytest.skip("no rule has a review-only fix")
    rule = review[0]
    example = next(e for e in rule.examples if e.flagged)
    target = tmp_path / example.name
    target.write_text(example.text)
    result = run("scan", "--fix", "--format", "json", str(tmp_path))
    codes = {f["ruleId"] for f in json.loads(result.stdout)["files"][0]["findings"]}
    assert rule.id in codes, f"{rule.id}'s review fix was applied unattended"


@pytest.mark.parametrize("name,text,kind", [
    ("users-prod", "# ACL\nuser default off\nuser app on #abc123 ~app:* +@read\n", "redis-acl"),
    ("site.conf", "user nginx;\nevents {}\n", "nginx-conf"),
    ("notes.conf", "user www-data\n", None),
    ("deploy.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n", "kubernetes"),
    ("values.yaml", "replicaCount: 2\nimage: {repository: x}\n", None),
    ("server.properties", "broker.id=0\nlisteners=PLAINTEXT://:9092\n", "kafka-properties"),
    ("app.properties", "spring.datasource.url=jdbc:x\n", None),
])
def test_detection_by_content(tmp_path: Path, name, text, kind):
    from hipaa_lsp.detect import detect_kind

    found = detect_kind(str(tmp_path / name), text.encode())
    assert (found.id if found else None) == kind
