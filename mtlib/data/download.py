"""Download MagnaTagATune from its home page and unpack the multi-part mp3 archive.

``mtlib download-mtat DIR`` fetches ``mp3.zip.001``-``003``, ``annotations_final.csv`` and
``clip_info_final.csv``. Each file downloads to ``NAME.part`` and continues with an HTTP Range
request after an interruption; it gets its final name only once its size matches what the
server announced. The three parts are read as one virtual concatenation (no 3 GB copy) and the
mp3 folders ``0``-``f`` are extracted into DIR, each member written atomically, so an
interrupted extraction also resumes.

Why extraction needs a repair path: joining the parts with ``cat`` is known not to yield a
valid zip for every copy of MTAT (``zip -FF`` is the usual fix). When the parts are a *spanned*
zip (``zip -s``), the central directory stores each member's offset relative to the part
("disk") it starts on, so the offsets are wrong in the joined stream. :func:`extract_zip_parts`
therefore checks every central-directory offset against the local file header it should point
at; if any is wrong it recovers the members by scanning the local file headers in order, as
``zip -FF`` does, taking sizes from the local header (or from the central directory entry of
the same name when the header defers them to a data descriptor).
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import struct
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Iterator

from mtlib.data.mtat import ANNOTATIONS_FILE, MTAT_URL, check_annotations_blob
from mtlib.errors import DataError
from mtlib.io import atomic_path, atomic_write_text
from mtlib.progress import announce

BASE_URL = MTAT_URL
ZIP_PARTS = ("mp3.zip.001", "mp3.zip.002", "mp3.zip.003")
FILES = (*ZIP_PARTS, ANNOTATIONS_FILE, "clip_info_final.csv")
EXTRACTED_MARKER = ".mp3_extracted"  # DIR/.mp3_extracted: member count, written last
BLOCK = 1 << 20  # bytes per read/write while streaming


# --- HTTP download with resume -------------------------------------------------------------
def download_file(url: str, dest: str | Path, progress: bool = True, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, continuing ``dest.part`` with a Range request if present.

    The server's size (Content-Length / Content-Range) is checked before ``dest.part`` is
    renamed to ``dest``; an existing ``dest`` is taken as complete. DataError on HTTP/network
    failure or a short transfer; the partial file stays and the next call resumes it.
    """
    dest = Path(dest)
    if dest.is_file():
        return dest
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mtlib"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:  # nothing after offset: the .part may be complete
            total = _content_range_total(err.headers.get("Content-Range", ""))
            if total == offset:
                os.replace(part, dest)
                return dest
            part.unlink()  # larger than the file on the server: start over
            return download_file(url, dest, progress, timeout)
        raise DataError(
            f"{url}: download failed (HTTP {err.code} {err.reason}); check --base-url"
        ) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(f"{url}: download failed ({reason}); rerun to resume") from None
    with response:
        if response.status == 206:
            start = _content_range_start(response.headers.get("Content-Range", ""))
            if start != offset:
                raise DataError(f"{url}: server resumed at byte {start}, expected {offset}")
            total = _content_range_total(response.headers.get("Content-Range", ""))
            mode = "ab"
        else:  # 200: the server ignored the Range header; start from zero
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
        _stream(response, part, mode, offset, total, dest.name, progress, url)
    size = part.stat().st_size
    if total is not None and size != total:
        raise DataError(
            f"{url}: got {size} of {total} bytes (connection dropped?); rerun to resume"
        )
    os.replace(part, dest)
    return dest


def _stream(response: BinaryIO, part: Path, mode: str, offset: int, total: int | None,
            name: str, progress: bool, url: str) -> None:
    from mtlib.progress import tqdm

    with open(part, mode) as f, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                     unit_divisor=1024, desc=name, disable=not progress) as bar:
        try:
            while block := response.read(BLOCK):
                f.write(block)
                bar.update(len(block))
        except (OSError, http.client.HTTPException) as err:
            f.flush()
            raise DataError(f"{url}: transfer interrupted ({err}); rerun to resume") from None
        f.flush()
        os.fsync(f.fileno())


def _content_range_start(value: str) -> int | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", value.strip())
    return int(m.group(1)) if m else None


def _content_range_total(value: str) -> int | None:
    m = re.search(r"/(\d+)\s*$", value.strip())
    return int(m.group(1)) if m else None


# --- a read-only file over several parts, seen as their concatenation ----------------------
class ConcatenatedFile(io.RawIOBase):
    """Seekable read-only view of ``paths`` joined end to end (``cat`` without the copy)."""

    def __init__(self, paths: list[Path]):
        super().__init__()
        self._files = [open(p, "rb") for p in paths]
        self._sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._starts = [sum(self._sizes[:i]) for i in range(len(self._sizes))]
        self._size = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            i = max(k for k, s in enumerate(self._starts) if s <= self._pos)
            f = self._files[i]
            f.seek(self._pos - self._starts[i])
            n = f.readinto(view[done : done + min(len(view) - done,
                                                  self._starts[i] + self._sizes[i] - self._pos)])
            if not n:
                break
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


