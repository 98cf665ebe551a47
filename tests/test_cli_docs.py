"""docs/cli.md lists every command and flag as the parsers define them (written by a script)."""

from __future__ import annotations

import argparse
import re
import runpy
from pathlib import Path

from videomnist_gpu.cli import _subparsers, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli.md"
BEGIN_REFERENCE = "<!-- REFERENCE BEGIN"  # docs/cli.md's generated part restates the parsers' help


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


def test_the_command_table_lists_every_subcommand():
    """The table at the top of docs/cli.md names every subcommand (a new one is easy to forget)."""
    table = DOC.read_text().split("## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    listed = {name for cell in first_cells for name in re.findall(r"`([a-z-]+)", cell)}
    commands = {p.prog.split()[1] for p in _subparsers(build_parser())}
    assert commands <= listed, f"missing from the command table of docs/cli.md: {sorted(commands - listed)}"


DEFAULT_IN_TEXT = re.compile(r"\(default:?\s+([^)]*)\)|default `([^`]*)`")


def _first_word(text: str) -> str:
    """The value a default text starts with: `gzip` of "gzip: any HDF5 reader opens it"."""
    match = re.match(r"\s*`?([\w.\-/$~]+)", text)
    return match.group(1).lower() if match else ""


def _same(documented: str, default: str) -> bool:
    try:
        return float(documented) == float(default)
    except ValueError:
        return documented == default


def _parser_defaults() -> dict[str, dict[str, str]]:
    """subcommand -> flag -> its default as a word: the parser's own value, else its help's "(default X)"."""
    out: dict[str, dict[str, str]] = {}
    for parser in _subparsers(build_parser()):
        flags = out.setdefault(parser.prog.split()[-1], {})
        for action in parser._actions:
            names = [o for o in action.option_strings if o.startswith("--")]
            stated = DEFAULT_IN_TEXT.search(action.help or "")
            if isinstance(action, argparse._StoreTrueAction):
                value = "off"
            elif action.default in (None, argparse.SUPPRESS):
                value = _first_word(next(filter(None, stated.groups()))) if stated else ""
            else:
                value = " ".join(map(str, action.default)) if isinstance(action.default, list) else str(action.default)
                value = _first_word(value)
                if stated:  # the help says the same as the parser (or names it among others)
                    text = next(filter(None, stated.groups())).lower()
                    assert _same(_first_word(text), value) or value in re.findall(r"[\w.\-/$~]+", text), \
                        f"{parser.prog} {names[0]}: help says {stated.group(0)!r}, the parser's default is {value!r}"
            for name in names:
                flags[name] = value
    return out


def _documented_defaults() -> list[tuple[str, str, str, set[str]]]:
    """(page:line, flag, documented default, flags of its table) for every table row of the docs
    whose first cell is one flag and that states a default (a `default` column or "(default X)")."""
    rows = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = page.read_text().split(BEGIN_REFERENCE)[0].splitlines() if page == DOC else page.read_text().splitlines()
        header, table = None, []
        for number, line in enumerate(lines + [""], 1):
            if not line.startswith("|"):
                flags = {flag for _, flag, _ in table}
                rows += [(where, flag, value, flags) for where, flag, value in table]
                header, table = None, []
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            if header is None:
                header = [c.lower() for c in cells]
                continue
            found = re.findall(r"`(--\w+)", cells[0])
            if len(found) != 1:
                continue
            if "default" in header:
                stated = cells[header.index("default")]
            else:
                match = DEFAULT_IN_TEXT.search(" ".join(cells[1:]))
                stated = next(filter(None, match.groups())) if match else ""
            value = _first_word(stated)
            if value and value not in ("required", "see", "exactly", "the"):  # words, not values
                table.append((f"{page.name}:{number}", found[0], value))
    return rows


def test_every_documented_default_is_the_parsers():
    """A default stated in any page (`--compression` ... gzip) equals what the parser (or its help) says."""
    defaults = _parser_defaults()
    rows = _documented_defaults()
    assert len(rows) >= 30, "the docs' flag tables were not found"
    for where, flag, value, table_flags in rows:
        having = {cmd for cmd, flags in defaults.items() if flag in flags}
        assert having, f"{where}: {flag} is no flag of any subcommand"
        context = {cmd for cmd in having if table_flags <= set(defaults[cmd])} or having
        said = {defaults[cmd][flag] for cmd in context}
        assert any(_same(value, s) for s in said), f"{where}: {flag} documented default {value!r}, the parser's {said}"
