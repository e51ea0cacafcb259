"""The CLI as a user runs it: a fresh interpreter, no test-suite imports to lean on."""

import subprocess
import sys

from xlsxgen.cli import COMMANDS


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "xlsxgen.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0, r.stderr
    for name in COMMANDS:
        assert f"  {name} " in r.stdout, name


def test_every_command_has_help_with_an_example_or_usage():
    for name in COMMANDS:
        r = run(name, "--help")
        assert r.returncode == 0, (name, r.stderr)
        assert "Usage:" in r.stdout


def test_generate_in_a_fresh_process(tmp_path):
    out = tmp_path / "x.xlsx"
    r = run("generate", "--year", "2024", "--agency", "某某市某某局", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:2] == b"PK"


def test_unknown_command_is_a_usage_error():
    r = run("frobnicate")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
