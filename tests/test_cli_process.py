"""The CLI as a user runs it: a fresh interpreter, no test-suite imports to lean on."""

import importlib
import re
import subprocess
import sys

import click
import pytest

from xlsxgen.cli import COMMANDS


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0, r.stderr
    for name in COMMANDS:
        assert f"  {name} " in r.stdout, name


def _normalised(text: str) -> str:
    return " ".join(text.split())


def _examples(cmd, name: str) -> list[str]:
    """The example command lines of a command's docstring (``xlsxgen <name> ...``)."""
    return [m.strip() for m in re.findall(rf"xlsxgen {name}\b[^\n]*", cmd.help or "")]


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_help_shows_its_own_summary_options_and_examples(name):
    """``xlsxgen <name> --help`` in a fresh process shows what the command module documents."""
    cmd = importlib.import_module(f"xlsxgen.commands.{name}").command
    r = run(name, "--help")
    assert r.returncode == 0, (name, r.stderr)
    out = _normalised(r.stdout)
    assert r.stdout.startswith(f"Usage: xlsxgen {name} "), r.stdout[:80]
    summary = cmd.help.strip().splitlines()[0]
    assert _normalised(summary) in out, summary
    examples = _examples(cmd, name)
    for example in examples:
        assert _normalised(example) in out, example
    for param in cmd.params:
        if isinstance(param, click.Argument):
            assert param.human_readable_name in r.stdout.splitlines()[0], param.name
        else:
            for opt in param.opts + param.secondary_opts:
                assert re.search(rf"(^|[\s,/]){re.escape(opt)}\b", r.stdout, re.M), (name, opt)
    # a command that needs arguments or a required option shows how to call it
    needs_input = any(isinstance(p, click.Argument) or p.required for p in cmd.params)
    assert examples or not needs_input, f"{name} --help has no example (xlsxgen {name} ...)"


def test_the_help_tests_check_something():
    """Guard against the parametrised test above going vacuous (no examples found at all)."""
    found = {name: _examples(importlib.import_module(f"xlsxgen.commands.{name}").command, name) for name in COMMANDS}
    assert sum(len(v) for v in found.values()) >= 8, found
    assert found["generate"] and found["validate"] and found["collect"]


def test_generate_in_a_fresh_process(tmp_path):
    out = tmp_path / "x.xlsx"
    r = run("generate", "--year", "2024", "--agency", "某某市某某局", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:2] == b"PK"


def test_unknown_command_is_a_usage_error():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
