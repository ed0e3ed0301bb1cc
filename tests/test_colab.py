"""Colab, simulated: every chapter runs top to bottom in a fresh environment that holds what
Colab's CPU runtime preinstalls, at Colab's published versions, with lmkit installed by the
notebook's own set-up cell.

The environment is a new virtual environment with the packages of COLAB below (Colab's versions,
except where the table says why not), a kernel, and a stand-in `google.colab` package that the
kernel imports at start, as Colab's does. The set-up cell's install line is pointed at a snapshot
of this repository (a local `git+file://` URL, tagged as the cell asks) instead of the public one.
Then, for every chapter of _toc.yml:

- lmkit installs from that URL, with its loose dependency ranges, without changing any
  preinstalled package (and adds exactly ADDED_BY_SETUP_CELL, which README.md states);
- `lmkit.check_version` stays quiet (an LmkitVersionWarning fails the test);
- every cell runs, every interactive explorer is built and redrawn once with a moved slider
  (with Colab's ipywidgets 7), and the lmkit the notebook used is the one the set-up cell
  installed.

Two more checks: lmkit's widget tests pass with Colab's ipywidgets, and the tests of lmkit's
torch-free modules pass on Python 3.13 (Colab's Python, which has no torch wheel here).

The chapters run COLAB_SIM_JOBS at a time (default 2: every notebook trains on one thread), each
in an environment of its own: there is one Colab-like environment per chapter running at once
(the set-up cell installs into it, and the test compares its packages before and after). All the
selected chapters start when the first chapter test runs; each test then waits for its chapter
and checks it, so the reports come in the usual order and `-k` still runs only what it selects.

The environments are cached in _build/colab-sim/ (set COLAB_SIM_CACHE to keep them elsewhere),
keyed by the package list; each run first removes whatever earlier runs installed into them.
Run by `make test` (and `make colab`).
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from built_book import CONFIG, PAGES, ROOT, skip_unless_enabled

skip_unless_enabled("The Colab simulation", "make colab")

# -- What Colab preinstalls ----------------------------------------------------------------------
# Source: googlecolab/backend-info, pip-freeze.txt and os-info.txt at commit a72407924822 of
# 2026-08-19 ("Upgrade to Python 3.13"), where the Colab team publishes its CPU runtime image (a
# copy is in ../shared/colab/). When Colab moves, this table is the one edit: its "Colab" column
# is what Colab publishes; "here" is what the simulation installs, "=" when it is Colab's.
# The first rows are what the book touches; the packed `name==version` lines below them are what
# those need, at Colab's versions too, so that pip finds them all satisfied, as on Colab.
COLAB_SOURCE = "googlecolab/backend-info@a72407924822 (2026-08-19)"
COLAB = """\
package            Colab       here        why "here" is not Colab's
python             3.13.15     3.11        the package index reachable here has no torch wheel for
                                           Python 3.13 (only cp311 CPU wheels: 2.13.0 and 2.14.1);
                                           lmkit's torch-free tests do run on 3.13 (see below)
torch              2.11.0+cpu  2.13.0+cpu  no torch 2.11 here; 2.13.0 is requirements.txt's (CPU)
setuptools         75.2.0      77.0.3      torch 2.13 requires setuptools>=77.0.3
overrides          -           7.7.0       jupyter_server needs it below Python 3.12 only
jedi               -           -           Colab has none, but ipython 7.34 requires it: the set-up
                                           cell adds it (as it will on Colab)
