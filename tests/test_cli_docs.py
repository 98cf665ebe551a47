"""docs/cli.md lists every command and flag as the parsers define them (written by a script)."""

from __future__ import annotations

import runpy
from pathlib import Path

from videomnist_gpu.cli import _subparsers, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"


def test_the_reference_in_docs_matches_the_parsers():
    script = runpy.run_path(str(ROOT / "docs" / "make_cli_reference.py"))
    text = DOC.read_text()
    assert text == script["render"](text), "docs/cli.md is stale: run python docs/make_cli_reference.py"
    for parser in _subparsers(build_parser()):
        if parser.prog != "videomnist digits":
            assert f"### `{parser.prog}`" in text, parser.prog


def test_the_readme_links_the_cli_page_and_uses_current_flags():
    readme = (ROOT / "README.md").read_text()
    assert "docs/cli.md" in readme
    for old in ("--sample_formats FMT", "--config PRESET.yaml", "--output_file PATH"):
        assert old not in readme, old
