"""The path language rules use to name settings, on a small hand-built tree."""

from __future__ import annotations

import pytest

from hipaa_lsp.model import Node
from hipaa_lsp.paths import PathError, compile_path, resolve


def tree() -> Node:
    root = Node(key=None)
    xpack = root.add(Node(key="xpack"))
    xpack.add(Node(key="security.enabled", value="false"))
    conf = root.add(Node(key="configuration"))
    for name, value in (("dfs.replication", "1"), ("hadoop.security.authentication", "simple")):
        prop = conf.add(Node(key="property"))
        prop.add(Node(key="name", value=name))
        prop.add(Node(key="value", value=value))
    containers = root.add(Node(key="containers"))
    for name in ("a", "b"):
        item = containers.add(Node(key=None, is_item=True))
        item.add(Node(key="name", value=name))
    bind = root.add(Node(key="bind", value="0.0.0.0 ::1"))
    bind.args = [Node(key=None, value="0.0.0.0"), Node(key=None, value="::1")]
    root.add(Node(key="listener.name.internal.ssl.key.password", value="x"))
    return root


@pytest.mark.parametrize("path,values", [
    ("xpack.security.enabled", ["false"]),                                   # dotted name, nested keys
    ("/configuration/property[name=dfs.replication]/value", ["1"]),          # predicate on a child
    ("configuration/property[name~=^hadoop\\.]/value", ["simple"]),          # regex predicate
    ("containers[*]/name", ["a", "b"]),
    ("containers[-1]/name", ["b"]),
    ("bind/#1", ["::1"]),
    ("bind[#0=0.0.0.0]", ["0.0.0.0 ::1"]),
    ("~^listener\\.name\\..*\\.password$", ["x"]),
    ("**/name", ["dfs.replication", "hadoop.security.authentication", "a", "b"]),
    ("nothing/here", []),
])
def test_resolve(path, values):
    root = tree()
    assert [n.value for n in resolve(compile_path(path), root, root)] == values


@pytest.mark.parametrize("bad", ["a[b", "a[1][2]", "a[x~=(]", "~("])
def test_bad_paths_are_rejected(bad):
    with pytest.raises(PathError):
        compile_path(bad)
