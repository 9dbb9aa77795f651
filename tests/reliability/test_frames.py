"""Bad frames: skipped and counted in training within a budget, a clear stop above it; every
test frame scored; files and fields named."""

import json

import numpy as np
import pytest

from handvol.data import capture
from handvol.data import nyu
from handvol.data import records
from handvol.training import input_pipeline


def _capture_folder(folder, make_records, bad_frame=3):
  """Eight capture frames, the depth PNG of `bad_frame` truncated; returns its path."""
  capture.write_frames(folder, make_records(8, "capture"))
  bad = folder / capture.DEPTH_DIR / f"{bad_frame:06d}.png"
  bad.write_bytes(bad.read_bytes()[:80])
  return bad


def _capture_source(folder):
  return f"data.train=[{{'source': 'capture', 'args': {{'root': '{folder}'}}, 'ratio': 1}}]"


def test_bad_training_frames_within_the_budget_are_skipped_and_counted(tmp_path, make_records,
                                                                        tools):
  bad = _capture_folder(tmp_path / "captures", make_records)
  config = tools.tiny_config(_capture_source(tmp_path / "captures"),
                             "data.max_skipped_fraction=0.2")
  logs = {}
  datasets = input_pipeline.build_datasets(config["data"], 4, seed=0, skip_logs=logs)
  batches = list(datasets.train.take(3))  # Past a whole pass of the 7 good frames.
  assert [int(b["depth_input"].shape[0]) for b in batches] == [4, 4, 4]
  log = logs["data.train.0"]
  assert log.count == 1 and log.frames == [3] and log.skipped >= 1
  assert log.entries[0].startswith(f"{tmp_path / 'captures' / capture.ANNOTATION_FILE}: frame 3 "
                                   f"(depth/000003.png): {bad}: not a readable PNG")


def test_bad_training_frames_over_the_budget_stop_train_py_cleanly(tmp_path, make_records,
                                                                  tools):
  bad = _capture_folder(tmp_path / "captures", make_records)
  workdir = tmp_path / "run"
  run = tools.run(tools.train_command(workdir, _capture_source(tmp_path / "captures")),
                  tmp_path)
  assert run.returncode == 1, run.stderr[-3000:]  # Not 134 (abort) nor a hang.
  message = tools.last_line(run.stderr)
  assert message.startswith("train.py: error: data.train.0: 1 of 8 frames read are bad, over "
                            "the budget data.max_skipped_fraction=0.01 (first: ")
  assert f"{bad}: not a readable PNG" in message
  assert "Traceback" not in run.stderr
  skip_log = (workdir / "skip_log.txt").read_text()
  assert skip_log.startswith("data.train.0: 1 bad frame(s) skipped\n") and str(bad) in skip_log


def _nyu_test_folder(root, make_records):
  """Six NYU test frames: frame 2's thumb tip projects left of the image, frame 4's PNG is
  truncated. Returns the truncated file."""
  frames = make_records(6, "nyu", intrinsics=nyu.INTRINSICS, shape=(480, 640))
  tip = frames[2]["truth_xyz"][4]
  tip[0] = (-40.0 - nyu.INTRINSICS[2]) * tip[2] / nyu.INTRINSICS[0]  # u = −40 px.
  nyu.write_frames(root, frames, split="test")
  bad = root / "test" / "depth_1_0000005.png"
  bad.write_bytes(bad.read_bytes()[:100])
  return bad


def test_eval_workdir_on_nyu_scores_off_image_frames_and_reports_failed_ones(
    trained_run, tmp_path, make_records, tools):
  bad = _nyu_test_folder(tmp_path / "nyu", make_records)
  out = tmp_path / "eval"
  test_split = f"{{'source': 'nyu', 'args': {{'root': '{tmp_path / 'nyu'}', 'split': 'test'}}}}"
  run = tools.run([tools.repo_root / "eval.py",
                   f"--workdir={trained_run}", f"--out={out}", f"--set=data.test={test_split}"],
                  tmp_path)
  assert run.returncode == 1, run.stderr[-3000:]
  assert f"failed: {bad} (frame 4): {bad}: not a readable PNG" in run.stdout
  assert "1 of 6 frames failed and are not in the metrics" in run.stdout
  summary = [line for line in run.stdout.splitlines() if line.startswith("handvol on the test")]
  assert summary and "NYU-14" in summary[0] and "Match-11" in summary[0], run.stdout[-2000:]
  metrics = json.loads((out / "metrics.json").read_text())["handvol"]
  assert metrics["num_frames"] == 5  # The off-image frame 2 is scored.
  nyu14 = json.loads((out / "nyu14" / "metrics.json").read_text())["handvol"]
  assert nyu14["num_frames"] == 5 and nyu14["match11_mean_mm"] > 0
  assert (out / "failed_frames.txt").read_text().count("depth_1_0000005.png") >= 1
  assert tools.last_line(run.stderr).startswith("eval.py: 1 frame(s) failed")


def test_training_skips_the_off_image_frame_the_test_split_keeps(tmp_path, make_records):
  _nyu_test_folder(tmp_path / "nyu", make_records)
  train_log, test_log = records.SkipLog(), records.SkipLog(allow_off_image=True)
  args = {"root": str(tmp_path / "nyu"), "split": "test"}
  assert len(list(nyu.read_frames(**args, skip_log=train_log))) == 4
  assert len(list(nyu.read_frames(**args, skip_log=test_log))) == 5
  assert train_log.frames == [2, 4] and test_log.frames == [4]
  assert "(frame 2): keypoints [4] lie outside the 640×480 image" in train_log.entries[0]


def test_a_truncated_joint_data_mat_is_named(tmp_path, make_records):
  nyu.write_frames(tmp_path, make_records(2, "nyu", intrinsics=nyu.INTRINSICS), split="test")
  mat = tmp_path / "test" / "joint_data.mat"
  mat.write_bytes(mat.read_bytes()[:300])
  with pytest.raises(records.FrameError,
                     match=rf"^{mat}: not a readable MATLAB file, truncated or corrupt"):
    list(nyu.read_frames(tmp_path, "test"))


@pytest.mark.parametrize("field, value, message", [
    ("uv", "12, 30", "keypoint 'wrist' 'uv' must be a list of 2 numbers, got '12, 30'"),
    ("uv", [12, "a"], "keypoint 'wrist' 'uv' must be a list of 2 numbers, got [12, 'a']"),
    ("keypoints", ["wrist"], "'keypoints' must be an object name → label, got ['wrist']"),
    ("center_uvd", [30.0, 20.0, float("nan")], "center_uvd must be finite"),
    ("center_uvd", "middle", "'center_uvd' must be a list of 3 numbers, got 'middle'"),
    ("subject", "3", "'subject' must be an integer, got '3'"),
    ("xyz", [1e21, 1e21, 1e21], "a 3D label lies farther than 10000 mm"),  # Labels ×1e20.
])
def test_a_capture_field_of_the_wrong_kind_is_named(tmp_path, make_records, field, value,
                                                   message):
  capture.write_frames(tmp_path, make_records(2, "capture"))
  path = tmp_path / capture.ANNOTATION_FILE
  meta = json.loads(path.read_text())
  entry = meta["frames"][1]
  if field in ("uv", "xyz"):
    entry["keypoints"]["wrist"][field] = value
  else:
    entry[field] = value
  path.write_text(json.dumps(meta))
  with pytest.raises(records.FrameError) as error:
    list(capture.read_frames(tmp_path))
  assert str(error.value).startswith(f"{path}: frame 1 (depth/000001.png): ")
  assert message in str(error.value)
