"""scripts/shape_from_depth.py: its bone-length fit and its table."""

import importlib.util
import pathlib
import subprocess
import sys

import numpy as np
import tensorflow as tf

from handvol.model import hand_pose_model

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "scripts" / "shape_from_depth.py"


def _load_script():
  spec = importlib.util.spec_from_file_location("shape_from_depth", SCRIPT)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_fit_follows_the_prior_weight():
  script = _load_script()
  theta, subject_ids, examples = script.frames_and_examples(2, "unseen_test", 4)
  theta = tf.constant(theta)
  model = hand_pose_model.HandPoseModel(loss_weights={"dissim": 1.0, "bone": 1.0})
  zero = np.zeros([2, 20], np.float32)
  assert subject_ids.shape == (2,)
  # A prior that outweighs the image keeps β at the mean hand.
  held = script.fit_beta(model, examples, theta, 1e3, steps=20, learning_rate=0.05)
  assert np.abs(held).max() < 0.03  # Adam steps of 0.05 decaying about 0
  # Without it the fit moves β and explains the depth better than the mean hand.
  free = script.fit_beta(model, examples, theta, 0.0, steps=20, learning_rate=0.05)
  assert np.abs(free).max() > 0.1
  assert script.dissim(model, examples, theta, free) < script.dissim(model, examples, theta,
                                                                      zero)


def test_prints_a_row_per_weight_and_refuses_a_set_of_one():
  result = subprocess.run([sys.executable, str(SCRIPT), "--frames", "8", "--steps", "2",
                           "--bone_weights", "1e-2", "0"], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=True)
  rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
  assert [row.split("|")[1].strip() for row in rows[1:]] == [
      "true", "0 (mean hand)", "fitted, λ_bone = 0.01", "fitted, λ_bone = 0"]
  # The true β scores F1 1 on both subjects.
  assert rows[1].split("|")[-2].strip() == "1.00 / 1.00"
  refused = subprocess.run([sys.executable, str(SCRIPT), "--subjects", "nyu_like"],
                           cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert refused.returncode == 2 and "exactly two subjects" in refused.stderr
