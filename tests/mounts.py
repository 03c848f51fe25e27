"""Places that cannot be written, for tests that run as root as well as not.

Permissions do not stop root, so a read-only folder is a read-only tmpfs mount when the tests
may mount (root), else a folder without write permission. A full disk is a tiny tmpfs; it
needs root, so those tests are skipped elsewhere.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(folder: Path, options: str) -> bool:
    """Mount a tmpfs on `folder`; whether it worked."""
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _unmount(folder: Path) -> None:
    """Unmount `folder`, lazily if something still holds it."""
    if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """`folder`, made impossible to write in (even for root) for the block."""
    folder.mkdir(parents=True, exist_ok=True)
    if _mount(folder, "ro,size=64k"):
        try:
            yield folder
        finally:
            _unmount(folder)
        return
    folder.chmod(0o555)
    try:
        probe = folder / ".probe"
        try:
            probe.write_text("")
        except OSError:
            yield folder
            return
        probe.unlink()
        pytest.skip("cannot make a read-only folder here (no mount, permissions ignored)")
    finally:
        folder.chmod(0o755)


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """`folder` as a tmpfs of `size` (e.g. `64k`) for the block: a disk that fills up."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount(folder, f"size={size}"):
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield folder
    finally:
        _unmount(folder)
