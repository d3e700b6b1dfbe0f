"""Third-party providers register through the `dramaturg.providers` entry point, the same hook
as the built-ins; a broken plugin is reported without breaking the engine."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from dramaturg.providers.installed import forget_registry, get_registry


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """An installed distribution (dist-info + module) that declares provider entry points."""
    (tmp_path / "acme_models.py").write_text(
        textwrap.dedent("""
        from dramaturg.providers import Provider

        def echo_text(config):
            from dramaturg import FakeChatModel
            return FakeChatModel(responses={"a": "from acme " + (config.model or "")})

        def register(add):
            add(Provider(name="acme", description="Acme echo", text=echo_text,
                         default_model="echo-1"))

        def broken(add):
            raise RuntimeError("acme plugin is broken")
    """)
    )
    dist = tmp_path / "acme_models-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-models\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[dramaturg.providers]\nacme = acme_models:register\nbroken = acme_models:broken\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    forget_registry()
    yield
    sys.modules.pop("acme_models", None)
    forget_registry()


def test_entry_point_provider_is_usable_and_broken_plugin_warns(plugin_site, project, tmp_path):
    from dramaturg import load_chain

    with pytest.warns(UserWarning, match="'broken' failed to load: acme plugin is broken"):
        reg = get_registry()
    assert "acme" in reg.names() and "local" in reg.names()  # built-ins still there
    path = project("""
    name: plug
    models: {default: "acme:echo-1"}
    steps:
      a: {prompt: {text: "hi"}}
    """)
    result = load_chain(path).run({}, out=tmp_path / "out")
    assert result["a"] == "from acme echo-1"


def test_plugin_parsers_load_with_the_importlib_metadata_backport_imported(tmp_path):
    """Libraries such as dask.distributed import the ``importlib_metadata`` backport, whose
    finder then hands out its own ``EntryPoint`` class; the Dramatron parsers must still load."""
    import subprocess

    pytest.importorskip("importlib_metadata")
    chain = Path(__file__).parents[2] / "chains" / "dramatron.yaml"
    code = textwrap.dedent(f"""
        import importlib_metadata  # first, as a library of the host application would
        from dramaturg import load_chain
        result = load_chain({str(chain)!r}).run(
            {{"logline": "A keeper bottles storms.", "num_scenes": 2}},
            dry_run=True, out={str(tmp_path / "out")!r},
        )
        print(result.ok, type(result.steps["title"].output).__name__)
    """)
    r = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stderr
    ok, title_type = r.stdout.split()
    assert ok == "True", r.stdout + r.stderr
    assert title_type != "NoneType"
