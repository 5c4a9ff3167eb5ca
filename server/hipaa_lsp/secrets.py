"""Telling a secret written in clear from a reference to one.

`redact` stands in for the whole value of a rule marked `secret: true`. Keeping secrets out of
everything else we show is the job of `redaction.scrub`, the one choke point every text goes through.
"""

from __future__ import annotations

import re

# References and template placeholders: the secret lives elsewhere, or the file is a template.
_REFERENCE = re.compile(
    r"""^\s*(
        \$\{[^}]*\}                # ${VAR}, ${keystore.password}, ${file:/path:key}
      | \$[A-Za-z_][A-Za-z0-9_]*   # $VAR
      | \{\{.*\}\}                 # {{ template }}
      | @[A-Za-z0-9_.-]+@          # @placeholder@ (build templates)
      | @@[A-Za-z0-9_.-]+@@
      | %\([^)]*\)s                # %(var)s
      | <[^<>]+>                   # <your-password>
      | (file|env|vault|secret|aws-secretsmanager|ssm):.*   # provider references
      | /run/secrets/.*  | /var/run/secrets/.* | /etc/.*   # a path to the secret
      | \*+                        # already masked
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)

# Our own fix placeholder: it is flagged by the placeholder rules, not as a leaked secret.
PLACEHOLDER = "CHANGE_ME_TO_A_SECRET_FROM_YOUR_VAULT"


def is_literal_secret(value: str | None) -> bool:
    if value is None:
        return False
    v = value.strip().strip("'\"")
    if not v or v == PLACEHOLDER:
        return False
    return not _REFERENCE.match(v)


def redact(value: str | None) -> str:
    """A stand-in that shows a secret was found without revealing any of it."""
    if value is None or value == "":
        return "(empty)"
    if value.strip() == PLACEHOLDER:
        return PLACEHOLDER
    return "[redacted]"
