"""Log lines never carry an LSP message body or a secret.

pygls logs whole messages in places: an unknown `"jsonrpc"` value, a failed notification or request
(its params, document text included), structure failures (a traceback), and every message sent or
received at INFO/DEBUG. `install_log_safety()` puts one filter in front of all of that: arguments that
are message bodies (mappings, protocol objects, JSON text, long strings) are replaced by a short
`<withheld ...>` note, tracebacks keep their frames but not exception details that quote data, and
the final line goes through `redaction.scrub_log`, the same choke point as every other output.
"""

from __future__ import annotations

import enum
import logging
import re

from .redaction import scrub_log

# A string argument longer than this is a body or a dump, not a method name or an id.
MAX_ARG = 200
_BODY_KEYS = re.compile(r"[\"'](jsonrpc|params|text|contentChanges|result|textDocument)[\"']\s*:")
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^(\s*\|?\s*)([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Group)?)(: )(.*)$")
_WITHHELD_BODY = "<message body withheld>"


def _safe_arg(arg):
    if arg is None or isinstance(arg, (bool, int, float)):
        return arg
    if isinstance(arg, enum.Enum):
        return _safe_arg(arg.value)
    if isinstance(arg, BaseException):
        arg = f"{type(arg).__name__}: {arg}"
    if isinstance(arg, str):
        if _TRACEBACK in arg:
            return _traceback(arg)
        if len(arg) > MAX_ARG or arg.lstrip()[:1] in ("{", "[") or _BODY_KEYS.search(arg):
            return f"<withheld: {len(arg)} characters>"
        return arg
    # Mappings, lists, protocol messages and params objects: these are message bodies.
    return f"<withheld: {type(arg).__name__}>"


def _traceback(text: str) -> str:
    """Frames and exception types; an exception's detail only when it quotes nothing."""
    out = []
    for line in text.splitlines():
        m = _EXCEPTION_LINE.match(line)
        if m and not line.lstrip().startswith("File "):
            detail = m.group(4)
            if len(detail) > 120 or any(q in detail for q in "'\"{[<"):
                detail = "<detail withheld>"
            out.append(m.group(1) + m.group(2) + m.group(3) + detail)
        elif len(line) <= 300:
            out.append(line)
        else:
            out.append(line[:120] + " <rest withheld>")
    return "\n".join(out)


def sanitize(record: logging.LogRecord) -> logging.LogRecord:
    """Make `record` safe to write, in place (idempotent)."""
    if getattr(record, "_hipaa_safe", False):
        return record
    record._hipaa_safe = True
    try:
        args = record.args
        if isinstance(args, dict):
            args = {k: _safe_arg(v) for k, v in args.items()}
        elif args:
            args = tuple(_safe_arg(a) for a in (args if isinstance(args, tuple) else (args,)))
        record.args = args
        message = record.getMessage()
        # A pre-formatted line (f-string) holding a JSON body: keep what comes before the body.
        body = _BODY_KEYS.search(message)
        if body is not None:
            brace = message.rfind("{", 0, body.start())
            message = (message[:brace] if brace >= 0 else "") + _WITHHELD_BODY
        record.msg, record.args = scrub_log(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            formatter = logging.Formatter()
            record.exc_text = scrub_log(_traceback(formatter.formatException(record.exc_info)))
        record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub_log(record.stack_info)
    except Exception:  # noqa: BLE001 - a line we cannot check is a line we do not write
        record.msg, record.args, record.exc_info, record.exc_text = (
            "(log line withheld: it could not be checked for secrets)", (), None, None)
    return record


class LogSafetyFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        sanitize(record)
        return True


_FILTER = LogSafetyFilter()


def install_log_safety() -> None:
    """Install the filter on the pygls and hipaa_lsp loggers, the root handlers, and record creation.

    Call it after logging is configured. A filter on a logger does not see records of its child
    loggers (`pygls.protocol.json_rpc`), so records are also made safe as they are created, which
    covers handlers added later; the handler filters cover records made before this call."""
    for name in ("pygls", "hipaa_lsp"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_hipaa_safe", False):
        def make_record(*args, **kwargs):
            return sanitize(factory(*args, **kwargs))

        make_record._hipaa_safe = True
        logging.setLogRecordFactory(make_record)
