"""For every file kind: a file name and a first line that make the kind detector choose it."""

from __future__ import annotations

from hipaa_lsp.detect import KINDS

SAMPLES: dict[str, tuple[str, str]] = {
    "redis-conf": ("redis.conf", ""),
    "redis-acl": ("users.acl", "user alice on #" + "a" * 64 + " ~* +@all\n"),
    "mongod-conf": ("mongod.conf", ""),
    "my-cnf": ("my.cnf", "[mysqld]\n"),
    "postgresql-conf": ("postgresql.conf", ""),
    "postgresql-override": ("postgresql.auto.conf", ""),
    "pg-hba": ("pg_hba.conf", ""),
    "cassandra-yaml": ("cassandra.yaml", ""),
    "hadoop-xml": ("core-site.xml", ""),
    "tomcat-server-xml": ("server.xml", ""),
    "tomcat-web-xml": ("web.xml", ""),
    "tomcat-context-xml": ("context.xml", ""),
    "tomcat-users-xml": ("tomcat-users.xml", ""),
    "iis-config": ("web.config", ""),
    "httpd-conf": ("httpd.conf", ""),
    "elasticsearch-yml": ("elasticsearch.yml", ""),
    "kafka-properties": ("server.properties", ""),
    "msk-terraform": ("msk.tf", 'resource "aws_msk_configuration" "x" {\n'),
    "solr-xml": ("solrconfig.xml", ""),
    "solr-security-json": ("security.json", '{"authentication": {"class": "solr.BasicAuthPlugin"}}\n'),
    "solr-in-sh": ("solr.in.sh", ""),
    "dockerfile": ("Dockerfile", ""),
    "docker-compose": ("docker-compose.yml", ""),
    "docker-daemon-json": ("daemon.json", ""),
    "nifi-properties": ("nifi.properties", ""),
    "nifi-xml": ("authorizers.xml", ""),
    "systemd-unit": ("app.service", "[Service]\n"),
    "kubernetes": ("deploy.yaml", "apiVersion: v1\nkind: Pod\n"),
    "kubernetes-json": ("deploy.json", '{"apiVersion": "v1", "kind": "Pod"}\n'),
    "nginx-conf": ("nginx.conf", ""),
}

assert set(SAMPLES) == set(KINDS), "every file kind needs a sample name: " + ", ".join(sorted(set(KINDS) ^ set(SAMPLES)))


def nested(kind_id: str, depth: int) -> str | None:
    """A file of this kind nested `depth` levels deep, or None for formats without nesting."""
    fmt = KINDS[kind_id].format
    name, head = SAMPLES[kind_id]
    if fmt == "yaml":
        return head + "".join(" " * i + f"k{i}:\n" for i in range(depth)) + " " * depth + "v: 1\n"
    if fmt == "json":
        return '{"apiVersion": "v1", "kind": "Pod", "a": ' + '{"b": ' * depth + "1" + "}" * depth + "}\n"
    if fmt == "xml":
        return "<root>\n" + "<a>\n" * depth + "</a>\n" * depth + "</root>\n"
    if fmt == "hcl":
        return head + "".join(f"b{i} {{\n" for i in range(depth)) + "}\n" * (depth + 1)
    if fmt == "nginx":
        return "http {\n" * depth + "}\n" * depth
    if fmt == "httpd":
        return "<Directory /x>\n" * depth + "</Directory>\n" * depth
    return None
