"""Synthetic frames written in the datasets' formats read back through the real readers."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data import records
from handvol.data.synthetic import export
from handvol.data.synthetic import generator

CONFIG = generator.SyntheticConfig(batch_size=4)
NUM_FRAMES = 5


def _truth(out_dir):
  with np.load(out_dir / export.TRUTH_FILE) as data:
    return data["truth_xyz"], data["subject"]


def _generated(fmt, label_mode, seed=0):
  config = dataclasses.replace(CONFIG, intrinsics=export.FORMAT_INTRINSICS[fmt])
  return list(generator.generate(NUM_FRAMES, "handid_like", label_mode, seed, config))


def test_nyu_round_trip(tmp_path):
  written = export.write_dataset(str(tmp_path), NUM_FRAMES, "nyu", "handid_like",
                                 config=CONFIG, progress=False)
  assert written == NUM_FRAMES
  expected = _generated("nyu", "all21_3d")
  frames = list(nyu.read_frames(str(tmp_path), "train"))
  truth, subjects = _truth(tmp_path)
  assert len(frames) == NUM_FRAMES
  for frame, record, true_xyz in zip(frames, expected, truth):
    np.testing.assert_allclose(frame["truth_xyz"], record["truth_xyz"], atol=1e-3)
    np.testing.assert_allclose(true_xyz, record["truth_xyz"], atol=1e-6)
    # Whole-mm depth survives the PNG exactly.
    np.testing.assert_array_equal(frame["depth"], np.round(record["depth"]))
  np.testing.assert_array_equal(subjects, [r["subject"] for r in expected])


def test_hands2017_holds_the_wrong_labels_and_the_truth_file_the_truth(tmp_path):
  export.write_dataset(str(tmp_path), NUM_FRAMES, "hands2017", "handid_like", config=CONFIG,
                       progress=False)
  expected = _generated("hands2017", "him_wrong_3d")
  frames = list(hands2017.read_frames(str(tmp_path)))
  truth, _ = _truth(tmp_path)
  for frame, record, true_xyz in zip(frames, expected, truth):
    np.testing.assert_allclose(frame["truth_xyz"], record["xyz"], atol=1e-4)
    np.testing.assert_allclose(true_xyz, record["truth_xyz"], atol=1e-6)
    np.testing.assert_array_equal(frame["depth"], np.round(record["depth"]))
    np.testing.assert_allclose(frame["intrinsics"], hands2017.INTRINSICS, rtol=1e-6)


def test_capture_round_trip_keeps_the_clicks_and_visibility(tmp_path):
  export.write_dataset(str(tmp_path), NUM_FRAMES, "capture", "handid_like", config=CONFIG,
                       progress=False)
  expected = _generated("capture", "lab6_2d")
  frames = list(capture.read_frames(str(tmp_path)))
  for frame, record in zip(frames, expected):
    records.validate_record(frame)
    np.testing.assert_array_equal(frame["kind"], record["kind"])
    np.testing.assert_allclose(frame["uv"], record["uv"], atol=1e-4)
    np.testing.assert_array_equal(frame["visible"], record["visible"])
    assert frame["subject"] == record["subject"]


def test_command_line_writes_the_format(tmp_path):
  command = [sys.executable, "-m", "handvol.data.synthetic", f"--out={tmp_path}", "--frames=2",
             "--format=capture", "--seed=3", "--subjects=unseen_test", "--views=sphere"]
  done = subprocess.run(command, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  assert "wrote 2 frames" in done.stdout
  frames = list(capture.read_frames(str(tmp_path)))
  assert len(frames) == 2
  bad = subprocess.run(command[:-4] + ["--format=png"], capture_output=True, text=True,
                       check=False)
  assert bad.returncode != 0
  assert "--format" in bad.stderr and "png" in bad.stderr