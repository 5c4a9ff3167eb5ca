"""Which kind of configuration file is this? By file name first, by content where the name is ambiguous.

A *kind* fixes the format (how to parse), the technology (which rule pack applies), and how keys
compare. Unknown files get `None` and are ignored quietly.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True, slots=True)
class Kind:
    id: str
    format: str  # a name in formats.registry.FORMATS
    technology: str
    # A repeated key overrides the earlier one (so rules read only the last occurrence).
    last_wins: bool = False
    # How keys compare: "exact", "lower" (case-insensitive), "mysql" (case- and -/_-insensitive).
    keys: str = "exact"
    title: str = ""


KINDS: dict[str, Kind] = {k.id: k for k in [
    Kind("redis-conf", "redis", "redis", True, "lower", "redis.conf"),
    Kind("redis-acl", "redis", "redis", False, "lower", "Redis ACL file"),
    Kind("mongod-conf", "yaml", "mongodb", title="mongod.conf"),
    Kind("my-cnf", "ini", "mysql", True, "mysql", "my.cnf"),
    Kind("postgresql-conf", "postgresql", "postgresql", True, "lower", "postgresql.conf"),
    # ALTER SYSTEM overrides and include_dir snippets: same syntax, but a setting missing here is
    # not at its default (postgresql.conf may set it).
    Kind("postgresql-override", "postgresql", "postgresql", True, "lower", "postgresql.auto.conf / conf.d snippet"),
    Kind("pg-hba", "pg_hba", "postgresql", title="pg_hba.conf"),
    Kind("cassandra-yaml", "yaml", "cassandra", title="cassandra.yaml"),
    Kind("hadoop-xml", "xml", "hadoop", title="Hadoop *-site.xml"),
    Kind("tomcat-server-xml", "xml", "tomcat", title="Tomcat server.xml"),
    Kind("tomcat-web-xml", "xml", "tomcat", title="web.xml"),
    Kind("tomcat-context-xml", "xml", "tomcat", title="Tomcat context.xml"),
    Kind("tomcat-users-xml", "xml", "tomcat", title="tomcat-users.xml"),
    Kind("iis-config", "xml", "iis", title="IIS web.config / applicationHost.config"),
    Kind("httpd-conf", "httpd", "httpd", True, "lower", "Apache httpd configuration"),
    Kind("elasticsearch-yml", "yaml", "elasticsearch", title="elasticsearch.yml"),
    Kind("kafka-properties", "properties", "kafka", True, title="Kafka broker properties"),
    Kind("msk-terraform", "hcl", "kafka", title="Terraform (AWS MSK configuration)"),
    Kind("solr-xml", "xml", "solr", title="solrconfig.xml / solr.xml"),
    Kind("solr-security-json", "json", "solr", title="Solr security.json"),
    Kind("solr-in-sh", "properties", "solr", True, title="solr.in.sh"),
    Kind("dockerfile", "dockerfile", "docker", title="Dockerfile"),
    Kind("docker-compose", "yaml", "docker", title="Compose file"),
    Kind("docker-daemon-json", "json", "docker", title="Docker daemon.json"),
    Kind("nifi-properties", "properties", "nifi", True, title="nifi.properties"),
    Kind("nifi-xml", "xml", "nifi", title="NiFi authorizers.xml / login-identity-providers.xml"),
    Kind("systemd-unit", "ini", "systemd", title="systemd unit"),
    Kind("kubernetes", "yaml", "kubernetes", title="Kubernetes manifest"),
    Kind("kubernetes-json", "json", "kubernetes", title="Kubernetes manifest (JSON)"),
    Kind("nginx-conf", "nginx", "nginx", False, "exact", "nginx.conf"),
]}

# Exact base names (after dropping template suffixes such as .in, .sample, .example).
_BY_NAME = {
    "redis.conf": "redis-conf", "sentinel.conf": "redis-conf", "users.acl": "redis-acl",
    "mongod.conf": "mongod-conf", "mongos.conf": "mongod-conf",
    "my.cnf": "my-cnf", ".my.cnf": "my-cnf",
    "postgresql.conf": "postgresql-conf", "postgresql.auto.conf": "postgresql-override", "pg_hba.conf": "pg-hba",
    "cassandra.yaml": "cassandra-yaml",
    "core-site.xml": "hadoop-xml", "hdfs-site.xml": "hadoop-xml", "yarn-site.xml": "hadoop-xml",
    "mapred-site.xml": "hadoop-xml", "core-default.xml": "hadoop-xml", "hdfs-default.xml": "hadoop-xml",
    "yarn-default.xml": "hadoop-xml", "mapred-default.xml": "hadoop-xml",
    "server.xml": "tomcat-server-xml", "web.xml": "tomcat-web-xml", "context.xml": "tomcat-context-xml",
    "tomcat-users.xml": "tomcat-users-xml",
    "web.config": "iis-config", "applicationhost.config": "iis-config",
    "httpd.conf": "httpd-conf", "apache2.conf": "httpd-conf", ".htaccess": "httpd-conf",
    "elasticsearch.yml": "elasticsearch-yml", "elasticsearch.yaml": "elasticsearch-yml",
    "server.properties": "kafka-properties", "broker.properties": "kafka-properties",
    "controller.properties": "kafka-properties",
    "solrconfig.xml": "solr-xml", "solr.xml": "solr-xml", "security.json": "solr-security-json",
    # solr.in.cmd is a Windows batch file (`set KEY=value`, `REM`): the properties reader cannot read it.
    "solr.in.sh": "solr-in-sh",
    "dockerfile": "dockerfile", "containerfile": "dockerfile",
    "compose.yaml": "docker-compose", "compose.yml": "docker-compose",
    "daemon.json": "docker-daemon-json",
    "nifi.properties": "nifi-properties", "authorizers.xml": "nifi-xml",
    "login-identity-providers.xml": "nifi-xml",
    "nginx.conf": "nginx-conf", "kubelet-config.yaml": "kubernetes",
}

_BY_PATTERN = [
    ("docker-compose*.yml", "docker-compose"), ("docker-compose*.yaml", "docker-compose"),
    ("compose.*.yaml", "docker-compose"), ("compose.*.yml", "docker-compose"),
    ("*.dockerfile", "dockerfile"), ("dockerfile.*", "dockerfile"), ("*.containerfile", "dockerfile"),
    ("*.service", "systemd-unit"), ("*.socket", "systemd-unit"), ("*.mount", "systemd-unit"),
    ("*.timer", "systemd-unit"), ("*.automount", "systemd-unit"), ("*.path", "systemd-unit"),
    ("*.cnf", "my-cnf"), ("*.acl", "redis-acl"), ("redis*.conf", "redis-conf"),
    ("sentinel*.conf", "redis-conf"), ("httpd-*.conf", "httpd-conf"), ("*mongod*.conf", "mongod-conf"),
    ("*mongos*.conf", "mongod-conf"),
]

_TEMPLATE_SUFFIXES = (".in", ".sample", ".example", ".dist", ".default", ".orig", ".tmpl", ".template")

# Folder names that say which server a *.conf belongs to.
_CONF_DIRS = {
    "nginx": "nginx-conf", "apache2": "httpd-conf", "httpd": "httpd-conf", "sites-available": "httpd-conf",
    "sites-enabled": "httpd-conf", "conf-available": "httpd-conf", "conf-enabled": "httpd-conf",
    "mods-available": "httpd-conf", "redis": "redis-conf", "postgresql": "postgresql-conf",
    "mysql": "my-cnf", "mariadb.conf.d": "my-cnf",
}


# Directives of products we do not cover whose files look like httpd.conf or pg_hba.conf.
_OTHER_SERVERS = re.compile(r"(?m)^\s*(ServerType|DefaultRoot|SQLConnectInfo|<Anonymous|AllowOverwrite|"
                            r"client\s*$|remote\s|dev\s+tun|ifconfig\s)")
# An nginx block opening (`server {`, `upstream app {`, `location / {`); httpd sections use <Tags>.
_NGINX_BLOCK = re.compile(r"(?m)^\s*(server|upstream|map|location|http|stream|events)\b[^\n;#<]*\{")


_ACL_LINE = re.compile(r"user\s+[^\s;]+(\s+(on|off|nopass|resetpass|reset|allkeys|allchannels|allcommands|"
                       r"nocommands|resetkeys|resetchannels|clearselectors|[><#!~%&+\-(]\S*))+")


def _is_redis_acl(text: str) -> bool:
    """Every setting line is a Redis ACL `user <name> <rules...>` line (and there is one)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return bool(lines) and all(_ACL_LINE.fullmatch(line) for line in lines)


