"""Colab, simulated: chapter 1 runs top to bottom in a fresh environment that holds only what Colab
preinstalls, with lmkit installed by the notebook's own set-up cell.

The environment is a new virtual environment with Colab's preinstalled packages that the book
needs (deliberately not the versions of requirements.txt: lmkit must install next to whatever
Colab has), a kernel, and a stand-in `google.colab` package that the kernel imports at start, as
Colab's does. The set-up cell's install line is pointed at a snapshot of this repository (a local
`git+file://` URL, tagged as the cell asks) instead of the public one. Then:

- lmkit installs from that URL, with its loose dependency ranges, without changing any
  preinstalled package;
- `lmkit.check_version` stays quiet (an LmkitVersionWarning fails the test);
- every cell runs, and the lmkit the notebook used is the one the set-up cell installed.

The virtual environment is cached in _build/colab-sim/ (set COLAB_SIM_CACHE to keep it
elsewhere), keyed by the package list; each run first removes whatever earlier runs installed
into it. Run by `make test` (and `make colab`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from built_book import CONFIG, ROOT, skip_unless_enabled

skip_unless_enabled("The Colab simulation", "make colab")

CHAPTERS = ["book/01-language-models"]

# What Colab preinstalls that the book needs (torch is the CPU build, as on a free runtime), and
# Colab's pip (the pip of a new venv may be too old for a `git+file://` requirement).
COLAB_PIP = "pip==24.1.2"
COLAB_PACKAGES = ["numpy==2.0.2", "matplotlib==3.10.0", "ipywidgets==8.1.5", "tqdm==4.67.1"]
# Taken from requirements.txt: torch (a plain `torch` would be a multi-GB CUDA build), and what
# executes the notebook.
FROM_REQUIREMENTS = ["torch", "ipykernel", "nbclient"]
RECIPE = 2   # bump to rebuild cached environments after changing how they are made
CACHE = Path(os.environ.get("COLAB_SIM_CACHE") or ROOT / "_build" / "colab-sim")

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
    import sys
    import nbformat
    from nbclient import NotebookClient

    source, target, cwd = sys.argv[1:4]
    nb = nbformat.read(source, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": cwd}})
    try:
        client.execute()
    finally:
        nbformat.write(nb, target)
""")


def pinned(name: str) -> str:
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if re.match(rf"{re.escape(name)}\s*==", requirement, re.I):
            return requirement.replace(" ", "")
    raise AssertionError(f"requirements.txt pins no {name}")


