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