pip                24.1.2      =
numpy              2.1.3       =
matplotlib         3.10.0      =
ipywidgets         7.7.1       =           Colab's front end supports widgets 7 only
widgetsnbextension 3.6.10      =
jupyterlab-widgets 3.0.16      =
ipython            7.34.0      =
ipykernel          6.17.1      =
traitlets          5.7.1       =
jupyter-client     7.4.9       =
jupyter-core       5.9.1       =
matplotlib-inline  0.2.2       =
tqdm               4.67.3      =
pooch              1.9.0       =
nbclient           0.10.4      =           runs the notebooks here (Colab has its own front end)
nbformat           5.11.1      =
pytest             8.4.2       =           runs lmkit's widget tests here
anyio==4.14.2 argon2-cffi==25.1.0 argon2-cffi-bindings==25.1.0 arrow==1.4.0 attrs==26.1.0
backcall==0.2.0 beautifulsoup4==4.13.5 bleach==6.4.0 certifi==2026.7.22 cffi==2.1.1
charset-normalizer==3.4.9 contourpy==1.3.3 cycler==0.12.1 debugpy==1.8.15 decorator==4.4.2
defusedxml==0.7.1 entrypoints==0.4 fastjsonschema==2.22.2 filelock==3.32.3 fonttools==4.63.0
fqdn==1.5.1 fsspec==2025.3.0 idna==3.18 iniconfig==2.3.0 ipython-genutils==0.2.0
isoduration==20.11.0 jinja2==3.1.6 jsonpointer==3.1.1 jsonschema==4.26.0
jsonschema-specifications==2025.9.1 jupyter-events==0.12.1 jupyter-server==2.20.0
jupyter-server-terminals==0.5.4 jupyterlab-pygments==0.3.0 kiwisolver==1.5.0 lark==1.3.1
markupsafe==3.0.3 mistune==3.3.4 mpmath==1.3.0 nbclassic==1.3.3 nbconvert==7.17.1
nest-asyncio==1.6.0 networkx==3.6.1 notebook==6.5.7 notebook-shim==0.2.4 packaging==26.3
pandocfilters==1.5.1 parso==0.8.7 pexpect==4.9.0 pickleshare==0.7.5 pillow==11.3.0
platformdirs==4.11.3 pluggy==1.6.0 prometheus-client==0.26.0 prompt-toolkit==3.0.53
psutil==5.9.5 ptyprocess==0.7.0 pycparser==3.0 pygments==2.21.0 pyparsing==3.3.2
python-dateutil==2.9.0.post0 python-json-logger==4.2.0 pyyaml==6.0.3 pyzmq==26.2.1
referencing==0.37.0 requests==2.32.4 rfc3339-validator==0.1.4 rfc3986-validator==0.1.1
rfc3987-syntax==1.1.0 rpds-py==2026.6.3 send2trash==2.1.0 six==1.17.0 soupsieve==2.9.2
sympy==1.14.0 terminado==0.18.1 tinycss2==1.5.1 tornado==6.5.7 typing-extensions==4.16.0
tzdata==2026.3 uri-template==1.3.0 urllib3==2.5.0 wcwidth==0.8.2 webcolors==25.10.0
webencodings==0.6.1 websocket-client==1.9.0
"""
# What the set-up cell may add to Colab (README.md, "Open a chapter in Colab", says so); it must
# change nothing else.
ADDED_BY_SETUP_CELL = {"lmkit", "jedi"}
# lmkit's modules that need no torch, and their tests, run on Colab's Python (3.13) with Colab's
# versions of what they need.
TORCH_FREE_TESTS = ["tests/test_data.py", "tests/test_text.py", "tests/test_ngram.py",
                    "tests/test_metrics.py", "tests/test_exercises.py"]
TORCH_FREE_NEEDS = ["numpy", "pooch", "requests", "platformdirs", "packaging", "certifi",
                    "charset-normalizer", "idna", "urllib3", "pytest", "iniconfig", "pluggy",
                    "pygments"]


@dataclass(frozen=True)
class Row:
    name: str      # normalized: lower case, runs of -_. as one -
    colab: str     # "-": Colab has none
    here: str      # "-": not installed here
    why: str = ""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_table(text: str) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    last = None
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        if line[0].isspace():   # a "why" running on
            rows[last] = Row(rows[last].name, rows[last].colab, rows[last].here,
                             f"{rows[last].why} {line.strip()}")
            continue
        if all("==" in token for token in line.split()):
            for token in line.split():
                name, version = token.split("==")
                rows[normalize(name)] = Row(normalize(name), version, version)
            continue
        name, colab, here, *why = line.split()
        last = normalize(name)
        rows[last] = Row(last, colab, colab if here == "=" else here, " ".join(why))
    return rows


TABLE = parse_table(COLAB)
PYTHON_HERE = TABLE.pop("python")
PACKAGES = {row.name: row.here for row in TABLE.values() if row.here != "-"}
RECIPE = 3   # bump to rebuild cached environments after changing how they are made
CACHE = Path(os.environ.get("COLAB_SIM_CACHE") or ROOT / "_build" / "colab-sim")
CHAPTERS = [page.docname for page in PAGES if page.is_notebook]   # every chapter of _toc.yml
# Chapters run at once, each in its own Colab-like environment (made on first use, then cached).
JOBS = int(os.environ.get("COLAB_SIM_JOBS") or 2)
assert JOBS >= 1, f"COLAB_SIM_JOBS must be at least 1, not {JOBS}"
CHAPTER_TIMEOUT = 1200   # seconds, for one chapter's run

FAKE_COLAB = '''\
"""Stand-in for Colab's google.colab (tests/test_colab.py). The book's set-up cells recognise
Colab by this module being imported."""
'''
FAKE_COLAB_OUTPUT = '''\
"""Stand-in for google.colab.output."""


def enable_custom_widget_manager():
    """Colab needs this call to show ipywidgets 8; elsewhere it does nothing."""
'''

RUNNER = textwrap.dedent("""\
    import signal
    import sys
    import nbformat
    from nbclient import NotebookClient

    # The test's time limit: stop, but still write what ran (below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped: the chapter took too long"))
    source, target, cwd = sys.argv[1:4]
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": cwd}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)
""")

# Appended to every chapter: move one slider of every explorer (a different value) and record
# what the redraw called and showed. Widgets register in `Widget.widgets` (ipywidgets 7) or
# `widget._instances` (8).
REDRAW = textwrap.dedent("""\
    import contextlib as _cl, io as _io, json as _js
    import ipywidgets as _ipw
    from IPython import get_ipython as _gi

    _live = getattr(_ipw.widgets.widget, "_instances", None)
    if _live is None:
        _live = _ipw.Widget.widgets
    _report = []
    for _w in [w for w in list(_live.values()) if isinstance(w, _ipw.interactive)]:
        _s = _w.kwargs_widgets[0]
        if isinstance(_s, _ipw.Dropdown):     # a choice: the last option, or the first
            _opts = [o[1] if isinstance(o, tuple) else o for o in _s.options]
            _new = _opts[-1] if _s.value != _opts[-1] else _opts[0]
        else:
            _top = _s.base ** _s.max if isinstance(_s, _ipw.FloatLogSlider) else _s.max
            _low = _s.base ** _s.min if isinstance(_s, _ipw.FloatLogSlider) else _s.min
            _new = _top if abs(_s.value - _top) > 1e-9 * abs(_top) else _low
        _calls, _errors, _shown, _draw = [], [], [], _w.f

        def _traced(_draw=_draw, _calls=_calls, _errors=_errors, **kw):
            _calls.append({k: v if isinstance(v, (int, float, str)) else repr(v)
                           for k, v in kw.items()})
            try:
                return _draw(**kw)
            except Exception as e:
                _errors.append(repr(e))
                raise

        _pub = _gi().display_pub
        _publish = _pub.publish

        def _recording(data, *a, _shown=_shown, **k):
            _shown.extend(sorted(data))
            return _publish(data, *a, **k)

        _w.f, _pub.publish, _out = _traced, _recording, _io.StringIO()
        try:
            with _cl.redirect_stdout(_out):
                _s.value = _new
        finally:
            _w.f = _draw
            del _pub.publish
        _report.append({"draw": getattr(_draw, "__name__", "?"),
                        "slider": getattr(_s, "_kwarg", _s.description),
                        "to": _new if isinstance(_new, str) else float(_new),
                        "calls": _calls, "errors": _errors,
                        "shown": _shown, "printed": _out.getvalue()})
    print("COLAB-SIM-EXPLORERS", _js.dumps(_report))