PACKAGES = [COLAB_PIP] + [pinned(name) for name in FROM_REQUIREMENTS] + COLAB_PACKAGES


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise AssertionError(f"`{' '.join(map(str, args))}` failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def installed(python: Path) -> dict[str, str]:
    """Distributions installed in the environment (-I: not what the working directory holds)."""
    out = run(python, "-I", "-c", "import importlib.metadata as m, json; print(json.dumps("
              "{d.metadata['Name'].lower().replace('_', '-'): d.version "
              "for d in m.distributions()}))")
    return json.loads(out.stdout)


def site_packages(python: Path) -> Path:
    return Path(run(python, "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                .stdout.strip())


def colab_environment() -> tuple[Path, Path]:
    """(python, IPYTHONDIR) of the cached Colab-like environment, reset to what Colab has."""
    key = hashlib.sha256(json.dumps([sys.version, PACKAGES, RECIPE]).encode()).hexdigest()[:12]
    home = CACHE / f"env-{key}"
    for stale in CACHE.glob("env-*"):   # made for another package list
        if stale != home:
            shutil.rmtree(stale, ignore_errors=True)
    python, ipython_dir, base_file = home / "venv" / "bin" / "python", home / "ipython", \
        home / "preinstalled.json"
    if base_file.exists():
        base = json.loads(base_file.read_text())
        now = installed(python)
        extra = sorted(set(now) - set(base))
        if extra:   # what earlier runs installed: lmkit and its dependencies
            run(python, "-I", "-m", "pip", "uninstall", "--yes", "--quiet", *extra)
            now = installed(python)
        if now == base:
            return python, ipython_dir
    shutil.rmtree(home, ignore_errors=True)   # half made, or changed by hand
    home.mkdir(parents=True)
    run(sys.executable, "-m", "venv", home / "venv")
    pip = [python, "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run(*pip, COLAB_PIP)
    run(*pip, *PACKAGES[1:])
    colab = site_packages(python) / "google" / "colab"   # `google` stays a namespace package
    colab.mkdir(parents=True)
    (colab / "__init__.py").write_text(FAKE_COLAB)
    (colab / "output.py").write_text(FAKE_COLAB_OUTPUT)
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-colab.py").write_text("import google.colab  # as Colab's kernel does\n")
    base_file.write_text(json.dumps(installed(python), indent=1, sort_keys=True))
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


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_on_simulated_colab(chapter, tmp_path):
    notebook = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    cells = notebook["cells"]
    setup_index = next(i for i, c in enumerate(cells) if c["cell_type"] == "code")
    setup = "".join(cells[setup_index]["source"])
    url = CONFIG["repository"]["url"]
    match = re.search(rf"git\+{re.escape(url)}@(v[\w.]+)", setup)
    assert match, f"the set-up cell installs no lmkit from git+{url}@vX.Y.Z:\n{setup}"
    tag = match[1]

    snapshot = repository_snapshot(tmp_path / "repo", tag)
    local = setup.replace(f"git+{url}", f"git+file://{snapshot}")
    python, ipython_dir = colab_environment()
    preinstalled = installed(python)

    # Record every warning of the set-up cell; the next cell fails on a version warning.
    catch = code("import warnings as _w\n_sim_catcher = _w.catch_warnings(record=True)\n"
                 "_sim_caught = _sim_catcher.__enter__()\n_w.simplefilter('always')")
    check = code("_sim_catcher.__exit__(None, None, None)\n"
                 "_sim_bad = [str(w.message) for w in _sim_caught\n"
                 "            if issubclass(w.category, lmkit.LmkitVersionWarning)]\n"
                 "assert not _sim_bad, _sim_bad")
    report = code("import importlib.metadata as _m, json as _j, sys as _s\n"
                  "print('COLAB-SIM', _j.dumps({'python': _s.executable, "
                  "'lmkit': lmkit.__file__, 'version': lmkit.__version__, "
                  "'direct_url': _j.loads(_m.distribution('lmkit').read_text('direct_url.json'))"
                  "}))")
    cells[setup_index] = {**cells[setup_index], "source": local}
    cells[setup_index:setup_index + 1] = [catch, cells[setup_index], check]
    cells.append(report)
    source, executed = tmp_path / "colab.ipynb", CACHE / f"{chapter}.executed.ipynb"
    source.write_text(json.dumps(notebook))
    executed.parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "runner.py").write_text(RUNNER)
    content = tmp_path / "content"   # Colab's working directory: no repository files around
    content.mkdir()

    env = {k: v for k, v in os.environ.items()
           if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "MPLBACKEND", "JUPYTER_PATH",
                        "JUPYTER_CONFIG_DIR", "IPYTHONDIR", "PIP_REQUIRE_VIRTUALENV"}}
    env.update(PATH=f"{python.parent}{os.pathsep}{env.get('PATH', '')}",
               IPYTHONDIR=str(ipython_dir), JUPYTER_PREFER_ENV_PATH="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_ROOT_USER_ACTION="ignore",
               PIP_NO_INPUT="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
               LMKIT_CACHE=str(tmp_path / "lmkit-cache"))
    result = subprocess.run([str(python), str(tmp_path / "runner.py"), str(source),
                             str(executed), str(content)],
                            capture_output=True, text=True, env=env, timeout=1200)
    assert result.returncode == 0, (f"{chapter} failed on simulated Colab (executed notebook: "
                                    f"{executed}):\n{result.stderr[-4000:]}")

    ran = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    outputs = [o for c in ran if c["cell_type"] == "code" for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    setup_out = ran[setup_index + 1]["outputs"]
    assert not [o for o in setup_out if o.get("name") == "stderr"], \
        f"the set-up cell wrote to stderr: {[text_of(o) for o in setup_out]}"
    assert not any("LmkitVersionWarning" in text_of(o) for o in outputs)

    facts = json.loads(next(line.split(" ", 1)[1] for o in ran[-1]["outputs"]
                            for line in text_of(o).splitlines()
                            if line.startswith("COLAB-SIM ")))
    site = site_packages(python)
    assert Path(facts["python"]).parent == python.parent, facts
    assert Path(facts["lmkit"]).parent == site / "lmkit", \
        f"the notebook did not use the lmkit its set-up cell installed: {facts}"
    assert f"v{facts['version']}" == tag
    assert facts["direct_url"]["url"] == f"file://{snapshot}"
    assert facts["direct_url"]["vcs_info"]["requested_revision"] == tag

    after = installed(python)
    changed = {n: (v, after.get(n)) for n, v in preinstalled.items() if after.get(n) != v}
    assert not changed, f"installing lmkit changed Colab's preinstalled packages: {changed}"
    assert "lmkit" in after and "lmkit" not in preinstalled
    if "plt." in "".join("".join(c["source"]) for c in cells):
        assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was shown"
