"""Writing model files atomically.

``atomic_write`` writes to a temporary file next to the target (``.<name>.<random>.tmp``)
and renames it over the target, so an interrupted save leaves the previous file intact.
The temporary file is created with mode ``0o666`` minus the umask (as ``open`` creates
files), or with the mode of the file it replaces; it holds an exclusive ``flock`` while it
is written, so that the next save to the same path can tell the temporary files of a killed
process (no lock) from a concurrent save's (locked) and delete the former.
"""

from __future__ import annotations

import os
import re
import secrets
import stat

try:  # POSIX; on Windows an open file cannot be deleted, which protects a save in progress
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def _temporary_pattern(basename: str):
    # The names atomic_write (and tempfile.mkstemp, used by earlier numnet versions) give.
    return re.compile(r"\." + re.escape(basename) + r"\.[A-Za-z0-9_]{8,32}\.tmp")


def _locked(fd) -> bool:
    """Take an exclusive lock on ``fd`` (blocking); False where locks are not available."""
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:  # a file system without locks
        return False
    return True


def remove_orphans(directory: str, basename: str) -> list[str]:
    """Delete the temporary files a killed save to ``basename`` left in ``directory``:
    those no live writer holds locked. Returns the names removed."""
    pattern = _temporary_pattern(basename)
    removed = []
    try:
        names = [n for n in os.listdir(directory) if pattern.fullmatch(n)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(directory, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a save in progress holds it
            # Unlink while holding the lock: a writer that locked after us sees its file gone.
            os.unlink(path)
            removed.append(name)
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _create_temporary(directory: str, basename: str, mode: int | None):
    """``(fd, path)`` of a new, locked temporary file in ``directory``. Created with
    ``0o666`` (the kernel applies the umask, as for any new file), then set to ``mode``
    when the file it will replace had one."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        path = os.path.join(directory, f".{basename}.{secrets.token_hex(6)}.tmp")
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        try:
            if _locked(fd):
                # remove_orphans may have deleted it between the open and the lock.
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)
            elif mode is not None:  # Windows: only the read-only bit means anything
                os.chmod(path, mode)
            return fd, path
        except BaseException:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
            raise
    raise FileExistsError(f"could not create a temporary file in {directory!r}")


def _sync_directory(directory: str) -> None:
    """Flush the rename to disk (POSIX), so that after a power cut the directory holds the
    new file or the old one. Best effort: not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write) -> None:
    """Call ``write(fileobj)`` on a temporary file next to ``path``, flush it to disk and
    rename it over ``path``; on any failure the temporary file is removed and ``path`` is
    untouched. Orphaned temporary files of earlier, killed saves to ``path`` are removed
    first. The new file gets the permission bits of the file it replaces, or, when there
    is none, ``0o666`` minus the umask."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    basename = os.path.basename(path)
    try:
        old = os.stat(path)
        mode = old.st_mode & 0o777 if stat.S_ISREG(old.st_mode) else None
    except OSError:
        mode = None
    remove_orphans(directory, basename)
    fd, tmp = _create_temporary(directory, basename, mode)
    f = os.fdopen(fd, "wb")
    try:
        write(f)
        f.flush()
        os.fsync(f.fileno())
        if fcntl is None:  # Windows cannot rename an open file
            f.close()
        # Renamed while still open and locked, so remove_orphans never takes it for an orphan.
        os.replace(tmp, path)
        _sync_directory(directory)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        f.close()
