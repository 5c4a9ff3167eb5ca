"""One file per file kind with secrets planted where that kind keeps passwords.

Every secret is a fresh random string, unique per kind and per place, so finding one in any output
can only mean it was copied from the file. The files are also misconfigured around the secrets, so
rules fire on the secret's own line and next to it (messages, hovers and fixes all get exercised).
"""

from __future__ import annotations

import random
import string

_RANDOM = random.SystemRandom()


def new_secret() -> str:
    # Letters and digits only: no regex or quoting character can hide a leak from a plain `in`.
    return "Pl4nt" + "".join(_RANDOM.choice(string.ascii_letters + string.digits) for _ in range(19))


def new_hash() -> str:
    return "".join(_RANDOM.choice("0123456789abcdef") for _ in range(64))


# kind -> (file name, template). `{s0}`, `{s1}`, ... are planted secrets, `{h0}` a SHA-256 hex.
TEMPLATES: dict[str, tuple[str, str]] = {
    "redis-conf": ("redis.conf", """\
bind 0.0.0.0
protected-mode no
requirepass {s0}
masterauth {s1}
user default on nopass >{s2} ~* &* +@all
user app on >{s3} ~app:* +@read
"""),
    "redis-acl": ("users.acl", """\
user default on nopass >{s0} ~* &* +@all
user app on #{h0} ~app:* +@read
user ops on >{s1} allkeys allcommands
"""),
    "mongod-conf": ("mongod.conf", """\
net:
  bindIp: 0.0.0.0
  tls:
    mode: disabled
    certificateKeyFilePassword: {s0}
security:
  authorization: disabled
  ldap:
    bind:
      queryPassword: "{s1}"
"""),
    "my-cnf": ("my.cnf", """\
[mysqld]
bind-address = 0.0.0.0
skip-grant-tables
wsrep_sst_auth = sst:{s0}
[client]
user = root
password = {s1}
"""),
    "postgresql-conf": ("postgresql.conf", """\
listen_addresses = '*'
ssl = off
password_encryption = md5
primary_conninfo = 'host=10.0.0.5 port=5432 user=replicator password={s0} sslmode=disable'
"""),
    "postgresql-override": ("postgresql.auto.conf", """\
ssl = off
log_connections = off
primary_conninfo = 'host=10.0.0.5 user=replicator password={s0}'
"""),
    "pg-hba": ("pg_hba.conf", """\
host all all 0.0.0.0/0 trust
host all all 10.0.0.0/8 ldap ldapserver=ldap.example.org ldapbinddn="cn=admin" ldapbindpasswd={s0}
host all all 0.0.0.0/0 radius radiusservers=10.0.0.9 radiussecrets={s1}
"""),
    "cassandra-yaml": ("cassandra.yaml", """\
cluster_name: phi
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
server_encryption_options:
  internode_encryption: all
  keystore: conf/.keystore
  keystore_password: {s0}
client_encryption_options:
  enabled: true
  keystore_password: "{s1}"
"""),
    "hadoop-xml": ("core-site.xml", """\
<configuration>
  <property><name>hadoop.security.authentication</name><value>simple</value></property>
  <property><name>fs.s3a.secret.key</name><value>{s0}</value></property>
  <property>
    <name>ssl.server.keystore.password</name>
    <value>{s1}</value>
  </property>
</configuration>
"""),
    "tomcat-server-xml": ("server.xml", """\
<Server port="8005" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="8080" protocol="HTTP/1.1"/>
    <Connector port="8443" SSLEnabled="true" keystorePass="{s0}" sslProtocol="TLSv1"/>
    <Connector protocol="AJP/1.3" address="0.0.0.0" port="8009" secret="{s1}" secretRequired="true"/>
    <Engine name="Catalina" defaultHost="localhost">
      <Realm className="org.apache.catalina.realm.JNDIRealm" connectionURL="ldap://ldap:389"
             connectionName="cn=admin" connectionPassword="{s2}"/>
    </Engine>
  </Service>
</Server>
"""),
    "tomcat-web-xml": ("web.xml", """\
<web-app>
  <context-param><param-name>db.password</param-name><param-value>{s0}</param-value></context-param>
  <login-config><auth-method>BASIC</auth-method></login-config>
  <session-config><session-timeout>600</session-timeout></session-config>
</web-app>
"""),
    "tomcat-context-xml": ("context.xml", """\
<Context>
  <Resource name="jdbc/phi" auth="Container" type="javax.sql.DataSource" username="app"
            password="{s0}" url="jdbc:postgresql://app:{s1}@db:5432/phi?ssl=false"/>
</Context>
"""),
    "tomcat-users-xml": ("tomcat-users.xml", """\
<tomcat-users>
  <role rolename="manager-gui"/>
  <user username="admin" password="{s0}" roles="manager-gui,admin-gui"/>
</tomcat-users>
"""),
    "iis-config": ("web.config", """\
<configuration>
  <connectionStrings>
    <add name="db" connectionString="Server=db;Database=phi;User Id=sa;Password={s0};Encrypt=False"/>
  </connectionStrings>
  <appSettings><add key="ApiKey" value="{s1}"/></appSettings>
  <system.web>
    <compilation debug="true"/>
    <customErrors mode="Off"/>
    <authentication mode="Forms">
      <forms><credentials passwordFormat="Clear"><user name="admin" password="{s2}"/></credentials></forms>
    </authentication>
    <machineKey validationKey="{s3}" decryptionKey="{s4}"/>
  </system.web>
</configuration>
"""),
    "httpd-conf": ("httpd.conf", """\
Listen 80
ServerTokens Full
TraceEnable on
SSLProtocol all
AuthLDAPBindPassword {s0}
ProxyPass "/app" "http://app:{s1}@10.0.0.5:8080/"
RequestHeader set Authorization "Basic {s2}"
"""),
    "elasticsearch-yml": ("elasticsearch.yml", """\
network.host: 0.0.0.0
xpack.security.enabled: false
xpack.security.http.ssl.keystore.password: {s0}
bootstrap.password: "{s1}"
"""),
    "kafka-properties": ("server.properties", """\
listeners=PLAINTEXT://0.0.0.0:9092
ssl.keystore.password={s0}
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \\
  username="admin" password="{s1}" user_admin="{s2}";
"""),
    "msk-terraform": ("main.tf", """\
resource "aws_msk_configuration" "phi" {{
  name           = "phi"
  kafka_versions = ["3.5.1"]
  server_properties = <<PROPERTIES
auto.create.topics.enable = true
ssl.keystore.password = {s0}
PROPERTIES
}}

resource "aws_msk_cluster" "phi" {{
  cluster_name = "phi"
  encryption_info {{
    encryption_in_transit {{
      client_broker = "PLAINTEXT"
    }}
  }}
}}
"""),
    "solr-xml": ("solrconfig.xml", """\
<config>
  <luceneMatchVersion>9.4</luceneMatchVersion>
  <requestHandler name="/replication" class="solr.ReplicationHandler">
    <lst name="follower">
      <str name="leaderUrl">http://admin:{s0}@solr-leader.example.org:8983/solr/patients</str>
      <str name="httpBasicAuthPassword">{s1}</str>
    </lst>
  </requestHandler>
</config>
"""),
    "solr-security-json": ("security.json", """\
{{
  "authentication": {{
    "class": "solr.BasicAuthPlugin",
    "blockUnknown": false,
    "credentials": {{"solr": "{s0} {s1}"}}
  }},
  "authorization": {{"class": "solr.RuleBasedAuthorizationPlugin", "permissions": []}}
}}
"""),
    "solr-in-sh": ("solr.in.sh", """\
SOLR_OPTS="$SOLR_OPTS -Dsolr.enableRemoteStreaming=true -Djavax.net.ssl.keyStorePassword={s0}"
SOLR_SSL_KEY_STORE_PASSWORD={s1}
SOLR_AUTHENTICATION_OPTS="-Dbasicauth=solr:{s2}"
"""),
    "dockerfile": ("Dockerfile", """\
FROM alpine:latest
ENV DB_PASSWORD={s0} OTHER=1
ARG API_TOKEN={s1}
RUN curl -u admin:{s2} https://repo.example.org/setup.sh | sh
RUN mysql -uroot -p{s3} -e "select 1"
"""),
    "docker-compose": ("docker-compose.yml", """\
services:
  db:
    image: mysql:latest
    privileged: true
    environment:
      - MYSQL_ROOT_PASSWORD={s0}
      - DATABASE_URL=postgres://app:{s1}@db:5432/phi
    command: ["redis-server", "--requirepass", "{s2}"]
    healthcheck:
      test: ["CMD", "mysqladmin", "ping", "-uroot", "-p{s3}"]
  web:
    image: nginx
    environment:
      API_TOKEN: {s4}
"""),
    "docker-daemon-json": ("daemon.json", """\
{{
  "icc": true,
  "hosts": ["tcp://0.0.0.0:2375"],
  "registry-mirrors": ["https://mirror:{s0}@mirror.example.org"],
  "insecure-registries": ["registry.example.org:5000"]
}}
"""),
    "nifi-properties": ("nifi.properties", """\
nifi.sensitive.props.key={s0}
nifi.security.keystorePasswd={s1}
nifi.web.http.port=8080
nifi.remote.input.secure=false
"""),
    "nifi-xml": ("login-identity-providers.xml", """\
<loginIdentityProviders>
  <provider>
    <identifier>ldap-provider</identifier>
    <class>org.apache.nifi.ldap.LdapProvider</class>
    <property name="Authentication Strategy">SIMPLE</property>
    <property name="Manager DN">cn=admin,dc=example,dc=org</property>
    <property name="Manager Password">{s0}</property>
    <property name="Url">ldap://ldap.example.org:389</property>
  </provider>
</loginIdentityProviders>
"""),
    "systemd-unit": ("debug-shell.service", """\
[Service]
Environment=DB_PASSWORD={s0} "API_TOKEN={s1}"
ExecStart=/bin/sh --password={s2}
StandardInput=tty
User=root
"""),
    "kubernetes": ("pod.yaml", """\
apiVersion: v1
kind: Pod
metadata:
  name: kubelet
spec:
  hostNetwork: true
  containers:
    - name: kubelet
      image: registry.example.com/kubelet:latest
      command: ["kubelet --anonymous-auth=true --token={s0}"]
      args: ["--requirepass", "{s1}", "--db-url=postgres://app:{s2}@db:5432/phi"]
      env:
        - name: DB_PASSWORD
          value: "{s3}"
      securityContext:
        privileged: true
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: {s4}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  db_password: {s5}
"""),
    "kubernetes-json": ("pod.json", """\
{{
  "apiVersion": "v1",
  "kind": "Pod",
  "metadata": {{"name": "kubelet"}},
  "spec": {{
    "containers": [{{
      "name": "kubelet",
      "image": "registry.example.com/kubelet:latest",
      "command": ["kubelet", "--anonymous-auth=true", "--token={s0}"],
      "env": [{{"name": "API_TOKEN", "value": "{s1}"}}],
      "securityContext": {{"privileged": true}}
    }}]
  }}
}}
"""),
    "nginx-conf": ("nginx.conf", """\
http {{
    server {{
        listen 80;
        location / {{
            proxy_pass http://app:{s0}@10.0.3.15:8080;
            proxy_set_header Authorization "Basic {s1}";
        }}
    }}
}}
"""),
}


# Kinds where no rule reads the setting that holds the secret: their findings are around it only.
NO_RULE_ON_THE_SECRET = {"tomcat-web-xml", "httpd-conf", "solr-security-json", "docker-daemon-json"}


def planted_files() -> dict[str, tuple[str, str, list[str]]]:
    """kind -> (file name, text, the secrets planted in it)."""
    out = {}
    for kind, (name, template) in TEMPLATES.items():
        secrets = {f"s{i}": new_secret() for i in range(8)}
        secrets["h0"] = new_hash()
        text = template.format(**secrets)
        out[kind] = (name, text, [v for v in secrets.values() if v in text])
    return out
