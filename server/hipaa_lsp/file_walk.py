"""Which files a scan reads: folders walked without following links, excludes applied, and only
regular files kept (a FIFO would block the reader forever, a device would never end).

Folders that cannot be read are reported, not skipped silently: a scan that did not see part of the
tree must say so.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

# Folders never worth scanning: dependencies, caches, VCS internals.
DEFAULT_EXCLUDES = (".git/", ".hg/", ".svn/", "node_modules/", ".venv/", "venv/", "__pycache__/",
                    ".tox/", ".mypy_cache/", ".pytest_cache/", "dist/", "build/")
IGNORE_FILE = ".hipaa-lspignore"


class MissingPath(Exception):
    pass


@dataclass
class Walk:
    files: list[str] = field(default_factory=list)
    # (path, why) for folders and named paths that could not be read or are not regular files.
    problems: list[tuple[str, str]] = field(default_factory=list)


def ignore_patterns(root: str, extra: list[str]) -> list[str]:
    patterns = list(DEFAULT_EXCLUDES) + list(extra)
    ignore = os.path.join(root, IGNORE_FILE)
    try:
        with open(ignore, "rb") as handle:
            text = handle.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return patterns
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            patterns.append(line)
    return patterns


def is_ignored(rel: str, is_dir: bool, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        pat = pattern.rstrip("/")
        if dir_only and not is_dir:
            continue
        if pat.startswith("/"):
            if fnmatch.fnmatch(rel, pat[1:]):
                return True
        elif fnmatch.fnmatch(name, pat) or fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(rel, "*/" + pat):
            return True
    return False


def collect_files(paths: list[str], excludes: list[str],
                  excluded: Callable[[str, bool], bool] | None = None) -> Walk:
    """`excluded(path, is_dir)`: the project configuration's `exclude` (see `project_config.py`);
    it applies inside folders, not to files named on the command line."""
    walk = Walk()
    for raw in paths:
        try:
            st = os.stat(raw)
        except OSError as exc:
            raise MissingPath(f"no such file or folder: {raw} ({exc.strerror})") from None
        if stat.S_ISREG(st.st_mode):
            walk.files.append(raw)
        elif stat.S_ISDIR(st.st_mode):
            _walk_folder(raw, excludes, walk, excluded)
        else:
            walk.problems.append((raw, "not a regular file or folder; not read"))
    return walk


def _walk_folder(root: str, excludes: list[str], walk: Walk,
                 excluded: Callable[[str, bool], bool] | None = None) -> None:
    patterns = ignore_patterns(root, excludes)

    def unreadable(exc: OSError) -> None:
        walk.problems.append((exc.filename or root, f"folder cannot be read ({exc.strerror}); not scanned"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not is_ignored(rel_dir + d, True, patterns)
                             and not (excluded and excluded(os.path.join(dirpath, d), True)))
        for name in sorted(filenames):
            if is_ignored(rel_dir + name, False, patterns) or (excluded and excluded(os.path.join(dirpath, name), False)):
                continue
            full = os.path.normpath(os.path.join(dirpath, name))  # "x/y", not "./x/y"
            try:
                mode = os.lstat(full).st_mode
            except OSError:
                continue  # removed while we walked
            # Links are not followed (they may point out of the tree); FIFOs, sockets and devices
            # are not files to read.
            if stat.S_ISREG(mode):
                walk.files.append(full)
