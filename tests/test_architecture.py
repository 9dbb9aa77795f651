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
  floors = ("    handvol.training | handvol.export\n    handvol.pretrained\n"
            "    handvol.evaluation | handvol.model\n")
  assert floors in text
  broken = text.replace(floors, "    handvol.evaluation | handvol.model\n"
                                "    handvol.pretrained\n"
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


ENTRY_POINTS = ("train.py", "eval.py")
"""The repository's top-level entry modules (with `scripts/*.py` and each `__main__.py`)."""


def _command_line_sources():
  """Modules that must take absl flags: the package, the top-level entry points, scripts/."""
  return (sorted(PACKAGE.rglob("*.py")) + [REPO_ROOT / name for name in ENTRY_POINTS]
          + sorted((REPO_ROOT / "scripts").glob("*.py")))


def _argparse_imports(path):
  """Line numbers of `import argparse` / `from argparse import ...` anywhere in the module."""
  tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
  return [node.lineno for node in ast.walk(tree)
          if (isinstance(node, ast.Import)
              and any(alias.name.split(".")[0] == "argparse" for alias in node.names))
          or (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "argparse")]


def _flag_definitions(path):
  """Line numbers of `flags.DEFINE_*(...)` (or a bare `DEFINE_*(...)` imported from absl.flags)
  calls anywhere in the module, also inside functions or `if __name__ == "__main__":`."""
  tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
  lines = []
  for node in ast.walk(tree):
    if not isinstance(node, ast.Call):
      continue
    function = node.func
    name = (function.attr if isinstance(function, ast.Attribute)
            else function.id if isinstance(function, ast.Name) else "")
    if name.startswith("DEFINE_"):
      lines.append(node.lineno)
  return lines


def _main_guard_lines(path):
  """Line numbers inside the module's `if __name__ == "__main__":` blocks."""
  tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
  lines = set()
  for node in tree.body:
    if (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__"):
      lines.update(range(node.lineno, node.end_lineno + 1))
  return lines


def _is_entry_module(path):
  return (path.name == "__main__.py" or path.parent == REPO_ROOT / "scripts"
          or path in [REPO_ROOT / name for name in ENTRY_POINTS])


def test_argparse_and_stray_flags_are_found(tmp_path):
  source = tmp_path / "stray.py"
  source.write_text("from absl import flags\nfrom absl.flags import DEFINE_bool\n"
                    "import os, argparse\n\n\ndef f():\n  from argparse import ArgumentParser\n"
                    "  flags.DEFINE_string('a', None, 'A.')\n\n\n"
                    "if __name__ == '__main__':\n  DEFINE_bool('b', False, 'B.')\n"
                    "  flags.mark_flags_as_required(['a'])\n", encoding="utf-8")
  assert _argparse_imports(source) == [3, 7]
  assert sorted(_flag_definitions(source)) == [8, 12]
  assert 12 in _main_guard_lines(source) and 8 not in _main_guard_lines(source)
  clean = tmp_path / "clean.py"
  clean.write_text("from absl import flags\n\nFLAGS = flags.FLAGS\nparser = 'argparse'\n",
                   encoding="utf-8")
  assert _argparse_imports(clean) == [] and _flag_definitions(clean) == []


def test_entry_points_take_absl_flags_not_argparse():
  """One command-line shape for every entry point (issue 21): no module of handvol/, train.py,
  eval.py or scripts/ imports argparse. bench/ keeps argparse: its benchmarks are tools of the
  developers, not entry points of the package, and are not scanned."""
  found = {str(path.relative_to(REPO_ROOT)): lines for path in _command_line_sources()
           if (lines := _argparse_imports(path))}
  assert not found, (f"argparse imported (file: lines; use absl flags defined in the entry "
                     f"module): {found}")


def test_flags_are_defined_only_in_entry_modules():
  """absl flags are defined in the entry modules alone (`__main__.py`, train.py, eval.py,
  scripts/*.py, and a library module's own `if __name__ == "__main__":` block, which runs only
  as `python -m`), so that importing a library module defines no flag: an AST scan of every
  `flags.DEFINE_*` call in the rest of handvol/."""
  found = {}
  for path in _command_line_sources():
    if not _is_entry_module(path):
      lines = sorted(set(_flag_definitions(path)) - _main_guard_lines(path))
      if lines:
        found[str(path.relative_to(REPO_ROOT))] = lines
  assert not found, f"absl flags defined outside an entry module (file: lines): {found}"
