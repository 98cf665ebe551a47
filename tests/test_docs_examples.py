"""Every example in README.md and docs/*.md runs as written, in order per page.

Each page runs in a scratch folder laid out like the repository after the README's first set-up
command: `configs/` beside it and `datasets/videomnist/videomnist.h5` present (a small export of
the default config, so the test stays fast). Python blocks of a page share one namespace; shell
blocks run their `videomnist ...` lines through the CLI's `main` in-process and their `python ...`
lines with this interpreter. Blocks run exactly as written, on whatever devices the machine has
(an example picks its device with `torch.cuda.is_available()`, never assumes a GPU). A block
preceded by `<!-- example: skip (why) -->` is not run (it needs a GPU, upstream VideoGPT or
minutes of training); every other block is.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from videomnist_gpu.cli import main
from videomnist_gpu.hdf5.export import export_dataset
from videomnist_gpu.synth.config import VideoMNISTConfig

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SKIP = re.compile(r"<!--\s*example:\s*skip\b")
FENCE = re.compile(r"^```(\w*)\s*$")
SET_UP = ("python3 -m venv",)  # the README's two set-up commands: the scratch folder stands in for them


def code_blocks(text: str) -> list[tuple[str, str, bool, int]]:
    """(language, code, skipped, line number) of every fenced block, in order."""
    blocks, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        skipped = any(SKIP.search(lines[j]) for j in range(max(0, start - 2), start))
        blocks.append((m.group(1), "\n".join(body) + "\n", skipped, start + 1))
        i += 1
    return blocks


def shell_commands(code: str) -> list[list[str]]:
    """The commands of a shell block: continuation lines joined, comments and set-up dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    commands = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#") and not line.startswith(SET_UP):
            commands.append(shlex.split(line))
    return commands


@pytest.fixture(autouse=True)
def _motions_registered_by_examples_stay_in_the_example(monkeypatch):
    """An example may register motions (`register_motion`): undo that for the other tests."""
    from videomnist_gpu.synth import motions

    monkeypatch.setattr(motions, "_REGISTRY", dict(motions._REGISTRY))
    monkeypatch.setattr(motions, "_FRAME_UNIFORMS", dict(motions._FRAME_UNIFORMS))


@pytest.fixture(scope="module")
def default_export(tmp_path_factory) -> Path:
    """A small export of the default config, standing in for the README's first command's file."""
    path = tmp_path_factory.mktemp("export") / "videomnist.h5"
    export_dataset(path, VideoMNISTConfig(digits="mnist-5k"), videos_per_digit=2, test_videos_per_digit=1, device="cpu")
    return path


def run_shell(argv: list[str], where: str, monkeypatch) -> None:
    while argv and re.fullmatch(r"[A-Z_]+=\S*", argv[0]):  # VAR=value prefixes
        name, value = argv.pop(0).split("=", 1)
        monkeypatch.setenv(name, value)
    if argv[0] in ("python", "python3"):
        proc = subprocess.run([sys.executable, *argv[1:]], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{where}: `{shlex.join(argv)}` exited {proc.returncode}: {proc.stderr[-2000:]}"
        return
    if argv[0] != "videomnist":
        pytest.fail(f"{where}: only `videomnist` and `python` commands can run in examples, got {argv[0]!r}; "
                    "mark the block with <!-- example: skip (why) -->")
    code = main(argv[1:])
    assert code == 0, f"{where}: `{shlex.join(argv)}` exited {code}"


# Lightning 2.6's data fetcher still uses torch's LeafSpec, deprecated in the torch installed here.
@pytest.mark.filterwarnings(r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_examples_run_as_written(page, tmp_path, monkeypatch, default_export):
    blocks = [b for b in code_blocks(page.read_text()) if b[0] in ("python", "bash", "sh") and not b[2]]
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    (tmp_path / "datasets" / "videomnist").mkdir(parents=True)
    (tmp_path / "datasets" / "videomnist" / "videomnist.h5").symlink_to(default_export)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__example__"}
    for lang, code, _, line in blocks:
        where = f"{page.name}:{line}"
        if lang == "python":
            exec(compile(code, where, "exec"), namespace)  # noqa: S102: the docs' own examples
        else:
            for argv in shell_commands(code):
                run_shell(argv, where, monkeypatch)


def test_every_page_has_examples_or_none_skipped_silently():
    """Catch a collector that finds nothing: the README alone holds several runnable blocks."""
    readme = [b for b in code_blocks((ROOT / "README.md").read_text()) if not b[2]]
    assert sum(lang == "python" for lang, *_ in readme) >= 2
    assert sum(lang == "bash" for lang, *_ in readme) >= 3


def test_runnable_examples_assume_no_gpu():
    """A runnable example names CUDA only behind `torch.cuda.is_available()`, so it runs as written on
    a CPU, here and for a reader (a GPU-only example is marked skip and says why)."""
    for page in PAGES:
        for lang, code, skipped, line in code_blocks(page.read_text()):
            if skipped or lang not in ("python", "bash", "sh"):
                continue
            for offset, text in enumerate(code.splitlines()):
                if "--device cuda" in text or ('"cuda"' in text and "is_available()" not in text):
                    pytest.fail(f"{page.name}:{line + 1 + offset}: {text.strip()!r} needs a GPU")
