"""scripts/fit_per_frame.py end to end: its table and its refusals."""

import pathlib
import subprocess
import sys

import numpy as np

from handvol.model import hand_pose_model

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "fit_per_frame.py"


def _run(*flags):
  return subprocess.run([sys.executable, str(SCRIPT), *flags], cwd=REPO_ROOT,
                        capture_output=True, text=True, check=False)


def _rows(stdout, table=0):
  """Rows of the results table (0) or of the energies table (1)."""
  part = stdout.split("Mean energies per frame")[table]
  return [[cell.strip() for cell in line.strip("|").split("|")]
          for line in part.splitlines() if line.startswith("| e")]


def test_a_start_row_and_a_row_per_swept_fit():
  result = _run("--configurations=e2/no_dissim", "--frames=4", "--steps=3",
                "--set=loss.weights.collision=0.0", "--set=loss.weights.lim=0.0",
                "--sweep=loss.weights.bone=1e-2,0.0")
  assert result.returncode == 0, result.stderr
  rows = _rows(result.stdout)
  assert [row[0] for row in rows] == [
      "e2/no_dissim, start: truth", "e2/no_dissim, fitted, loss.weights.bone=1e-2",
      "e2/no_dissim, fitted, loss.weights.bone=0.0"]
  start = rows[0]
  assert start[1] == "him" and start[2:5] == ["0.00", "0.00", "0.00"]  # the truth itself
  # The HIM-like wrong labels are ≈ 26 mm from the truth.
  assert 20.0 < float(start[7]) < 32.0
  for fitted in rows[1:]:
    assert 0.0 < float(fitted[2]) < 10.0  # three small steps move it, a little
  energies = _rows(result.stdout, table=1)
  assert [row[0] for row in energies] == [row[0] for row in rows]
  # w/o Dissim.: that term is off; the truth lies outside the 25 mm slack of some wrong labels.
  assert all(row[1] == "–" for row in energies) and float(energies[0][5]) > 0.0
  # Both --set settings hold in every row: collision and joint limits off.
  assert all(row[2] == "–" and row[4] == "–" for row in energies)
  # The bone prior's weight is swept: off in the last fit.
  assert energies[1][3] != "–" and energies[2][3] == "–"


def test_refuses_unknown_configurations_parameters_and_sweeps():
  # Checked by the script: one line on stderr, exit code 2.
  for flag, message in (("--configurations=e1/fulll", "no configuration"),
                        ("--fit=pose", "--fit must name"),
                        ("--sweep=loss.weights.bone", "--sweep must read"),
                        ("--start=no/such/model.keras", "--start must be")):
    result = _run(flag)
    assert result.returncode == 2, (flag, result.stderr)
    # The last line (TensorFlow logs to stderr before it), no usage text after it.
    assert result.stderr.strip().splitlines()[-1].startswith(
        f"fit_per_frame.py: error: {message}"), (flag, result.stderr)
  # Bounds checked by absl while parsing the flags: exit code 1, the flag and its bound named.
  for flag, message in (("--frames=1", "flag --frames=1: 1 is not integer >= 2"),
                        ("--steps=-1", "flag --steps=-1: -1 is not a non-negative integer")):
    result = _run(flag)
    assert result.returncode == 1 and message in result.stderr, (flag, result.stderr)


def test_starts_from_a_saved_model(tmp_path):
  model = hand_pose_model.HandPoseModel(encoder_width=4, blocks_per_stage=(1, 1, 1, 1))
  model({"depth_input": np.zeros([1, 128, 128, 1], np.float32),
         "center_xyz": np.float32([[0.0, 0.0, 500.0]])})
  path = tmp_path / "untrained.keras"
  model.save(path)
  result = _run("--configurations=e1/full", "--frames=4", "--steps=2", f"--start={path}")
  assert result.returncode == 0, result.stderr
  rows = _rows(result.stdout)
  assert [row[0] for row in rows] == ["e1/full, start: model", "e1/full, fitted"]
  # The untrained network predicts the neutral hand at the crop centre, far from the truth.
  assert float(rows[0][2]) > 30.0
