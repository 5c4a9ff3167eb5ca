"""A native crash or a runaway analysis never takes down the server or a scan.

Faults are injected into the analysis worker (HIPAA_LSP_TEST_FAULTS): a document holding
HIPAA_LSP_TEST_CRASH makes the worker kill itself with SIGSEGV, as a grammar bug would; one holding
HIPAA_LSP_TEST_HANG makes it spin holding the GIL, as a catastrophic regex would. The document is
reported by HLSP-UNCHECKED-001; every other document keeps being served.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raw_client import RawClient

FAULTS = {"HIPAA_LSP_TEST_FAULTS": "crash,hang"}
RULE = "HLSP-UNCHECKED-001"


def codes(diags):
    return [d["code"] for d in diags]


@pytest.fixture
def server():
    client = RawClient(env=FAULTS)
    client.initialize({"analysisTimeoutMs": 1500})
    yield client
    client.close()


def test_a_crashing_document_is_reported_and_the_others_are_served(server: RawClient):
    server.open("file:///a/redis.conf", "protected-mode no\n")
    assert "REDIS-NET-001" in codes(server.diagnostics_for("file:///a/redis.conf"))
    server.open("file:///crash/redis.conf", "# HIPAA_LSP_TEST_CRASH\nprotected-mode no\n")
    [diag] = server.diagnostics_for("file:///crash/redis.conf")
    assert diag["code"] == RULE and diag["severity"] == 1
    assert "the analysis process stopped (signal 11)" in diag["message"]
    # The replacement worker got the other document back: hover still works there.
    rid = server.send("textDocument/hover", {"textDocument": {"uri": "file:///a/redis.conf"},
                                             "position": {"line": 0, "character": 16}})
    assert "Protected mode" in server.until(lambda m: m.get("id") == rid)["result"]["contents"]["value"]
    # Editing the crashing document away from the fault analyses it again.
    server.send("textDocument/didChange", {"textDocument": {"uri": "file:///crash/redis.conf", "version": 2},
                                           "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                                         "end": {"line": 1, "character": 0}},
                                                               "text": ""}]}, request=False)
    assert "REDIS-NET-001" in codes(server.diagnostics_for("file:///crash/redis.conf"))


def test_a_runaway_analysis_is_stopped_by_the_time_budget(server: RawClient):
    server.open("file:///hang/redis.conf", "# HIPAA_LSP_TEST_HANG\nprotected-mode no\n")
    [diag] = server.diagnostics_for("file:///hang/redis.conf")
    assert diag["code"] == RULE
    assert "took longer than 1.5 s" in diag["message"] and "analysisTimeoutMs" in diag["message"]
    server.open("file:///b/redis.conf", "protected-mode no\n")
    assert "REDIS-NET-001" in codes(server.diagnostics_for("file:///b/redis.conf"))


def test_a_slow_heavy_file_does_not_hold_up_other_documents():
    """Files over 512 KB are analysed in their own worker: while one spins, others are answered."""
    client = RawClient(env=FAULTS)
    client.initialize({"analysisTimeoutMs": 60000})
    try:
        client.open("file:///big/redis.conf", "# HIPAA_LSP_TEST_HANG\n" + "port 6379\n" * 60_000)
        time.sleep(0.5)  # the heavy worker is now spinning
        started = time.monotonic()
        client.open("file:///small/redis.conf", "protected-mode no\n")
        assert "REDIS-NET-001" in codes(client.diagnostics_for("file:///small/redis.conf"))
        assert time.monotonic() - started < 10, "the main lane waited for the heavy one"
        # A newer edit of the heavy document stops its stale analysis instead of waiting 20 s.
        client.send("textDocument/didChange", {"textDocument": {"uri": "file:///big/redis.conf", "version": 2},
                                               "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                                             "end": {"line": 1, "character": 0}},
                                                                   "text": "protected-mode no\n"}]}, request=False)
        diags = client.until(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                             and m["params"]["uri"] == "file:///big/redis.conf"
                             and m["params"]["version"] == 2)["params"]["diagnostics"]
        assert "REDIS-NET-001" in codes(diags)
        assert time.monotonic() - started < 40, "the stale analysis ran to its 60 s budget"
    finally:
        client.close()


# -------------------------------------------------------------------------------------------- CLI


def scan(tmp: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", *args], cwd=tmp, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def test_scan_reports_crashing_and_hanging_files_and_goes_on(tmp_path: Path):
    for name in ("redis.conf", "HIPAA_LSP_TEST_CRASH/redis.conf", "HIPAA_LSP_TEST_HANG/redis.conf", "z/redis.conf"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("protected-mode no\n")
    (tmp_path / "settings.json").write_text(json.dumps({"analysisTimeoutMs": 1500}))
    proc = scan(tmp_path, ".", "--format", "json", "--config", "settings.json", "--jobs", "2", env=FAULTS)
    assert proc.returncode == 1, proc.stderr.decode()
    report = {f["path"]: f["findings"] for f in json.loads(proc.stdout)["files"]}
    [crash] = report["HIPAA_LSP_TEST_CRASH/redis.conf"]
    assert crash["ruleId"] == RULE and crash["severity"] == "error" and "signal 11" in crash["message"]
    [hang] = report["HIPAA_LSP_TEST_HANG/redis.conf"]
    assert hang["ruleId"] == RULE and "longer than 1.5 s" in hang["message"]
    for ok in ("redis.conf", "z/redis.conf"):
        assert "REDIS-NET-001" in [f["ruleId"] for f in report[ok]]


def test_scan_skips_fifos_and_devices(tmp_path: Path):
    (tmp_path / "redis.conf").write_text("protected-mode no\n")
    os.mkfifo(tmp_path / "sentinel.conf")
    device = tmp_path / "etc" / "redis.conf"
    device.parent.mkdir()
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    except (PermissionError, OSError):
        device = None
    proc = scan(tmp_path, ".", "--format", "json", timeout=60)
    assert proc.returncode == 1
    paths = [f["path"] for f in json.loads(proc.stdout)["files"]]
    assert paths == ["redis.conf"]
    # Named on the command line, they are refused with a note, not read.
    named = scan(tmp_path, "sentinel.conf", *(["etc/redis.conf"] if device else []), timeout=60)
    assert named.returncode == 0 and b"not a regular file" in named.stderr


def test_non_utf8_file_names_in_every_output(tmp_path: Path):
    raw = os.fsencode(tmp_path) + b"/redis-\xff.conf"
    with open(raw, "wb") as handle:
        handle.write(b"protected-mode no\n")
    text = scan(tmp_path, ".")
    assert text.returncode == 1 and b"redis-\\xff.conf:1:16: error REDIS-NET-001" in text.stdout
    sarif_out = tmp_path / "out.sarif"
    proc = scan(tmp_path, ".", "--format", "sarif", "-o", str(sarif_out))
    assert proc.returncode == 1, proc.stderr.decode()
    sarif = json.loads(sarif_out.read_text())
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]}
    assert uris == {"redis-%FF.conf"}
    js = json.loads(scan(tmp_path, ".", "--format", "json").stdout)
    assert js["files"][0]["path"] == "redis-\\xff.conf"


def test_unreadable_folders_are_reported(tmp_path: Path, monkeypatch):
    from hipaa_lsp import file_walk

    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "redis.conf").write_text("port 6379\n")
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    walk = file_walk.collect_files([str(tmp_path)], [])
    assert [Path(f).name for f in walk.files] == ["redis.conf"]
    [(path, why)] = walk.problems
    assert path.endswith("locked") and "cannot be read" in why