# --- zip extraction with a local-header scan fallback --------------------------------------
@dataclass
class _Member:
    name: str
    method: int
    flags: int
    crc: int
    compressed: int
    size: int
    data_offset: int | None = None  # filled by the scan


_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_EOCD = b"PK\x05\x06"
_SPLIT_MARKERS = (b"PK\x07\x08", b"PK00")  # first bytes of a spanned / split archive


def extract_zip_parts(parts: list[Path], out_dir: Path, progress: bool = True) -> int:
    """Extract the zip formed by ``parts`` (in order) into ``out_dir``; return the member count.

    Members already present with the right size are skipped (resume). DataError if the
    archive is unreadable, a member escapes ``out_dir`` or fails its CRC.
    """
    out_dir = Path(out_dir)
    stream = io.BufferedReader(ConcatenatedFile(parts), buffer_size=BLOCK)
    try:
        central = _central_directory(stream, parts)
        members = None
        try:
            with zipfile.ZipFile(stream) as archive:
                infos = [i for i in archive.infolist() if not i.is_dir()]
                if all(_header_matches(stream, i.header_offset, i.filename) for i in infos):
                    members = [_Member(i.filename, i.compress_type, i.flag_bits, i.CRC,
                                       i.compress_size, i.file_size) for i in infos]
                    offsets = {i.filename: i.header_offset for i in infos}
                    for m in members:
                        m.data_offset = _data_offset(stream, offsets[m.name])
        except zipfile.BadZipFile:
            members = None
        if members is None:  # central-directory offsets are wrong: recover by scanning
            members = list(_scan_local_headers(stream, central, parts))
        n_files = sum(not name.endswith("/") for name in central)
        if len(members) != n_files:
            raise DataError(
                f"{parts[0]}: found {len(members)} files but the central directory lists "
                f"{n_files}; the download is damaged, delete the parts and download again"
            )
        _extract_members(stream, members, out_dir, progress)
    finally:
        stream.close()
    return len(members)


def _header_matches(stream: BinaryIO, offset: int, name: str) -> bool:
    stream.seek(offset)
    head = stream.read(30)
    if len(head) < 30 or head[:4] != _LOCAL:
        return False
    n_name = struct.unpack("<H", head[26:28])[0]
    return stream.read(n_name).decode("utf-8", "replace") == name


def _data_offset(stream: BinaryIO, header_offset: int) -> int:
    stream.seek(header_offset + 26)
    n_name, n_extra = struct.unpack("<HH", stream.read(4))
    return header_offset + 30 + n_name + n_extra


def _central_directory(stream: BinaryIO, parts: list[Path]) -> dict[str, _Member]:
    """Entries of the central directory by name (sizes, CRC), located from the end record."""
    size = stream.seek(0, io.SEEK_END)
    tail_start = max(0, size - (1 << 16) - 22)
    stream.seek(tail_start)
    tail = stream.read()
    at = tail.rfind(_EOCD)
    if at < 0:
        raise DataError(
            f"{parts[-1]}: no zip end-of-central-directory record; expected the last part of a "
            "zip archive (incomplete download? delete it and rerun)"
        )
    cd_size = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    cd_start = tail_start + at - cd_size
    if tail[at - 20 : at - 16] == b"PK\x06\x07":  # zip64 locator + record precede the EOCD
        cd_start -= 20 + 56
    stream.seek(cd_start)
    data = stream.read(cd_size)
    entries, pos = {}, 0
    while pos + 46 <= len(data) and data[pos : pos + 4] == _CENTRAL:
        (flags, method, crc, compressed, size_, n_name, n_extra, n_comment) = struct.unpack(
            "<HH4xIIIHHH", data[pos + 8 : pos + 34]
        )
        name = data[pos + 46 : pos + 46 + n_name].decode("utf-8", "replace")
        extra = data[pos + 46 + n_name : pos + 46 + n_name + n_extra]
        size_, compressed = _zip64_sizes(extra, size_, compressed)
        entries[name] = _Member(name, method, flags, crc, compressed, size_)
        pos += 46 + n_name + n_extra + n_comment
    return entries


