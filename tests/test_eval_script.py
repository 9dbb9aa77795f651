"""eval.py end to end: its files, its errors, and the NYU reference table reproduced."""

import json
import pathlib
import re
import subprocess
import sys

import numpy as np

from handvol.evaluation import community_format

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run_eval(*flags):
  return subprocess.run([sys.executable, str(REPO_ROOT / "eval.py"), *flags], cwd=REPO_ROOT,
                        capture_output=True, text=True, check=False)


def _table_rows(markdown, first_header):
  """Rows (lists of cells) of the markdown table whose first column is `first_header`."""
  lines = markdown.splitlines()
  start = next(i for i, line in enumerate(lines)
               if re.match(rf"\|\s*{re.escape(first_header)}\s*\|", line))
  rows = []
  for line in lines[start + 2:]:
    if not line.startswith("|"):
      break
    rows.append([cell.strip() for cell in line.strip("|").split("|")])
  return rows


def test_writes_metrics_for_each_method(tmp_path):
  rng = np.random.default_rng(0)
  labels = np.concatenate([rng.uniform(200, 400, (6, 14, 2)), rng.uniform(600, 800, (6, 14, 1))],
                          axis=-1)
  community_format.write_uvd(tmp_path / "labels.txt", labels)
  community_format.write_uvd(tmp_path / "a.txt", labels + [3.0, 0.0, 0.0])
  community_format.write_uvd(tmp_path / "b.txt", labels)
  run = _run_eval("--dataset=nyu", f"--labels={tmp_path / 'labels.txt'}",
                  f"--predictions=A={tmp_path / 'a.txt'},B={tmp_path / 'b.txt'}",
                  f"--out={tmp_path / 'out'}")
  assert run.returncode == 0, run.stderr
  metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
  assert list(metrics) == ["A", "B"]
  assert metrics["B"]["nyu14_mean_mm"] == 0.0
  assert metrics["A"]["match11_mean_mm"] > 0.0
  assert sorted(metrics["A"]["frac_max_le_mm"], key=int) == [str(t) for t in range(81)]
  for name in ("metrics.md", "frame_fractions.png", "per_joint_errors.png"):
    assert (tmp_path / "out" / name).stat().st_size > 0


def test_mismatched_frames_fail_with_a_message(tmp_path):
  community_format.write_uvd(tmp_path / "labels.txt", np.full((3, 14, 3), 300.0))
  community_format.write_uvd(tmp_path / "a.txt", np.full((2, 14, 3), 300.0))
  run = _run_eval(f"--labels={tmp_path / 'labels.txt'}", f"--predictions=A={tmp_path / 'a.txt'}",
                  f"--out={tmp_path / 'out'}")
  assert run.returncode != 0
  assert "predictions 'A' hold 2 frames, the labels 3" in run.stderr


def test_reproduces_the_nyu_reference_table(shared_data, tmp_path):
  reference = shared_data / "nyu_reference"
  readme = (reference / "README.md").read_text()
  files = {cells[0].strip("`"): cells[1].removesuffix(" predictions, same format")
           for cells in _table_rows(readme, "file") if "predictions" in cells[1]}
  predictions = ",".join(f"{name}={reference / path}" for path, name in files.items())
  run = _run_eval("--dataset=nyu", f"--labels={reference / 'nyu_test_groundtruth_label.txt'}",
                  f"--predictions={predictions}", f"--out={tmp_path}")
  assert run.returncode == 0, run.stderr
  metrics = json.loads((tmp_path / "metrics.json").read_text())
  rows = _table_rows(readme, "predictions")
  assert sorted(row[0] for row in rows) == sorted(metrics)
  for name, nyu14, match11, within20, within40 in rows:
    result = metrics[name]
    assert abs(result["nyu14_mean_mm"] - float(nyu14)) <= 5e-4, name
    assert abs(result["match11_mean_mm"] - float(match11)) <= 5e-4, name
    assert abs(result["frac_max_le_mm"]["20"] - float(within20.rstrip(" %"))) <= 5e-3, name
    assert abs(result["frac_max_le_mm"]["40"] - float(within40.rstrip(" %"))) <= 5e-3, name
