"""The metrics on preprocessed synthetic frames, where the true joints are known.

The paper's reference points: true joint centres lie inside the fingers, so their MDPC is about
a finger radius (NYU's labels: median 9.10 mm), systematically wrong labels lie farther from the
surface (HIM: 21.54 mm), and k-means separates two subjects' true bone lengths (F1 = 1).
"""

import numpy as np
import pytest

from handvol.data.synthetic import generator
from handvol.evaluation import evaluate
from handvol.evaluation import metrics
from handvol.image import preprocess

NUM_FRAMES = 32


@pytest.fixture(scope="module")
def examples():
  records = generator.generate(NUM_FRAMES, subjects="unseen_test", label_mode="him_wrong_3d",
                               seed=0)
  examples = [{key: np.asarray(value) for key, value in preprocess.preprocess(r).items()}
              for r in records]
  return {key: np.stack([e[key] for e in examples])
          for key in ("crop_depth", "crop_intrinsics", "truth_xyz", "xyz", "subject")}


def test_mdpc_of_true_joints_is_about_a_finger_radius(examples):
  truth = metrics.summarize_mdpc(metrics.mdpc(examples["truth_xyz"], examples["crop_depth"],
                                              examples["crop_intrinsics"]))
  wrong = metrics.summarize_mdpc(metrics.mdpc(examples["xyz"], examples["crop_depth"],
                                              examples["crop_intrinsics"]))
  assert truth["mdpc_frames_without_depth"] == 0
  assert 3.0 < truth["mdpc_median_mm"] < 15.0
  assert wrong["mdpc_median_mm"] > truth["mdpc_median_mm"] + 2.0


def test_true_bone_lengths_separate_two_subjects(examples):
  assert np.unique(examples["subject"]).size == 2
  scores = metrics.kmeans_f1(metrics.bone_lengths(examples["truth_xyz"]), examples["subject"])
  assert list(scores.values()) == [1.0, 1.0]


def test_report_of_wrong_labels_against_the_truth(examples, tmp_path):
  result = evaluate.evaluate_keypoints(
      examples["xyz"], examples["truth_xyz"], "hand21", subjects=examples["subject"],
      datasets=np.full(NUM_FRAMES, 3), depth=examples["crop_depth"],
      intrinsics=examples["crop_intrinsics"])
  assert result["all21_mean_mm"] > 0.0
  assert set(result["bone_length_f1"]) == {str(s) for s in np.unique(examples["subject"])}
  paths = evaluate.write_report(tmp_path, {"HIM-style labels": result}, "hand21", "synthetic")
  markdown = paths["markdown"].read_text()
  assert "## Minimum distance to the point cloud (MDPC)" in markdown
  assert "| All-21 mean (mm) | Lab-6 mean (mm) | Unlab-15 mean (mm) |" in markdown