def _zip64_sizes(extra: bytes, size: int, compressed: int) -> tuple[int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack("<HH", extra[pos : pos + 4])
        if tag == 1:
            values = iter(struct.unpack(f"<{n // 8}Q", extra[pos + 4 : pos + 4 + n // 8 * 8]))
            if size == 0xFFFFFFFF:
                size = next(values)
            if compressed == 0xFFFFFFFF:
                compressed = next(values)
        pos += 4 + n
    return size, compressed


def _scan_local_headers(stream: BinaryIO, central: dict[str, _Member],
                        parts: list[Path]) -> Iterator[_Member]:
    stream.seek(0)
    pos = 4 if stream.read(4) in _SPLIT_MARKERS else 0
    while True:
        stream.seek(pos)
        head = stream.read(30)
        if head[:4] != _LOCAL:
            return  # the central directory (or the end) follows the last member
        flags, method, _, crc, compressed, size, n_name, n_extra = struct.unpack(
            "<xxHHIIIIHH", head[4:30]
        )
        name = stream.read(n_name).decode("utf-8", "replace")
        extra = stream.read(n_extra)
        size, compressed = _zip64_sizes(extra, size, compressed)
        if flags & 0x08:  # sizes and CRC follow the data: take them from the central directory
            if name not in central:
                raise DataError(f"{parts[0]}: member {name!r} has no central directory entry")
            ref = central[name]
            crc, compressed, size = ref.crc, ref.compressed, ref.size
        data_offset = pos + 30 + n_name + n_extra
        pos = data_offset + compressed
        if flags & 0x08:
            stream.seek(pos)
            sig = stream.read(4)
            pos += (4 if sig == b"PK\x07\x08" else 0) + (20 if size >= 0xFFFFFFFF else 12)
        if not name.endswith("/"):
            yield _Member(name, method, flags, crc, compressed, size, data_offset)


def _safe_target(out_dir: Path, name: str) -> Path:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise DataError(f"zip member {name!r}: expected a relative path inside the archive")
    return out_dir.joinpath(*pure.parts)


def _extract_members(stream: BinaryIO, members: list[_Member], out_dir: Path,
                     progress: bool) -> None:
    from mtlib.progress import tqdm

    with tqdm(total=sum(m.size for m in members), unit="B", unit_scale=True, unit_divisor=1024,
              desc="extract mp3", disable=not progress) as bar:
        for m in members:
            target = _safe_target(out_dir, m.name)
            if target.is_file() and target.stat().st_size == m.size:
                bar.update(m.size)
                continue
            if m.method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise DataError(f"zip member {m.name!r}: compression {m.method} is not supported")
            with atomic_path(target) as tmp, open(tmp, "wb") as f:
                crc = _copy_member(stream, m, f, bar)
            if crc != m.crc:
                target.unlink()
                raise DataError(f"zip member {m.name!r}: CRC mismatch; the download is damaged")


def _copy_member(stream: BinaryIO, m: _Member, f: BinaryIO, bar) -> int:
    stream.seek(m.data_offset)
    left = m.compressed
    inflate = zlib.decompressobj(-15) if m.method == zipfile.ZIP_DEFLATED else None
    crc = 0
    while left > 0:
        block = stream.read(min(BLOCK, left))
        if not block:
            raise DataError(f"zip member {m.name!r}: archive ends early; download again")
        left -= len(block)
        data = inflate.decompress(block) if inflate else block
        crc = zlib.crc32(data, crc)
        f.write(data)
        bar.update(len(data))
    if inflate:
        data = inflate.flush()
        crc = zlib.crc32(data, crc)
        f.write(data)
    return crc


# --- the whole dataset ----------------------------------------------------------------------
def download_mtat(dest: str | Path, base_url: str = BASE_URL, progress: bool = True,
                  timeout: float = 60.0) -> Path:
    """Download MTAT into ``dest`` and extract the mp3 folders; resumable; returns ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    base = base_url if base_url.endswith("/") else base_url + "/"
    for name in FILES:
        download_file(base + name, dest / name, progress=progress, timeout=timeout)
    annotations = dest / ANNOTATIONS_FILE
    check_annotations_blob(annotations, annotations.read_bytes())  # warns on an unknown copy
    if not (dest / EXTRACTED_MARKER).is_file():
        n = extract_zip_parts([dest / p for p in ZIP_PARTS], dest, progress=progress)
        atomic_write_text(dest / EXTRACTED_MARKER, f"{n}\n")
    return dest


def add_command(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "download-mtat",
        help="download MagnaTagATune (mp3 + annotations) and extract it",
        description="Download mp3.zip.001-003, annotations_final.csv and clip_info_final.csv "
        f"from {BASE_URL} into DIR (resumable) and extract the mp3 folders 0-f.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="destination folder (the MTAT root)")
    p.add_argument("--base-url", default=BASE_URL, help=f"mirror to use (default {BASE_URL})")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    root = download_mtat(args.dir, base_url=args.base_url, progress=not args.no_progress)
    announce(f"{root}: MTAT ready; next: mtlib prepare-mtat --root {root} --sample-rate 12000")
    return 0
