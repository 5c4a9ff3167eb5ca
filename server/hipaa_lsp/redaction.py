"""The one choke point that keeps secrets out of everything we show.

When a document is analysed, `collect` gathers every secret value it holds (values of secret-bearing
keys, Redis ACL `>password`/`#hash` tokens, `password=` inside JAAS and connection strings, URL
userinfo, `--token=` style flags, Authorization headers, private-key blocks) into a per-document
`Redactor`. Every string that leaves the engine (finding messages, hover markdown, fix titles,
notices, log lines) goes through `scrub`, which puts `[redacted]` in place of each collected secret
and of well-known secret shapes even when nothing was collected. Fix edits are not rewritten but
checked: `Redactor.leaks` tells fix planning to refuse an edit that would repeat a secret.
"""

from __future__ import annotations

import functools
import itertools
import re
import weakref
from collections.abc import Iterable

from .secrets import PLACEHOLDER, is_literal_secret

REDACTED = "[redacted]"

# Shorter values are not collected: masking a two-letter word everywhere would garble messages,
# and a secret that short is flagged by the weak-secret rules anyway.
MIN_SECRET = 3
# From this length a collected secret is masked anywhere, even inside a longer word; shorter ones
# only where they stand alone, so `abc` does not eat the middle of `abcdef`.
ANYWHERE = 8

# A setting name that holds a secret: it *ends* with one of these words (`ssl.keystore.password`,
# `keystorePass`, `DB_PASSWORD`, `fs.s3a.secret.key`), so `password_encryption`, `secretRequired`
# and `tokenFile` do not count.
_SECRET_NAME = re.compile(
    r"(pass|passwd|password|passphrase|pwd|secret|secrets|token|api[ _.-]?key|credentials?|requirepass|masterauth"
    r"|(access|private|secret|auth|signing|encryption|master|session|validation|decryption|client)[ _.-]?key"
    r"|sensitive[ _.-]props[ _.-]key|sst[_-]auth|basicauth|ldapbindpasswd|radiussecrets?)$"
    r"|account[ _.-]key[ _.-]",  # fs.azure.account.key.<account>
    re.IGNORECASE)

_NOT_SECRET = {"true", "false", "yes", "no", "on", "off", "none", "null", "nil", "enabled", "disabled", "enable",
               "disable", "required", "optional", "0", "1", "", REDACTED.lower(), PLACEHOLDER.lower()}
_PATH_LIKE = re.compile(r"^(\.{0,2}/|~/|[A-Za-z]:[\\/]|\\\\)|\.(pem|key|crt|cer|der|jks|p12|pfx|keytab|keystore|"
                        r"truststore|txt|json|ya?ml|conf)$", re.IGNORECASE)

# Values inside text, one group per secret. Each pattern stops at the quotes and separators that end
# a value in the formats we read (`;` in connection strings, `"` around JAAS values, `,` in lists).
_URL_USERINFO = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"<>]*:([^@/\s'\"<>]+)@")
# A lookahead, so matches overlap: `SOLR_OPTS="-Dx.password=..."` also yields the inner pair.
_KEY_VALUE = re.compile(
    r"(?<![\w.${-])(?=(?P<key>[A-Za-z0-9_.-]+)(?P<kq>[\"'])?[ \t]*(?P<sep>=|:(?!//))[ \t]*"
    r"(?:\"(?P<dq>[^\"\n]*)\"|'(?P<sq>[^'\n]*)'|(?P<bare>[^\s;,\"'`&<>()\[\]{}]+)))")
_JAAS_USER = re.compile(r"\buser_[A-Za-z0-9_.-]+[ \t]*=[ \t]*\"([^\"\n]+)\"")
_FLAG = (r"--?(?:[a-z0-9][a-z0-9.-]*[.-])?(?:password|passwd|pass|passphrase|token|secret|api-?key|auth-token"
         r"|requirepass|masterauth)")
