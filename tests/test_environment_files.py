"""The conda and Binder environment files stay in step with pyproject.toml.

pyproject.toml is the one list of runtime dependencies. ``environment.yml`` (conda learners)
and ``binder/environment.yml`` (mybinder.org) repeat it in conda's terms, so this checks them:
the same packages with the same version bounds, an extra such as ``pyjwt[crypto]`` spelled out
as the packages it pulls in, Python pinned. conda's channels are out of reach here, so these
tests read the files; they do not solve them.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
ENV_FILES = [ROOT / "environment.yml", BINDER / "environment.yml"]

# conda-forge's name where it differs from PyPI's (none do today; add them here when they do).
CONDA_NAMES: dict[str, str] = {}
# conda-side packages that are not dependencies of the project but tooling of the environment.
CONDA_TOOLING = {"python", "pip"}
# pyproject.toml's optional extras that the environment files carry too: the website's
# (``make site`` and its test), so that a conda environment builds the site as well.
ENVIRONMENT_EXTRAS = ("site",)
_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [
        line for name in ENVIRONMENT_EXTRAS for line in project["optional-dependencies"][name]
    ]
    return [Requirement(line) for line in [*project["dependencies"], *extras]]


def expected_packages() -> dict[str, SpecifierSet]:
    """Every package the environment needs, by canonical conda name, with its version bounds.

    A requirement with extras adds what those extras require, read from the installed
    distribution's metadata, so ``pyjwt[crypto]`` expects ``pyjwt`` and ``cryptography``.
    """
    wanted: dict[str, SpecifierSet] = {}
    for req in runtime_requirements():
        wanted[conda_name(req.name)] = req.specifier
        for extra in sorted(req.extras):
            marker_env = {**default_environment(), "extra": extra}
            for line in metadata.requires(req.name) or []:
                sub = Requirement(line)
                if sub.marker and "extra" in str(sub.marker) and sub.marker.evaluate(marker_env):
                    wanted[conda_name(sub.name)] = sub.specifier
    return wanted


def conda_name(pypi_name: str) -> str:
    name = canonicalize_name(pypi_name)
    return CONDA_NAMES.get(name, name)


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def conda_entries(env: dict) -> dict[str, str]:
    """``{name: version spec}`` for the conda (non-pip) dependencies of an environment file."""
    entries: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            match = _CONDA_SPEC.match(dep)
            assert match, f"unreadable conda dependency {dep!r}"
            name = canonicalize_name(match.group(1))
            assert name not in entries, f"{name} is listed twice"
            entries[name] = match.group(2)
    return entries


def pip_entries(env: dict) -> list[str]:
    sections = [dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep]
    return [line for section in sections for line in section]


def test_expected_packages_spell_out_the_crypto_extra() -> None:
    wanted = expected_packages()

    assert "pyjwt" in wanted
    assert "cryptography" in wanted
    assert "jupyter-server-proxy" in wanted


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_environment_file_lists_exactly_the_runtime_dependencies(path: Path) -> None:
    env = load(path)
    conda = conda_entries(env)
    pip_names = {
        canonicalize_name(Requirement(line).name)
        for line in pip_entries(env)
        if not line.startswith(("-", "."))
    }
    listed = {name: spec for name, spec in conda.items() if name not in CONDA_TOOLING}
    wanted = expected_packages()

    missing = sorted(set(wanted) - set(listed) - pip_names)
    unexpected = sorted((set(listed) | pip_names) - set(wanted))
    assert not missing, f"{path.name} lacks {missing} (in pyproject.toml)"
    assert not unexpected, f"{path.name} lists {unexpected}, which pyproject.toml does not"
    for name, spec in listed.items():
        assert SpecifierSet(spec) == wanted[name], (
            f"{path.name}: {name} {spec!r} differs from pyproject.toml's {str(wanted[name])!r}"
        )
    for line in pip_entries(env):
        if not line.startswith(("-", ".")):
            req = Requirement(line)
            assert req.specifier == wanted[canonicalize_name(req.name)], line


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_environment_file_pins_python_and_uses_conda_forge(path: Path) -> None:
    env = load(path)
    python = conda_entries(env).get("python", "")

    assert re.fullmatch(r"=+3\.\d+(\.\d+)?", python), f"pin Python in {path.name}: python=3.X"
    assert env.get("channels") == ["conda-forge"]
    assert "pip" in conda_entries(env), "list pip itself when a pip: section or postBuild uses it"


def test_pinned_python_satisfies_requires_python() -> None:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    for path in ENV_FILES:
        version = conda_entries(load(path))["python"].lstrip("=")
        assert SpecifierSet(requires).contains(version), f"{path.name}: python {version}"


def test_both_environment_files_agree() -> None:
    root, binder = (conda_entries(load(path)) for path in ENV_FILES)

    assert root == binder


def test_root_environment_installs_the_package_itself() -> None:
    env = load(ROOT / "environment.yml")

    assert env.get("name") == "session-tutorial"
    assert set(pip_entries(env)) & {"-e .", "."}


def test_binder_environment_leaves_the_package_to_postbuild() -> None:
    # repo2docker applies binder/environment.yml before it copies the repository into the
    # image, so a `-e .` there would find no source; postBuild installs the package instead.
    assert pip_entries(load(BINDER / "environment.yml")) == []
    assert re.search(r"pip install [^\n]*--no-deps[^\n]* (-e )?\.$", postbuild(), re.MULTILINE)


def postbuild() -> str:
    return (BINDER / "postBuild").read_text()


def start() -> str:
    return (BINDER / "start").read_text()


def executable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IXUSR) and os.access(path, os.X_OK)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_binder_scripts_are_executable_bash(name: str) -> None:
    path = BINDER / name

    assert executable(path), f"chmod +x binder/{name} (and commit the mode)"
    assert path.read_text().startswith("#!/bin/bash\n")


def test_postbuild_stops_at_the_first_failure() -> None:
    assert re.search(r"^set -[a-z]*e[a-z]*( |$)", postbuild(), re.MULTILINE)


def test_postbuild_writes_the_jupyterlab_overrides() -> None:
    text = postbuild()

    assert "${NB_PYTHON_PREFIX}/share/jupyter/lab/settings" in text
    assert "overrides.json" in text
    overrides = json.loads((BINDER / "overrides.json").read_text())
    notification = overrides["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}


def test_postbuild_writes_the_jupyterlab_page_config() -> None:
    text = postbuild()

    assert "${NB_PYTHON_PREFIX}/etc/jupyter/labconfig" in text
    assert "page_config.json" in text
    # No build check at each page load: every extension of the image is prebuilt.
    assert json.loads((BINDER / "page_config.json").read_text()) == {"buildCheck": False}


def test_binder_and_make_install_turn_off_the_search_for_language_servers() -> None:
    """jupyter-lsp's search at each server start (`npm prefix -g`, a probe for each of about
    twenty servers) is off: in the image (postBuild), and in this environment (make install),
    as Jupyter Server's own settings file of the environment, which every lab started from it
    reads whatever its JUPYTER_CONFIG_DIR."""
    ours = json.loads((BINDER / "jupyter_server_config.json").read_text())
    assert ours == {"LanguageServerManager": {"autodetect": False}}
    text = postbuild()
    assert '"${NB_PYTHON_PREFIX}/etc/jupyter/jupyter_server_config.json"' in text
    assert "binder/jupyter_server_config.json" in text
    installed = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.json"
    assert json.loads(installed.read_text())["LanguageServerManager"] == {"autodetect": False}
    makefile = (ROOT / "Makefile").read_text()
    (stamp,) = [line for line in makefile.splitlines() if line.startswith("$(STAMP):")]
    assert "binder/jupyter_server_config.json" in stamp  # a change reinstalls it
    copy = "cp binder/jupyter_server_config.json $(VENV)/etc/jupyter/jupyter_server_config.json"
    assert copy in makefile


def test_start_ends_by_handing_over_to_the_command() -> None:
    lines = [line.strip() for line in start().splitlines() if line.strip()]
    code = [line for line in lines if not line.startswith("#")]

    assert code[-1].startswith("exec ")
    assert code[-1].endswith('"$@"')
    assert "session_tutorial.launcher --" in code[-1]


def test_start_serves_the_tenant_behind_the_proxy_prefix() -> None:
    text = start()

    assert "session_tutorial.provider start" in text
    assert "--public-url" in text
    assert "JUPYTERHUB_SERVICE_PREFIX" in text
    assert "proxy/${port}/" in text
    assert "TUTORIAL_TENANT_PORT:-8941" in text


def test_apt_txt_lists_the_keychain_packages() -> None:
    packages = {
        line.partition("#")[0].strip()
        for line in (BINDER / "apt.txt").read_text().splitlines()
        if line.partition("#")[0].strip()
    }

    assert {"gnome-keyring", "dbus", "dbus-user-session"} <= packages
