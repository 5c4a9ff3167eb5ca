"""The redaction choke point: what it collects, what it masks, and that it leaves our own texts alone."""

from __future__ import annotations

import pytest

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.explain import rule_markdown
from hipaa_lsp.fixes import apply_edits, plan_fix
from hipaa_lsp.redaction import REDACTED, Redactor, scrub, secret_name, secrets_in_text
from hipaa_lsp.rulebook import load_rulebook

S = "Qw3rTy9UiOp2AsDf"


@pytest.mark.parametrize("text", [
    f"spring.datasource.url=jdbc:postgresql://app:{S}@db:5432/app",
    f'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a" password="{S}";',
    f'KafkaServer {{ PlainLoginModule required user_admin="{S}"; }};',
    f"Server=db;Database=app;User Id=sa;Password={S};",
    f"ExecStart=/usr/bin/app --token={S} --verbose",
    f"ExecStart=/usr/bin/app --password {S}",
    f'command: ["redis-server", "--requirepass", "{S}"]',
    f"RUN curl -u admin:{S} https://example.org",
    f"RUN mysql -uroot -p{S} -e 'select 1'",
    f'proxy_set_header Authorization "Basic {S}";',
    f"user app on >{S} ~app:* +@read",
    f'<Connector port="8443" keystorePass="{S}"/>',
    f"SOLR_OPTS=\"-Djavax.net.ssl.keyStorePassword={S}\"",
    f"Environment=\"API_TOKEN={S}\"",
    f"-----BEGIN RSA PRIVATE KEY-----\nMIIEow{S}\n-----END RSA PRIVATE KEY-----",
])
def test_secret_shapes_are_recognised(text):
    found = secrets_in_text(text)
    assert any(S in f for f in found), found
    assert S not in scrub(text) and REDACTED in scrub(text)


@pytest.mark.parametrize("text", [
    "user default on nopass ~* +@all",
    "proxy_pass http://10.0.0.5:8080;",
    "password_encryption = scram-sha-256",
    "requirepass ${REDIS_PASSWORD}",
    "ssl.keystore.password=CHANGE_ME_TO_A_SECRET_FROM_YOUR_VAULT",
    "keystoreFile=/etc/tomcat/keystore.jks",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
    "secretRequired=false",
])
def test_references_switches_and_names_are_not_secrets(text):
    assert not secrets_in_text(text)
    assert scrub(text) == text


def test_secret_names():
    for key in ("ssl.keystore.password", "@keystorePass", "DB_PASSWORD", "fs.s3a.secret.key", "requirepass",
                "masterauth", "nifi.sensitive.props.key", "--token", "client_secret"):
        assert secret_name(key), key
    for key in ("password_encryption", "secretRequired", "tokenFile", "proxy_pass", "nopass", "keystoreFile",
                "ssl_key", "auth_basic"):
        assert not secret_name(key), key


def test_short_secrets_only_where_they_stand_alone():
    redactor = Redactor(["abc", S])
    assert redactor.mask(f"abcdef abc {S}x") == f"abcdef {REDACTED} {REDACTED}x"


RULEBOOK = load_rulebook()


def test_scrub_leaves_every_rule_text_alone():
    # Our own sentences must survive the choke point word for word (no secret shapes in prose).
    for rule in RULEBOOK.rules.values():
        for text in (rule.message, rule.title, rule.rationale, rule.remediation,
                     rule.fix.description if rule.fix and rule.fix.description else ""):
            assert scrub(text) == text, (rule.id, text)
        assert rule_markdown(rule, RULEBOOK) == scrub(rule_markdown(rule, RULEBOOK))


def findings(name: str, text: str, rule_id: str):
    data = text.encode()
    report = analyze(name, data, RULEBOOK, Config())
    return data, [f for f in report.findings if f.rule.id == rule_id]


