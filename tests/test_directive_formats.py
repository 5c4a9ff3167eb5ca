"""Tests for the directive-style formats: redis, postgresql.conf, pg_hba.conf, nginx and httpd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipaa_lsp.formats.directives import parse_httpd, parse_nginx, parse_pg_hba, parse_postgresql_conf, parse_redis
from hipaa_lsp.model import Document, Node, Span

PARSERS = [parse_redis, parse_postgresql_conf, parse_pg_hba, parse_nginx, parse_httpd]


def text(data: bytes, span: Span | None) -> bytes:
    assert span is not None
    return data[span.start : span.end]


def nodes(doc: Document) -> list[Node]:
    """All nodes below the root, depth first, without recursion (trees can be 10,000 deep)."""
    out, stack = [], list(reversed(doc.root.children))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def path(doc: Document, *keys: str) -> Node:
    node = doc.root
    for key in keys:
        found = node.child(key)
        assert found is not None, f"no {key!r} under {node.key!r}: {[c.key for c in node.children]}"
        node = found
    return node


def check_invariants(data: bytes, doc: Document) -> None:
    """Spans lie inside the file and nest, and single-line entries hold no newline."""
    assert doc.span == Span(0, len(data))
    assert doc.root.span == Span(0, len(data))
    for node in nodes(doc):
        assert 0 <= node.span.start <= node.span.end <= len(data)
        for span in (node.key_span, node.value_span):
            if span is not None:
                assert node.span.start <= span.start <= span.end <= node.span.end
        for arg in node.args:
            assert node.span.start <= arg.span.start <= arg.span.end <= node.span.end
            assert arg.value_span == arg.span
        if node.insert_at is not None:
            assert node.span.start <= node.insert_at <= len(data)
    for c in doc.comments:
        raw = text(data, c.span)
        assert raw.startswith(b"#") and raw == raw.rstrip()


# --------------------------------------------------------------------------- shared behaviour


@pytest.mark.parametrize("parse", PARSERS)
def test_empty_and_blank_input(parse):
    for data in (b"", b"\n\n", b"   \r\n\t\r"):
        doc = parse(data)
        assert doc.root.children == [] and doc.problems == []
        assert doc.root.insert_at == len(data) and doc.root.child_indent == ""


@pytest.mark.parametrize(
    ("parse", "fmt"),
    [
        (parse_redis, "redis"),
        (parse_postgresql_conf, "postgresql"),
        (parse_pg_hba, "pg_hba"),
        (parse_nginx, "nginx"),
        (parse_httpd, "httpd"),
    ],
)
def test_document_metadata(parse, fmt):
    for newline in ("\n", "\r\n", "\r"):
        data = f"# c{newline}x y{newline}".encode()
        doc = parse(data)
        assert doc.format == fmt
        assert doc.newline == newline
        assert doc.span == Span(0, len(data))
    assert parse(b"x y").newline == "\n"


@pytest.mark.parametrize("parse", PARSERS)
def test_garbage_never_raises(parse):
    samples = [
        bytes(range(256)),
        b'"\'{}<>;#\\\n\\\r\\',
        b"\xff\xfe\x00 \x80 { } </x> <y \"\n",
        b"}" * 50 + b"{" * 50,
        b"</a>\n<b>\n</c>\n<d\n",
    ]
    for data in samples:
        check_invariants(data, parse(data))


# Fragments that matter to at least one of the formats, so random files exercise every branch.
_FRAGMENTS = st.sampled_from(
    [" ", "\t", "\n", "\r", "\r\n", "#", '"', "'", "\\", "{", "}", ";", "<", ">", "</", "=", ",", "$", "${x}",
     "a", "host", "local", "all", "10.0.0.1", "255.0.0.0", "<Dir", "</Dir>", "ü", "\udcff"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=40).map(lambda parts: "".join(parts).encode("utf-8", "surrogateescape")))
def test_random_input_keeps_invariants(data):
    for parse in PARSERS:
        check_invariants(data, parse(data))


@pytest.mark.parametrize("parse", PARSERS)
def test_commented_out_default_is_found(parse):
    data = b"a b\n  #  requirepass foobared  \n##port 6379\n"
    doc = parse(data)
    assert [c.text for c in doc.comments] == ["requirepass foobared", "port 6379"]
    assert text(data, doc.comments[0].span) == b"#  requirepass foobared"


# --------------------------------------------------------------------------- redis


def test_redis_directives_and_spans():
    data = b"port 6379\n  Bind 127.0.0.1  -::1 \nrename-command CONFIG \"\"\n"
    doc = parse_redis(data)
    check_invariants(data, doc)
    port, bind, rename = doc.root.children
    assert (port.key, port.value) == ("port", "6379")
    assert text(data, port.span) == b"port 6379"
    assert text(data, port.key_span) == b"port"
    assert text(data, port.value_span) == b"6379"
    assert bind.key == "bind"  # lower-cased
    assert [a.value for a in bind.args] == ["127.0.0.1", "-::1"]
    assert bind.value == "127.0.0.1 -::1"
    assert text(data, bind.span) == b"  Bind 127.0.0.1  -::1 "
    assert text(data, bind.value_span) == b"127.0.0.1  -::1"
    assert [a.value for a in rename.args] == ["CONFIG", ""]
    assert rename.args[1].quote == '"' and text(data, rename.args[1].span) == b'""'
    assert rename.value == "CONFIG "
    assert doc.root.insert_at == len(data)


def test_redis_directive_without_args():
    data = b"cluster-enabled\n"
    (node,) = parse_redis(data).root.children
    assert node.value == "" and node.value_span is None and node.args == []


def test_redis_quotes_and_escapes():
    data = b"requirepass \"p a\\\"ss\\x41\\n\"\nmasterauth 'it\\'s'\nlogfile \"\"\nx foo\"bar baz\"\n"
    doc = parse_redis(data)
    assert doc.problems == []
    req, auth, log, glued = doc.root.children
    assert req.args[0].value == 'p a"ssA\n' and req.args[0].quote == '"'
    assert text(data, req.args[0].span) == b'"p a\\"ss\\x41\\n"'
    assert auth.value == "it's" and auth.args[0].quote == "'"
    assert log.value == "" and text(data, log.value_span) == b'""'
    # Redis glues quoted parts onto bare text, like a shell.
    assert glued.args[0].value == "foobar baz" and glued.args[0].quote == ""


def test_redis_comments_only_at_line_start():
    data = b"  # save 900 1\nport 6379 # not a comment\n"
    doc = parse_redis(data)
    assert [c.text for c in doc.comments] == ["save 900 1"]
    assert [a.value for a in doc.root.children[0].args] == ["6379", "#", "not", "a", "comment"]


def test_redis_quote_problems():
    data = b'requirepass "unterminated\nbind "a"b\nport 1\n'
    doc = parse_redis(data)
    assert [n.key for n in doc.root.children] == ["requirepass", "bind", "port"]
    assert doc.root.children[0].value == "unterminated"
    messages = [p.message for p in doc.problems]
    assert messages == ["Unbalanced quotes in configuration line", "A closing quote must be followed by a space"]
    assert text(data, doc.problems[0].span) == b'"unterminated'


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_redis_line_endings(newline):
    data = newline.join([b"# requirepass foobared", b"port 6379", b"", b'dir "/var/lib/redis"', b""])
    doc = parse_redis(data)
    check_invariants(data, doc)
    port, dir_ = doc.root.children
    assert text(data, port.span) == b"port 6379"
    assert text(data, dir_.span) == b'dir "/var/lib/redis"'
    assert dir_.value == "/var/lib/redis"
    assert text(data, doc.comments[0].span) == b"# requirepass foobared"


def test_redis_utf8_and_invalid_bytes():
    data = "masterauth \"pässwörd\" ü\n".encode() + b"requirepass \xff\xfeab\n"
    doc = parse_redis(data)
    auth, req = doc.root.children
    assert auth.args[0].value == "pässwörd"
    assert text(data, auth.args[0].span) == '"pässwörd"'.encode()
    assert text(data, auth.args[1].span) == "ü".encode()
    assert req.value == "\ufffd\ufffdab"
    assert text(data, req.value_span) == b"\xff\xfeab"


# --------------------------------------------------------------------------- postgresql.conf


def test_postgresql_settings():
    data = (
        b"shared_buffers = 128MB\t\t# min 128kB\n"
        b"Listen_Addresses 'localhost,10.0.0.1'\n"
        b"log_line_prefix='%m # [%p] '  # keeps the hash\n"
        b"search_path = '\"$user\", public'\n"
        b"pg_stat_statements.max = 10000\n"
        b"ssl=on\n"
        b"include_dir 'conf.d'\n"
    )
    doc = parse_postgresql_conf(data)
    check_invariants(data, doc)
    assert doc.problems == []
    values = {n.key: n.value for n in doc.root.children}
    assert values == {
        "shared_buffers": "128MB",
        "listen_addresses": "localhost,10.0.0.1",
        "log_line_prefix": "%m # [%p] ",
        "search_path": '"$user", public',
        "pg_stat_statements.max": "10000",
        "ssl": "on",
        "include_dir": "conf.d",
    }
    sb, la, prefix = doc.root.children[:3]
    assert text(data, sb.span) == b"shared_buffers = 128MB\t\t# min 128kB"
    assert text(data, sb.key_span) == b"shared_buffers"
    assert text(data, sb.value_span) == b"128MB" and sb.quote == ""
    assert text(data, la.value_span) == b"'localhost,10.0.0.1'" and la.quote == "'"
    assert text(data, prefix.value_span) == b"'%m # [%p] '"
    assert [c.text for c in doc.comments] == ["min 128kB", "keeps the hash"]
    assert text(data, doc.comments[0].span) == b"# min 128kB"


def test_postgresql_quoting_and_escapes():
    data = b"a = 'it''s'\nb = 'tab\\there\\101'\nc = ''\n"
    doc = parse_postgresql_conf(data)
    assert [n.value for n in doc.root.children] == ["it's", "tab\there\x41", ""]
    assert text(data, doc.root.children[2].value_span) == b"''"


def test_postgresql_commented_settings_are_comments():
    data = b"#ssl = off\t\t\t# (change requires restart)\n  #listen_addresses = 'localhost'\n"
    doc = parse_postgresql_conf(data)
    assert doc.root.children == []
    assert [c.text for c in doc.comments] == [
        "ssl = off\t\t\t# (change requires restart)",
        "listen_addresses = 'localhost'",
    ]


def test_postgresql_problems_keep_the_setting():
    data = b"port =\nssl on extra\nname = 'open\nok = 1\n"
    doc = parse_postgresql_conf(data)
    assert [(n.key, n.value) for n in doc.root.children] == [("port", ""), ("ssl", "on"), ("name", "open"), ("ok", "1")]
    assert doc.root.children[0].value_span is None
    spans = {p.message: text(data, p.span) for p in doc.problems}
    assert spans == {
        "Setting 'port' has no value": b"port",
        "Syntax error: unexpected text": b"extra",
        "Unterminated quoted string": b"'open",
    }


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_postgresql_line_endings_and_utf8(newline):
    data = newline.join(["cluster_name = 'prüfung' # ü".encode(), b"port = 5432", b""])
    doc = parse_postgresql_conf(data)
    check_invariants(data, doc)
    name, port = doc.root.children
    assert name.value == "prüfung"
    assert text(data, name.value_span) == "'prüfung'".encode()
    assert text(data, name.span) == "cluster_name = 'prüfung' # ü".encode()
    assert text(data, port.span) == b"port = 5432"
    assert doc.comments[0].text == "ü"


# --------------------------------------------------------------------------- pg_hba.conf


def hba_children(record: Node) -> dict[str, str]:
    return {c.key: c.value for c in record.children}


def test_pg_hba_records():
    data = (
        b"# TYPE  DATABASE  USER  ADDRESS  METHOD\n"
        b"local   all       postgres          peer\n"
        b"host    all       all   127.0.0.1/32  scram-sha-256   # inline\n"
        b"host    all       all   10.0.0.1  255.255.255.0  md5\n"
        b"hostssl all       all   .example.com  cert clientcert=verify-full map=m\n"
        b"hostnogssenc db1,  db2 +admins  ::1/128  reject\n"
    )
    doc = parse_pg_hba(data)
    check_invariants(data, doc)
    assert doc.problems == []
    local, host, masked, ssl, lists = doc.root.children
    assert local.key == "local"
    assert hba_children(local) == {"type": "local", "database": "all", "user": "postgres", "method": "peer"}
    assert hba_children(host) == {
        "type": "host",
        "database": "all",
        "user": "all",
        "address": "127.0.0.1/32",
        "method": "scram-sha-256",
    }
    assert host.value == "host    all       all   127.0.0.1/32  scram-sha-256"
    assert text(data, host.value_span) == host.value.encode()
    assert text(data, host.span) == b"host    all       all   127.0.0.1/32  scram-sha-256   # inline"
    assert doc.comments[-1].text == "inline"
    assert hba_children(masked)["address"] == "10.0.0.1"
    assert hba_children(masked)["mask"] == "255.255.255.0"
    assert hba_children(masked)["method"] == "md5"
    assert hba_children(ssl)["address"] == ".example.com"
    options = ssl.child("options")
    assert options.value == "clientcert=verify-full map=m"
    assert text(data, options.value_span) == b"clientcert=verify-full map=m"
    assert options.key_span == options.value_span == options.span
    # Whitespace after a comma continues the list.
    assert hba_children(lists)["database"] == "db1,db2"
    assert text(data, lists.child("database").span) == b"db1,  db2"
    assert hba_children(lists)["user"] == "+admins"
    for record in doc.root.children:
        for child in record.children:
            assert text(data, child.key_span) == text(data, child.value_span) == text(data, child.span)


def test_pg_hba_quoted_fields():
    data = b'host "my db","a""b" all 0.0.0.0/0 md5 "ldapprefix=cn=#x"\n'
    doc = parse_pg_hba(data)
    record = doc.root.children[0]
    db = record.child("database")
    assert db.value == 'my db,a"b' and db.quote == '"'
    assert text(data, db.span) == b'"my db","a""b"'
    assert record.child("options").value == "ldapprefix=cn=#x"
    assert doc.comments == []


def test_pg_hba_continuation_lines():
    data = b"host all all \\\n    192.168.0.0/16 \\\r\n  md5\nlocal all all trust\n"
    doc = parse_pg_hba(data)
    check_invariants(data, doc)
    host, local = doc.root.children
    assert hba_children(host)["address"] == "192.168.0.0/16"
    assert text(data, host.child("address").span) == b"192.168.0.0/16"
    assert text(data, host.child("method").span) == b"md5"
    assert text(data, host.span) == data[: data.index(b"md5") + 3]
    assert host.value == "host all all     192.168.0.0/16   md5"
    assert local.key == "local"


def test_pg_hba_include_and_placeholders():
    data = (
        b"include_if_exists pg_hba.local.conf\n"
        b"@authcomment@\n"
        b"@remove-line-for-nolocal@local   all  all       @authmethodlocal@\n"
        b"host    all             all             127.0.0.1/32            @authmethodhost@\n"
    )
    doc = parse_pg_hba(data)
    check_invariants(data, doc)
    inc, comment, nolocal, host = doc.root.children
    assert inc.key == "include_if_exists"
    assert hba_children(inc) == {"type": "include_if_exists", "file": "pg_hba.local.conf"}
    assert comment.key == "@authcomment@"
    assert hba_children(nolocal)["method"] == "@authmethodlocal@" and nolocal.child("address") is None
    assert hba_children(host)["method"] == "@authmethodhost@"
    assert hba_children(host)["address"] == "127.0.0.1/32"
    # Build-template lines are kept as records but are not the user's mistakes: no problem reported.
    assert doc.problems == []


def test_pg_hba_incomplete_records():
    data = b"host all all\nhost all all md5\nlocal all\nhost all all @m@\ninclude\nhost \"open all\n"
    doc = parse_pg_hba(data)
    assert len(doc.root.children) == 6
    assert [p.message for p in doc.problems] == [
        "pg_hba record is missing the client address",
        "pg_hba record is missing the authentication method",  # md5 taken as a host name, like PostgreSQL
        "pg_hba record is missing the user",
        "pg_hba record is missing the client address",
        "include needs a file name",
        "Unterminated quoted field",
        "pg_hba record is missing the user",
    ]
    assert doc.root.children[3].child("method").value == "@m@"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_pg_hba_line_endings_and_utf8(newline):
    data = newline.join(["# ü".encode(), "host  bäse  all  ::1/128  trust".encode(), b""])
    doc = parse_pg_hba(data)
    check_invariants(data, doc)
    record = doc.root.children[0]
    assert text(data, record.span) == "host  bäse  all  ::1/128  trust".encode()
    assert text(data, record.child("database").span) == "bäse".encode()
    assert text(data, record.child("method").span) == b"trust"


# --------------------------------------------------------------------------- nginx

NGINX = b"""\
user  nobody;
events {
    worker_connections  1024;
}
http {
    include       mime.types;   # types
    server {
        listen       443 ssl;
        server_name  "example.com" 'www.example.com';
        location ~ \\.php$ {
            fastcgi_param  SCRIPT_FILENAME  /scripts$fastcgi_script_name;
            return 200 "a \\"quoted\\" word\\n";
        }
    }
}
"""


def test_nginx_structure_and_spans():
    data = NGINX
    doc = parse_nginx(data)
    check_invariants(data, doc)
    assert doc.problems == []
    assert [n.key for n in doc.root.children] == ["user", "events", "http"]
    user = doc.root.children[0]
    assert text(data, user.span) == b"user  nobody;"
    assert text(data, user.value_span) == b"nobody"
    listen = path(doc, "http", "server", "listen")
    assert listen.value == "443 ssl" and [a.value for a in listen.args] == ["443", "ssl"]
    assert text(data, listen.span) == b"listen       443 ssl;"
    assert text(data, listen.value_span) == b"443 ssl"
    names = path(doc, "http", "server", "server_name")
    assert [(a.value, a.quote) for a in names.args] == [("example.com", '"'), ("www.example.com", "'")]
    assert text(data, names.args[1].span) == b"'www.example.com'"
    location = path(doc, "http", "server", "location")
    assert location.value == "~ \\.php$"  # backslashes other than nginx's escapes stay
    assert text(data, location.span).startswith(b"location") and text(data, location.span).endswith(b"}")
    assert text(data, location.key_span) == b"location"
    fastcgi = location.child("fastcgi_param")
    assert fastcgi.args[1].value == "/scripts$fastcgi_script_name"
    ret = location.child("return")
    assert ret.args[1].value == 'a "quoted" word\n'
    assert [c.text for c in doc.comments] == ["types"]
    server = path(doc, "http", "server")
    assert server in path(doc, "http").children and listen in server.children


def test_nginx_insert_points():
    data = NGINX
    doc = parse_nginx(data)
    events, http = doc.root.children[1:]
    assert events.insert_at == data.index(b"}\nhttp")  # start of the line holding `}`
    assert events.child_indent == "    "
    server = http.child("server")
    closing = data.index(b"    }\n}\n")
    assert server.insert_at == closing
    assert server.child_indent == "        "
    assert http.insert_at == closing + len(b"    }\n")
    assert http.child_indent == "    "
    assert doc.root.insert_at == len(data) and doc.root.child_indent == ""


def test_nginx_one_line_and_empty_blocks():
    data = b"  events { worker_connections 1024; }\n\tmap $a $b {\n\t}\n"
    doc = parse_nginx(data)
    events, map_ = doc.root.children
    # Inserting at the line start would put the child before `events`.
    assert events.insert_at == data.index(b"}")
    assert events.child_indent == "      "
    assert map_.insert_at == data.index(b"\t}")
    assert map_.child_indent == "\t    "
    assert map_.value == "$a $b"


def test_nginx_variables_and_comments_inside_words():
    data = b"set $x ${host}_${uri}#frag; # real comment\nproxy_pass http://up$request_uri;\n"
    doc = parse_nginx(data)
    set_, proxy = doc.root.children
    assert [a.value for a in set_.args] == ["$x", "${host}_${uri}#frag"]
    assert proxy.value == "http://up$request_uri"
    assert [c.text for c in doc.comments] == ["real comment"]


def test_nginx_multiline_string():
    data = b"log_format main '$remote_addr\n    $status';\nx y;\n"
    doc = parse_nginx(data)
    log, x = doc.root.children
    assert log.args[1].value == "$remote_addr\n    $status"
    assert x.key == "x"


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_nginx_line_endings(newline):
    data = newline.join([b"# top", b"http {", b"    server {", b"        listen 80; # port", b"    }", b"}", b""])
    doc = parse_nginx(data)
    check_invariants(data, doc)
    listen = path(doc, "http", "server", "listen")
    assert text(data, listen.span) == b"listen 80;"
    server = path(doc, "http", "server")
    assert server.insert_at == data.index(b"    }")
    assert server.child_indent == "        "
    assert [text(data, c.span) for c in doc.comments] == [b"# top", b"# port"]


def test_nginx_utf8_and_invalid_bytes():
    data = "add_header X-Grüße \"ünïcode\";\n".encode() + b"root /srv/\xff\xfe;\n"
    doc = parse_nginx(data)
    header, root = doc.root.children
    assert header.args[0].value == "X-Grüße"
    assert text(data, header.args[1].span) == '"ünïcode"'.encode()
    assert root.value == "/srv/\ufffd\ufffd"
    assert text(data, root.value_span) == b"/srv/\xff\xfe"


def test_nginx_unclosed_block_keeps_directives():
    data = b"http {\n    server {\n        listen 80;\n"
    doc = parse_nginx(data)
    check_invariants(data, doc)
    assert path(doc, "http", "server", "listen").value == "80"
    assert [p.message for p in doc.problems] == ["Block 'server' is not closed", "Block 'http' is not closed"]
    assert text(data, doc.problems[0].span) == b"server"
    server = path(doc, "http", "server")
    assert server.span.end == data.index(b";") + 1
    assert server.insert_at == len(data)


def test_nginx_stray_brace_and_semicolon():
    data = b"a 1;\n}\nb 2;;\n{ c 3; }\nd 4;\n"
    doc = parse_nginx(data)
    check_invariants(data, doc)
    assert [(n.key, n.value) for n in doc.root.children] == [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
    assert [p.message for p in doc.problems] == [
        "Unexpected '}'",
        "Unexpected ';'",
        "Unexpected '{' without a directive name",
    ]


def test_nginx_missing_semicolon():
    data = b"server {\n    listen 80\n}\nroot /x"
    doc = parse_nginx(data)
    listen = path(doc, "server", "listen")
    assert text(data, listen.span) == b"listen 80"
    assert doc.root.children[1].value == "/x"
    assert [p.message for p in doc.problems] == [
        "Directive 'listen' is not terminated by ';'",
        "Directive 'root' is not terminated by ';'",
    ]


def test_nginx_unterminated_quote_stops_at_line_end():
    data = b'server {\n    return 200 "oops;\n    listen 80;\n}\nhttp { x 1; }\n'
    doc = parse_nginx(data)
    server, http = doc.root.children
    # The swallowed `;` makes the next line part of `return`; the file's structure survives.
    assert [a.value for a in server.children[0].args] == ["200", "oops;", "listen", "80"]
    assert text(data, server.children[0].args[1].span) == b'"oops;'
    assert server.children[0].args[1].quote == '"'
    assert http.child("x").value == "1"
    assert [p.message for p in doc.problems] == ["Unterminated quoted string"]


def test_nginx_deep_nesting_uses_no_recursion():
    depth = 10_000
    data = b"a {" * depth + b"x 1;" + b"}" * depth
    doc = parse_nginx(data)
    assert doc.problems == []
    node = doc.root
    for _ in range(depth):
        node = node.children[0]
    assert node.key == "a" and node.children[0].key == "x"
    # (Messages are collected first: pytest's repr of a 10,000-deep tree would recurse.)
    messages = [p.message for p in parse_nginx(b"a {\n" * depth + b"{" * depth).problems]
    assert len(messages) == 3 * depth
    assert set(messages) == {"Unexpected '{' without a directive name", "Block 'a' is not closed", "Unclosed '{'"}
    messages = [p.message for p in parse_nginx(b"{" * depth + b"}" * depth).problems]
    assert messages == ["Unexpected '{' without a directive name"] * depth


# --------------------------------------------------------------------------- httpd

HTTPD = b"""\
ServerRoot "@@ServerRoot@@"
Listen @@Port@@
<IfModule !mod_ssl.c>
    <Directory "/var/www">
        Options Indexes FollowSymLinks
        Require all granted
    </Directory>
