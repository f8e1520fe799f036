"""Providers from other packages: an `assetgen.providers` entry point, installed into a temp
dir (a hand-written .dist-info, or a real offline `pip install --target`), builds a project;
broken plugins and unknown names are readable errors; built-in names never scan."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetgen.cli import main
from assetgen.lock.read import read_lock
from assetgen.providers import is_provider, plugins

PLUGIN = '''\
"""A third-party provider: solid images at the spec's pixel size, free, offline."""
import hashlib
import io

from PIL import Image

from assetgen.providers import Generated


class FooProvider:
    name = "foo"
    remote = False

    async def generate(self, spec, ctx):
        ctx.state("running")
        colour = tuple(hashlib.sha256(spec.spec_hash.encode()).digest()[:3])
        out = io.BytesIO()
        Image.new("RGB", (spec.width, spec.height), colour).save(out, "PNG")
        return Generated(data=out.getvalue(), credits=0.0)

    async def aclose(self):
        pass


def create():
    return FooProvider()


def not_a_provider():
    return "hello"


def exploding():
    raise RuntimeError("the foo service is not configured")
'''

MANIFEST = """\
version: 1
provider: {provider}
assets:
  hero:
    prompt: a city skyline at dawn
    size: "16:9"
  icon-${{topic}}:
    matrix: {{topic: [search, settings]}}
    prompt: a simple icon for ${{topic}}
"""


def install_by_metadata(
    site: Path, dist: str, entry_points: dict[str, str], module: str = "assetgen_provider_foo"
) -> Path:
    """What pip leaves in site-packages, written by hand: the module and a .dist-info."""
    (site / module).mkdir(parents=True, exist_ok=True)
    (site / module / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n", encoding="utf-8"
    )
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[assetgen.providers]\n{lines}", encoding="utf-8")
    return site


def project(tmp_path: Path, provider: str) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "assetgen.yaml").write_text(MANIFEST.format(provider=provider), encoding="utf-8")
    return root


def assetgen(root: Path, *args: str, site: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "assetgen", "-C", str(root), *args],
        capture_output=True,
        text=True,
        env={**env, "NO_COLOR": "1"},
        timeout=120,
    )


def check_built_with_foo(root: Path, site: Path) -> None:
    first = assetgen(root, "build", site=site)
    assert first.returncode == 0, first.stderr
    lock = read_lock(root / "assetgen.lock")
    assert sorted(lock.entries) == ["hero", "icon-search", "icon-settings"]
    assert {e.request["provider"] for e in lock.entries.values()} == {"foo"}
    assert (lock.entries["hero"].width, lock.entries["hero"].height) == (1344, 768)
    again = assetgen(root, "build", site=site)
    assert again.returncode == 0, again.stderr
    assert "Up to date: nothing to build" in again.stdout
    assert assetgen(root, "check", site=site).returncode == 0


def test_a_plugin_declared_by_metadata_builds(tmp_path: Path) -> None:
    """`provider: foo` from a .dist-info entry point: built, locked as foo, then up to date."""
    site = install_by_metadata(
        tmp_path / "site", "assetgen-provider-foo", {"foo": "assetgen_provider_foo:create"}
    )
    check_built_with_foo(project(tmp_path, "foo"), site)


# A PEP 517 backend in the package's own tree: the test venv has no wheel-building
# backend offline (setuptools needs `wheel`), and pip builds with this one without a network.
BACKEND = '''\
"""Builds a pure-Python wheel from pyproject.toml's [project] name, version and entry points."""
import base64, hashlib, pathlib, tomllib, zipfile


def _record(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    project = tomllib.loads(pathlib.Path("pyproject.toml").read_text())["project"]
    name, version = project["name"], project["version"]
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    groups = project.get("entry-points", {})
    entry_points = "".join(
        f"[{group}]\\n" + "".join(f"{k} = {v}\\n" for k, v in eps.items()) + "\\n"
        for group, eps in groups.items()
    )
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        f"{info}/entry_points.txt": entry_points,
    }
    for source in sorted(pathlib.Path(dist).rglob("*.py")):
        files[source.as_posix()] = source.read_text()
    wheel = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / wheel, "w") as zf:
        records = []
        for path, text in files.items():
            zf.writestr(path, text.encode())
            records.append(_record(path, text.encode()))
        records.append(f"{info}/RECORD,,")
        zf.writestr(f"{info}/RECORD", "\\n".join(records) + "\\n")
    return wheel
