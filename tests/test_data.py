"""Tests of lmkit.data against a real local HTTP server and the offline data mirror."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lmkit import data
from lmkit.data import DataUnavailableError, RemoteFile

MIRROR = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_mirror = pytest.mark.skipif(
    not (MIRROR / "MANIFEST.tsv").is_file(), reason=f"offline data mirror {MIRROR} is absent")
ALL_FILES = [(name, file) for name, dataset in data.DATASETS.items() for file in dataset.files]
TEXT = b"first line\nsecond line\n"


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def entry(content: bytes, *urls: str, rel: str = "demo/file.txt", **extra: str) -> RemoteFile:
    """A registry entry for ``content`` served at ``urls``."""
    return RemoteFile(rel, len(content), sha256(content), urls, **extra)


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 at a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/file.txt"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No mirror, a cache inside tmp_path, and no proxy for local addresses."""
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    monkeypatch.setenv(data.CACHE_ENV, str(tmp_path / "env-cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Serve a fresh folder over HTTP on 127.0.0.1; yield (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


# Downloads ---------------------------------------------------------------------------------


def test_fetch_downloads_into_cache(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    local = data.fetch(entry(TEXT, f"{base}/file.txt"), cache_dir=cache)
    assert local == cache / "demo" / "file.txt"
    assert local.read_bytes() == TEXT


def test_fetch_uses_cache_env_by_default(server: tuple[Path, str], tmp_path: Path) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    assert data.fetch(entry(TEXT, f"{base}/file.txt")) == tmp_path / "env-cache/demo/file.txt"


def test_hash_mismatch_is_reported_and_not_kept(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "file.txt").write_bytes(b"tampered\n")
    remote = entry(TEXT, f"{base}/file.txt")
    with pytest.raises(DataUnavailableError) as excinfo:
        data.fetch(remote, cache_dir=cache)
    message = str(excinfo.value)
    assert remote.sha256 in message and sha256(b"tampered\n") in message
    assert "expected" in message and "got" in message
    assert not any(path.is_file() for path in cache.rglob("*"))  # nor a temporary file


def test_http_404_names_url_and_mirror_variable(server: tuple[Path, str], cache: Path) -> None:
    _, base = server
    url = f"{base}/missing.txt"
    with pytest.raises(DataUnavailableError) as excinfo:
        data.fetch(entry(TEXT, url), cache_dir=cache)
    message = str(excinfo.value)
    assert url in message and "404" in message
    assert "demo/file.txt" in message and "LMKIT_DATA_MIRROR" in message


def test_no_server_no_mirror_explains_the_fix(cache: Path) -> None:
    url = closed_port_url()
    with pytest.raises(DataUnavailableError) as excinfo:
        data.fetch(entry(TEXT, url), cache_dir=cache)
    message = str(excinfo.value)
    assert "demo/file.txt" in message and url in message
    assert "LMKIT_DATA_MIRROR" in message and "internet connection" in message


def test_second_url_is_used_when_first_fails(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    remote = entry(TEXT, f"{base}/missing.txt", closed_port_url(), f"{base}/file.txt")
    assert data.fetch(remote, cache_dir=cache).read_bytes() == TEXT


def test_all_failures_are_listed(server: tuple[Path, str], cache: Path) -> None:
    _, base = server
    urls = (f"{base}/missing.txt", closed_port_url())
    with pytest.raises(DataUnavailableError) as excinfo:
        data.fetch(entry(TEXT, *urls), cache_dir=cache)
    assert all(url in str(excinfo.value) for url in urls)


def test_valid_cache_is_used_without_network(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    remote = entry(TEXT, f"{base}/file.txt")
    data.fetch(remote, cache_dir=cache)
    (root / "file.txt").unlink()  # the server would now answer 404
    assert data.fetch(remote, cache_dir=cache).read_bytes() == TEXT


@pytest.mark.parametrize("damage", [b"garbage", TEXT[:5]], ids=["corrupted", "truncated"])
def test_damaged_cache_is_downloaded_again(
    server: tuple[Path, str], cache: Path, damage: bytes
) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    remote = entry(TEXT, f"{base}/file.txt")
    data.fetch(remote, cache_dir=cache).write_bytes(damage)
    assert data.fetch(remote, cache_dir=cache).read_bytes() == TEXT


# Zip archives ------------------------------------------------------------------------------


def test_zip_member_is_extracted_and_verified(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "pairs.zip").write_bytes(make_zip({"_about.txt": b"about", "fra.txt": TEXT}))
    remote = entry((root / "pairs.zip").read_bytes(), f"{base}/pairs.zip", rel="pairs/pairs.zip",
                   member="fra.txt", member_sha256=sha256(TEXT))
    local = data.fetch(remote, cache_dir=cache)
    assert local == cache / "pairs" / "fra.txt" and local.read_bytes() == TEXT
    assert sorted(p.name for p in local.parent.iterdir()) == ["fra.txt", "pairs.zip"]
    local.write_bytes(b"damaged")  # a damaged extracted member is extracted again
    assert data.fetch(remote, cache_dir=cache).read_bytes() == TEXT


def test_zip_member_with_wrong_hash_is_rejected(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "pairs.zip").write_bytes(make_zip({"fra.txt": TEXT}))
    remote = entry((root / "pairs.zip").read_bytes(), f"{base}/pairs.zip", rel="pairs/pairs.zip",
                   member="fra.txt", member_sha256=sha256(b"other"))
    with pytest.raises(DataUnavailableError, match="expected sha256"):
        data.fetch(remote, cache_dir=cache)
    assert not (cache / "pairs" / "fra.txt").exists()
    assert [p.name for p in (cache / "pairs").iterdir()] == ["pairs.zip"]


@pytest.mark.parametrize("kind", ["parent", "nested-parent", "absolute"])
def test_malicious_zip_is_rejected(
    server: tuple[Path, str], cache: Path, tmp_path: Path, kind: str
) -> None:
    root, base = server
    member = {"parent": "../evil.txt", "nested-parent": "ok/../../evil.txt",
              "absolute": (tmp_path / "abs-evil.txt").as_posix()}[kind]
    (root / "evil.zip").write_bytes(make_zip({member: b"evil"}))
    remote = entry((root / "evil.zip").read_bytes(), f"{base}/evil.zip", rel="pairs/evil.zip",
                   member=member, member_sha256=sha256(b"evil"))
    with pytest.raises(DataUnavailableError, match="Refusing to extract"):
        data.fetch(remote, cache_dir=cache)
    assert not [p for p in tmp_path.rglob("*evil.txt")]


def test_member_missing_from_zip(server: tuple[Path, str], cache: Path) -> None:
    root, base = server
    (root / "pairs.zip").write_bytes(make_zip({"other.txt": TEXT}))
    remote = entry((root / "pairs.zip").read_bytes(), f"{base}/pairs.zip", rel="pairs/pairs.zip",
                   member="fra.txt", member_sha256=sha256(TEXT))
    with pytest.raises(DataUnavailableError, match="no member 'fra.txt'.*other.txt"):
        data.fetch(remote, cache_dir=cache)


# Mirror ------------------------------------------------------------------------------------


@needs_mirror
@pytest.mark.parametrize(("name", "file"), ALL_FILES)
def test_mirror_serves_every_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, file: str
) -> None:
    monkeypatch.setenv(data.MIRROR_ENV, str(MIRROR))
    remote = data.DATASETS[name].files[file]
    local = data.path(name, file)
    assert local.is_file()
    if remote.member is None:
        assert local == MIRROR.resolve() / remote.path
        assert local.stat().st_size == remote.size
    else:  # extracted into the cache, never into the mirror
        assert local.is_relative_to(tmp_path / "env-cache")
        assert data.path(name, file) == local  # the extracted member is reused


@needs_mirror
def test_load_text_from_relative_mirror(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MIRROR.parent)
    monkeypatch.setenv(data.MIRROR_ENV, MIRROR.name)
    text = data.load_text("timemachine")
    assert text.startswith("The Time Machine, by H. G. Wells [1898]")
    assert len(data.load_text("names").split("\n")) == 32033


def test_corrupted_mirror_copy_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bad = tmp_path / "mirror" / "timemachine" / "timemachine.txt"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not the time machine")
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path / "mirror"))
    expected = data.DATASETS["timemachine"].files["timemachine"].sha256
    with pytest.raises(DataUnavailableError) as excinfo:
        data.path("timemachine")
    message = str(excinfo.value)
    assert str(bad) in message and expected in message and sha256(bad.read_bytes()) in message
    assert bad.read_bytes() == b"not the time machine"  # the mirror is never modified


def test_missing_mirror_file_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(data.MIRROR_ENV, str(tmp_path))
    with pytest.raises(DataUnavailableError, match=r"ptb/ptb\.valid\.txt.*LMKIT_DATA_MIRROR"):
        data.path("ptb", "valid")
    assert list(tmp_path.iterdir()) == []  # nothing was downloaded or written


# Registry and arguments --------------------------------------------------------------------


def test_unknown_dataset_lists_choices() -> None:
    with pytest.raises(ValueError, match="Unknown dataset 'ptbx'. Choose one of: .*'ptb'"):
        data.path("ptbx")


def test_unknown_or_missing_file_lists_choices() -> None:
    with pytest.raises(ValueError, match="Unknown file 'dev'.*'train', 'valid', 'test'"):
        data.path("ptb", "dev")
    with pytest.raises(ValueError, match="several files.*'train', 'valid', 'test'"):
        data.load_text("ptb")


@pytest.mark.parametrize("call", [lambda: data.path(3), lambda: data.info(None),
                                  lambda: data.path("ptb", 1), lambda: data.fetch("ptb")])
def test_wrong_argument_types(call: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match="must be a str|needs a RemoteFile"):
        call()


def test_info_gives_license_and_credit() -> None:
    credit = data.info("ptb").credit()
    assert "NOT openly licensed" in credit and "LDC99T42" in credit and "Mikolov" in credit
    assert str(data.info("fra-eng")) == data.info("fra-eng").credit()
    for dataset in data.DATASETS.values():
        assert dataset.description and dataset.license and dataset.citation
        for remote in dataset.files.values():
            assert remote.urls[0].startswith("http")


@needs_mirror
def test_registry_matches_manifest() -> None:
    with open(MIRROR / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle, delimiter="\t")}
    for dataset in data.DATASETS.values():
        for remote in dataset.files.values():
            row = rows[remote.path]
            assert row["dataset"] == dataset.name
            assert (remote.size, remote.sha256) == (int(row["bytes"]), row["sha256"])
            assert remote.urls[0] == row["canonical_url"]
            if remote.member is not None:  # the member's hash, computed from the mirror's zip
                with zipfile.ZipFile(MIRROR / remote.path) as archive:
                    member = archive.read(remote.member)
                assert sha256(member) == remote.member_sha256


# Failures of the data layer are DataUnavailableErrors that name the file, the variable, the fix


def _zip_remote(root: Path, base: str) -> RemoteFile:
    (root / "pairs.zip").write_bytes(make_zip({"fra.txt": TEXT}))
    return entry((root / "pairs.zip").read_bytes(), f"{base}/pairs.zip", rel="pairs/pairs.zip",
                 member="fra.txt", member_sha256=sha256(TEXT))


def test_a_damaged_file_in_a_read_only_cache_says_what_to_do(
    server: tuple[Path, str], cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = server
    (root / "file.txt").write_bytes(TEXT)
    remote = entry(TEXT, f"{base}/file.txt")
    data.fetch(remote, cache_dir=cache).write_bytes(b"garbage")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)  # as in a cache shared read-only by a class
    with pytest.raises(DataUnavailableError, match=f"cannot be deleted.*{data.CACHE_ENV}"):
        data.fetch(remote, cache_dir=cache)


def test_a_mirror_path_with_an_unknown_user_names_the_variable(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(data.MIRROR_ENV, "~no-such-user-lmkit/x")
    with pytest.raises(DataUnavailableError, match=data.MIRROR_ENV):
        data.fetch(entry(TEXT, "http://127.0.0.1:9/file.txt"))


def test_an_extracted_member_is_readable_by_others_and_a_symlink_is_replaced(
    server: tuple[Path, str], cache: Path, tmp_path: Path
) -> None:
    root, base = server
    remote = _zip_remote(root, base)
    local = data.fetch(remote, cache_dir=cache)
    umask = os.umask(0)
    os.umask(umask)
    assert local.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_bytes(b"not the member")
    local.unlink()
    local.symlink_to(elsewhere)  # a link left in the cache: replaced, not followed
    again = data.fetch(remote, cache_dir=cache)
    assert again == local and not again.is_symlink() and again.read_bytes() == TEXT
    assert elsewhere.read_bytes() == b"not the member"


def test_a_mirror_that_holds_the_extracted_member_is_read_without_writing_the_cache(
    server: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, base = server
    remote = _zip_remote(root, base)
    mirror = tmp_path / "mirror"
    (mirror / "pairs").mkdir(parents=True)
    (mirror / "pairs" / "pairs.zip").write_bytes((root / "pairs.zip").read_bytes())
    (mirror / "pairs" / "fra.txt").write_bytes(TEXT)
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    cache = tmp_path / "never-written"
    assert data.fetch(remote, cache_dir=cache) == mirror / "pairs" / "fra.txt"
    assert not cache.exists()
