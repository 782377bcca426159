"""Reading numnet's ``.npz`` files without trusting them.

numnet writes uncompressed zip archives of ``.npy`` arrays. ``NpzReader`` opens only
regular files (never blocking on a FIFO, never reading ``/dev/zero``), reads the zip's end
record and central directory from the end of the file, and checks, before any array is
read, that every entry lies inside the file, is stored (not compressed) and overlaps
neither another entry nor the directory. Each array is then read straight from the file
into the one array that keeps it (no copy of the file in memory) and its CRC-32 checked.
Consequences:

* the arrays a file can make numnet allocate add up to at most the file's size;
* nothing is read but the file's last 22 bytes (64 KiB when the zip has a comment) before
  the container is known to be a zip;
* the bookkeeping for the entries is linear in the size of the zip directory (at most
  ``MAX_ENTRIES`` entries).

What the entries must be called and hold (numnet's own policy) is ``saving._Archive``'s.
"""

from __future__ import annotations

import errno
import io
import os
import re
import stat
import struct
import zlib

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


class ArchiveError(ValueError):
    """What is wrong with an archive, without the file name (the caller adds it)."""


# --- opening ---------------------------------------------------------------------------------
def open_regular(path):
    """An unbuffered binary file object for ``path``, which must be a regular file.

    Opened non-blocking, so that a FIFO cannot block the call; refused (``ArchiveError``)
    when ``fstat`` shows anything but a regular file (FIFO, character device such as
    ``/dev/zero``, socket). A directory raises ``IsADirectoryError``, a missing file
    ``FileNotFoundError``, as ``open`` does."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if not stat.S_ISREG(mode):
            kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
                    else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                    else "not a regular file")
            raise ArchiveError(f"is {kind}, not a regular file; numnet reads models only from regular files.")
        if fcntl is not None and hasattr(os, "O_NONBLOCK"):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


# --- the zip container -----------------------------------------------------------------------
_EOCD = struct.Struct("<4s4H2IH")  # end of central directory record, 22 bytes
_EOCD64_LOCATOR = struct.Struct("<4sIQI")  # 20 bytes
_EOCD64 = struct.Struct("<4sQ2H2I4Q")  # 56 bytes
_CENTRAL = struct.Struct("<4s6H3I5HII")  # central directory file header, 46 bytes
_LOCAL = struct.Struct("<4s5H3I2H")  # local file header, 30 bytes
_MAX_COMMENT = 0xFFFF
_FULL16, _FULL32 = 0xFFFF, 0xFFFFFFFF
# At most this many entries. A file numnet can load holds fewer: each array is named in the
# metadata (some 50 bytes of JSON each), whose parse is bounded to about 30 MiB of JSON.
MAX_ENTRIES = 2**20


class Entry:
    """One stored member: ``name``, ``start`` (its local header), ``data`` (offset of its
    bytes), ``size`` and the ``crc`` the directory records."""

    __slots__ = ("name", "start", "data", "size", "crc")

    def __init__(self, name, start, data, size, crc):
        self.name, self.start, self.data, self.size, self.crc = name, start, data, size, crc


def _zip64_values(extra: bytes, wanted: list[bool]) -> list[int]:
    """The 8-byte values of the zip64 extra field (id 1) for the fields ``wanted`` (those
    the fixed header left at 0xFFFFFFFF, in the order size, compressed size, offset)."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, position)
        body = extra[position + 4 : position + 4 + length]
        position += 4 + length
        if tag == 1:
            count = sum(wanted)
            if len(body) < 8 * count:
                raise ArchiveError("a zip64 extra field is too short.")
            return list(struct.unpack_from(f"<{count}Q", body))
    if any(wanted):
        raise ArchiveError("an entry's size or offset is marked zip64 but has no zip64 extra field.")
    return []