</IfModule>
<VirtualHost *:443>
  ServerName www.example.com:443
  LogFormat "%h \\"%r\\" %>s" common
  CustomLog "logs/ssl_request_log" \\
            "%t %h"
</VirtualHost>
"""


def test_httpd_structure_and_spans():
    data = HTTPD
    doc = parse_httpd(data)
    check_invariants(data, doc)
    assert doc.problems == []
    assert [n.key for n in doc.root.children] == ["ServerRoot", "Listen", "IfModule", "VirtualHost"]
    root_dir = doc.root.children[0]
    assert root_dir.value == "@@ServerRoot@@" and root_dir.args[0].quote == '"'
    assert text(data, root_dir.value_span) == b'"@@ServerRoot@@"'
    assert text(data, root_dir.span) == b'ServerRoot "@@ServerRoot@@"'
    ifmodule = doc.root.children[2]
    assert ifmodule.value == "!mod_ssl.c"
    assert text(data, ifmodule.key_span) == b"IfModule"
    assert text(data, ifmodule.span).startswith(b"<IfModule") and text(data, ifmodule.span).endswith(b"</IfModule>")
    directory = ifmodule.child("Directory")
    assert directory.value == "/var/www" and directory.args[0].quote == '"'
    assert text(data, directory.args[0].span) == b'"/var/www"'
    assert [(c.key, c.value) for c in directory.children] == [
        ("Options", "Indexes FollowSymLinks"),
        ("Require", "all granted"),
    ]
    vhost = doc.root.children[3]
    assert vhost.value == "*:443"
    assert vhost.child("LogFormat").args[0].value == '%h "%r" %>s'
    custom = vhost.child("CustomLog")
    assert [a.value for a in custom.args] == ["logs/ssl_request_log", "%t %h"]
    assert text(data, custom.args[1].span) == b'"%t %h"'
    assert text(data, custom.span).endswith(b'"%t %h"')


def test_httpd_insert_points():
    data = HTTPD
    doc = parse_httpd(data)
    ifmodule, vhost = doc.root.children[2:]
    directory = ifmodule.child("Directory")
    assert directory.insert_at == data.index(b"    </Directory>")
    assert directory.child_indent == "        "
    assert ifmodule.insert_at == data.index(b"</IfModule>")
    assert ifmodule.child_indent == "    "
    assert vhost.insert_at == data.index(b"</VirtualHost>")
    assert vhost.child_indent == "  "
    empty = parse_httpd(b"  <Location /x>\n  </Location>\n").root.children[0]
    assert empty.child_indent == "      " and empty.insert_at == len(b"  <Location /x>\n")


def test_httpd_comments_and_case():
    data = (
        b"# ServerTokens Full\n  #SSLEngine off\n"
        b"ServerTokens Prod # trailing words are arguments\n"
        b"<directory /x>\n</DIRECTORY>\n"
    )
    doc = parse_httpd(data)
    assert doc.problems == []
    assert [c.text for c in doc.comments] == ["ServerTokens Full", "SSLEngine off"]
    tokens, directory = doc.root.children
    assert tokens.key == "ServerTokens"
    assert [a.value for a in tokens.args][:2] == ["Prod", "#"]
    assert directory.key == "directory"


def test_httpd_continued_comment():
    data = b"#SSLRequire (a \\\n#  and b)\nSSLEngine on\n"
    doc = parse_httpd(data)
    assert len(doc.comments) == 1
    assert text(data, doc.comments[0].span) == b"#SSLRequire (a \\\n#  and b)"
    assert doc.root.children[0].key == "SSLEngine"


def test_httpd_escapes_and_quotes():
    data = b"Header set X 'a \\'b\\' c'\nAlias /a\\\\b \"C:\\\\x\\y\"\nEcho \"a\"b\n"
    doc = parse_httpd(data)
    header, alias, echo = doc.root.children
    assert header.args[2].value == "a 'b' c" and header.args[2].quote == "'"
    assert [a.value for a in alias.args] == ["/a\\b", "C:\\x\\y"]
    assert [a.value for a in echo.args] == ["a", "b"]  # httpd splits after a closing quote


def test_httpd_line_ending_backslash_pair_does_not_continue():
    data = b"Define X a\\\\\nListen 80\n"
    doc = parse_httpd(data)
    assert [n.key for n in doc.root.children] == ["Define", "Listen"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_httpd_line_endings_and_utf8(newline):
    lines = ["# top", '<Directory "/srv/ü">', "  Require all denied", "  ErrorLog \\", "    logs/e", "</Directory>"]
    lines.append("")
    data = newline.join(line.encode() for line in lines)
    doc = parse_httpd(data)
    check_invariants(data, doc)
    directory = doc.root.children[0]
    assert directory.value == "/srv/ü"
    assert text(data, directory.args[0].span) == '"/srv/ü"'.encode()
    require, errorlog = directory.children
    assert text(data, require.span) == b"Require all denied"
    assert text(data, errorlog.value_span) == b"logs/e"
    assert errorlog.span.end == data.index(b"logs/e") + len(b"logs/e")
    assert directory.insert_at == data.index(b"</Directory>")
    assert directory.span.end == data.index(b"</Directory>") + len(b"</Directory>")


def test_httpd_unclosed_and_mismatched_sections():
    data = (
        b"<IfModule a>\n<Directory /x>\nRequire all denied\n</IfModule>\n"
        b"Listen 80\n</Files>\n"
        b"<VirtualHost *:80>\nServerName x\n"
    )
    doc = parse_httpd(data)
    check_invariants(data, doc)
    ifmodule, listen, vhost = doc.root.children
    directory = ifmodule.child("Directory")
    assert directory.child("Require").value == "all denied"
    assert listen.value == "80"
    assert vhost.child("ServerName").value == "x"
    assert [p.message for p in doc.problems] == [
        "<Directory> is not closed",
        "</Files> without matching <Files> section",
        "<VirtualHost> is not closed",
    ]
    assert text(data, doc.problems[0].span) == b"Directory"
    assert directory.insert_at == data.index(b"</IfModule>")
    assert directory.span.end == data.index(b"denied") + len(b"denied")
    assert vhost.insert_at == len(data)


def test_httpd_missing_closing_angle_bracket():
    data = b'<Directory "/x"\nRequire all granted\n</Directory>\n'
    doc = parse_httpd(data)
    directory = doc.root.children[0]
    assert directory.value == "/x" and directory.child("Require") is not None
    assert [p.message for p in doc.problems] == ["<Directory> is missing its closing '>'"]


def test_httpd_deep_nesting_uses_no_recursion():
    depth = 10_000
    data = b"<IfModule a>\n" * depth + b"Listen 80\n" + b"</IfModule>\n" * depth
    doc = parse_httpd(data)
    assert doc.problems == []
    messages = [p.message for p in parse_httpd(b"<IfModule a>\n" * depth).problems]
    assert messages == ["<IfModule> is not closed"] * depth


# --------------------------------------------------------------------------- upstream corpus


def corpus_dir() -> Path:
    default = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    return Path(os.environ.get("HIPAA_LSP_CORPUS", default))


def corpus_file(relative: str) -> bytes:
    file = corpus_dir() / relative
    if not file.is_file():
        pytest.skip(f"corpus file {file} is missing")
    return file.read_bytes()


def test_corpus_redis_conf():
    data = corpus_file("redis/redis.conf")
    doc = parse_redis(data)
    check_invariants(data, doc)
    assert doc.problems == []
    settings = {n.key: n for n in doc.root.children}
    assert settings["port"].value == "6379"
    assert [a.value for a in settings["bind"].args] == ["127.0.0.1", "-::1"]
    assert settings["logfile"].value == "" and settings["logfile"].args[0].quote == '"'
    assert settings["proc-title-template"].value == "{title} {listen-addr} {server-mode}"
    assert len([n for n in doc.root.children if n.key == "client-output-buffer-limit"]) == 3
    comments = [c.text for c in doc.comments]
    assert "requirepass foobared" in comments
    anchor = next(c for c in doc.comments if c.text == "requirepass foobared")
    assert text(data, anchor.span) == b"# requirepass foobared"


def test_corpus_postgresql_conf_sample():
    data = corpus_file("postgresql/postgresql.conf.sample")
    doc = parse_postgresql_conf(data)
    check_invariants(data, doc)
    assert doc.problems == []
    # Everything in the sample is commented out; the defaults are found among the comments.
    assert doc.root.children == []
    texts = [c.text for c in doc.comments]
    assert any(t.startswith("listen_addresses = 'localhost'") for t in texts)
    assert any(t.startswith("password_encryption = scram-sha-256") for t in texts)
    # Uncommenting the sample yields settings with the values shown.
    lines = data.splitlines()
    uncommented = b"\n".join(line[1:] if line.startswith(b"#") and b" = " in line else line for line in lines)
    settings = {n.key: n for n in parse_postgresql_conf(uncommented).root.children}
    assert settings["listen_addresses"].value == "localhost" and settings["listen_addresses"].quote == "'"
    assert settings["port"].value == "5432"
    assert settings["ssl"].value == "off"


def test_corpus_pg_hba_conf_sample():
    data = corpus_file("postgresql/pg_hba.conf.sample")
    doc = parse_pg_hba(data)
    check_invariants(data, doc)
    hosts = [r for r in doc.root.children if r.key == "host"]
    assert [hba_children(r)["address"] for r in hosts] == ["127.0.0.1/32", "::1/128"] * 2
    assert {hba_children(r)["method"] for r in hosts} == {"@authmethodhost@"}
    assert [hba_children(r)["database"] for r in hosts] == ["all", "all", "replication", "replication"]
    for record in hosts:
        assert text(data, record.child("address").span) == record.child("address").value.encode()
    # Template lines are kept as records and not reported as syntax problems.
    assert doc.problems == []
    assert any(c.text.startswith("TYPE  DATABASE") for c in doc.comments)


def test_corpus_nginx_conf():
    data = corpus_file("nginx/nginx.conf")
    doc = parse_nginx(data)
    check_invariants(data, doc)
    assert doc.problems == []
    assert path(doc, "http", "server", "listen").value == "80"
    assert path(doc, "events", "worker_connections").value == "1024"
    assert path(doc, "http", "server", "location", "index").value == "index.html index.htm"
    server = path(doc, "http", "server")
    assert [c.value for c in server.children if c.key == "location"] == ["/", "= /50x.html"]
    assert server.child_indent == "        "
    assert text(data, server.span).startswith(b"server {") and text(data, server.span).endswith(b"}")
    assert "listen       443 ssl;" in [c.text for c in doc.comments]


def test_corpus_httpd_conf_in():
    data = corpus_file("apache-httpd/httpd.conf.in")
    doc = parse_httpd(data)
    check_invariants(data, doc)
    assert doc.problems == []
    top = {n.key: n for n in doc.root.children}
    assert top["Listen"].value == "@@Port@@"
    assert top["ServerRoot"].value == "@@ServerRoot@@"
    assert "@@LoadModule@@" in top
    root_dir = next(n for n in doc.root.children if n.key == "Directory" and n.value == "/")
    assert [(c.key, c.value) for c in root_dir.children] == [("AllowOverride", "none"), ("Require", "all denied")]
    log_config = next(n for n in doc.root.children if n.key == "IfModule" and n.value == "log_config_module")
    assert log_config.child("IfModule").value == "logio_module"
    assert log_config.child("LogFormat").args[0].value.startswith('%h %l %u %t "%r" %>s %b "%{Referer}i"')
    assert "ServerName www.example.com:@@Port@@" in [c.text for c in doc.comments]


def test_corpus_httpd_extra_files():
    directory = corpus_dir() / "apache-httpd" / "extra"
    files = sorted(directory.glob("*.in")) if directory.is_dir() else []
    if not files:
        pytest.skip(f"no corpus files in {directory}")
    for file in files:
        data = file.read_bytes()
        doc = parse_httpd(data)
        check_invariants(data, doc)
        assert doc.problems == [], file.name
        assert doc.root.children, file.name
    ssl = corpus_file("apache-httpd/extra/httpd-ssl.conf.in")
    vhost = next(n for n in parse_httpd(ssl).root.children if n.key == "VirtualHost")
    assert vhost.value == "_default_:@@SSLPort@@"
    assert vhost.child("SSLEngine").value == "on"
    custom = vhost.child("CustomLog")
    assert [a.value for a in custom.args] == [
        "@rel_logfiledir@/ssl_request_log",
        '%t %h %{SSL_PROTOCOL}x %{SSL_CIPHER}x "%r" %b',
    ]
