"""The package's architecture, checked: the import-linter contracts of `.importlinter` (the
floors run one way, no import cycle), short functions, no repeated blocks."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = REPO_ROOT / "handvol"
MAX_FUNCTION_LINES = 60


def _lint_imports(config_path):
  # Through this interpreter, so that the venv's import-linter and grimp run; no cache, so
  # that an edited tree is read again.
  return subprocess.run(
      [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
       "--config", str(config_path), "--no-cache"],
      cwd=REPO_ROOT, capture_output=True, text=True, check=False)


def test_import_contracts_are_kept():
  run = _lint_imports(REPO_ROOT / ".importlinter")
  assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
  assert "0 broken" in run.stdout
  for contract in ("handvol's floors run one way", "no import cycle"):
    assert f"{contract}" in run.stdout


def test_lint_imports_fails_on_a_broken_contract(tmp_path):
  # The same floors with training put below the model: training imports the model, so the
  # contract breaks and the command must fail.
  text = (REPO_ROOT / ".importlinter").read_text(encoding="utf-8")
  floors = "    handvol.training | handvol.export\n    handvol.evaluation | handvol.model\n"
  assert floors in text
  broken = text.replace(floors, "    handvol.evaluation | handvol.model\n"
                                "    handvol.training | handvol.export\n")
  config = tmp_path / "broken.importlinter"
  config.write_text(broken, encoding="utf-8")
  run = _lint_imports(config)
  assert run.returncode != 0
  assert "BROKEN" in run.stdout


def _functions(path):
  tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
  for node in ast.walk(tree):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
      yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def test_long_function_is_found(tmp_path):
  source = tmp_path / "long.py"
  source.write_text("def f():\n" + "  x = 1\n" * MAX_FUNCTION_LINES + "\ndef g():\n  pass\n")
  assert [(name, lines) for name, _, lines in _functions(source)] == [
      ("f", MAX_FUNCTION_LINES + 1), ("g", 2)]


def test_no_function_is_longer_than_a_screen():
  long = [f"{path.relative_to(REPO_ROOT)}:{line} {name} ({lines} lines)"
          for path in sorted(PACKAGE.rglob("*.py"))
          for name, line, lines in _functions(path) if lines > MAX_FUNCTION_LINES]
  assert not long, f"functions over {MAX_FUNCTION_LINES} lines (docstring included): {long}"


@pytest.mark.skipif(shutil.which("duplicates") is None, reason="no `duplicates` on the PATH")
def test_no_repeated_block_in_the_package():
  run = subprocess.run(["duplicates", "--repo", str(PACKAGE), "--min-lines", "6", "--most",
                        "50", "--seconds", "120"], capture_output=True, text=True, check=False)
  assert run.stdout.startswith("no duplicates"), run.stdout
