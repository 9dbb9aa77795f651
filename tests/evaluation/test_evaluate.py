"""evaluate_keypoints on constructed predictions, the report files, and prediction files."""

import json

import numpy as np
import pytest

from handvol.data import nyu
from handvol.evaluation import community_format
from handvol.evaluation import evaluate
from handvol.evaluation import protocols
from handvol.hand import skeleton


def _hands(frames, scale, seed):
  """Random 21-keypoint hands whose bones all scale with `scale`."""
  rng = np.random.default_rng(seed)
  directions = rng.normal(size=(frames, skeleton.NUM_KEYPOINTS, 3))
  directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
  keypoints = np.zeros((frames, skeleton.NUM_KEYPOINTS, 3))
  keypoints[:, 0] = [0.0, 0.0, 500.0]
  for child in range(1, skeleton.NUM_KEYPOINTS):
    parent = skeleton.KEYPOINT_PARENTS[child]
    keypoints[:, child] = keypoints[:, parent] + scale * (20.0 + child) * directions[:, child]
  return keypoints


def test_hand21_protocols_fractions_breakdowns_and_f1():
  truth = np.concatenate([_hands(6, 1.0, seed=0), _hands(4, 1.3, seed=1)])
  predicted = truth.copy()
  predicted[:, list(protocols.LAB6.indices), 0] += 12.0
  subjects = np.array([0] * 6 + [1] * 4)
  datasets = np.array([3] * 3 + [0] * 7)
  result = evaluate.evaluate_keypoints(predicted, truth, "hand21", subjects=subjects,
                                       datasets=datasets)
  assert result["num_frames"] == 10
  assert result["lab6_mean_mm"] == pytest.approx(12.0)
  assert result["unlab15_mean_mm"] == pytest.approx(0.0)
  assert result["all21_mean_mm"] == pytest.approx(12.0 * 6 / 21)
  assert result["frac_max_le_mm"]["11"] == 0.0
  assert result["frac_max_le_mm"]["13"] == 100.0
  assert result["unlab15_frac_max_le_mm"]["0"] == 100.0
  assert result["per_joint_mm"]["thumb_tip"] == pytest.approx(12.0)
  assert result["per_joint_mm"]["thumb_ip"] == pytest.approx(0.0)
  assert result["per_subject"]["1"]["num_frames"] == 4
  assert result["per_dataset"]["synthetic"]["lab6_mean_mm"] == pytest.approx(12.0)
  assert result["per_dataset"]["nyu"]["num_frames"] == 7
  # Predicted tips move, so the predicted bones differ from the truth, but the subjects' hand
  # sizes differ by 30 %, which k-means separates.
  assert result["bone_length_f1"] == {"0": 1.0, "1": 1.0}
  assert result["bone_length_subject_distance_mm"] > 0.0
  assert "mdpc_median_mm" not in result


def test_mdpc_needs_the_crop_intrinsics():
  truth = _hands(2, 1.0, seed=0)
  with pytest.raises(ValueError, match="intrinsics"):
    evaluate.evaluate_keypoints(truth, truth, "hand21", depth=np.zeros((2, 8, 8)))
  result = evaluate.evaluate_keypoints(truth, truth, "hand21", depth=np.zeros((2, 8, 8)),
                                       intrinsics=[10.0, 10.0, 3.5, 3.5])
  assert result["mdpc_frames_without_depth"] == 2


def test_layout_and_ids_must_match_the_arrays():
  with pytest.raises(ValueError, match="14 keypoints of layout 'nyu14'"):
    evaluate.evaluate_keypoints(np.zeros((2, 21, 3)), np.zeros((2, 21, 3)), "nyu14")
  with pytest.raises(ValueError, match=r"datasets must have shape \[2\]"):
    evaluate.evaluate_keypoints(np.zeros((2, 14, 3)), np.zeros((2, 14, 3)), "nyu14",
                                datasets=np.zeros(3, int))


def test_write_report(tmp_path):
  truth = np.concatenate([_hands(2, 1.0, seed=2), _hands(2, 1.2, seed=3)])
  results = {"ours": evaluate.evaluate_keypoints(truth + 3.0, truth, "hand21",
                                                 subjects=np.array([0, 0, 1, 1])),
             "exact": evaluate.evaluate_keypoints(truth, truth, "hand21")}
  paths = evaluate.write_report(tmp_path / "out", results, "hand21", "synthetic")
  assert json.loads(paths["json"].read_text()) == results
  markdown = paths["markdown"].read_text()
  assert "| ours | 5.196 | 5.196 | 5.196 | 100.00 |" in markdown
  assert "## Per subject" in markdown and "## Bone-length consistency" in markdown
  assert paths["frame_fractions"].stat().st_size > 0
  assert paths["per_joint"].stat().st_size > 0


def test_parse_named_paths():
  assert evaluate.parse_named_paths(["a=x.txt", "DeepPrior++=d/y=1.txt"]) == {
      "a": "x.txt", "DeepPrior++": "d/y=1.txt"}
  with pytest.raises(ValueError, match="expected NAME=FILE"):
    evaluate.parse_named_paths(["x.txt"])
  with pytest.raises(ValueError, match="given twice"):
    evaluate.parse_named_paths(["a=x.txt", "a=y.txt"])


def test_prediction_files(tmp_path):
  rng = np.random.default_rng(4)
  labels = np.concatenate([rng.uniform(200, 400, (5, 14, 2)), rng.uniform(600, 800, (5, 14, 1))],
                          axis=-1)
  community_format.write_uvd(tmp_path / "labels.txt", labels)
  shifted = labels + [0.0, 0.0, 7.0]
  community_format.write_uvd(tmp_path / "shifted.txt", shifted)
  community_format.write_uvd(tmp_path / "short.txt", shifted[:4])
  results = evaluate.evaluate_prediction_files(
      "nyu", tmp_path / "labels.txt", {"shifted": tmp_path / "shifted.txt"}, tmp_path / "out")
  # A depth offset moves x and y too (they scale with d), so the error exceeds 7 mm.
  truth = community_format.uvd_to_camera(labels, nyu.INTRINSICS)
  moved = community_format.uvd_to_camera(shifted, nyu.INTRINSICS)
  expected = np.linalg.norm(moved - truth, axis=-1)
  assert results["shifted"]["nyu14_mean_mm"] == pytest.approx(expected.mean(), abs=1e-6)
  assert results["shifted"]["match11_mean_mm"] == pytest.approx(expected[:, :11].mean(),
                                                                abs=1e-6)
  assert "per_subject" not in results["shifted"]
  with pytest.raises(ValueError, match="hold 4 frames, the labels 5"):
    evaluate.evaluate_prediction_files("nyu", tmp_path / "labels.txt",
                                       {"short": tmp_path / "short.txt"}, tmp_path / "out")
  with pytest.raises(ValueError, match="dataset must be one of"):
    evaluate.evaluate_prediction_files("icvl", tmp_path / "labels.txt", {}, tmp_path / "out")


def test_nyu_subjects_split_the_full_test_set():
  subjects = evaluate.DATASETS["nyu"].subjects(8252)
  assert np.sum(subjects == 0) == 2440 and np.sum(subjects == 1) == 5812
  assert subjects[2439] == 0 and subjects[2440] == 1
  assert evaluate.DATASETS["nyu"].subjects(100) is None