'''

PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "assetgen-provider-foo"
version = "0.1"

[project.entry-points."assetgen.providers"]
foo = "assetgen_provider_foo:create"
"""


def test_a_plugin_installed_by_pip_builds(tmp_path: Path) -> None:
    """A real package (pyproject entry point) built and installed offline by pip, then used."""
    pytest.importorskip("tomllib", reason="the test package's backend reads TOML (Python 3.11+)")
    pkg = tmp_path / "assetgen-provider-foo"
    (pkg / "assetgen_provider_foo").mkdir(parents=True)
    (pkg / "assetgen_provider_foo" / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    (pkg / "backend.py").write_text(BACKEND, encoding="utf-8")
    (pkg / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    site = tmp_path / "site"
    pip = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation"),
            *("--no-deps", "--disable-pip-version-check", "--target", str(site), str(pkg)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert pip.returncode == 0, pip.stderr
    assert (site / "assetgen_provider_foo-0.1.dist-info" / "entry_points.txt").is_file()
    check_built_with_foo(project(tmp_path, "foo"), site)


# --- in this process: errors, names, and what a plan looks up --------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for hand-installed plugins; the scan is forgotten around it."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    plugins.forget()
    yield folder
    plugins.forget()
    for name in [m for m in sys.modules if m.startswith("assetgen_provider_")]:
        del sys.modules[name]


def run(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-C", str(root), *args])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("assetgen_provider_missing:create", "could not be loaded: ModuleNotFoundError"),
        ("assetgen_provider_foo:nothing_here", "could not be loaded: AttributeError"),
        ("assetgen_provider_foo:not_a_provider", "returned str, which is not a Provider"),
        ("assetgen_provider_foo:exploding", "failed to start: RuntimeError: the foo service"),
    ],
)
def test_a_broken_plugin_is_a_readable_error(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, said: str
) -> None:
    """It names the provider, the entry point and the distribution; exit 2, no traceback."""
    install_by_metadata(site, "assetgen-provider-broken", {"foo": target})
    code, text = run(project(tmp_path, "foo"), "build", capsys=capsys)
    assert code == 2, text
    assert f"provider `foo` (entry point `{target}` of assetgen-provider-broken 0.1) " in text
    assert said in text and "Traceback" not in text
    assert not (tmp_path / "project" / "assetgen.lock").exists()


def test_an_unknown_provider_suggests_a_near_name(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt plugin name is a located error offering it; the flag says the same."""
    install_by_metadata(site, "assetgen-provider-foo", {"foo": "assetgen_provider_foo:create"})
    root = project(tmp_path, "fooo")
    code, text = run(root, "validate", capsys=capsys)
    assert code == 2
    assert (
        'assetgen.yaml:2:11: provider must be one of "evolink", "draft", "openai", "foo", not "fooo"'
        in text
    )
    assert "hint: did you mean `foo`?" in text
    (root / "assetgen.yaml").write_text(MANIFEST.format(provider="draft"), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["-C", str(root), "plan", "--provider", "drat"])
    assert exc.value.code == 2
    assert "unknown provider `drat`" in capsys.readouterr().err


def test_a_name_nobody_provides_says_how_to_get_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run(project(tmp_path, "acme-images"), "validate", capsys=capsys)
    assert code == 2
    assert "needs that package installed" in text and "assetgen.providers" in text


def test_built_in_names_win_and_never_scan(
    site: Path,
    quickstart: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A plugin declaring `draft` is ignored, and a built-in manifest never reads entry points."""
    install_by_metadata(site, "assetgen-provider-evil", {"draft": "assetgen_provider_nope:x"})

    def no_scan(**_: object) -> object:
        raise AssertionError("entry points were scanned")

    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    for args in (["plan"], ["build", "--provider", "draft"], ["plan"], ["check"]):
        code, text = run(quickstart, *args, capsys=capsys)
        assert code in (0, 1), text
    assert read_lock(quickstart / "assetgen.lock").entries["hero-home"].request["provider"] == (
        "draft"
    )
    assert is_provider("evolink")


def test_a_memo_of_an_uninstalled_plugin_is_not_trusted(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Planned with the plugin (memo written), then uninstalled: validate reports it."""
    install_by_metadata(site, "assetgen-provider-foo", {"foo": "assetgen_provider_foo:create"})
    root = project(tmp_path, "foo")
    code, text = run(root, "plan", "--json", capsys=capsys)
    assert code == 0, text
    assert {a["action"] for a in json.loads(text)["actions"]} == {"create"}
    shutil.rmtree(site / "assetgen_provider_foo-0.1.dist-info")
    plugins.forget()
    code, text = run(root, "validate", capsys=capsys)
    assert code == 2
    assert 'provider must be one of "evolink", "draft", "openai", not "foo"' in text


def test_the_schema_offers_every_built_in_provider() -> None:
    """Editors complete `provider:` from the schema's examples: the built-in names, in order."""
    from assetgen.providers import PROVIDERS
    from assetgen.schema.shipped import load_schema

    assert load_schema("manifest")["properties"]["provider"]["examples"] == list(PROVIDERS)


@pytest.mark.parametrize(
    "target", ["assetgen_provider_foo:create", "assetgen_provider_foo:FooProvider"]
)
def test_the_entry_point_may_name_a_factory_or_a_class(site: Path, target: str) -> None:
    """Either zero-argument callable gives the provider; the contract kit passes on it."""
    from assetgen.providers import create_provider
    from assetgen.testing.provider_kit import ProviderCase, check_provider

    install_by_metadata(site, "assetgen-provider-foo", {"foo": target})
    provider = create_provider("foo")
    assert type(provider).__name__ == "FooProvider" and provider.name == "foo"
    results = check_provider(ProviderCase("foo", lambda: create_provider("foo")))
    assert results["check_refusal_is_provider_error"] is not None  # no failing prompt: skipped
    assert [k for k, why in results.items() if why is not None] == [
        "check_refusal_is_provider_error"
    ]
