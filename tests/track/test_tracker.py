"""The tracking pipeline and `python -m handvol.track` on a short synthetic sequence."""

import os
import subprocess
import sys

import numpy as np
import pytest

from handvol import configs
from handvol.data.synthetic import export
from handvol.data.synthetic import generator
from handvol.data.synthetic import sequences
from handvol.evaluation import metrics
from handvol.export import serving
from handvol.geometry import camera
from handvol.track import shape as shape_lib
from handvol.track import sources
from handvol.track import tracker as tracker_lib
from handvol.track import writers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = 5
NUM_FRAMES = 8
FORMAT = "capture"


@pytest.fixture(scope="module")
def sequence_folder(tmp_path_factory):
  """A capture-format sequence of `NUM_FRAMES` frames of one held-out subject."""
  out = tmp_path_factory.mktemp("sequences")
  config = generator.SyntheticConfig(batch_size=NUM_FRAMES)
  return export.write_sequences(str(out), 1, NUM_FRAMES, FORMAT, "unseen_test", seed=SEED,
                                config=config, progress=False)[0]


def track_config(method="none", kind="none", frames=4, steps=5, reference="localize"):
  """A `track` section with the given calibration, filter and reference point."""
  return {"reference": reference, "fps": sequences.SequenceConfig.fps,
          "filter": {"kind": kind, "min_cutoff_hz": 1.0, "beta": 0.0, "d_cutoff_hz": 1.0},
          "calibration": {"method": method, "frames": frames, "steps": steps,
                          "learning_rate": 0.01}}


def _frames(folder):
  files = sources.read_timestamps(os.path.join(folder, export.TIMESTAMPS_FILE))
  return list(sources.folder_frames(files, export.FORMAT_INTRINSICS[FORMAT]))


def _track(predictor, folder, **kwargs):
  shape = kwargs.pop("shape", None)
  tracker = tracker_lib.Tracker(predictor, track_config(**kwargs), shape)
  return tracker, tracker_lib.track(_frames(folder), tracker, verbose=0)


def test_calibrated_bone_lengths_are_constant_and_held_frames_come_back(predictor,
                                                                        sequence_folder):
  _, raw = _track(predictor, sequence_folder)
  tracker, calibrated = _track(predictor, sequence_folder, method="robust_mean", frames=5)
  assert [r["name"] for r in calibrated] == [r["name"] for r in raw]
  assert all(r["valid"] and r["calibrated"] for r in calibrated)
  assert tracker.shape.frames == 5 and tracker.shape.method == "robust_mean"
  lengths = metrics.bone_lengths(np.stack([r["joints_xyz"] for r in calibrated]))
  np.testing.assert_allclose(lengths, np.tile(tracker.shape.bone_lengths, (NUM_FRAMES, 1)),
                             atol=1e-3)
  raw_lengths = metrics.bone_lengths(np.stack([r["joints_xyz"] for r in raw]))
  assert raw_lengths.std(axis=0).max() > 1e-2  # the network's own shape varies
  np.testing.assert_allclose(calibrated[0]["raw_joints_xyz"], raw[0]["joints_xyz"], atol=1e-4)


def test_the_filter_smooths_and_a_single_frame_passes(predictor, sequence_folder):
  _, raw = _track(predictor, sequence_folder)
  _, filtered = _track(predictor, sequence_folder, kind="one_euro")
  joints = {name: np.stack([r["joints_xyz"] for r in results])
            for name, results in (("raw", raw), ("filtered", filtered))}
  assert metrics.jitter(joints["filtered"]) < 0.7 * metrics.jitter(joints["raw"])
  np.testing.assert_allclose(joints["filtered"][0], joints["raw"][0], atol=1e-5)
  single = tracker_lib.Tracker(predictor, track_config(kind="one_euro"))
  frame = _frames(sequence_folder)[3]
  result = single.push(frame.name, frame.time_s, frame.depth, frame.intrinsics)[0]
  np.testing.assert_allclose(result["joints_xyz"], raw[3]["joints_xyz"], atol=1e-5)


def test_fit_calibration_runs_on_the_held_frames(predictor, sequence_folder):
  tracker, results = _track(predictor, sequence_folder, method="fit", frames=3, steps=2)
  assert tracker.shape.method == "fit" and tracker.shape.frames == 3
  assert np.all(np.isfinite(tracker.shape.beta)) and all(r["calibrated"] for r in results)


def test_fit_calibration_uses_the_config_s_bone_weight(predictor, sequence_folder,
                                                       monkeypatch):
  weights = []

  def recording(*args):  # the plumbing only: the fit itself is tested in test_shape.py
    weights.append(args[5])
    return shape_lib.shape_from_beta(np.zeros_like(args[2][0]), "fit", len(args[1]))

  monkeypatch.setattr(shape_lib, "fit_shape", recording)
  config = track_config(method="fit", frames=2, steps=1)
  config["calibration"]["bone_weight"] = 0.25
  tracker_lib.track(_frames(sequence_folder)[:2], tracker_lib.Tracker(predictor, config),
                    verbose=0)
  del config["calibration"]["bone_weight"]  # hand-written sections without it: the default
  tracker_lib.track(_frames(sequence_folder)[:2], tracker_lib.Tracker(predictor, config),
                    verbose=0)
  assert weights == [0.25, shape_lib.ENERGY_WEIGHTS["bone"]]


