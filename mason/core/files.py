"""User files: the one guarded way mason reads them, and the one way it writes files.

Every file a user hands mason (``mason.yml``, app manifests, hosts files, ``-e @file``,
catalog entries) is read by :func:`read_text`, which refuses, in one line naming the
file and never with a traceback:

- a path that is not a regular file: a directory, a FIFO (reading it would block),
  a device; a symlink loop; a dangling symlink (named as such, not "absent");
- more than :data:`MAX_BYTES` (a user file is a few KiB; a hosts file of 5,000
  hosts is about 1 MiB);
- bytes that are not UTF-8 text: UTF-16/32 is named (with how to convert it), NUL
  bytes say "binary", any other bad byte gives its line.

Writers call :func:`check_output_path` for every output before anything changes
(``mason harden --report junit /etc/passwd/x.xml`` must fail before the playbook
runs), then :func:`write_text`: a temporary file in the same directory, renamed
over the target, so a reader never sees half a file and a failed write leaves the
old one as it was.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from mason.core.errors import EnvironmentProblem, InvalidInput, NotFound

MAX_BYTES = 4 * 2**20

_UTF16_32 = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _stat(path: Path, source: str) -> os.stat_result | None:
    """``os.stat`` with every failure as a mason error; None when nothing is there."""
    try:
        return path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise NotFound(
                f"{source}: a symlink to {os.readlink(path)}, which does not exist"
            ) from None
        return None
    except OSError as exc:
        raise _os_error(exc, source) from None
    except ValueError:  # a NUL byte: no path can hold one
        raise InvalidInput(f"{source}: a path cannot contain a NUL byte") from None


def _os_error(exc: OSError, source: str) -> InvalidInput:
    if exc.errno == errno.ELOOP:
        return InvalidInput(f"{source}: a symlink loop (the link points back at itself)")
    if exc.errno == errno.ENOTDIR:
        return InvalidInput(f"{source}: a part of the path is a file, not a directory")
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidInput(f"{source}: the path is too long")
    return InvalidInput(f"{source}: cannot read it ({exc.strerror or exc})")


def regular_file(path: Path, *, source: str | None = None) -> os.stat_result:
    """The file's stat if ``path`` is a regular file (symlinks followed), else one clear error."""
    source = source or str(path)
    st = _stat(path, source)
    if st is None:
        raise NotFound(f"{source}: no such file")
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{source}: {_kind(st.st_mode)}, expected a file")
    return st


def exists(path: Path, *, source: str | None = None) -> bool:
    """Whether something is at ``path``; a dangling symlink or a loop is an error, not False."""
    return _stat(path, source or str(path)) is not None


def read_text(path: Path, *, source: str | None = None, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a user's file; ``source`` is how messages name it."""
    source = source or str(path)
    st = regular_file(path, source=source)
    if st.st_size > max_bytes:
        raise InvalidInput(f"{source}: {_size(st.st_size)}, more than the {_size(max_bytes)} limit")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise _os_error(exc, source) from None
    if len(data) > max_bytes:  # grew since stat, or a file whose size stat does not know
        raise InvalidInput(f"{source}: more than the {_size(max_bytes)} limit")
    return decode(data, source)


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a leading BOM dropped), or one line saying what the bytes are instead."""
    for bom, name in _UTF16_32:
        if data.startswith(bom):
            raise InvalidInput(
                f"{source}: {name} text, expected UTF-8 "
                f"(convert it: iconv -f {name} -t UTF-8 FILE > NEW)"
            )
    data = data.removeprefix(codecs.BOM_UTF8)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InvalidInput(
            f"{source}: line {line}: a NUL byte: a binary file (or UTF-16 without a BOM), "
            "expected UTF-8 text"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            f"{source}: line {line}: byte 0x{data[exc.start]:02x} is not UTF-8, expected UTF-8 text"
        ) from None


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n} bytes"


def check_output_path(path: Path, *, where: str = "") -> Path:
    """Refuse, before anything changes, a path :func:`write_text` could not write.

    The target may be missing or a regular file; the nearest existing ancestor must
    be a writable directory (missing directories in between are made when writing).
    ``where`` names the option or argument in the message (``--report``).
    """
    prefix = f"{where}: " if where else ""
    shown = f"{prefix}{path}"
    if not str(path) or str(path).endswith(os.sep):
        raise InvalidInput(f"{shown}: expected a file name")
    st = _stat(path, shown)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{shown}: {_kind(st.st_mode)}, expected a file to write")
    parent = Path(os.path.abspath(path)).parent
    while True:
        pst = _stat(parent, f"{prefix}{parent}")
        if pst is not None:
            break
        parent = parent.parent
    if not stat.S_ISDIR(pst.st_mode):
        raise InvalidInput(f"{shown}: {parent} is {_kind(pst.st_mode)}, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInput(f"{shown}: cannot write in {parent} (permission denied)")
    return path


def write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` whole or not at all: a temporary file beside the target, then a rename.

    Missing parent directories are made. A symlinked target is written through (its
    link is kept). ``mode`` defaults to the existing file's, else 0644 less the umask.
    """
    target = Path(os.path.realpath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode is None:
            mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else _default_mode()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from None
        if isinstance(exc, UnicodeError):
            raise InvalidInput(f"cannot write {path}: the text is not UTF-8 ({exc})") from None
        raise


def _default_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
