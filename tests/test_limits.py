"""Limits, end to end through `hipaa-lsp scan`: a file over a limit is never parsed and never passes
silently. It is reported by the built-in rule HLSP-UNCHECKED-001 (error) at the line where the limit
was crossed; the same file under the limit is analysed as usual. Every file kind is covered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hipaa_lsp.detect import KINDS
from kind_samples import SAMPLES, nested

RULE = "HLSP-UNCHECKED-001"
DEPTH_LIMIT = 100  # the default maxNestingDepth


def scan(*args: str, cwd: Path, timeout: float = 240) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "--format", "json", *args], cwd=cwd,
                          capture_output=True, timeout=timeout)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return proc.returncode, json.loads(proc.stdout)


def unchecked(report: dict) -> dict[str, list[tuple[int, str]]]:
    """path -> [(line, message)] of the built-in finding."""
    out: dict[str, list[tuple[int, str]]] = {}
    for f in report["files"]:
        for finding in f["findings"]:
            if finding["ruleId"] == RULE:
                out.setdefault(f["path"], []).append((finding["range"]["start"]["line"], finding["message"]))
    return out


def expected_depth_line(kind_id: str) -> int:
    fmt = KINDS[kind_id].format
    head_lines = SAMPLES[kind_id][1].count("\n")
    return {"yaml": head_lines + DEPTH_LIMIT + 1, "json": 1}.get(fmt, DEPTH_LIMIT + 1)


@pytest.fixture(scope="module")
def limits_tree(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("limits")
    for kind_id, (name, head) in SAMPLES.items():
        for case in ("deep", "shallow", "long-line", "too-large"):
            folder = root / kind_id / case
            folder.mkdir(parents=True)
            path = folder / name
            if case == "deep":
                text = nested(kind_id, 300)
                if text is None:
                    continue
                path.write_text(text)
            elif case == "shallow":
                text = nested(kind_id, 50)
                if text is None:
                    continue
                path.write_text(text)
            elif case == "long-line":
                path.write_text(head + "\n" + "x" * 300_000 + "\n")
            else:
                with open(path, "wb") as handle:  # sparse: the scanner must stat it, not read it
                    handle.write(head.encode())
                    handle.truncate(3 * 1024 * 1024)
    # A multi-GB file that is not a configuration file, and one that is: neither is read whole.
    with open(root / "disk.img", "wb") as handle:
        handle.truncate(3 * 1024 ** 3)
    with open(root / "redis-huge.conf", "wb") as handle:
        handle.truncate(3 * 1024 ** 3)
    return root, scan(".", cwd=root)[1]


@pytest.mark.parametrize("kind_id", sorted(k for k in SAMPLES if nested(k, 1) is not None))
def test_nesting_over_the_limit_is_reported_where_it_is_crossed(kind_id, limits_tree):
    root, report = limits_tree
    found = unchecked(report)
    name = SAMPLES[kind_id][0]
    [(line, message)] = found[f"{kind_id}/deep/{name}"]
    assert line == expected_depth_line(kind_id)
    assert "nesting is deeper than 100 levels" in message and "maxNestingDepth" in message
    assert f"{kind_id}/shallow/{name}" not in found


@pytest.mark.parametrize("kind_id", sorted(SAMPLES))
def test_long_lines_and_large_files_are_reported(kind_id, limits_tree):
    root, report = limits_tree
    found = unchecked(report)
    name, head = SAMPLES[kind_id]
    [(line, message)] = found[f"{kind_id}/long-line/{name}"]
    assert line == head.count("\n") + 2 and "maxLineLengthKb" in message
    [(line, message)] = found[f"{kind_id}/too-large/{name}"]
    assert line == 1 and "over the 2048 KB limit" in message and "maxFileSizeKb" in message


def test_multi_gigabyte_files_are_not_read(limits_tree):
    root, report = limits_tree
    found = unchecked(report)
    assert "disk.img" not in {f["path"] for f in report["files"]}
    [(line, message)] = found["redis-huge.conf"]
    assert line == 1 and "3145728 KB" in message


def test_yaml_shapes_that_crash_the_grammar_are_stopped_before_parsing(tmp_path):
    """tree-sitter-yaml segfaults at about 250 indentation levels; each shape that reaches them is
    caught by the pre-check (the worker would survive a crash, but the message would differ)."""
    shapes = {
        "block": "".join(" " * i + f"k{i}:\n" for i in range(300)),
        "sequence": "".join(" " * i + "-\n" for i in range(300)),
        "mixed": "".join(" " * (2 * i) + f"- k{i}:\n" for i in range(150)),
        "inline": "- " * 300 + "v\n",
        "two-space": "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 400)),
    }
    for shape, text in shapes.items():
        (tmp_path / f"docker-compose.{shape}.yml").write_text(text)
    found = unchecked(scan(".", cwd=tmp_path)[1])
    for shape in shapes:
        [(_, message)] = found[f"docker-compose.{shape}.yml"]
        assert "nesting is deeper than" in message, (shape, message)


def test_limits_are_settings(tmp_path):
    """A lower limit from the configuration applies; a limit above the hard ceiling is refused."""
    (tmp_path / "docker-compose.yml").write_text("".join(" " * i + f"k{i}:\n" for i in range(30)))
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"maxNestingDepth": 20, "maxDocuments": 1}))
    found = unchecked(scan("docker-compose.yml", "--config", str(config), cwd=tmp_path)[1])
    [(line, message)] = found["docker-compose.yml"]
    assert line == 21 and "deeper than 20 levels" in message
    config.write_text(json.dumps({"maxNestingDepth": 5000}))
    proc = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "docker-compose.yml", "--config", str(config)],
                          cwd=tmp_path, capture_output=True, timeout=120)
    assert b"maxNestingDepth must be a number from 4 to 200" in proc.stderr


def test_too_many_yaml_documents(tmp_path):
    (tmp_path / "deploy.yaml").write_text("apiVersion: v1\nkind: Pod\n" + "---\nkind: Pod\n" * 30)
    config = tmp_path / "settings.json"
    config.write_text(json.dumps({"maxDocuments": 10}))
    found = unchecked(scan("deploy.yaml", "--config", str(config), cwd=tmp_path)[1])
    [(line, message)] = found["deploy.yaml"]
    assert line == 1 and "31 YAML documents, over the 10 limit" in message and "maxDocuments" in message