_SECRET_FLAG = re.compile(_FLAG, re.IGNORECASE)
# `--token s3cret` on a command line, `"--requirepass", "s3cret"` in a YAML/JSON list.
_FLAG_SPACE_VALUE = re.compile(r"(?<![\w-])" + _FLAG + r"(?:[ \t]+|[\"'][ \t]*,[ \t]*[\"'])([^\s\"',\]]+)",
                               re.IGNORECASE)
_SPEC = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*=")
_CURL_USER = re.compile(r"(?<![\w-])(?:-u|--user)[ \t]+[\"']?[^:\s\"']+:([^\s\"']+)")
_CLI_PASSWORD = re.compile(r"\b(?:mysql(?:admin|dump)?|mariadb)\b[^\n]*?(?<![\w-])-p([^\s\"']+)"
                           r"|\bredis-cli\b[^\n]*?(?<![\w-])-a[ \t]+([^\s\"']+)")
_AUTH_HEADER = re.compile(r"(?i)authorization\b[\"']?[ \t]*[:=]?[ \t]*[\"']?[ \t]*(?:basic|bearer|token|digest)"
                          r"[ \t]+([^\s\"';,]+)")
# Redis ACL rules: `>password`, `<password`, `#<sha256>`, `!<sha256>` on `user` / `ACL SETUSER` lines.
_ACL_LINE = re.compile(r"(?im)^[ \t]*(?:user|acl[ \t]+setuser)[ \t]+\S+([^\n]*)$")
_ACL_TOKEN = re.compile(r"(?:^|(?<=\s))(?:[><]([^\s]+)|[#!]([0-9a-fA-F]{64}))(?=\s|$)")
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(.*?)(?:-----END \1PRIVATE KEY-----|$)", re.DOTALL)
# Vendor token formats worth masking wherever they turn up.
_TOKENS = re.compile(r"\b(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abprs]-[A-Za-z0-9-]{10,}|"
                     r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|AIza[0-9A-Za-z_-]{35}|"
                     r"sk_live_[0-9A-Za-z]{16,})\b")


# Names that end like a secret but are not one: nginx upstream directives, Redis ACL keywords.
_NOT_SECRET_NAME = re.compile(r"((proxy|fastcgi|uwsgi|scgi|grpc|memcached)_pass|(no|by|reset)pass)$", re.IGNORECASE)


# Every name _SECRET_NAME accepts contains one of these.
_NAME_WORDS = ("pass", "pwd", "secret", "token", "key", "cred", "auth")


@functools.lru_cache(maxsize=4096)
def secret_name(key: str | None) -> bool:
    """Does a setting called `key` hold a secret? (`@keystorePass`, `--password`, `DB_PASSWORD`)"""
    if not key:
        return False
    key = key.strip().lstrip("@-").strip()
    lowered = key.lower()
    if not any(word in lowered for word in _NAME_WORDS):  # most names: no regex needed
        return False
    return bool(_SECRET_NAME.search(key)) and not _NOT_SECRET_NAME.search(key)


def plausible(value: str | None) -> str | None:
    """The value as a secret to mask, or None when it is a reference, a switch or a path."""
    if value is None:
        return None
    v = value.strip().strip("'\"").strip()
    if len(v) < MIN_SECRET or v.lower() in _NOT_SECRET or not is_literal_secret(v):
        return None
    if v.startswith(("{", "[")) or _PATH_LIKE.search(v) or REDACTED in v:
        return None
    return v


# Lines worth a closer look: every pattern above needs one of these, and most lines have none.
# Searched in the lower-cased text without flags: an IGNORECASE alternation is ten times slower.
_HINT = re.compile(r"pass|pwd|secret|token|key|auth|cred|://|user[ _\t]|setuser|mysql|mariadb|redis-cli| -u|akia|"
                   r"gh[pousr]_|xox[abprs]-|eyj|aiza|sk_live")


