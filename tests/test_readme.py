"""The README's commands are the ones CI runs."""

import pathlib
import re

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _bash_blocks(text):
  return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
  readme = (REPO_ROOT / "README.md").read_text()
  ci = (REPO_ROOT / ".ci" / "run").read_text()
  test_command = next(b.strip() for b in _bash_blocks(readme) if "pytest" in b)
  assert test_command in ci


def test_layout_table_names_every_package_and_only_existing_paths():
  readme = (REPO_ROOT / "README.md").read_text()
  layout = readme[readme.index("## Layout"):]
  paths = set(re.findall(r"^\| `([^`]+)`", layout, flags=re.M))
  paths |= set(re.findall(r"^\| `[^`]+`, `([^`]+)`", layout, flags=re.M))
  for path in paths:
    assert (REPO_ROOT / path).exists(), f"the layout table names {path}, which is not there"
  packages = {f"handvol/{p.name}/" for p in (REPO_ROOT / "handvol").iterdir()
              if (p / "__init__.py").exists() and p.name != "annotate"}
  assert packages <= paths, f"packages missing from the layout table: {packages - paths}"
