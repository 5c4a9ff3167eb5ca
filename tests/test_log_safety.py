"""Log records carry no message bodies and no secrets, whichever logger or handler they go through."""

from __future__ import annotations

import io
import logging

import pytest

from hipaa_lsp.analysis import analyze
from hipaa_lsp.config import Config
from hipaa_lsp.log_safety import install_log_safety, sanitize
from hipaa_lsp.rulebook import load_rulebook

S = "Lk8mN2bV5cX7zQ1w"
BODY = {"jsonrpc": "1.0", "method": "textDocument/didOpen",
        "params": {"textDocument": {"uri": "file:///r/redis.conf", "text": f"requirepass {S}\n"}}}


def record(name, msg, *args, exc_info=None):
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize("msg,args", [
    ('Unknown message "%s"', (BODY,)),
    ("Failed to handle notification %r: %s", ("textDocument/didOpen", BODY["params"])),
    ("Sending data: %s", (f'{{"jsonrpc": "2.0", "params": {{"text": "requirepass {S}"}}}}',)),
    ("Client response for %s received: %s", (None, [{"password": S}])),
])
def test_message_bodies_are_withheld(msg, args):
    rec = sanitize(record("pygls.protocol.json_rpc", msg, *args))
    text = rec.getMessage()
    assert S not in text and "withheld" in text


def test_preformatted_body_is_cut_and_known_shapes_are_masked():
    rec = sanitize(record("pygls.server", f'Serving {{"jsonrpc": "2.0", "params": {{"text": "{S}"}}}}'))
    assert S not in rec.getMessage() and rec.getMessage().startswith("Serving")
    rec = sanitize(record("hipaa_lsp", "connecting to %s", f"postgres://app:{S}@db/app"))
    assert S not in rec.getMessage() and "postgres://app:[redacted]@db/app" in rec.getMessage()


def test_secrets_of_analysed_documents_are_masked_in_any_log_line():
    report = analyze("redis.conf", f"requirepass {S}\n".encode(), load_rulebook(), Config())
    assert report.documents  # keeps the document's redactor alive, as the server does
    rec = sanitize(record("hipaa_lsp", "odd value %s in %s", S, "redis.conf"))
    assert S not in rec.getMessage()


def test_tracebacks_keep_frames_but_not_quoted_details():
    try:
        int(f"{S}")
    except ValueError:
        import sys

        rec = sanitize(record("hipaa_lsp", "hover failed", exc_info=sys.exc_info()))
    assert rec.exc_info is None and "ValueError: <detail withheld>" in rec.exc_text
    assert "test_log_safety.py" in rec.exc_text and S not in rec.exc_text


def test_installed_filter_covers_child_loggers_and_handlers():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    child = logging.getLogger("pygls.protocol.json_rpc")
    old_level, child_level = root.level, child.level
    factory = logging.getLogRecordFactory()
    try:
        install_log_safety()
        install_log_safety()  # idempotent
        root.setLevel(logging.DEBUG)
        child.setLevel(logging.DEBUG)
        child.warning('Unknown message "%s"', BODY)
        logging.getLogger("hipaa_lsp.server").info("params %s", BODY["params"])
        logging.getLogger("elsewhere").error("url http://u:%s@h", S)
    finally:
        # Leave logging as other tests in this process expect it.
        from hipaa_lsp.log_safety import _FILTER

        root.removeHandler(handler)
        root.setLevel(old_level)
        child.setLevel(child_level)
        logging.setLogRecordFactory(factory)
        for name in ("pygls", "hipaa_lsp"):
            logging.getLogger(name).removeFilter(_FILTER)
        for h in root.handlers:
            h.removeFilter(_FILTER)
    out = stream.getvalue()
    assert out.count("withheld") == 2 and "[redacted]" in out
    assert S not in out
