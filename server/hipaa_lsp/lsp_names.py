"""Names the LSP front and the analysis worker both use (kept apart so the front imports no parser)."""

SOURCE = "hipaa-lsp"
FIX_ALL_KIND = "source.fixAll.hipaa-lsp"
SEVERITY = {"error": 1, "warning": 2, "information": 3, "hint": 4}