def _base_name(path: str) -> str:
    name = PurePosixPath(path.replace("\\", "/")).name.lower()
    for suffix in _TEMPLATE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    return name


def detect_kind(path: str, head: bytes, associations: dict[str, str] | None = None) -> Kind | None:
    """The kind of the file at `path` whose first bytes are `head`, or None when not ours."""
    posix = path.replace("\\", "/")
    for glob, kind_id in (associations or {}).items():
        if kind_id in KINDS and (fnmatch.fnmatch(posix, glob) or fnmatch.fnmatch(PurePosixPath(posix).name, glob)):
            return KINDS[kind_id]
    name = _base_name(posix)
    parts = [p.lower() for p in PurePosixPath(posix).parts[:-1]]
    if name.endswith(".conf") and any(p.endswith((".service.d", ".socket.d", ".mount.d")) for p in parts):
        return KINDS["systemd-unit"]
    kind_id = _BY_NAME.get(name)
    if kind_id is None:
        for pattern, candidate in _BY_PATTERN:
            if fnmatch.fnmatch(name, pattern):
                kind_id = candidate
                break
    text = head[:65536].decode("utf-8", errors="replace")
    if kind_id == "tomcat-web-xml" and "<web-app" not in text and "<configuration" in text:
        kind_id = "iis-config"
    if kind_id == "solr-security-json" and not re.search(r'"(authentication|authorization)"', text):
        kind_id = None
    if kind_id is None:
        kind_id = _by_content(name, parts, text)
    return KINDS.get(kind_id) if kind_id else None


