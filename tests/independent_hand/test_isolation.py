"""The independent renderer imports nothing of handvol, and handvol does not ship it."""

import ast
import pathlib
import subprocess
import sys

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "independent_hand"
ALLOWED_TOP_LEVEL = {"independent_hand", "numpy", "scipy", "cv2", "absl", "dataclasses", "json",
                     "os", "sys", "time", "math", "functools", "collections"}


def _imported_modules(path):
  tree = ast.parse(path.read_text(encoding="utf-8"))
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      yield "." if node.level else node.module


def test_no_source_file_imports_handvol_or_anything_unlisted():
  files = sorted(PACKAGE.glob("*.py"))
  assert len(files) >= 8
  for path in files:
    for module in _imported_modules(path):
      top = module.split(".")[0]
      assert top in ALLOWED_TOP_LEVEL, f"{path.name} imports {module}"


def test_importing_every_module_loads_no_handvol():
  code = ("import importlib, pkgutil, sys, independent_hand\n"
          "for info in pkgutil.iter_modules(independent_hand.__path__):\n"
          "  importlib.import_module('independent_hand.' + info.name)\n"
          "loaded = sorted(m for m in sys.modules if m == 'handvol' or m.startswith('handvol.'))\n"
          "print('modules', len([m for m in sys.modules if m.startswith('independent_hand')]))\n"
          "print('handvol', loaded)\n")
  run = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                       text=True, check=False, env={"PYTHONPATH": str(REPO_ROOT)})
  assert run.returncode == 0, run.stderr
  assert "handvol []" in run.stdout
  assert int(run.stdout.split("modules ")[1].split()[0]) >= 9


def test_setup_packages_only_handvol():
  text = (REPO_ROOT / "setup.py").read_text(encoding="utf-8")
  assert 'find_packages(include=["handvol", "handvol.*"])' in text
  assert "independent_hand" not in text