class NpzReader:
    """The entries of an uncompressed zip archive, checked as described in the module
    docstring. ``entries`` maps each member name to its ``Entry`` (in file order)."""

    def __init__(self, path) -> None:
        self.file = open_regular(path)
        try:
            self.size = os.fstat(self.file.fileno()).st_size
            self.entries = self._read_directory()
        except BaseException:
            self.file.close()
            raise

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _pread(self, offset: int, count: int) -> bytes:
        """Exactly ``count`` bytes at ``offset`` (never past the end of the file)."""
        if offset < 0 or count < 0 or offset + count > self.size:
            raise ArchiveError(f"a record at byte {offset} ({count} bytes) lies outside the file ({self.size} bytes).")
        self.file.seek(offset)
        data = self.file.read(count)
        if len(data) != count:
            raise ArchiveError(f"the file ended at byte {offset + len(data)} while reading; it changed or is truncated.")
        return data

    def _end_record(self):
        """``(entry count, directory offset, directory size)`` from the end record (and the
        zip64 end record when there is one), checked against the file."""
        # numnet writes no comment: the record is the last 22 bytes; else search 64 KiB.
        tail_size = min(self.size, _EOCD.size)
        tail = self._pread(self.size - tail_size, tail_size)
        if not (tail.startswith(b"PK\x05\x06") and tail.endswith(b"\0\0")):
            tail_size = min(self.size, _EOCD.size + _MAX_COMMENT)
            tail = self._pread(self.size - tail_size, tail_size)
        position = tail.rfind(b"PK\x05\x06")
        while position >= 0:
            if position + _EOCD.size <= len(tail):
                fields = _EOCD.unpack_from(tail, position)
                if position + _EOCD.size + fields[-1] == len(tail):  # the comment runs to the end
                    break
            position = tail.rfind(b"PK\x05\x06", 0, position)
        if position < 0:
            raise ArchiveError("not a zip archive (no end-of-directory record at the end of the file).")
        _, disk, cd_disk, _, count, cd_size, cd_offset, _ = fields
        end = self.size - tail_size + position
        if disk != 0 or cd_disk != 0:
            raise ArchiveError("the archive spans several disks.")
        if end >= _EOCD64_LOCATOR.size:
            signature, _, record, _ = _EOCD64_LOCATOR.unpack(self._pread(end - _EOCD64_LOCATOR.size, _EOCD64_LOCATOR.size))
            if signature == b"PK\x06\x07":
                if record + _EOCD64.size > end - _EOCD64_LOCATOR.size:
                    raise ArchiveError("the zip64 end record lies outside the archive.")
                values = _EOCD64.unpack(self._pread(record, _EOCD64.size))
                if values[0] != b"PK\x06\x06":
                    raise ArchiveError("the zip64 end record is damaged.")
                count, cd_size, cd_offset = values[7], values[8], values[9]
                end = record
        elif _FULL16 in (count,) or _FULL32 in (cd_size, cd_offset):
            raise ArchiveError("the end record points to a zip64 record that is missing.")
        if cd_offset + cd_size > end:
            raise ArchiveError(f"the zip directory ({cd_size} bytes at {cd_offset}) overruns the end record at {end}.")
        if count > MAX_ENTRIES:
            raise ArchiveError(f"the archive has {count} entries; numnet files hold at most {MAX_ENTRIES}.")
        if count * _CENTRAL.size > cd_size:
            raise ArchiveError(f"the archive claims {count} entries, more than its {cd_size}-byte directory can hold.")
        return count, cd_offset, cd_size

    def _read_directory(self) -> dict[str, Entry]:
        count, cd_offset, cd_size = self._end_record()
        directory = self._pread(cd_offset, cd_size)
        entries: dict[str, Entry] = {}
        position = 0
        for _ in range(count):
            if position + _CENTRAL.size > cd_size:
                raise ArchiveError("the zip directory is truncated.")
            (signature, _, _, flags, method, _, _, crc, csize, usize, name_len, extra_len, comment_len,
             _, _, _, offset) = _CENTRAL.unpack_from(directory, position)
            if signature != b"PK\x01\x02":
                raise ArchiveError("the zip directory is damaged (bad entry signature).")
            raw_name = directory[position + _CENTRAL.size : position + _CENTRAL.size + name_len]
            extra = directory[position + _CENTRAL.size + name_len : position + _CENTRAL.size + name_len + extra_len]
            position += _CENTRAL.size + name_len + extra_len + comment_len
            if position > cd_size:
                raise ArchiveError("the zip directory is truncated.")
            name = raw_name.decode("utf-8", errors="replace")
            wanted = [usize == _FULL32, csize == _FULL32, offset == _FULL32]
            big = iter(_zip64_values(extra, wanted))
            usize = next(big) if wanted[0] else usize
            csize = next(big) if wanted[1] else csize
            offset = next(big) if wanted[2] else offset
            if flags & 0x1:
                raise ArchiveError(f"entry {name[:100]!r} is encrypted.")
            if method != 0:
                raise ArchiveError(f"entry {name[:100]!r} is compressed; numnet writes uncompressed archives.")
            if csize != usize:
                raise ArchiveError(f"stored entry {name[:100]!r} has different sizes ({csize} and {usize}).")
            if name in entries:
                raise ArchiveError(f"the archive holds {name[:100]!r} twice.")
            entries[name] = Entry(name, offset, -1, usize, crc)
        ordered = sorted(entries.values(), key=lambda e: e.start)
        previous_end, previous = 0, None
        for entry in ordered:
            if entry.start < previous_end:
                raise ArchiveError(
                    f"entries {previous.name[:100]!r} and {entry.name[:100]!r} overlap (bytes up to {previous_end} "
                    f"and from {entry.start}); a genuine archive stores each entry in bytes of its own.")
            name = entry.name.encode("utf-8")  # one read: the local header and the name it should hold
            header = (self._pread(entry.start, _LOCAL.size + len(name))
                      if entry.start + _LOCAL.size + len(name) <= cd_offset else b"")
            if header[:4] != b"PK\x03\x04":
                raise ArchiveError(f"entry {entry.name[:100]!r} has no valid local header at byte {entry.start}.")
            name_len, extra_len = _LOCAL.unpack_from(header)[-2:]
            entry.data = entry.start + _LOCAL.size + name_len + extra_len
            if name_len != len(name) or header[_LOCAL.size :] != name:
                raise ArchiveError(f"entry {entry.name[:100]!r}: its local header names another entry.")
            previous_end, previous = entry.data + entry.size, entry
            if previous_end > cd_offset:
                raise ArchiveError(
                    f"entry {entry.name[:100]!r} ({entry.size} bytes from byte {entry.data}) runs into the zip "
                    f"directory at byte {cd_offset}.")
        return {entry.name: entry for entry in ordered}

    # --- members --------------------------------------------------------------------------
    def npy_header(self, entry: Entry):
        """``npy_header`` of a member (reading only its first bytes)."""
        return npy_header(lambda n: self.prefix(entry, n))

    def prefix(self, entry: Entry, count: int) -> bytes:
        """The first ``min(count, size)`` bytes of a member (to parse its ``.npy`` header)."""
        return self._pread(entry.data, min(count, entry.size))

    def read_into(self, entry: Entry, skip: int, out: np.ndarray, head: bytes) -> np.ndarray:
        """Fill the C-contiguous ``out`` with the member's bytes after its first ``skip``
        (``head`` holds those first bytes), read straight from the file; then check the
        member's CRC-32. ``out.nbytes`` must equal ``entry.size - skip``."""
        if out.nbytes != entry.size - skip or len(head) != skip:
            raise ArchiveError(f"entry {entry.name!r}: internal size mismatch.")
        view = memoryview(out.reshape(-1).view(np.uint8))
        self.file.seek(entry.data + skip)
        done = 0
        while done < len(view):
            got = self.file.readinto(view[done:])
            if not got:
                raise ArchiveError(f"the file ended while reading entry {entry.name!r}; it changed or is truncated.")
            done += got
        if zlib.crc32(view, zlib.crc32(head)) != entry.crc:
            raise ArchiveError(f"entry {entry.name!r} is damaged: its checksum (CRC-32) does not match.")
        return out


