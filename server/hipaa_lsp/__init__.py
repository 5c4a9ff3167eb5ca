"""hipaa-lsp: finds HIPAA-relevant security misconfigurations in configuration files."""

__version__ = "0.1.0"
