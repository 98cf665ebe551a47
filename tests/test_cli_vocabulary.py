"""Every subcommand's parser (all of COMMANDS, nested ones too): help text on every flag and
subcommand, one spelling per concept, metavars in one style, and help that agrees with the code."""

from __future__ import annotations

import argparse
import re

import pytest

from videomnist_gpu.cli import COMMANDS, _subparsers, build_parser, main
from videomnist_gpu.cli.flags import SYNONYMS, VOCABULARY

PARSER = build_parser()
SUBPARSERS = list(_subparsers(PARSER))
METAVAR = re.compile(r"^[A-Z][A-Z0-9_|.]*$|^[0-9a-z]+(\|[0-9a-z]+)+$")  # N, FILE, NAME_OR_PATH; or none|gzip|lzf


def _flags(parser: argparse.ArgumentParser):
    return [a for a in parser._actions if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))]


def test_every_command_module_is_walked():
    names = {p.prog.split()[1] for p in SUBPARSERS}
    for module in COMMANDS:  # a module may register several subcommands (train: train-vqvae, ...)
        assert any(name.replace("-", "_").startswith(module) or module == "train" for name in names), module
    assert {"generate", "verify", "visualize", "digits", "train-vqvae", "train-videogpt", "sample", "bench"} <= names
    assert len(SUBPARSERS) >= 10  # digits download / info included


@pytest.mark.parametrize("parser", [PARSER, *SUBPARSERS], ids=lambda p: p.prog)
def test_every_flag_has_help_and_one_spelling_per_concept(parser):
    for action in _flags(parser):
        where = f"{parser.prog} {action.option_strings or action.dest}"
        assert action.help and action.help is not argparse.SUPPRESS, f"{where}: no help text"
        for option in action.option_strings:
            name = option.lstrip("-").replace("-", "_")
            if name in SYNONYMS:
                assert action.dest in SYNONYMS[name], f"{where}: {option} spells {SYNONYMS[name][0]} another way"
        old_spelling = all(o.lstrip("-").replace("-", "_") in SYNONYMS for o in action.option_strings)
        if action.dest in VOCABULARY and action.option_strings and not old_spelling:
            assert action.option_strings[0] == f"--{action.dest}", where
            if action.nargs != 0:
                assert action.metavar == VOCABULARY[action.dest], f"{where}: metavar {action.metavar!r}"
        metavars = action.metavar if isinstance(action.metavar, tuple) else (action.metavar,)
        for metavar in metavars:
            if metavar is not None:
                assert METAVAR.match(metavar), f"{where}: metavar {metavar!r} is not in the N/FILE/DIR style"


def test_every_subcommand_has_help():
    for action in PARSER._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                assert choice.help, choice.dest
    for parser in SUBPARSERS:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                assert all(choice.help for choice in action._choices_actions), parser.prog


def test_generate_help_states_the_batch_default_the_code_uses():
    from videomnist_gpu.hdf5.export import default_batch_size

    generate = next(p for p in SUBPARSERS if p.prog.endswith(" generate"))
    text = next(a.help for a in generate._actions if a.dest == "batch_size")
    assert f"default {default_batch_size('cpu')} on CPU" in text


@pytest.mark.parametrize("old, new", [
    (["sample", "--n", "3"], ["sample", "--num_samples", "3"]),
    (["generate", "--sample_formats", "gif"], ["generate", "--formats", "gif"]),
    (["visualize", "--output_dir", "x", "--sample_formats", "gif"], ["visualize", "--output_dir", "x", "--formats", "gif"]),
    (["train-vqvae", "--dataset", "test"], ["train-vqvae", "--dataset_config", "test"]),
    (["train-vqvae", "--dataset-config", "test"], ["train-vqvae", "--dataset_config", "test"]),
])
def test_old_spellings_still_parse_to_the_same_settings(old, new):
    assert vars(PARSER.parse_args(old)) == vars(PARSER.parse_args(new))


def test_sample_output_prefix_is_still_accepted():
    args = PARSER.parse_args(["sample", "--output", "out/s"])
    assert (args.output_dir, args.output_name) == ("out", "s")
    args = PARSER.parse_args(["sample", "--output_dir", "out"])
    assert (args.output_dir, args.output_name) == ("out", "videogpt_samples")


def test_debug_and_verbose_work_before_and_after_the_subcommand():
    assert PARSER.parse_args(["--debug", "verify", "f"]).debug
    assert PARSER.parse_args(["verify", "f", "--debug"]).debug
    assert not PARSER.parse_args(["verify", "f"]).verbose


def test_every_help_page_prints(capsys):
    for parser in SUBPARSERS:
        with pytest.raises(SystemExit) as exit_:
            main([*parser.prog.split()[1:], "--help"])
        assert exit_.value.code == 0
    assert "usage:" in capsys.readouterr().out