# --- .npy headers -----------------------------------------------------------------------------
# The header numpy writes: "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
# padded with spaces to a newline. Parsed here by a strict pattern (numpy's own parser,
# ast.literal_eval, takes 0.1 ms a header: 20 s for a file of 200,000 arrays); any other
# spelling goes to numpy's parser.
_NPY_DICT = re.compile(rb"\{'descr': '([<>|=][a-z][0-9]{1,2})', 'fortran_order': (False|True), "
                       rb"'shape': \(((?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n")
MAX_NPY_HEADER = 10_000  # numpy's own limit for a header it parses safely


def npy_header(read) -> tuple[int, tuple[int, ...], bool, np.dtype]:
    """``(header size, shape, fortran_order, dtype)`` of a ``.npy`` member; ``read(n)``
    returns its first ``n`` bytes (fewer if it is shorter). Raises ``ArchiveError``."""
    prefix = read(256)  # the whole header, as numpy writes it for up to 20-odd dimensions
    if len(prefix) < 10 or prefix[:6] != b"\x93NUMPY":
        raise ArchiveError("it is not a .npy array (no magic string).")
    major, minor = prefix[6], prefix[7]
    if (major, minor) == (1, 0):
        start, length = 10, struct.unpack_from("<H", prefix, 8)[0]
    elif (major, minor) == (2, 0) and len(prefix) >= 12:
        start, length = 12, struct.unpack_from("<I", prefix, 8)[0]
    else:
        raise ArchiveError(f"unsupported .npy version {major}.{minor}.")
    if length > MAX_NPY_HEADER:
        raise ArchiveError(f"its .npy header claims {length} bytes, more than {MAX_NPY_HEADER}.")
    head = prefix if len(prefix) >= start + length else read(start + length)
    head = head[: start + length]
    if len(head) != start + length:
        raise ArchiveError("its .npy header is truncated.")
    text = head[start:]
    match = _NPY_DICT.fullmatch(text)
    try:
        if match is not None:
            dtype = np.dtype(match.group(1).decode("ascii"))
            fortran = match.group(2) == b"True"
            shape = tuple(int(s) for s in match.group(3).replace(b",", b" ").split())
        else:
            f = io.BytesIO(head)
            np.lib.format.read_magic(f)
            reader = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = reader(f)
    except (ValueError, TypeError, SyntaxError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"its .npy header is invalid ({str(exc)[:200] or type(exc).__name__}).") from exc
    return start + length, tuple(shape), bool(fortran), dtype