def secrets_in_text(text: str, prose: bool = False) -> set[str]:
    """Secret values written inside `text` in a shape we recognise, whatever the file format.

    `prose` is for our own sentences: there `secret: any local process` is English, so a `key: value`
    only counts when the key or the value is quoted, as in JSON or YAML."""
    found: set[str] = set()
    if "PRIVATE KEY-----" in text:
        for m in _PEM.finditer(text):
            for part in m.group(2).split():
                _add(found, part)
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters grow when lower-cased; keep offsets exact
        lowered = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    pos = 0
    while True:
        hint = _HINT.search(lowered, pos)
        if hint is None:
            break
        start = text.rfind("\n", 0, hint.start()) + 1
        end = text.find("\n", hint.end())
        end = len(text) if end == -1 else end
        _scan_line(text[start:end], found, prose)
        pos = end + 1
    return found


def _add(found: set[str], value: str | None) -> None:
    v = plausible(value)
    if v is not None:
        found.add(v)


def _scan_line(line: str, found: set[str], prose: bool) -> None:
    if "://" in line:
        for m in _URL_USERINFO.finditer(line):
            _add(found, m.group(1))
    for m in _KEY_VALUE.finditer(line):
        if prose and m.group("sep") == ":" and not m.group("kq") and m.group("bare") is not None:
            continue
        if secret_name(m.group("key")):
            _add(found, m.group("dq") if m.group("dq") is not None else m.group("sq") if m.group("sq") is not None
                 else m.group("bare"))
    for pattern in (_JAAS_USER, _CURL_USER, _AUTH_HEADER):
        for m in pattern.finditer(line):
            _add(found, m.group(1))
    for m in _FLAG_SPACE_VALUE.finditer(line):
        if not _SPEC.match(m.group(1)):  # `docker build --secret id=npm_token`: a spec, not a secret
            _add(found, m.group(1))
    for m in _CLI_PASSWORD.finditer(line):
        _add(found, m.group(1) or m.group(2))
    acl = _ACL_LINE.match(line)
    if acl is not None:
        for m in _ACL_TOKEN.finditer(acl.group(1)):
            _add(found, m.group(1) or m.group(2))
    for m in _TOKENS.finditer(line):
        found.add(m.group(1))


_SERIALS = itertools.count()


class Redactor:
    """The secrets of one document, and the function that masks them."""

    __slots__ = ("secrets", "_pattern", "serial", "__weakref__")

    def __init__(self, secrets: Iterable[str] = (), live: bool = False):
        self.secrets: set[str] = set()
        self._pattern: re.Pattern | None = None
        self.serial = next(_SERIALS)
        self.add(secrets)
        if live:
            _LIVE.add(self)

    def add(self, values: Iterable[str]) -> None:
        before = len(self.secrets)
        for value in values:
            v = plausible(value)
            if v is not None:
                self.secrets.add(v)
                # `<hash> <salt>`, `user:password`: the long parts are secrets on their own too.
                parts = v.split() + ([v.split(":", 1)[1]] if ":" in v and "://" not in v else [])
                for part in parts if len(v) > ANYWHERE else ():
                    if len(part) >= ANYWHERE and part != v and plausible(part):
                        self.secrets.add(part)
        if len(self.secrets) != before:
            self._pattern = None

    def pattern(self) -> re.Pattern | None:
        if self._pattern is None and self.secrets:
            ordered = sorted(self.secrets, key=len, reverse=True)
            long = "|".join(re.escape(s) for s in ordered if len(s) >= ANYWHERE)
            short = "|".join(re.escape(s) for s in ordered if len(s) < ANYWHERE)
            parts = ([f"(?:{long})"] if long else []) + (
                [f"(?<![A-Za-z0-9])(?:{short})(?![A-Za-z0-9])"] if short else [])
            self._pattern = re.compile("|".join(parts))
        return self._pattern

    def mask(self, text: str) -> str:
        pattern = self.pattern()
        return pattern.sub(REDACTED, text) if pattern is not None and text else text

    def leaks(self, text: str) -> bool:
        """Would `text` repeat a secret of this document? (Everything recognisable in the file was
        collected, and a rule's own fix text never holds a secret.)"""
        pattern = self.pattern()
        return bool(text and pattern is not None and pattern.search(text))