def test_timestamps_order_the_frames(tmp_path, sequence_folder):
  lines = open(os.path.join(sequence_folder, export.TIMESTAMPS_FILE)).read().splitlines()
  shuffled = tmp_path / "times.txt"
  shuffled.write_text("# name seconds\n" + "\n".join(
      f"{os.path.join(sequence_folder, line.split()[0])} {10.0 - float(line.split()[1])}"
      for line in lines[::-1]) + "\n")
  files = sources.read_timestamps(str(shuffled))
  assert [os.path.basename(p) for p, _ in files] == [
      os.path.basename(p) for p in export.frame_files(sequence_folder, FORMAT)][::-1]
  assert [t for _, t in files] == sorted(t for _, t in files)
  shuffled.write_text("a.png 1.0\nb.png 1.0\n")
  with pytest.raises(ValueError, match="same time"):
    sources.read_timestamps(str(shuffled))
  shuffled.write_text("a.png one\n")
  with pytest.raises(ValueError, match=":1:"):
    sources.read_timestamps(str(shuffled))


def test_the_track_section_is_checked():
  config = configs.load("default")
  configs.validate(config, tracker_lib.CONFIG_CHOICES)
  for setting, message in (("track.filter.kind=kalman", "one_euro"),
                           ("track.fps=0.0", "> 0"),
                           ("track.calibration.method=median", "robust_mean"),
                           ("track.calibration.frames=0", "≥ 1")):
    with pytest.raises(configs.ConfigError, match=message):
      configs.validate(configs.override(config, [setting]), tracker_lib.CONFIG_CHOICES)


def _run_track(*arguments):
  return subprocess.run([sys.executable, "-m", "handvol.track", *arguments], cwd=REPO,
                        capture_output=True, text=True, timeout=300, check=False)


def test_command_writes_joints_video_and_a_reusable_shape(tmp_path, checkpoint, predictor,
                                                          sequence_folder):
  first = _run_track(
      f"--model={checkpoint}", f"--frames={sequence_folder}/{export.FRAME_DIRS[FORMAT]}",
      f"--intrinsics={','.join(str(x) for x in export.FORMAT_INTRINSICS[FORMAT])}",
      "--set=track.calibration.method=robust_mean", "--set=track.calibration.frames=4",
      f"--output={tmp_path}/a.jsonl", f"--video={tmp_path}/a.mp4",
      f"--save_shape={tmp_path}/shape.json",
      f"--timestamps={sequence_folder}/{export.TIMESTAMPS_FILE}")
  assert first.returncode == 0, first.stderr[-2000:]
  # The saved shape, held from the first frame, gives the same joints as the calibrated run.
  shape = shape_lib.load(str(tmp_path / "shape.json"))
  config = configs.load("default")["track"]
  writer = writers.JointsWriter(str(tmp_path / "b.csv"))
  tracker_lib.track(_frames(sequence_folder), tracker_lib.Tracker(predictor, config, shape),
                    writer, verbose=0)
  writer.close()
  jsonl = writers.read_joints(str(tmp_path / "a.jsonl"))
  csv = writers.read_joints(str(tmp_path / "b.csv"))
  assert [f["frame"] for f in jsonl] == [f["frame"] for f in csv] == [
      os.path.basename(p) for p in export.frame_files(sequence_folder, FORMAT)]
  np.testing.assert_allclose([f["time_s"] for f in jsonl], np.arange(NUM_FRAMES) / 30.0,
                             atol=1e-6)
  np.testing.assert_allclose(np.stack([f["joints_xyz"] for f in csv]),
                             np.stack([f["joints_xyz"] for f in jsonl]), atol=2e-3)
  np.testing.assert_allclose(metrics.bone_lengths(np.stack([f["joints_xyz"] for f in csv])),
                             np.tile(shape.bone_lengths, (NUM_FRAMES, 1)), atol=0.02)
  import cv2  # pylint: disable=import-outside-toplevel
  video = cv2.VideoCapture(str(tmp_path / "a.mp4"))
  assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == NUM_FRAMES
  with pytest.raises(ValueError, match="jsonl"):
    writers.JointsWriter(str(tmp_path / "c.txt"))



def test_follow_refines_the_last_point_and_localises_when_it_is_lost(predictor, sequence_folder):
  _, followed = _track(predictor, sequence_folder, reference="follow")
  assert [r["reference_source"] for r in followed] == (
      ["localizer"] + [tracker_lib.FOLLOWED] * (NUM_FRAMES - 1))
  with np.load(os.path.join(sequence_folder, export.TRUTH_FILE)) as truth:
    centres = truth["truth_xyz"].mean(axis=1)
  references = camera.uvd_to_xyz(np.stack([r["reference_uvd"] for r in followed]),
                                 np.stack([r["intrinsics"] for r in followed])).numpy()
  # The hand stays put in this sequence: the followed points stay on it, within 45 mm of its
  # centre, and on average no farther than the first frame's localised point but for the
  # refiner's frame-to-frame noise (±5 mm): following does not drift.
  errors = np.linalg.norm(references - centres, axis=1)
  assert errors[1:].mean() <= errors[0] + 5.0 and errors[1:].max() < 45.0, errors
  # A last point in empty space, 3 m away: the refiner sees no hand there, and the frame is
  # localised as if there were none.
  frame = _frames(sequence_folder)[2]
  lost = predictor(frame.depth, frame.intrinsics, previous_xyz=np.array([0.0, 0.0, 3000.0]))
  fresh = predictor(frame.depth, frame.intrinsics)
  assert int(lost["reference_source"]) == serving.SOURCE_LOCALIZER
  np.testing.assert_allclose(lost["joints_xyz"], fresh["joints_xyz"], atol=1e-4)