# Files next to postgresql.conf (Debian's /etc/postgresql/<v>/<cluster>/) that are not postgresql.conf.
_NOT_POSTGRESQL_CONF = {"pg_ident.conf", "pg_ctl.conf", "start.conf", "environment"}


def _by_content(name: str, parts: list[str], text: str) -> str | None:
    suffix = PurePosixPath(name).suffix
    if name in _NOT_POSTGRESQL_CONF:
        return None
    if suffix in (".yaml", ".yml"):
        if re.search(r"(?m)^apiVersion:", text) and re.search(r"(?m)^kind:", text):
            return "kubernetes"
        if re.search(r"(?m)^services:\s*$", text):
            return "docker-compose"
        if re.search(r"(?m)^(cluster_name|seed_provider|authenticator|partitioner):", text):
            return "cassandra-yaml"
        if re.search(r"(?m)^(xpack\.|cluster\.name|network\.host|node\.name|path\.data)", text):
            return "elasticsearch-yml"
        if re.search(r"(?m)^(systemLog|storage|net|security|replication|processManagement):\s*$", text):
            return "mongod-conf"
        return None
    if suffix == ".json":
        if re.search(r'"apiVersion"\s*:', text) and re.search(r'"kind"\s*:', text):
            return "kubernetes-json"
        if re.search(r'"(authentication|authorization)"\s*:\s*\{[^}]*"class"', text, re.S):
            return "solr-security-json"
        if re.search(r'"(icc|userns-remap|live-restore|insecure-registries|log-driver|no-new-privileges|tlsverify)"\s*:', text):
            return "docker-daemon-json"
        return None
    if suffix == ".xml":
        root = re.search(r"<([A-Za-z][\w.-]*)[\s>/]", re.sub(r"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", "", text, flags=re.S))
        tag = root.group(1) if root else ""
        return {
            "Server": "tomcat-server-xml", "web-app": "tomcat-web-xml", "Context": "tomcat-context-xml",
            "tomcat-users": "tomcat-users-xml", "solr": "solr-xml", "authorizers": "nifi-xml",
            "loginIdentityProviders": "nifi-xml",
        }.get(tag) or ("hadoop-xml" if tag == "configuration" and "<property" in text else
                       "iis-config" if tag == "configuration" and "<system.web" in text else
                       "solr-xml" if tag == "config" and "luceneMatchVersion" in text else None)
    if suffix == ".config":
        return "iis-config" if "<system.web" in text or "<configuration" in text else None
    if suffix == ".properties":
        if re.search(r"(?m)^nifi\.", text):
            return "nifi-properties"
        if re.search(r"(?m)^\s*#?\s*(broker\.id|node\.id|process\.roles|listeners|log\.dirs|zookeeper\.connect|"
                     r"unclean\.leader\.election\.enable|auto\.create\.topics\.enable|min\.insync\.replicas)\s*=", text):
            return "kafka-properties"
        return None
    if suffix == ".tf":
        return "msk-terraform" if "aws_msk_configuration" in text else None
    if suffix in (".conf", "", ".acl", ".users") and _is_redis_acl(text):
        return "redis-acl"  # an ACL file named anything, as `aclfile` allows
    if suffix in (".conf", ""):
        for folder in reversed(parts):
            if folder in ("sites-available", "sites-enabled") and _NGINX_BLOCK.search(text):
                return "nginx-conf"  # Debian's nginx uses the same folder names as apache2
            if folder in _CONF_DIRS:
                if _CONF_DIRS[folder] == "postgresql-conf" and "conf.d" in parts[parts.index(folder):]:
                    return "postgresql-override"  # /etc/postgresql/<v>/<cluster>/conf.d/*.conf
                return _CONF_DIRS[folder]
            if folder.endswith(".d") and folder[:-2] in _CONF_DIRS:
                return _CONF_DIRS[folder[:-2]]
        if suffix == "" or _OTHER_SERVERS.search(text):
            return None  # no extension, or another product's syntax look-alike (ProFTPD, OpenVPN)
        if re.search(r"(?m)^\s*(http|events|stream)\s*\{", text) or re.search(r"(?m)^\s*server\s*\{", text):
            return "nginx-conf"
        if re.search(r"(?mi)^\s*<(VirtualHost|Directory|IfModule)\b", text) or re.search(r"(?m)^\s*(ServerRoot|LoadModule|DocumentRoot)\s", text):
            return "httpd-conf"
        if re.search(r"(?m)^\s*(local|host|hostssl|hostnossl)\s+\S+\s+\S+", text):
            return "pg-hba"
        if re.search(r"(?m)^\s*(listen_addresses|shared_buffers|max_connections|password_encryption)\s*=", text):
            return "postgresql-conf"
        if re.search(r"(?m)^\s*\[(mysqld|mariadb|client|mysqld_safe|server)\]", text):
            return "my-cnf"
        if re.search(r"(?m)^\s*(requirepass|protected-mode|appendonly|maxmemory-policy|aclfile)\s", text):
            return "redis-conf"
        if re.search(r"(?m)^\s*\[(Unit|Service|Mount|Socket|Install)\]", text):
            return "systemd-unit"
    return None
