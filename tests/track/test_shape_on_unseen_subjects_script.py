"""scripts/shape_on_unseen_subjects.py end to end on three short sequences."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from handvol.data.synthetic import subjects as subjects_lib
from handvol.hand import bone_lengths

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "shape_on_unseen_subjects.py"


@pytest.mark.parametrize("subjects, per_subject", [(3, 1), (2, 2)])
def test_every_calibration_and_the_network_spread(tmp_path, subjects, per_subject):
  out = tmp_path / "result.json"
  run = subprocess.run([sys.executable, str(SCRIPT), "--first_subject=400",
                        f"--subjects={subjects}", f"--per_subject={per_subject}", "--frames=4",
                        "--calibration_frames=3", "--steps=0", f"--out={out}"], cwd=REPO_ROOT,
                       capture_output=True, text=True, check=False, timeout=600)
  assert run.returncode == 0, run.stderr[-3000:]
  result = json.loads(run.stdout.strip().splitlines()[-1])
  assert result == json.loads(out.read_text())
  ids = list(range(400, 400 + subjects))
  assert result["subjects"] == [ids[0], ids[-1]]
  errors = result["errors"]
  assert list(errors) == ["mean hand", "robust_mean", "fit", "fit from the mean hand"]
  # The mean hand's error is the subjects' own distance from the bone model's mean.
  mean = np.asarray(bone_lengths.default_bone_model().mean)
  true = np.stack([subjects_lib.make_subject(i).lengths for i in ids * per_subject])
  np.testing.assert_allclose(errors["mean hand"]["bone_error_mean_mm"],
                             np.abs(mean - true).mean(axis=0).mean(), atol=1e-3)
  np.testing.assert_allclose(errors["mean hand"]["signed_mean_mm"], (mean - true).mean(),
                             atol=1e-3)
  # Without a step each fit stays where it started.
  for fit, start in (("fit", "robust_mean"), ("fit from the mean hand", "mean hand")):
    np.testing.assert_allclose(errors[fit]["bone_error_mean_mm"],
                               errors[start]["bone_error_mean_mm"], atol=1e-3)
  for method in errors.values():
    assert 0.0 < method["bone_error_mean_mm"] <= method["bone_error_max_mm"]
    # F1 (the bench's) where there are two subjects.
    if subjects == 2:
      assert set(method["f1"]) == {"400", "401"}
      assert all(0.0 <= value <= 1.0 for value in method["f1"].values())
    else:
      assert "f1" not in method
  spread = result["network_beta_spread"]
  assert [row["index"] for row in spread] == [0, 1, 2, 3, 4]
  assert all(row["network_sd"] >= 0 and -1 <= row["correlation"] <= 1 for row in spread)