# The four fixes that used to rewrite a whole value (and the secret in it): now they touch only the
# bytes that change, and the result is what the rule asks for.
@pytest.mark.parametrize("name,text,rule_id,edit_text,fixed", [
    ("pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: k}\nspec:\n  containers:\n    - name: k\n      image: k:1\n"
     f"      command: [\"kubelet --anonymous-auth=true --token={S}\"]\n", "K8S-KUBELET-004", "false",
     f"kubelet --anonymous-auth=false --token={S}"),
    ("users.acl", f"user default on nopass >{S} ~* &* +@all\n", "REDIS-ACL-001", "off",
     f"user default off nopass >{S} ~* &* +@all\n"),
    ("solr.in.sh", f'SOLR_OPTS="$SOLR_OPTS -Dsolr.enableRemoteStreaming=true -Djavax.net.ssl.keyStorePassword={S}"\n',
     "SOLR-EXEC-005", "", f'SOLR_OPTS="$SOLR_OPTS -Djavax.net.ssl.keyStorePassword={S}"\n'),
    ("solrconfig.xml", '<config>\n  <requestHandler name="/replication" class="solr.ReplicationHandler">\n'
     f'    <lst name="follower">\n      <str name="leaderUrl">http://admin:{S}@leader:8983/solr/p</str>\n'
     "    </lst>\n  </requestHandler>\n</config>\n", "SOLR-REPL-002", "https",
     f"https://admin:{S}@leader:8983/solr/p"),
])
def test_fixes_touch_only_what_changes(name, text, rule_id, edit_text, fixed):
    data, [finding] = findings(name, text, rule_id)
    assert S not in finding.message
    plan = plan_fix(finding, data)
    assert plan is not None
    [edit] = plan.edits
    assert edit.text == edit_text and S not in plan.title
    result = apply_edits(data, [edit]).decode()
    assert fixed in result
    assert not [f for f in analyze(name, result.encode(), RULEBOOK, Config()).findings if f.rule.id == rule_id]


def test_a_fix_that_would_repeat_a_secret_is_refused(tmp_path):
    # A demo rule whose fix can only rewrite the whole value: with a secret in it, no plan at all.
    from helpers import demo_rulebook

    rulebook = demo_rulebook(tmp_path, """
technology: demo
kinds: [systemd-unit]
rules:
  - id: DEMO-REWRITE-001
    title: verbose
    severity: hint
    hipaa: ["164.312(b)"]
    scope: "*/ExecStart"
    check: {setting: ., matches: "--verbose"}
    message: "ExecStart is {value}"
    rationale: r
    remediation: f
    fix: {replace: {pattern: "^(.*) --verbose(.*)$", with: "\\\\2 \\\\1"}}
""")
    data = f"[Service]\nExecStart=/usr/bin/app --password={S} --verbose --quiet\n".encode()
    [finding] = analyze("app.service", data, rulebook, Config()).findings
    assert S not in finding.message and REDACTED in finding.message
    assert plan_fix(finding, data) is None
    clean = b"[Service]\nExecStart=/usr/bin/app --verbose --quiet\n"
    [finding] = analyze("app.service", clean, rulebook, Config()).findings
    assert plan_fix(finding, clean) is not None


def test_a_message_is_masked_before_it_is_shortened():
    # A value longer than 120 characters is cut: the cut must not leave half a secret behind.
    long = "http://" + "a" * 100 + f".example.org/?x=1 http://u:{S}@h"
    text = f"http {{ server {{ listen 443 ssl; location / {{ proxy_pass {long}; }} }} }}\n"
    report = analyze("nginx.conf", text.encode(), RULEBOOK, Config())
    assert all(S[:6] not in f.message for f in report.findings)


def test_narrowed_edits_give_the_same_file(monkeypatch):
    # Narrowing an edit to the bytes that change must never change what the fix produces.
    import hipaa_lsp.fixes as fixes

    cases = [(e.name, e.text.encode()) for r in RULEBOOK.rules.values() for e in r.examples if e.flagged]
    narrowed, whole = [], []
    for results, narrow in ((narrowed, fixes._narrow), (whole, lambda edit, data: edit)):
        monkeypatch.setattr(fixes, "_narrow", narrow)
        for name, data in cases:
            for f in analyze(name, data, RULEBOOK, Config()).findings:
                plan = plan_fix(f, data)
                results.append(apply_edits(data, list(plan.edits)) if plan else None)
    assert narrowed == whole


def test_a_value_a_secret_rule_names_is_masked_in_every_message(tmp_path):
    # DEMO-A quotes the value before DEMO-B (secret: true) says it is a secret.
    from helpers import demo_rulebook

    rulebook = demo_rulebook(tmp_path, """
technology: demo
kinds: [redis-conf]
rules:
  - id: DEMO-A-001
    title: a
    severity: hint
    hipaa: ["164.312(b)"]
    check: {setting: "foo", present: true}
    message: "foo is {value}"
    rationale: r
    remediation: f
  - id: DEMO-B-001
    title: b
    severity: hint
    hipaa: ["164.312(b)"]
    secret: true
    check: {setting: "foo", secret: true}
    message: "foo holds a secret ({value})"
    rationale: r
    remediation: f
""")
    report = analyze("redis.conf", f"foo {S}\n".encode(), rulebook, Config())
    assert sorted(f.rule.id for f in report.findings) == ["DEMO-A-001", "DEMO-B-001"]
    assert all(S not in f.message for f in report.findings)
