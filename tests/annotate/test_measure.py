"""The pre-annotation measurement's parts: the true pixels and the summary's arithmetic (the
model's path is `test_end_to_end.py`'s)."""

import numpy as np
import pytest

from handvol.annotate import measure
from handvol.annotate import storage


def test_true_pixels_are_the_labels_without_the_click_noise(frames_dir, helpers):
  intrinsics, _, names = measure.read_camera(str(frames_dir))
  truth = measure.true_lab6_uv(str(frames_dir), intrinsics, len(names))
  assert truth.shape == (8, 6, 2)
  labels = helpers.true_labels(frames_dir)
  clicked = np.array([[labels[name][k]["uv"] for k in storage.KEYPOINTS] for name in names])
  distance = np.linalg.norm(clicked - truth, axis=-1)
  # The synthetic annotators click with a 3 px standard deviation around the projection.
  assert 1.0 < np.median(distance) < 6.0
  assert distance.max() < 20.0


def test_a_truth_file_of_other_frames_is_refused(frames_dir):
  intrinsics, _, names = measure.read_camera(str(frames_dir))
  with pytest.raises(ValueError, match=r"expected \(9, 21, 3\)"):
    measure.true_lab6_uv(str(frames_dir), intrinsics, len(names) + 1)


def test_summary_counts_shares_and_medians():
  errors = np.array([[0.0, 5.0, 5.01, 1.0, 2.0, 9.0],
                     [4.0, 6.0, 0.5, 7.0, 3.0, 8.0],
                     [np.inf] * 6])
  summary = measure.summarize(errors, threshold_px=5.0)
  assert summary["frames"] == 3 and summary["keypoints"] == 18
  assert summary["share_within"] == round(7 / 18, 4)
  assert summary["share_within_per_keypoint"] == {
      "wrist": round(2 / 3, 4), "thumb_tip": round(1 / 3, 4), "index_tip": round(1 / 3, 4),
      "middle_tip": round(1 / 3, 4), "ring_tip": round(2 / 3, 4), "little_tip": 0.0}
  assert summary["median_px"] == 6.5  # the 9th and 10th of the 18 sorted: 6.0 and 7.0
  assert summary["median_px_per_keypoint"]["wrist"] == 4.0
  assert summary["frames_without_proposal"] == 1
  with pytest.raises(ValueError, match="shape"):
    measure.summarize(np.zeros([2, 5]))
