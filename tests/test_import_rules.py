"""The package layout shows the flow: each part imports only the parts upstream of it.

Every `import` and `from ... import` of every module (those inside functions too) is read with
`ast` and checked against `MAY_IMPORT`, the table that docs/architecture.md and each subpackage's
docstring state in words.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "videomnist_gpu"

# part of the package -> what its modules may import besides their own part ("*": anything).
# A part is a subpackage or a top-level module; a dotted entry allows one module of another part.
MAY_IMPORT = {
    "__init__": {"*"},  # the public API
    "__main__": {"cli"},
    "errors": set(),
    "version": set(),
    "atomic_file": {"errors"},
    "interrupt": {"errors", "atomic_file"},
    "presets": {"errors"},
    "file_kind": set(),
    "progress": set(),
    "synth": {"errors", "presets"},
    "data": {"synth", "errors"},
    "hdf5": {"synth", "data.prediction", "errors", "interrupt", "file_kind", "atomic_file", "version", "progress"},
    "viz": {"synth", "hdf5", "errors", "interrupt", "atomic_file"},
    "evaluation": {"synth", "hdf5", "errors", "presets", "interrupt", "atomic_file"},
    "models": {"synth", "data", "hdf5", "viz", "evaluation", "errors", "interrupt", "presets", "file_kind",
               "atomic_file", "progress"},
    "bench": {"synth", "errors", "version"},
    "formats": {"synth", "data.prediction", "errors", "interrupt", "progress", "atomic_file"},
    "cli": {"*"},
}
# single modules allowed one more import than their part: module -> extra allowed targets
EXCEPTIONS = {
    "data.datamodule": {"hdf5.reader"},  # feeds training from an exported file (imported lazily)
}
DOCSTRING_ONLY = ("synth", "data", "hdf5", "viz", "evaluation", "bench", "formats")  # no re-exports


def module_name(path: Path) -> str:
    """`videomnist_gpu/hdf5/layout.py` -> `hdf5.layout`; a package's `__init__.py` -> the package."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every `videomnist_gpu` module `source` imports, relative to the package: (line, `a.b`).

    `from videomnist_gpu.x import y` counts as `x.y` (a module or a name in `x`, both inside `x`).
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[:len(base) - node.level + 1]
                start = ".".join(["videomnist_gpu", *base, *([node.module] if node.module else [])])
            else:
                start = node.module or ""
            targets = [f"{start}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, t.split(".", 1)[1] if "." in t else "")
                  for t in targets if t == "videomnist_gpu" or t.startswith("videomnist_gpu.")]
    return found


def allowed(module: str, target: str) -> bool:
    """May `module` (e.g. `synth.params`) import `target` (e.g. `synth.config.VideoMNISTConfig`)?"""
    part = module.split(".")[0]
    rules = MAY_IMPORT[part] | {part} | EXCEPTIONS.get(module, set())
    return "*" in rules or any(target == r or target.startswith(r + ".") for r in rules)


def violations(path: Path, source: str) -> list[str]:
    module = module_name(path)
    return [f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports videomnist_gpu.{target or '(root)'}"
            for line, target in imported_modules(source, module, path.name == "__init__.py")
            if not allowed(module, target)]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_belongs_to_a_part_of_the_table():
    parts = {module_name(p).split(".")[0] for p in MODULES}
    assert parts <= set(MAY_IMPORT), f"add these to MAY_IMPORT: {sorted(parts - set(MAY_IMPORT))}"
    assert {"synth", "data", "hdf5", "viz", "evaluation", "models", "bench", "cli"} <= parts


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_what_its_part_may_import(path):
    assert violations(path, path.read_text()) == []


@pytest.mark.parametrize("module, source", [
    ("synth/params.py", "from videomnist_gpu.data.stream import VideoMNISTStream"),
    ("synth/params.py", "def f():\n    import videomnist_gpu.hdf5.reader\n"),  # lazy imports count
    ("synth/params.py", "from ..data import stream"),  # relative imports count
    ("synth/params.py", "from videomnist_gpu import Synthesizer"),  # the public API is not a shortcut
    ("hdf5/layout.py", "from videomnist_gpu import __version__"),  # nor for the version (`version` is)
    ("data/stream.py", "from videomnist_gpu.hdf5.reader import HDF5VideoDataset"),  # the exception is one module's
    ("hdf5/reader.py", "from videomnist_gpu.data.stream import VideoMNISTStream"),  # only data.prediction
    ("bench/throughput.py", "from videomnist_gpu.viz.visualize import save_gif"),
])
def test_an_import_against_the_flow_is_reported(module, source):
    assert len(violations(PACKAGE / module, source)) == 1


@pytest.mark.parametrize("module, source", [
    ("synth/params.py", "from videomnist_gpu.synth.config import VideoMNISTConfig\nfrom . import render"),
    ("hdf5/layout.py", "from videomnist_gpu.version import __version__"),
    ("hdf5/reader.py", "from videomnist_gpu.data.prediction import split_prediction"),
    ("data/datamodule.py", "def f():\n    from videomnist_gpu.hdf5.reader import HDF5VideoDataset\n"),
    ("cli/train.py", "from videomnist_gpu.models.training import train"),
])
def test_an_import_along_the_flow_passes(module, source):
    assert violations(PACKAGE / module, source) == []


@pytest.mark.parametrize("part", DOCSTRING_ONLY)
def test_a_subpackage_init_is_a_docstring_naming_its_modules_and_what_it_may_import(part):
    init = PACKAGE / part / "__init__.py"
    body = ast.parse(init.read_text()).body
    assert len(body) == 1 and isinstance(body[0], ast.Expr), f"{init}: only a docstring, no re-exports"
    doc = ast.get_docstring(ast.parse(init.read_text()))
    assert "May import:" in doc
    for module in sorted((PACKAGE / part).glob("[!_]*.py")):
        assert f"`{module.stem}`" in doc, f"{init}'s docstring does not list {module.stem}"
