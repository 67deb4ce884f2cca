"""download-mtat against a loopback HTTP server: Range resume, size checks, split-zip repair."""

from __future__ import annotations

import argparse
import io
import struct
import threading
import warnings
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from helpers_mtat import write_mtat_fixture

from mtlib.data import download
from mtlib.data.mtat import AnnotationsBlobWarning, read_annotations
from mtlib.errors import DataError


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.files``; honours Range unless ``server.honor_range`` is False; the first
    GET of a name in ``server.drop_after`` closes the connection after that many bytes."""

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        srv = self.server
        name = self.path.lstrip("/")
        srv.log.append((name, self.headers.get("Range")))
        if name not in srv.files:
            self.send_error(404, "Not Found")
            return
        data = srv.files[name]
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.honor_range:
            start = int(rng.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in srv.drop_after:
            body = body[: srv.drop_after.pop(name)]
            self.close_connection = True
        self.wfile.write(body)
        srv.sent += len(body)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.log, srv.drop_after, srv.honor_range, srv.sent = {}, [], {}, True, 0
    srv.timeout = 5
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/"
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=5)


def _payload(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_resumes_a_partial_download_with_range(server, tmp_path):
    data = _payload(300_000)
    server.files["big.bin"] = data
    (tmp_path / "big.bin.part").write_bytes(data[:100_000])
    out = download.download_file(server.url + "big.bin", tmp_path / "big.bin", progress=False)
    assert out.read_bytes() == data and not (tmp_path / "big.bin.part").exists()
    assert server.log == [("big.bin", "bytes=100000-")]
    assert server.sent == 200_000
    # complete files are not fetched again
    download.download_file(server.url + "big.bin", tmp_path / "big.bin", progress=False)
    assert len(server.log) == 1


def test_dropped_connection_keeps_part_and_resumes(server, tmp_path):
    data = _payload(200_000, seed=1)
    server.files["f.bin"] = data
    server.drop_after["f.bin"] = 70_000
    dest = tmp_path / "f.bin"
    with pytest.raises(DataError, match=r"f\.bin: .*rerun to resume"):
        download.download_file(server.url + "f.bin", dest, progress=False, timeout=5)
    assert not dest.exists()
    kept = (tmp_path / "f.bin.part").stat().st_size
    assert 0 < kept <= 70_000
    download.download_file(server.url + "f.bin", dest, progress=False, timeout=5)
    assert dest.read_bytes() == data
    assert server.log[-1] == ("f.bin", f"bytes={kept}-")


def test_server_without_range_support_restarts(server, tmp_path):
    data = _payload(50_000, seed=2)
    server.files["f.bin"] = data
    server.honor_range = False
    (tmp_path / "f.bin.part").write_bytes(b"x" * 1000)
    download.download_file(server.url + "f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == data


def test_complete_part_and_http_errors(server, tmp_path):
    data = _payload(10_000, seed=3)
    server.files["f.bin"] = data
    (tmp_path / "f.bin.part").write_bytes(data)  # finished but not yet renamed: 416
    download.download_file(server.url + "f.bin", tmp_path / "f.bin", progress=False)
    assert (tmp_path / "f.bin").read_bytes() == data
    with pytest.raises(DataError, match=r"/nope\.bin: download failed \(HTTP 404"):
        download.download_file(server.url + "nope.bin", tmp_path / "nope.bin", progress=False)
    with pytest.raises(DataError, match="download failed"):
        download.download_file("http://127.0.0.1:9/x", tmp_path / "x", progress=False, timeout=2)


# --- zips ----------------------------------------------------------------------------------
def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(
                name,
                data,
                compress_type=zipfile.ZIP_DEFLATED if name.endswith(".txt") else zipfile.ZIP_STORED,
            )
    return buf.getvalue()


def _spanned(zip_data: bytes, segment: int) -> list[bytes]:
    """Rewrite a single-file zip as a spanned archive (like ``zip -s``): a split signature
    first, and central-directory offsets relative to the segment ("disk") they fall in."""
    eocd = zip_data.rfind(b"PK\x05\x06")
    n_total, cd_size, cd_offset = struct.unpack("<HII", zip_data[eocd + 10 : eocd + 20])
    stream = bytearray(b"PK\x07\x08" + zip_data)
    shift = 4
    pos = cd_offset + shift
    for _ in range(n_total):
        assert stream[pos : pos + 4] == b"PK\x01\x02"
        n_name, n_extra, n_comment = struct.unpack("<HHH", stream[pos + 28 : pos + 34])
        local = struct.unpack("<I", stream[pos + 42 : pos + 46])[0] + shift
        struct.pack_into("<H", stream, pos + 34, local // segment)
        struct.pack_into("<I", stream, pos + 42, local % segment)
        pos += 46 + n_name + n_extra + n_comment
    eocd += shift
    last_disk = (len(stream) - 1) // segment
    cd_pos = cd_offset + shift
    struct.pack_into("<HH", stream, eocd + 4, last_disk, cd_pos // segment)
    struct.pack_into("<I", stream, eocd + 16, cd_pos % segment)
    return [bytes(stream[i : i + segment]) for i in range(0, len(stream), segment)]


FILES = {
    "0/a-b-01-c-0-29.mp3": _payload(90_000, 4),
    "7/d-e-02-f-30-59.mp3": _payload(60_000, 5),
    "c/g-h-03-i-0-29.mp3": _payload(70_000, 6),
    "f/notes.txt": b"deflated text\n" * 5000,
}


def _check_extracted(out: Path) -> None:
    for name, data in FILES.items():
        assert (out / name).read_bytes() == data, name


def test_spanned_zip_needs_and_gets_the_repair(tmp_path):
    parts = _spanned(_zip_bytes(FILES), 65_536)
    assert len(parts) == 4
    # the naive `cat` join is not a readable zip: member offsets point into the wrong place
    with pytest.raises(zipfile.BadZipFile):
        with zipfile.ZipFile(io.BytesIO(b"".join(parts))) as z:
            for info in z.infolist():
                z.read(info)
    paths = []
    for i, part in enumerate(parts, start=1):
        paths.append(tmp_path / f"mp3.zip.{i:03d}")
        paths[-1].write_bytes(part)
    assert download.extract_zip_parts(paths, tmp_path / "out", progress=False) == len(FILES)
    _check_extracted(tmp_path / "out")


def test_byte_split_zip_and_resumed_extraction(tmp_path):
    data = _zip_bytes(FILES)
    paths = []
    for i, start in enumerate(range(0, len(data), 100_000), start=1):
        paths.append(tmp_path / f"mp3.zip.{i:03d}")
        paths[-1].write_bytes(data[start : start + 100_000])
    out = tmp_path / "out"
    (out / "0").mkdir(parents=True)
    (out / "0/a-b-01-c-0-29.mp3").write_bytes(FILES["0/a-b-01-c-0-29.mp3"])  # already done
    (out / "c").mkdir()
    (out / "c/g-h-03-i-0-29.mp3").write_bytes(b"half")  # interrupted: redone
    assert download.extract_zip_parts(paths, out, progress=False) == len(FILES)
    _check_extracted(out)
    assert not list(out.rglob("*.tmp"))


def test_damaged_archives_are_refused(tmp_path):
    data = bytearray(_zip_bytes({"0/x.mp3": b"a" * 5000}))
    data[100] ^= 0xFF  # flip a byte of the stored data
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"'0/x\.mp3': CRC mismatch"):
        download.extract_zip_parts([tmp_path / "bad.zip"], tmp_path / "out", progress=False)
    (tmp_path / "evil.zip").write_bytes(_zip_bytes({"../escape.mp3": b"x"}))
    with pytest.raises(DataError, match="expected a relative path"):
        download.extract_zip_parts([tmp_path / "evil.zip"], tmp_path / "out", progress=False)
    (tmp_path / "cut.zip").write_bytes(_zip_bytes(FILES)[:150_000])
    with pytest.raises(DataError, match="no zip end-of-central-directory record"):
        download.extract_zip_parts([tmp_path / "cut.zip"], tmp_path / "out", progress=False)


def test_download_mtat_end_to_end(server, tmp_path, capsys):
    fixture = write_mtat_fixture(
        tmp_path / "src", n_clips_per_folder=1, seconds=0.3, bad_files=False
    )
    members = {str(p.relative_to(fixture)): p.read_bytes() for p in sorted(fixture.rglob("*.mp3"))}
    archive = _zip_bytes(members)
    parts = _spanned(archive, (len(archive) + 4) // 3 + 1)  # three spanned segments
    for name, part in zip(download.ZIP_PARTS, parts, strict=True):
        server.files[name] = part
    server.files["annotations_final.csv"] = (fixture / "annotations_final.csv").read_bytes()
    server.files["clip_info_final.csv"] = b'"clip_id"\t"title"\n"1"\t"x"\n'
    server.drop_after["mp3.zip.002"] = 5000  # the first attempt is interrupted
    dest = tmp_path / "MTAT"
    with pytest.raises(DataError, match=r"mp3\.zip\.002: .*rerun to resume"):
        download.download_mtat(dest, base_url=server.url.rstrip("/"), progress=False)
    parser = argparse.ArgumentParser()
    download.add_command(parser.add_subparsers())
    args = parser.parse_args(
        ["download-mtat", str(dest), "--base-url", server.url, "--no-progress"]
    )
    with pytest.warns(AnnotationsBlobWarning, match="matches no published"):
        assert args.func(args) == 0
    assert "MTAT ready" in capsys.readouterr().out
    assert ("mp3.zip.002", None) in server.log and server.log.count(("mp3.zip.001", None)) == 1
    assert any(name == "mp3.zip.002" and rng for name, rng in server.log)  # resumed
    for name, data in members.items():
        assert (dest / name).read_bytes() == data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AnnotationsBlobWarning)
        assert len(read_annotations(dest)) == 16
        n_requests = len(server.log)
        download.download_mtat(dest, base_url=server.url, progress=False)  # nothing to do
    assert len(server.log) == n_requests
