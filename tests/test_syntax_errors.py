"""A syntax error must not make the findings of the rest of the file vanish (nor invent new ones)."""

from __future__ import annotations

import pytest

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.rulebook import load_rulebook

from helpers import flagged_lines

CASES = [
    # (file name, valid text, the same text with one typo, rule ids that must survive)
    ("mongod.conf",
     "net:\n  bindIp: 0.0.0.0\n  port: 27017\nsecurity:\n  authorization: disabled\n",
     "net:\n  bindIp: 0.0.0.0\n  port 27017\nsecurity:\n  authorization: disabled\n",
     ["MONGO-NET-002", "MONGO-AUTH-001"]),
    ("pod.yaml",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  hostNetwork: true\n  containers:\n"
     "  - name: x\n    image: nginx:1.25\n    securityContext:\n      privileged: true\n",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  hostNetwork: true\n  containers:\n"
     "  - name: x\n    image nginx:1.25\n    securityContext:\n      privileged: true\n",
     ["K8S-HOST-001", "K8S-POD-001"]),
    ("server.xml",
     '<Server port="8005" shutdown="SHUTDOWN">\n  <Service name="C">\n    <Connector port="8080" protocol="HTTP/1.1"/>\n'
     '    <Connector port="8009" protocol="AJP/1.3" secretRequired="false"/>\n  </Service>\n</Server>\n',
     '<Server port="8005" shutdown="SHUTDOWN">\n  <Service name="C">\n    <Connector port="8080" protocol="HTTP/1.1" <\n'
     '    <Connector port="8009" protocol="AJP/1.3" secretRequired="false"/>\n  </Service>\n</Server>\n',
     ["TOMCAT-NET-001", "TOMCAT-AJP-002"]),
    ("nginx.conf",
     "http {\n  server {\n    server_name portal;\n    ssl_protocols TLSv1 TLSv1.2;\n    autoindex on;\n  }\n}\n",
     "http {\n  server {\n    server_name \"portal;\n    ssl_protocols TLSv1 TLSv1.2;\n    autoindex on;\n  }\n}\n",
     ["NGINX-AUTHZ-001"]),
    ("daemon.json",
     '{\n  "icc": true,\n  "hosts": ["tcp://0.0.0.0:2375"],\n  "insecure-registries": ["r:5000"]\n}\n',
     '{\n  "icc": true,\n  "hosts": ["tcp://0.0.0.0:2375"]\n  "insecure-registries": ["r:5000"]\n}\n',
     ["DOCKER-DAEMON-NET-001"]),
]


@pytest.mark.parametrize("name,valid,broken,survivors", CASES, ids=[c[0] for c in CASES])
def test_findings_survive_a_syntax_error(name, valid, broken, survivors):
    before = flagged_lines(name, valid.encode())
    after = flagged_lines(name, broken.encode())
    for rule_id in survivors:
        assert rule_id in before, f"{rule_id} not flagged in the valid file: {before}"
        assert after.get(rule_id) == before[rule_id], f"{rule_id} lost after the typo: {after}"
    report = analyze(name, broken.encode(), load_rulebook(), Config())
    assert any(n.code == "syntax-error" for n in report.notices)
