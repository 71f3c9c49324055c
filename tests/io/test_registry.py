"""Downloads against a local HTTP server on 127.0.0.1: verification, caching, resumption, rejection."""

from __future__ import annotations

import hashlib
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bumphunt.cli import main
from bumphunt.errors import ChecksumError, ConfigError, DownloadError
from bumphunt.io import registry
from bumphunt.io.registry import REGISTRY, RemoteFile, fetch

PAYLOAD = bytes(range(256)) * 40  # 10240 bytes


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload`` at any path; honours Range; can cut the body after N bytes."""

    def do_GET(self) -> None:
        server = self.server
        server.requests.append({"path": self.path, "range": self.headers.get("Range")})
        if self.path.startswith("/missing"):
            self.send_error(404)
            return
        data, start = server.payload, 0
        requested = self.headers.get("Range")
        if requested and server.honour_range:
            start = int(requested.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            self.wfile.write(body[: server.cut_after])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.payload, httpd.requests, httpd.cut_after, httpd.honour_range = PAYLOAD, [], None, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def entry_for(server, **overrides) -> RemoteFile:
    fields = {
        "name": "test-file",
        "url": f"http://127.0.0.1:{server.server_address[1]}/data/test.bin",
        "filename": "test.bin",
        "description": "test payload",
        "size": len(PAYLOAD),
        "checksum": "sha256:" + hashlib.sha256(PAYLOAD).hexdigest(),
    }
    return RemoteFile(**{**fields, **overrides})


def test_download_is_verified_and_cached(server, tmp_path):
    progress = []
    path = fetch(entry_for(server), cache=tmp_path, progress=lambda n, total: progress.append((n, total)))
    assert path == tmp_path / "test.bin"
    assert path.read_bytes() == PAYLOAD
    assert sum(n for n, _ in progress) == len(PAYLOAD)
    assert {total for _, total in progress} == {len(PAYLOAD)}
    record = (tmp_path / "test.bin.sha256").read_text()
    assert record == f"{hashlib.sha256(PAYLOAD).hexdigest()}  test.bin\n"
    assert fetch(entry_for(server), cache=tmp_path) == path
    assert len(server.requests) == 1  # the second call found the verified file


def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    server.cut_after = 3000
    with pytest.raises(DownloadError, match=r"interrupted after 3000 of 10240 bytes.*resumes"):
        fetch(entry_for(server), cache=tmp_path)
    assert (tmp_path / "test.bin.part").stat().st_size == 3000
    assert not (tmp_path / "test.bin").exists()
    server.cut_after = None
    progress = []
    path = fetch(entry_for(server), cache=tmp_path, progress=lambda n, total: progress.append(n))
    assert [r["range"] for r in server.requests] == [None, "bytes=3000-"]
    assert path.read_bytes() == PAYLOAD
    assert progress[0] == 3000  # the bytes already on disk are reported first
    assert sum(progress) == len(PAYLOAD)
    assert not (tmp_path / "test.bin.part").exists()


def test_server_that_ignores_range_gives_a_fresh_download(server, tmp_path):
    server.cut_after = 4000
    with pytest.raises(DownloadError):
        fetch(entry_for(server), cache=tmp_path)
    server.cut_after, server.honour_range = None, False
    assert fetch(entry_for(server), cache=tmp_path).read_bytes() == PAYLOAD


def test_complete_partial_file_is_not_downloaded_again(server, tmp_path):
    (tmp_path / "test.bin.part").write_bytes(PAYLOAD)
    assert fetch(entry_for(server, size=None), cache=tmp_path).read_bytes() == PAYLOAD
    assert server.requests == [{"path": "/data/test.bin", "range": f"bytes={len(PAYLOAD)}-"}]


def test_wrong_checksum_is_rejected_and_not_kept(server, tmp_path):
    wrong = "sha256:" + "0" * 64
    with pytest.raises(ChecksumError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}; it was deleted"):
        fetch(entry_for(server, checksum=wrong), cache=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_wrong_size_is_rejected_and_not_kept(server, tmp_path):
    server.payload = PAYLOAD + b"extra"
    with pytest.raises(ChecksumError, match="has 10245 bytes, expected 10240"):
        fetch(entry_for(server), cache=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_md5_checksums_are_checked(server, tmp_path):
    good = entry_for(server, checksum="md5:" + hashlib.md5(PAYLOAD).hexdigest())
    assert fetch(good, cache=tmp_path).read_bytes() == PAYLOAD
    bad = entry_for(server, filename="other.bin", checksum="md5:" + "f" * 32)
    with pytest.raises(ChecksumError, match="md5"):
        fetch(bad, cache=tmp_path)


def test_without_a_published_checksum_the_first_download_is_recorded(server, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bumphunt.io.registry"):
        path = fetch(entry_for(server, checksum=None, size=None), cache=tmp_path)
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    assert digest in caplog.text
    assert (tmp_path / "test.bin.sha256").read_text().startswith(digest)
    assert path.read_bytes() == PAYLOAD


def test_not_found(server, tmp_path):
    missing = entry_for(server, url=f"http://127.0.0.1:{server.server_address[1]}/missing.bin")
    with pytest.raises(DownloadError, match="404"):
        fetch(missing, cache=tmp_path)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ConfigError, match="did you mean lhco-rnd-features"):
        registry.get("lhco-rnd-feature")


def test_malformed_checksum_is_rejected():
    with pytest.raises(ConfigError, match="not 'sha256:<64 hex>'"):
        RemoteFile("x", "https://example.org/x", "x", "x", checksum="sha256:abc")


def test_registry_entries_are_consistent():
    names = list(REGISTRY)
    assert len(set(names)) == len(names)
    assert len({e.filename for e in REGISTRY.values()}) == len(names)
    assert {"lhco-rnd-features", "lhco-rnd-constituents", "lhco-rnd-extra-qcd-features"} <= set(names)
    assert sum(name.startswith("mod-cms2011a-jets-") for name in names) == 18
    for entry in REGISTRY.values():
        assert entry.url.startswith("https://zenodo.org/records/")
        assert entry.url.endswith("/" + entry.filename)
        assert entry.checksum_source  # says where the checksum comes from, or that there is none


def test_cli_fetch_prints_the_path(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.REGISTRY, "test-file", entry_for(server))
    monkeypatch.setenv("BUMPHUNT_CACHE", str(tmp_path))
    assert main(["fetch", "test-file"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "test.bin")
    assert (tmp_path / "test.bin").read_bytes() == PAYLOAD


def test_cli_fetch_errors_are_one_line(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BUMPHUNT_CACHE", str(tmp_path))
    assert main(["fetch", "no-such-dataset"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("Error: no dataset named 'no-such-dataset'")
    monkeypatch.setitem(
        registry.REGISTRY, "bad", entry_for(server, name="bad", checksum="sha256:" + "1" * 64)
    )
    assert main(["fetch", "bad"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Error")]
    assert len(lines) == 1
    assert "it was deleted" in lines[0]


def test_cli_fetch_list(capsys):
    assert main(["fetch", "--list"]) == 0
    out = capsys.readouterr().out
    assert "lhco-rnd-features" in out
    assert "mod-cms2011a-jets-17" in out
