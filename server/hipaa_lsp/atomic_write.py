"""Writing a fixed file without ever losing the user's version of it.

`write_if_unchanged(path, original, new)`:
- follows symlinks to the real file and replaces that (the link stays a link);
- writes `new` to a temporary file in the same folder, fsyncs it, gives it the original's mode and
  owner, and renames it over the original, then fsyncs the folder: a reader sees the old file or the
  new one, never half of either, and a full disk or a size limit leaves the original untouched;
- leaves the file alone when its bytes (or size and modification time) differ from `original`, checked
  again right before the rename, so an edit made while the scan ran is not overwritten. (No
  filesystem offers a portable compare-and-swap: an edit landing between that last check and the
  rename, a window of microseconds, is the one case not caught);
- leaves alone a file with several hard links: renaming over it would detach this name from the
  others (they would keep the unfixed text), and rewriting the shared inode in place is exactly the
  non-atomic write this module exists to avoid. The message says so; fix it by hand or break the link;
- leaves alone a file it could not give back its owner (not running as root), a read-only file, and
  anything that is not a regular file.
Extended attributes and ACLs are not copied.
"""

from __future__ import annotations

import enum
import os
import stat
import tempfile
from dataclasses import dataclass

# Indirections so tests can inject a full disk or a failing fsync.
_write = os.write
_fsync = os.fsync


class Status(enum.Enum):
    WRITTEN = "written"
    CHANGED = "changed since read"
    REFUSED = "left alone"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class WriteOutcome:
    status: Status
    path: str  # the real file (symlinks resolved)
    message: str = ""

    @property
    def written(self) -> bool:
        return self.status is Status.WRITTEN


def write_if_unchanged(path: str | os.PathLike, original: bytes, new: bytes) -> WriteOutcome:
    """Replace the file at `path` by `new` if it still holds `original`; see the module doc."""
    real = os.path.realpath(path)
    try:
        before = os.stat(real)
    except OSError as exc:
        return WriteOutcome(Status.ERROR, real, f"cannot read it again: {exc.strerror or exc}")
    if not stat.S_ISREG(before.st_mode):
        return WriteOutcome(Status.REFUSED, real, "not a regular file; left alone")
    if not _same(real, original, before):
        return WriteOutcome(Status.CHANGED, real, "changed since it was read; left alone (scan it again)")
    if before.st_nlink > 1:
        return WriteOutcome(Status.REFUSED, real, f"has {before.st_nlink} hard links; replacing it would "
                            "split it from the other names, so it was left alone (fix it by hand)")
    if not os.access(real, os.W_OK):
        return WriteOutcome(Status.REFUSED, real, "is read-only; left alone")
    folder, name = os.path.split(real)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".hipaa-lsp.tmp", dir=folder)
    except OSError as exc:
        return WriteOutcome(Status.ERROR, real, f"cannot create a temporary file next to it: "
                            f"{exc.strerror or exc}; left unchanged")
    try:
        try:
            view = memoryview(new)
            while view:
                view = view[_write(fd, view) :]
            _fsync(fd)
            os.fchmod(fd, stat.S_IMODE(before.st_mode))
            if hasattr(os, "fchown") and (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.fchown(fd, before.st_uid, before.st_gid)
                except PermissionError:
                    _discard(tmp)
                    return WriteOutcome(Status.REFUSED, real, f"belongs to uid {before.st_uid} gid {before.st_gid}, "
                                        "which a rewritten file could not keep; left alone")
        finally:
            os.close(fd)
        # The last look before the rename: an edit made during the scan wins over our fix.
        if not _same(real, original, before):
            os.unlink(tmp)
            return WriteOutcome(Status.CHANGED, real, "changed while the fix was being written; left alone "
                                "(scan it again)")
        os.replace(tmp, real)
    except OSError as exc:
        _discard(tmp)
        return WriteOutcome(Status.ERROR, real, f"could not be written ({exc.strerror or exc}); "
                            "the original is unchanged")
    try:
        _fsync_folder(folder)
    except OSError:
        pass  # the rename happened; some filesystems cannot fsync a folder
    return WriteOutcome(Status.WRITTEN, real)


def _same(real: str, original: bytes, before: os.stat_result) -> bool:
    try:
        with open(real, "rb") as f:
            now = os.fstat(f.fileno())
            if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (
                    before.st_ino, before.st_dev, before.st_size, before.st_mtime_ns):
                return now.st_size == len(original) and f.read() == original and now.st_ino == before.st_ino
            return f.read() == original
    except OSError:
        return False


def _discard(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        _fsync(fd)
    finally:
        os.close(fd)
