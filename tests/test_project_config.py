"""The project configuration file (`.hipaa-lsp.toml`, `[tool.hipaa-lsp]`), through `hipaa-lsp scan` as a
subprocess: discovery and its stop rules, extend, validation errors with file:line, legacy JSON,
excludes, per-path versions and associations, limits; and the published JSON Schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from helpers import ROOT

INSECURE = "bind 0.0.0.0\nprotected-mode no\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hipaa_lsp", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def findings(cwd: Path, *args: str) -> dict[str, set[str]]:
    """relative path -> rule ids found by `scan . --format json` in `cwd`."""
    proc = run("scan", ".", "--format", "json", *args, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return {f["path"]: {x["ruleId"] for x in f["findings"]} for f in json.loads(proc.stdout)["files"]}


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # a git root: discovery never reads above it
    return tmp_path


def test_closest_file_wins_and_no_file_means_defaults(repo: Path):
    write(repo / "a" / "redis.conf", INSECURE)
    write(repo / "b" / "redis.conf", INSECURE)
    assert {"REDIS-NET-001", "REDIS-NET-002"} <= findings(repo)["a/redis.conf"]
    write(repo / ".hipaa-lsp.toml", '[rules]\ndisable = ["REDIS-NET-001"]\n')
    write(repo / "b" / ".hipaa-lsp.toml", '[rules]\ndisable = ["REDIS-NET-002"]\n')
    found = findings(repo)
    assert "REDIS-NET-001" not in found["a/redis.conf"] and "REDIS-NET-002" in found["a/redis.conf"]
    # b's own file is the closest: the root's is not merged in (as in ruff).
    assert "REDIS-NET-001" in found["b/redis.conf"] and "REDIS-NET-002" not in found["b/redis.conf"]


def test_dot_file_wins_over_pyproject_in_the_same_folder(repo: Path):
    write(repo / "redis.conf", INSECURE)
    write(repo / "pyproject.toml", '[project]\nname = "x"\n\n[tool.hipaa-lsp.rules]\ndisable = ["REDIS-NET-001"]\n')
    assert "REDIS-NET-001" not in findings(repo)["redis.conf"]
    write(repo / ".hipaa-lsp.toml", '[rules]\ndisable = ["REDIS-NET-002"]\n')
    found = findings(repo)["redis.conf"]
    assert "REDIS-NET-001" in found and "REDIS-NET-002" not in found


def test_extend_inherits_and_enable_reenables_a_prefix(repo: Path):
    write(repo / "base.toml", '[rules]\ndisable = ["REDIS-"]\n[rules.severity]\nREDIS-NET-001 = "hint"\n')
    write(repo / "svc" / ".hipaa-lsp.toml", 'extend = "../base.toml"\n[rules]\nenable = ["REDIS-NET-001"]\n')
    write(repo / "svc" / "redis.conf", INSECURE)
    proc = run("scan", ".", "--format", "json", cwd=repo)
    [entry] = json.loads(proc.stdout)["files"]
    assert [(f["ruleId"], f["severity"]) for f in entry["findings"]] == [("REDIS-NET-001", "hint")]


def test_extend_cycle_is_an_error_with_file_and_line(repo: Path):
    write(repo / "one.toml", '# one\nextend = "two.toml"\n')
    write(repo / "two.toml", 'extend = "one.toml"\n')
    write(repo / ".hipaa-lsp.toml", '\n\nextend = "one.toml"\n')
    write(repo / "redis.conf", INSECURE)
    proc = run("scan", ".", cwd=repo)
    assert proc.returncode == 2 and proc.stdout == ""
    assert re.search(r"two\.toml:1: extend: cycle", proc.stderr), proc.stderr


def test_root_true_stops_extend_from_reading_above(repo: Path):
    write(repo / ".hipaa-lsp.toml", '[rules]\ndisable = ["REDIS-NET-001"]\n')
    write(repo / "svc" / ".hipaa-lsp.toml", 'root = true\nextend = "../.hipaa-lsp.toml"\n')
    write(repo / "svc" / "redis.conf", INSECURE)
    proc = run("scan", ".", cwd=repo)
    assert proc.returncode == 2
    assert re.search(r"svc/\.hipaa-lsp\.toml:2: extend: .* outside the project root", proc.stderr), proc.stderr
    write(repo / "svc" / ".hipaa-lsp.toml", 'root = true\n')
    assert "REDIS-NET-001" in findings(repo)["svc/redis.conf"]


def test_discovery_stops_at_the_git_root(tmp_path: Path):
    write(tmp_path / ".hipaa-lsp.toml", '[rules]\ndisable = ["REDIS-NET-001"]\n')
    write(tmp_path / "checkout" / "redis.conf", INSECURE)
    assert "REDIS-NET-001" not in findings(tmp_path / "checkout")["redis.conf"]
    (tmp_path / "checkout" / ".git").mkdir()
    assert "REDIS-NET-001" in findings(tmp_path / "checkout")["redis.conf"]


@pytest.mark.parametrize("text, line, message", [
    ('root = true\n\nexlude = ["x/"]\n[rules]\n', 3, "unknown key 'exlude' (did you mean 'exclude'?)"),
    ('[rules]\ndisable = ["REDIS-NET-001"]\nseverty = {}\n', 3, "unknown key 'severty' in [rules]"),
    ('[rules]\ndisable = ["REDIS-NET-001"\n', 2, "invalid TOML"),
    ('[[associations]]\npattern = "*.conf"\nkind = "redis-conf"\n\n[[associations]]\npattern = "x.cfg"\n'
     'kind = "redis"\n', 7, "unknown kind 'redis' (did you mean 'redis-acl'?)"),
    ('[[associations]]\npattern = "*.conf"\n', 1, "[[associations]] needs a kind"),
    ('[rules]\ndisable = ["REDIS-NO-SUCH-001"]\n', 2, "unknown rule id"),
    ('[rules.severity]\nREDIS-NET-001 = "fatal"\n', 2, "is not one of error, warning"),
    ('[limits]\nmax-file-size-kb = 4096\n', 2, "may only lower the built-in limits"),
    ('[versions]\npostgres = "16"\n', 2, "did you mean 'postgresql'"),
])
def test_invalid_file_exits_2_with_file_and_line(repo: Path, text: str, line: int, message: str):
    write(repo / ".hipaa-lsp.toml", text)
    write(repo / "redis.conf", INSECURE)
    proc = run("scan", ".", cwd=repo)
    assert proc.returncode == 2 and proc.stdout == ""
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f".hipaa-lsp.toml:{line}: "), proc.stderr
    assert message in first


def test_config_option_takes_toml_and_legacy_json(repo: Path, tmp_path: Path):
    write(repo / "redis.conf", INSECURE)
    toml = write(repo / "ci" / "strict.toml", '[rules]\ndisable = ["REDIS-NET-001"]\n')
    proc = run("scan", ".", "--format", "json", "--config", str(toml), cwd=repo)
    assert "REDIS-NET-001" not in proc.stdout and "REDIS-NET-002" in proc.stdout
    legacy = write(repo / "ci" / "settings.json", json.dumps({"hipaaLsp": {"disabledRules": ["REDIS-NET-002"]}}))
    proc = run("scan", ".", "--format", "json", "--config", str(legacy), cwd=repo)
    assert proc.returncode == 1
    assert "REDIS-NET-002" not in proc.stdout and "REDIS-NET-001" in proc.stdout
    assert "JSON settings are deprecated" in proc.stderr
    # A misspelled key used to be dropped silently.
    write(legacy, '{\n  "disabledRules": [],\n  "disabledRule": ["REDIS-NET-001"]\n}\n')
    proc = run("scan", ".", "--config", str(legacy), cwd=repo)
    assert proc.returncode == 2
    assert re.search(r"settings\.json:3: unknown key 'disabledRule' \(did you mean 'disabledRules'\?\)", proc.stderr)


def test_excludes_are_relative_to_the_declaring_file(repo: Path):
    write(repo / ".hipaa-lsp.toml", 'exclude = ["generated/", "*.sample.conf"]\n')
    write(repo / "generated" / "redis.conf", INSECURE)
    write(repo / "svc" / "generated" / "redis.conf", INSECURE)
    write(repo / "svc" / "redis.conf", INSECURE)
    write(repo / "tools" / "redis.conf", INSECURE)
    write(repo / "tools" / ".hipaa-lsp.toml", 'exclude = ["/redis.conf"]\n')  # only tools/redis.conf
    write(repo / "tools" / "sub" / "redis.conf", INSECURE)
    assert set(findings(repo)) == {"svc/redis.conf", "tools/sub/redis.conf"}


def test_versions_per_path_change_a_finding(repo: Path):
    write(repo / ".hipaa-lsp.toml", '[versions]\npostgresql = "16"\n\n'
                                    '[[versions.paths]]\npattern = "legacy/"\npostgresql = "13"\n')
    write(repo / "legacy" / "postgresql.conf", "ssl = on\n")
    write(repo / "current" / "postgresql.conf", "ssl = on\n")
    found = findings(repo)
    # password_encryption defaults to md5 before PostgreSQL 14.
    assert "PG-AUTH-001" in found["legacy/postgresql.conf"]
    assert "PG-AUTH-001" not in found["current/postgresql.conf"]


def test_associations_are_relative_to_the_declaring_file(repo: Path):
    write(repo / "svc" / ".hipaa-lsp.toml", '[[associations]]\npattern = "deploy/*.cfg"\nkind = "redis-conf"\n')
    write(repo / "svc" / "deploy" / "cache.cfg", INSECURE)
    write(repo / "deploy" / "cache.cfg", INSECURE)
    found = findings(repo)
    assert "REDIS-NET-001" in found["svc/deploy/cache.cfg"] and "deploy/cache.cfg" not in found


def test_limits_lower_and_reserved_sections_are_noted(repo: Path):
    write(repo / ".hipaa-lsp.toml", '[limits]\nmax-file-size-kb = 1\n\n[policy]\ninline-accept = false\n')
    write(repo / "redis.conf", INSECURE + "# padding\n" * 200)
    proc = run("scan", ".", "--format", "json", cwd=repo)
    assert proc.returncode == 1
    assert {f["ruleId"] for f in json.loads(proc.stdout)["files"][0]["findings"]} == {"HLSP-UNCHECKED-001"}
    assert ".hipaa-lsp.toml:4: [policy] (accepted-risk policy) is reserved" in proc.stderr
    # The built-in rule can be disabled like any other (for files known not to be configurations).
    write(repo / "big" / ".hipaa-lsp.toml", '[rules]\ndisable = ["HLSP-"]\n[limits]\nmax-file-size-kb = 1\n')
    write(repo / "big" / "redis.conf", INSECURE + "# padding\n" * 200)
    assert findings(repo)["big/redis.conf"] == set()


# ------------------------------------------------------------------------------- the schema


SCHEMA = json.loads((ROOT / "docs" / "config-schema.json").read_text())


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Project configuration", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def test_readme_example_is_valid_and_loads(tmp_path: Path):
    from hipaa_lsp.project_config import parse_layer, tomllib
    from hipaa_lsp.rulebook import load_rulebook

    text = readme_example()
    jsonschema.validate(tomllib.loads(text), SCHEMA)
    path = write(tmp_path / ".hipaa-lsp.toml", text)
    layer = parse_layer(str(path), frozenset(load_rulebook().rules))
    assert layer.disable and layer.version_paths and layer.associations and layer.exclude


def test_schema_and_loader_agree_on_keys():
    from hipaa_lsp.project_config import LIMIT_KEYS, TECHNOLOGIES, TOP_KEYS

    props = SCHEMA["properties"]
    assert set(props) == set(TOP_KEYS)
    assert SCHEMA["additionalProperties"] is False
    assert set(props["limits"]["properties"]) == set(LIMIT_KEYS)
    assert set(props["versions"]["properties"]) == TECHNOLOGIES | {"paths"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": {"disable": ["X"], "disabel": []}}, SCHEMA)


@pytest.mark.parametrize("pattern, rel, expected", [
    ("generated/", "generated/a/redis.conf", True),
    ("generated/", "generated", False),          # a file called "generated" is not a folder
    ("*.sample.conf", "x/y/redis.sample.conf", True),
    ("/redis.conf", "sub/redis.conf", False),
    ("deploy/*.yaml", "deploy/a/b.yaml", False),  # * stays inside one folder
    ("deploy/**/*.yaml", "deploy/a/b.yaml", True),
    ("legacy", "legacy/postgresql.conf", True),
])
def test_glob_semantics(pattern: str, rel: str, expected: bool):
    from hipaa_lsp.project_config import path_matches

    assert path_matches(pattern, rel) is expected


def test_editor_associations_with_unknown_kinds_are_reported():
    from hipaa_lsp.config import config_from

    config, problems = config_from({"fileAssociations": {"conf/cache-*.conf": "redis", "*.acl": "redis-acl"}})
    assert config.file_associations == {"*.acl": "redis-acl"}
    assert any("conf/cache-*.conf -> redis" in p for p in problems)


def test_pyproject_errors_point_into_the_tool_table(repo: Path):
    write(repo / "pyproject.toml", '[project]\nname = "x"\n\n[tool.hipaa-lsp.rules]\ndisable = []\nenabled = []\n')
    write(repo / "redis.conf", INSECURE)
    proc = run("scan", ".", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pyproject.toml:6: unknown key 'enabled' in [rules] (did you mean 'enable'?)")


def test_pyproject_without_our_table_is_not_a_configuration(repo: Path):
    """A pyproject.toml that only names hipaa-lsp (a dependency, or this very project) is ignored."""
    write(repo / "pyproject.toml", '[project]\nname = "hipaa-lsp"\ndependencies = ["hipaa-lsp==0.1.0"]\n')
    write(repo / "redis.conf", INSECURE)
    proc = run("scan", ".", "--format", "json", cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert "REDIS-NET-001" in {f["ruleId"] for f in json.loads(proc.stdout)["files"][0]["findings"]}