""")
EXPLORE_CALL = re.compile(r"^\s*(?:\w+\s*=\s*)?explore\(", re.M)


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise AssertionError(f"`{' '.join(map(str, args))}` failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def installed(python: Path) -> dict[str, str]:
    """Distributions installed in the environment (-I: not what the working directory holds)."""
    out = run(python, "-I", "-c", "import importlib.metadata as m, json; print(json.dumps("
              "{d.metadata['Name']: d.version for d in m.distributions()}))")
    return {normalize(name): version for name, version in json.loads(out.stdout).items()}


def site_packages(python: Path) -> Path:
    return Path(run(python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())


def clean_env(python: Path, **extra: str) -> dict[str, str]:
    """This process's environment without what would leak the project's venv into `python`'s."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "JUPYTER_PATH",
                        "JUPYTER_CONFIG_DIR", "IPYTHONDIR", "PIP_REQUIRE_VIRTUALENV"}}
    env.update(PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore",
               PIP_NO_INPUT="1", PYDEVD_DISABLE_FILE_VALIDATION="1", **extra)
    return env


def cached_venv(label: str, base_python: str, packages: dict[str, str]) -> tuple[Path, Path, bool]:
    """(python, home, fresh) of a cached venv holding exactly `packages` (installed without their
    dependencies, as listed), reset to that state: what earlier runs added is uninstalled."""
    key = hashlib.sha256(json.dumps([label, run(base_python, "-c", "import sys; print(sys.version)")
                                     .stdout, sorted(packages.items()), RECIPE]).encode())
    home = CACHE / f"{label}-{key.hexdigest()[:12]}"
    for stale in CACHE.glob(f"{label}-*"):   # made for another package list (not "colab-1-…")
        if stale != home and re.fullmatch(rf"{re.escape(label)}-[0-9a-f]{{12}}", stale.name):
            shutil.rmtree(stale, ignore_errors=True)
    python, base_file = home / "venv" / "bin" / "python", home / "preinstalled.json"
    if base_file.exists():
        base = json.loads(base_file.read_text())
        now = installed(python)
        extra = sorted(set(now) - set(base))
        if extra:   # what earlier runs installed: lmkit and its dependencies
            run(python, "-I", "-m", "pip", "uninstall", "--yes", "--quiet", *extra)
            now = installed(python)
        if now == base:
            return python, home, False
    shutil.rmtree(home, ignore_errors=True)   # half made, or changed by hand
    home.mkdir(parents=True)
    run(base_python, "-m", "venv", home / "venv")
    pip = [python, "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if "pip" in packages:
        run(*pip, f"pip=={packages['pip']}")
    run(*pip, "--no-deps", *[f"{name}=={version}" for name, version in packages.items()
                             if name != "pip"])
    now = installed(python)
    wrong = {name: (version, now.get(name)) for name, version in packages.items()
             if now.get(name) != version}
    assert not wrong, f"{label}: installed versions differ from the table: {wrong}"
    base_file.write_text(json.dumps(now, indent=1, sort_keys=True))
    return python, home, True


def colab_environment(slot: int = 0) -> tuple[Path, Path]:
    """(python, IPYTHONDIR) of Colab-like environment number `slot` (one per chapter running at
    once, all made alike), cached, reset to what Colab has."""
    here = ".".join(map(str, sys.version_info[:2]))
    assert here == PYTHON_HERE.here, (
        f"the Colab simulation runs on this Python ({here}), but its table says "
        f"{PYTHON_HERE.here}: run it from the project's .venv, or update the table")
    label = "colab" if slot == 0 else f"colab-{slot}"
    python, home, fresh = cached_venv(label, sys.executable, PACKAGES)
    ipython_dir = home / "ipython"
    if fresh:
        colab = site_packages(python) / "google" / "colab"   # `google` stays a namespace package
        colab.mkdir(parents=True)
        (colab / "__init__.py").write_text(FAKE_COLAB)
        (colab / "output.py").write_text(FAKE_COLAB_OUTPUT)
        startup = ipython_dir / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-colab.py").write_text("import google.colab  # as Colab's kernel does\n")
    return python, ipython_dir


def repository_snapshot(dest: Path, tag: str) -> Path:
    """A git repository holding this work tree (committed or not), tagged `tag`."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    git = ["git", "-c", "user.name=colab-sim", "-c", "user.email=colab-sim@localhost"]
    run(*git, "init", "--quiet", cwd=dest)
    run(*git, "add", "--all", cwd=dest)
    run(*git, "commit", "--quiet", "--no-verify", "-m", "snapshot for the Colab simulation",
        cwd=dest)
    run(*git, "tag", tag, cwd=dest)
    run(*git, "config", "uploadpack.allowFilter", "true", cwd=dest)  # pip clones with --filter
    return dest


def code(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": source}


def text_of(output: dict) -> str:
    def joined(text) -> str:
        return "".join(text) if isinstance(text, list) else str(text)
    if output["output_type"] == "stream":
        return joined(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    return joined(output.get("data", {}).get("text/plain", ""))


def printed(cell: dict, marker: str):
    """The JSON a cell printed after `marker`. The kernel may split one print into several
    stream outputs (it flushes when it likes), so the cell's printed text is joined first."""
    text = "".join(text_of(o) for o in cell["outputs"] if o["output_type"] == "stream")
    return json.loads(next(line.split(" ", 1)[1] for line in text.splitlines()
                           if line.startswith(marker + " ")))


def setup_tag(chapter: str) -> str:
    notebook = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    setup = "".join(next(c for c in notebook["cells"] if c["cell_type"] == "code")["source"])
    url = CONFIG["repository"]["url"]
    match = re.search(rf"git\+{re.escape(url)}@(v[\w.]+)", setup)
    assert match, f"{chapter}: the set-up cell installs no lmkit from git+{url}@vX.Y.Z:\n{setup}"
    return match[1]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> tuple[Path, str]:
    """The repository as the set-up cells will install it (one snapshot for every chapter)."""
    tags = {setup_tag(chapter) for chapter in CHAPTERS}
    assert len(tags) == 1, f"the chapters' set-up cells install different lmkit versions: {tags}"
    tag = tags.pop()
    return repository_snapshot(tmp_path_factory.mktemp("repo"), tag), tag


def test_the_table_is_what_colab_publishes():
    """Every "Colab" version of the table is the one of Colab's published list (when the copy
    in ../shared/colab/ is there to compare with)."""
    freeze = ROOT.parent / "shared" / "colab" / "pip-freeze.txt"
    if not freeze.is_file():
        pytest.skip(f"no copy of Colab's published list at {freeze}")
    published = {}
    for line in freeze.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(?:==\s*(\S+)|@\s*\S+?-([\d.]+(?:%2B\w+)?)-)", line)
        if match:
            published[normalize(match[1])] = (match[2] or match[3]).replace("%2B", "+")
    os_info = (freeze.parent / "os-info.txt").read_text()
    assert f"Python {PYTHON_HERE.colab}" in os_info, "Colab's Python is not the table's"
    differ = {row.name: (row.colab, published.get(row.name, "-")) for row in TABLE.values()
              if row.colab != published.get(row.name, "-")}
    assert not differ, f"the table (Colab column) and Colab's published list differ: {differ}"
    assert all(row.why for row in TABLE.values() if row.here != row.colab), \
        "every row whose version here is not Colab's says why"


class Slots:
    """The Colab-like environments, one per chapter running at once. Whatever runs in one takes
    it, the lowest number free (so that the others are only made when needed), and gives it
    back when done: nothing else installs into it or resets it meanwhile."""

    def __init__(self, count: int):
        self.free: queue.PriorityQueue[int] = queue.PriorityQueue()
        for slot in range(count):
            self.free.put(slot)

    @contextmanager
    def take(self):
        """(python, IPYTHONDIR) of a free environment, reset to what Colab has, for the block."""
        slot = self.free.get()
        try:
            yield colab_environment(slot)
        finally:
            self.free.put(slot)


@pytest.fixture(scope="module")
def slots() -> Slots:
    return Slots(JOBS)


@dataclass
class ChapterRun:
    """What one chapter's run on simulated Colab left for its test to check."""
    cells: list[dict]              # the notebook as given to the runner
    setup_index: int               # where the set-up cell was before the runner's cells came in
    explorers: int                 # explore() calls in its code
    executed: Path                 # the executed notebook
    python: Path                   # of the environment it ran in
    site: Path                     # that environment's site-packages
    preinstalled: dict[str, str]   # that environment's distributions before the run
    after: dict[str, str]          # and after it
    timed_out: bool                # stopped after CHAPTER_TIMEOUT seconds
    returncode: int
    stderr: str


class ChapterRuns:
    """The runs of the chapters, JOBS at a time, all started at once; `result` waits for one.
    A run that fails or times out gives its environment back, so it holds up no other."""

    def __init__(self, chapters: list[str], snapshot: tuple[Path, str], slots: Slots,
                 tmp_path_factory):
        self.snapshot, self.slots, self.tmp_path_factory = snapshot, slots, tmp_path_factory
        self.stopped, self.lock = threading.Event(), threading.Lock()
        self.running: set[subprocess.Popen] = set()
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(JOBS, len(chapters))),
                                       thread_name_prefix="colab-sim")
        self.futures: dict[str, Future] = {}
        for chapter in chapters:
            self.start(chapter)

    def start(self, chapter: str) -> None:
        tmp_path = self.tmp_path_factory.mktemp(Path(chapter).name)   # here: not in a thread
        self.futures[chapter] = self.pool.submit(self.run, chapter, tmp_path)

    def result(self, chapter: str) -> ChapterRun:
        if chapter not in self.futures:   # not among the session's items when the runs began
            self.start(chapter)
        try:
            return self.futures[chapter].result()
        except KeyboardInterrupt:
            self.stop()
            raise

    def stop(self) -> None:
        """Start no more runs and end those still going (nothing would check them)."""
        self.stopped.set()
        for future in self.futures.values():
            future.cancel()
        with self.lock:
            for process in self.running:
                process.kill()
        self.pool.shutdown(wait=True)

    def run(self, chapter: str, tmp_path: Path) -> ChapterRun:
        if self.stopped.is_set():
            raise RuntimeError(f"{chapter}: not run, the runs were stopped")
        repo, tag = self.snapshot
        notebook = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))
        cells = notebook["cells"]
        setup_index = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
        setup = "".join(cells[setup_index]["source"])
        url = CONFIG["repository"]["url"]
        assert f"git+{url}@{tag}" in setup, f"{chapter}: the set-up cell does not install {tag}"
        local = setup.replace(f"git+{url}", f"git+file://{repo}")
        explorers = sum(len(EXPLORE_CALL.findall("".join(c["source"]))) for c in cells
                        if c["cell_type"] == "code")

        # Record every warning of the set-up cell; the next cell fails on a version warning.
        catch = code("import warnings as _w\n_sim_catcher = _w.catch_warnings(record=True)\n"
                     "_sim_caught = _sim_catcher.__enter__()\n_w.simplefilter('always')")
        check = code("_sim_catcher.__exit__(None, None, None)\n"
                     "_sim_bad = [str(w.message) for w in _sim_caught\n"
                     "            if issubclass(w.category, lmkit.LmkitVersionWarning)]\n"
                     "assert not _sim_bad, _sim_bad")
        report = code("import importlib.metadata as _m, json as _j, sys as _s, "
                      "ipywidgets as _iw\n"
                      "print('COLAB-SIM', _j.dumps({'python': _s.executable, "
                      "'lmkit': lmkit.__file__, 'version': lmkit.__version__, "
                      "'ipywidgets': _iw.__version__, "
                      "'direct_url': _j.loads(_m.distribution('lmkit')"
                      ".read_text('direct_url.json'))}))")
        cells[setup_index] = {**cells[setup_index], "source": local}
        cells[setup_index:setup_index + 1] = [catch, cells[setup_index], check]
        cells.extend([code(REDRAW), report])
        source, executed = tmp_path / "colab.ipynb", CACHE / f"{chapter}.executed.ipynb"
        source.write_text(json.dumps(notebook))
        executed.parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "runner.py").write_text(RUNNER)
        content = tmp_path / "content"   # Colab's working directory: no repository files around
        content.mkdir()

        with self.slots.take() as (python, ipython_dir):
            preinstalled = installed(python)
            env = clean_env(python, IPYTHONDIR=str(ipython_dir), JUPYTER_PREFER_ENV_PATH="1",
                            LMKIT_CACHE=str(tmp_path / "lmkit-cache"))
            with subprocess.Popen([str(python), str(tmp_path / "runner.py"), str(source),
                                   str(executed), str(content)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env) as process:
                with self.lock:
                    self.running.add(process)
                    if self.stopped.is_set():
                        process.kill()
                try:
                    _, stderr = process.communicate(timeout=CHAPTER_TIMEOUT)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    timed_out = True
                    process.terminate()   # the runner writes the notebook as far as it ran
                    try:
                        _, stderr = process.communicate(timeout=60)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        _, stderr = process.communicate()
                finally:
                    with self.lock:
                        self.running.discard(process)
            after = installed(python)   # before another run resets the environment
            site = site_packages(python)
        return ChapterRun(cells, setup_index, explorers, executed, python, site, preinstalled,
                          after, timed_out, process.returncode, stderr)


@pytest.fixture(scope="module")
def chapter_runs(request, snapshot, slots, tmp_path_factory):
    """Starts the run of every chapter this session selected (`-k` included), JOBS at a time."""
    selected = [item.callspec.params["chapter"] for item in request.session.items
                if getattr(item, "function", None) is test_chapter_runs_on_simulated_colab]
    runs = ChapterRuns(list(dict.fromkeys(selected)), snapshot, slots, tmp_path_factory)
    yield runs
    runs.stop()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_on_simulated_colab(chapter, snapshot, chapter_runs):
    repo, tag = snapshot
    run = chapter_runs.result(chapter)   # run in a thread of its own, with the others
    cells, setup_index, explorers = run.cells, run.setup_index, run.explorers
    executed, python, preinstalled, after = run.executed, run.python, run.preinstalled, run.after
    assert not run.timed_out, (f"{chapter} did not finish on simulated Colab in "
                               f"{CHAPTER_TIMEOUT} s (executed notebook, as far as it ran: "
                               f"{executed}):\n{run.stderr[-4000:]}")
    assert run.returncode == 0, (f"{chapter} failed on simulated Colab (executed notebook: "
                                 f"{executed}):\n{run.stderr[-4000:]}")

    ran = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in ran if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    setup_out = ran[setup_index + 1]["outputs"]
    assert not [o for o in setup_out if o.get("name") == "stderr"], \
        f"the set-up cell wrote to stderr: {[text_of(o) for o in setup_out]}"
    assert not any("LmkitVersionWarning" in text_of(o) for o in outputs)
    assert not any("IProgress not found" in text_of(o) for o in outputs), \
        "tqdm fell back to text bars: it found no usable ipywidgets"

    facts = printed(ran[-1], "COLAB-SIM")
    site = run.site
    assert Path(facts["python"]).parent == python.parent, facts
    assert Path(facts["lmkit"]).parent == site / "lmkit", \
        f"the notebook did not use the lmkit its set-up cell installed: {facts}"
    assert f"v{facts['version']}" == tag
    assert facts["direct_url"]["url"] == f"file://{repo}"
    assert facts["direct_url"]["vcs_info"]["requested_revision"] == tag
    assert facts["ipywidgets"] == PACKAGES["ipywidgets"], facts

    changed = {n: (v, after.get(n)) for n, v in preinstalled.items() if after.get(n) != v}
    assert not changed, f"installing lmkit changed Colab's preinstalled packages: {changed}"
    added = set(after) - set(preinstalled)
    assert added == ADDED_BY_SETUP_CELL, (
        f"the set-up cell added {sorted(added)} to Colab, not {sorted(ADDED_BY_SETUP_CELL)} "
        f"(ADDED_BY_SETUP_CELL, which README.md states)")
    if "plt." in "".join("".join(c["source"]) for c in cells):
        assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was shown"

    redrawn = printed(ran[-2], "COLAB-SIM-EXPLORERS")
    assert len(redrawn) == explorers, \
        f"{chapter} calls explore() {explorers} times, but {len(redrawn)} explorers are live"
    widgets = [o for o in outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widgets) >= explorers, "an explorer was built but not displayed"
    for explorer in redrawn:
        assert not explorer["errors"], f"redrawing {explorer['draw']} failed: {explorer}"
        assert len(explorer["calls"]) == 1, \
            f"moving the slider {explorer['slider']!r} did not redraw once: {explorer}"
        moved = explorer["calls"][0][explorer["slider"]]
        assert moved == (explorer["to"] if isinstance(explorer["to"], str)
                         else pytest.approx(explorer["to"])), explorer
        assert "image/png" in explorer["shown"] or explorer["printed"].strip(), \
            f"redrawing {explorer['draw']} showed nothing: {explorer}"


def test_widget_tests_pass_with_colabs_ipywidgets(slots):
    """lmkit.widgets' own tests, run with Colab's ipywidgets (7) and lmkit from this work tree."""
    with slots.take() as (python, _):   # not one a chapter is running in
        result = subprocess.run([str(python), "-m", "pytest", "tests/test_widgets.py", "-q"],
                                cwd=ROOT, capture_output=True, text=True,
                                env=clean_env(python), timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout) and "skipped" not in result.stdout, \
        result.stdout


def python_313() -> Path:
    """Colab's Python minor version: LMKIT_PYTHON313, `python3.13` on PATH, or pyenv's."""
    found = [os.environ.get("LMKIT_PYTHON313"), shutil.which("python3.13"),
             *sorted(map(str, Path.home().glob(".pyenv/versions/3.13*/bin/python3.13")))]
    for candidate in filter(None, found):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 13)":
            return Path(candidate)
    pytest.fail("no Python 3.13 found (Colab's Python): install one (e.g. `pyenv install "
                "3.13`) or point LMKIT_PYTHON313 at it")


def test_torch_free_modules_pass_their_tests_on_python_313():
    """lmkit declares Python 3.13 (Colab's); torch has no 3.13 wheel here, so the tests of the
    modules that need none (data, text, ngram, metrics, the checker) run there without it."""
    needs = {name: PACKAGES[name] for name in TORCH_FREE_NEEDS}
    python, _, _ = cached_venv("py313", str(python_313()), needs)
    result = subprocess.run(
        [str(python), "-m", "pytest", *TORCH_FREE_TESTS, "-q", "-rs"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env=clean_env(python, LMKIT_CACHE=str(CACHE / "py313-data")))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed[1]) >= 100, result.stdout[-3000:]
    reasons = re.findall(r"^SKIPPED \[\d+\] \S+: (.*)$", result.stdout, re.M)
    allowed = re.compile(r"needs PyTorch|could not import 'kenlm'|pip install kenlm")
    assert all(allowed.search(reason) for reason in reasons), \
        f"on Python 3.13, tests were skipped for other reasons than PyTorch or KenLM: {reasons}"
