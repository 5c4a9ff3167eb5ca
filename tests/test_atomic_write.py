"""scan --fix never loses a user's file: atomic replacement, edits made meanwhile win, links respected."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from hipaa_lsp import atomic_write
from hipaa_lsp.atomic_write import Status, write_if_unchanged

OLD = b"protected-mode no\nappendonly no\n"
NEW = b"protected-mode yes\nappendonly yes\n"


def leftovers(folder) -> list[str]:
    return [n for n in os.listdir(folder) if n.endswith(".hipaa-lsp.tmp")]


def test_replaces_the_file_and_keeps_its_mode(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    f.chmod(0o640)
    inode = f.stat().st_ino
    outcome = write_if_unchanged(f, OLD, NEW)
    assert outcome.status is Status.WRITTEN and outcome.written
    assert f.read_bytes() == NEW
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    assert f.stat().st_ino != inode  # a new file renamed over the old one, not a rewrite in place
    assert leftovers(tmp_path) == []


def test_disk_full_leaves_the_original_whole(tmp_path, monkeypatch):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    calls = []

    def full_disk(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return os.write(fd, bytes(data[:5]))  # a short write first, as a nearly full disk does

    monkeypatch.setattr(atomic_write, "_write", full_disk)
    outcome = write_if_unchanged(f, OLD, NEW)
    assert outcome.status is Status.ERROR and "No space left" in outcome.message
    assert "unchanged" in outcome.message
    assert f.read_bytes() == OLD and leftovers(tmp_path) == []


def test_failing_fsync_leaves_the_original_whole(tmp_path, monkeypatch):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)

    def broken(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(atomic_write, "_fsync", broken)
    assert write_if_unchanged(f, OLD, NEW).status is Status.ERROR
    assert f.read_bytes() == OLD and leftovers(tmp_path) == []


def test_a_file_changed_since_it_was_read_is_left_alone(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD + b"# the user's edit\n")
    outcome = write_if_unchanged(f, OLD, NEW)
    assert outcome.status is Status.CHANGED and "changed since it was read" in outcome.message
    assert f.read_bytes() == OLD + b"# the user's edit\n"


def test_an_edit_made_while_the_fix_is_written_wins(tmp_path, monkeypatch):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    real_write = os.write

    def edit_meanwhile(fd, data):
        f.write_bytes(OLD.replace(b"no", b"NO"))  # same size: only the bytes tell
        return real_write(fd, data)

    monkeypatch.setattr(atomic_write, "_write", edit_meanwhile)
    outcome = write_if_unchanged(f, OLD, NEW)
    assert outcome.status is Status.CHANGED
    assert f.read_bytes() == OLD.replace(b"no", b"NO") and leftovers(tmp_path) == []


def test_symlink_target_is_replaced_and_the_link_kept(tmp_path):
    real_dir = tmp_path / "etc"
    real_dir.mkdir()
    target = real_dir / "redis.conf"
    target.write_bytes(OLD)
    link = tmp_path / "redis.conf"
    link.symlink_to(target)
    outcome = write_if_unchanged(link, OLD, NEW)
    assert outcome.written and outcome.path == str(target.resolve())
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == NEW
    assert leftovers(real_dir) == [] and leftovers(tmp_path) == []


def test_hard_linked_file_is_left_alone(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    other = tmp_path / "redis.conf.bak"
    os.link(f, other)
    outcome = write_if_unchanged(f, OLD, NEW)
    assert outcome.status is Status.REFUSED and "2 hard links" in outcome.message
    assert f.read_bytes() == OLD and other.read_bytes() == OLD
    assert f.stat().st_ino == other.stat().st_ino


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write a read-only file")
def test_read_only_file_is_left_alone(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    f.chmod(0o444)
    assert write_if_unchanged(f, OLD, NEW).status is Status.REFUSED
    assert f.read_bytes() == OLD


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_is_kept(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    os.chown(f, 1234, 5678)
    assert write_if_unchanged(f, OLD, NEW).written
    st = f.stat()
    assert (st.st_uid, st.st_gid) == (1234, 5678) and f.read_bytes() == NEW


def test_scan_fix_reports_a_file_it_left_alone(tmp_path):
    f = tmp_path / "redis.conf"
    f.write_bytes(OLD)
    os.link(f, tmp_path / "copy-of-redis.conf.txt")
    result = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "--fix", "--no-color", str(f)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"hipaa-lsp: {f}: not fixed:" in result.stderr and "hard links" in result.stderr
    assert f.read_bytes() == OLD
    (tmp_path / "copy-of-redis.conf.txt").unlink()
    result = subprocess.run([sys.executable, "-m", "hipaa_lsp", "scan", "--fix", "--no-color", str(f)],
                            capture_output=True, text=True, timeout=120)
    assert "not fixed" not in result.stderr and b"protected-mode yes" in f.read_bytes()
