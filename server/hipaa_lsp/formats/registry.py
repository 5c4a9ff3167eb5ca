"""Every supported file format and how to turn its bytes into settings documents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..model import Document
from . import (dockerfile_format, hcl_format, ini_format, json_format, properties_format, xml_format,
               yaml_format)


@dataclass(frozen=True)
class Format:
    name: str
    # The tree-sitter grammar, or None for formats read by our own directive tokenizer.
    language: str | None
    # tree-sitter formats: (root node, bytes) -> documents; tokenizer formats: (bytes) -> documents.
    build: Callable[..., list[Document]]
    # YAML: each `---` document is parsed and checked on its own.
    multi_document: bool = False
    # build() accepts `reuse=` to keep unchanged subtrees of the previous build (large XML files).
    reuses: bool = False


def _single(builder):
    return lambda root, data: [builder(root, data)]


def _tokenizer(name: str):
    def parse(data: bytes) -> list[Document]:
        from . import directives  # our own tokenizer for formats without a grammar

        return [getattr(directives, name)(data)]

    return parse


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("yaml", yaml_format.LANGUAGE, _single(yaml_format.build), multi_document=True),
    Format("json", json_format.LANGUAGE, _single(json_format.build)),
    Format("xml", xml_format.LANGUAGE, lambda root, data, reuse=None: [xml_format.build(root, data, reuse=reuse)],
           reuses=True),
    Format("ini", ini_format.LANGUAGE, _single(ini_format.build)),
    Format("properties", properties_format.LANGUAGE, _single(properties_format.build)),
    Format("dockerfile", dockerfile_format.LANGUAGE, _single(dockerfile_format.build)),
    Format("hcl", hcl_format.LANGUAGE, hcl_format.build_all),
    Format("redis", None, _tokenizer("parse_redis")),
    Format("postgresql", None, _tokenizer("parse_postgresql_conf")),
    Format("pg_hba", None, _tokenizer("parse_pg_hba")),
    Format("nginx", None, _tokenizer("parse_nginx")),
    Format("httpd", None, _tokenizer("parse_httpd")),
]}
