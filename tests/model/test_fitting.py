"""Per-example fitting of θ and β on the model's energy (`handvol.model.fitting`)."""

import numpy as np
import pytest

from handvol.data import records
from handvol.hand import skeleton
from handvol.model import fitting
from handvol.model import hand_pose_model

BATCH = 2


def _target_and_examples():
  """A target pose per example at 500 mm, and examples labelled with its 21 keypoints in 3D
  (only the keypoint term is used: no image, no custom op)."""
  rng = np.random.default_rng(0)
  theta = np.zeros([BATCH, skeleton.NUM_THETA], np.float32)
  theta[:, 2] = 500.0
  theta[:, 3:] = rng.uniform(-0.3, 0.3, [BATCH, skeleton.NUM_THETA - 3])
  beta = rng.uniform(-1.0, 1.0, [BATCH, skeleton.NUM_BETA]).astype(np.float32)
  model = hand_pose_model.HandPoseModel(
      encoder_width=4, loss_weights={"dissim": 0.0, "collision": 0.0, "bone": 0.0, "lim": 0.0,
                                     "joint": 1e-3})
  keypoints = model.hand(theta, beta)["keypoints"].numpy()
  examples = {
      "uv": np.zeros([BATCH, skeleton.NUM_KEYPOINTS, 2], np.float32),
      "xyz": keypoints,
      "kind": np.full([BATCH, skeleton.NUM_KEYPOINTS], records.KIND_3D, np.int32),
      "visible": np.ones([BATCH, skeleton.NUM_KEYPOINTS], np.float32),
      "crop_intrinsics": np.tile(np.float32([200.0, 200.0, 63.5, 63.5]), [BATCH, 1]),
  }
  return model, examples, theta, beta, keypoints


def _keypoint_error(model, theta, beta, keypoints):
  return float(np.mean(np.linalg.norm(model.hand(theta, beta)["keypoints"].numpy() - keypoints,
                                      axis=-1)))


def test_fit_moves_a_perturbed_pose_back_to_its_labels():
  model, examples, theta, beta, keypoints = _target_and_examples()
  start = theta.copy()
  start[:, :3] += [12.0, -8.0, 10.0]  # mm: the normalised translation must cover this
  start[:, 3:] += 0.1
  before = _keypoint_error(model, start, beta, keypoints)
  fitted = fitting.fit_parameters(model, examples, start, beta, steps=200, learning_rate=0.02,
                                  fit=("theta",), verbose=False)
  after = _keypoint_error(model, fitted["theta"], fitted["beta"], keypoints)
  assert before > 10.0 and after < 0.2 * before
  np.testing.assert_array_equal(fitted["beta"], beta)  # not freed
  # The energy is the weighted sum of the returned terms.
  np.testing.assert_allclose(fitted["energy"], 1e-3 * fitted["terms"]["joint"], rtol=1e-6)


def test_zero_steps_return_the_start_and_bad_arguments_are_refused():
  model, examples, theta, beta, _ = _target_and_examples()
  unchanged = fitting.fit_parameters(model, examples, theta, beta, steps=0, verbose=False)
  np.testing.assert_array_equal(unchanged["theta"], theta)
  np.testing.assert_allclose(unchanged["energy"], 0.0, atol=1e-6)  # the labels' own pose
  with pytest.raises(ValueError, match="subset"):
    fitting.fit_parameters(model, examples, theta, beta, 1, fit=("pose",))
  with pytest.raises(ValueError, match="non-negative"):
    fitting.fit_parameters(model, examples, theta, beta, -1)
  with pytest.raises(ValueError, match="theta must have exactly 26 elements"):
    fitting.fit_parameters(model, examples, theta[:, :20], beta, 1)


FIT_IN_A_FRESH_PROCESS = """
import numpy as np
from handvol.track import shape
rng = np.random.default_rng(0)
depth = np.where(rng.uniform(size=(2, 128, 128)) > 0.5, 600.0, 0.0).astype(np.float32)
examples = shape.fit_examples(depth, np.tile([[200.0, 200.0, 64.0, 64.0]], (2, 1)),
                              np.tile([[0.0, 0.0, 600.0]], (2, 1)), 256)
theta = np.zeros((2, 26), np.float32)
theta[:, 2] = 600.0
print("fitted", shape.fit_shape(examples, theta, np.zeros((2, 20), np.float32), 2, 0.01).beta[0])
"""


def test_a_fit_that_loads_the_op_inside_its_step_prints_no_autograph_warnings():
  # In a fresh process the op library is first loaded while the fit's step is traced; the
  # loader's file checks are not AutoGraph's to convert (it warned four times for them).
  import subprocess  # pylint: disable=import-outside-toplevel
  import sys  # pylint: disable=import-outside-toplevel
  run = subprocess.run([sys.executable, "-c", FIT_IN_A_FRESH_PROCESS], capture_output=True,
                       text=True, timeout=300, check=False)
  assert run.returncode == 0 and "fitted" in run.stdout, run.stderr[-2000:]
  assert "AutoGraph could not transform" not in run.stderr, run.stderr[-2000:]