# Redactors of documents still alive, so a log line can be masked without knowing its document.
_LIVE: "weakref.WeakSet[Redactor]" = weakref.WeakSet()


def scrub(text: str, redactor: Redactor | None = None) -> str:
    """THE choke point: `text` with every secret we know of, or can recognise, replaced by `[redacted]`.

    With a document's redactor its collected secrets are masked first; then secrets in recognisable
    shapes (URL userinfo, `password=...`, Authorization headers, private keys, vendor tokens) are
    masked whether or not they were collected, so a rule nobody reviewed cannot print one.
    """
    if not text:
        return text
    if redactor is not None:
        text = redactor.mask(text)
    shaped = secrets_in_text(text, prose=True)
    if "PRIVATE KEY-----" in text:
        text = _PEM.sub(lambda m: f"-----BEGIN {m.group(1)}PRIVATE KEY-----{REDACTED}", text)
    if shaped:
        text = Redactor(shaped).mask(text)
    return text


_combined: tuple[tuple, Redactor | None] = ((), None)


def scrub_log(text: str) -> str:
    """`scrub` with the secrets of every document currently analysed (a log line has no document)."""
    global _combined
    live = list(_LIVE)
    key = tuple((r.serial, len(r.secrets)) for r in live)
    if key != _combined[0]:  # rebuilt only when documents or their secrets changed
        known = set().union(*(r.secrets for r in live)) if live else set()
        _combined = (key, Redactor(known) if known else None)
    return scrub(text, _combined[1])


def collect(document, data: bytes) -> Redactor:
    """Every secret in `document` (a `model.Document`) and its own bytes `data`."""
    found = secrets_in_text(data.decode("utf-8", "replace"))
    stack = [document.root]  # not Node.walk(): this runs on every check, a flat loop is cheaper
    while stack:
        node = stack.pop()
        if node.children:
            stack.extend(node.children)
            _pairs_and_flags(node, found)
        if node.args:
            _flag_values([a.value for a in node.args], found)
        value = node.value
        if value is None:
            continue
        key = node.key
        if key is not None:
            if secret_name(key):
                found.add(value)
            if key.lower() == "user":  # Redis ACL rules of a `user` directive
                for m in _ACL_TOKEN.finditer(value):
                    found.add(m.group(1) or m.group(2))
        span = node.value_span
        if span is not None and span.end - span.start == len(value):
            continue  # written as is: the scan of the raw text saw it
        if span is None or value.encode("utf-8", "replace") not in data[span.start : span.end]:
            # Unescaped or joined, the value can show a shape the raw text hid (`&quot;`).
            found |= secrets_in_text(value)
    return Redactor(found, live=True)


def _pairs_and_flags(node, found: set[str]) -> None:
    # `{name: DB_PASSWORD, value: ...}` (Kubernetes env), `<property><name>..password</name><value>`
    # (Hadoop), `<property name="Manager Password">...</property>` (NiFi), `<add key=.. value=..>`,
    # `<param-name>db.password</param-name><param-value>` (web.xml).
    name = None
    for child in node.children:
        key = child.key
        if key and child.value and (key.endswith("name") or key in ("key", "@key")):
            name = child.value
            break
    if name is not None and secret_name(name):
        if node.value is not None:
            found.add(node.value)
        for child in node.children:
            if child.key and child.key.endswith("value") and child.value is not None:
                found.add(child.value)
    if secret_name(node.key):
        # `credentials: {solr: "<hash> <salt>"}`, `secrets: {...}`: every value under the name.
        for child in node.children:
            if child.value is not None and not (child.key or "").startswith("@"):  # not XML attributes
                found.add(child.value)
    items = [c.value for c in node.children if c.is_item]
    if len(items) > 1:
        _flag_values(items, found)


def _flag_values(values: list[str | None], found: set[str]) -> None:
    """`["redis-server", "--requirepass", "s3cret"]`: the item after a secret flag."""
    for flag, value in zip(values, values[1:]):
        if flag and value and _SECRET_FLAG.fullmatch(flag.strip()):
            found.add(value)
