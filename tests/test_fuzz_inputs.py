"""Arbitrary text in every file kind: analysis and fix planning never raise.

The server would survive an exception (handlers catch and log), but the user would lose the
diagnostics of that file; the CLI would exit 2. Hypothesis feeds config-shaped noise to each kind.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.fixes import apply_edits, plan_fix
from hipaa_lsp.rulebook import load_rulebook

NAMES = ["redis.conf", "postgresql.conf", "pg_hba.conf", "mongod.conf", "my.cnf", "cassandra.yaml",
         "core-site.xml", "server.xml", "web.xml", "tomcat-users.xml", "web.config", "httpd.conf",
         "elasticsearch.yml", "server.properties", "main.tf", "solrconfig.xml", "security.json",
         "solr.in.sh", "Dockerfile", "compose.yaml", "daemon.json", "nifi.properties", "app.service",
         "pod.yaml", "nginx.conf"]

TOKENS = ["\n", "\r\n", "\r", " ", "  ", "\t", "#", ":", "=", "-", "- ", "[", "]", "{", "}", "<", ">", "/",
          '"', "'", ";", ",", "\\", "@x@", "${V}", "---", "é", "😀", "\x00", "host", "all", "0.0.0.0/0",
          "trust", "kind: Pod", "apiVersion: v1", "containers:", "privileged: true", "<Server", "port=",
          "\"8005\"", "[mysqld]", "[Service]", "User=root", "FROM x", "USER root", "server {", "listen 80",
          "requirepass", "protected-mode no", "security:", "authorization: disabled", "<property>",
          "<name>a</name>", "</property>", "resource \"aws_msk_configuration\" \"m\" {", "server_properties = <<P",
          "P", "listeners=PLAINTEXT://:9092", "{\"icc\": true}", "services:", "  app:", "    privileged: true"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NAMES), parts=st.lists(st.sampled_from(TOKENS), max_size=60))
def test_any_text_is_analysed_without_error(name, parts):
    data = "".join(parts).encode("utf-8")
    rulebook = load_rulebook()
    report = analyze(name, data, rulebook, Config())
    edits = []
    for finding in report.findings:
        plan = plan_fix(finding, data)
        if plan is not None:
            assert all(0 <= e.start <= e.end <= len(data) for e in plan.edits)
            edits.extend(plan.edits)
    analyze(name, apply_edits(data, edits), rulebook, Config())
