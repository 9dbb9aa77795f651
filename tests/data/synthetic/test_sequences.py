"""Synthetic sequences: continuous motion within its speed limits, one shape, every format."""

import dataclasses

import numpy as np
import pytest

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data.synthetic import export
from handvol.data.synthetic import generator
from handvol.data.synthetic import sequences
from handvol.data.synthetic import subjects
from handvol.evaluation import metrics

CONFIG = generator.SyntheticConfig(batch_size=4, height=120, width=160,
                                   intrinsics=(147.0, 147.0, 80.0, 60.0))
MOTION = sequences.SequenceConfig(fast_prob=0.3)


def test_motion_keeps_every_channel_within_its_speed_limit():
  motion = sequences.sample_motion(300, CONFIG, MOTION, np.random.default_rng(0))
  dt = 1.0 / MOTION.fps
  fast = MOTION.fast_factor
  steps = np.abs(np.diff(motion["articulations"], axis=0))
  assert steps.max() <= MOTION.speeds.articulation * fast * dt + 1e-9
  assert np.linalg.norm(np.diff(motion["centres"], axis=0), axis=-1).max() <= (
      MOTION.speeds.translation_mm * fast * dt + 1e-6)
  relative = np.einsum("fji,fjk->fik", motion["rotations"][:-1], motion["rotations"][1:])
  angles = np.arccos(np.clip((np.trace(relative, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0))
  assert angles.max() <= np.radians(MOTION.speeds.rotation_deg) * fast * dt + 1e-6
  # It moves: a normal move reaches its limit at its peak, and there are fast moves.
  assert steps.max() > MOTION.speeds.articulation * dt
  assert np.ptp(motion["centres"], axis=0).max() > 50.0
  np.testing.assert_allclose(motion["time_s"], np.arange(300) * dt)


def test_slow_limits_mean_small_steps():
  slow = dataclasses.replace(MOTION, speeds=sequences.SpeedLimits(articulation=0.3),
                             fast_prob=0.0)
  motion = sequences.sample_motion(100, CONFIG, slow, np.random.default_rng(1))
  assert np.abs(np.diff(motion["articulations"], axis=0)).max() <= 0.3 / slow.fps + 1e-9


def test_a_sequence_is_one_hand_moving_smoothly_and_reproducibly():
  subject = subjects.make_subject(8)
  frames = list(sequences.generate_sequence(12, subject, seed=3, index=1, config=CONFIG))
  again = list(sequences.generate_sequence(12, subject, seed=3, index=1, config=CONFIG))
  other = list(sequences.generate_sequence(12, subject, seed=3, index=2, config=CONFIG))
  truth = np.stack([f["truth_xyz"] for f in frames])
  np.testing.assert_array_equal(truth, np.stack([f["truth_xyz"] for f in again]))
  assert not np.allclose(truth, np.stack([f["truth_xyz"] for f in other]))
  lengths = metrics.bone_lengths(truth)
  np.testing.assert_allclose(lengths, np.tile(subject.lengths, (12, 1)), atol=1e-6)
  assert {f["subject"] for f in frames} == {8}
  assert [f["sequence"] for f in frames] == [1] * 12
  # Joints move by at most what rotation, translation and articulation allow in a frame.
  assert np.linalg.norm(np.diff(truth, axis=0), axis=-1).max() < 40.0
  assert all(np.count_nonzero(f["depth"]) > 100 for f in frames)


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_sequences_in_every_format_with_truth_and_times(tmp_path, fmt):
  folders = export.write_sequences(str(tmp_path), 2, 5, fmt, "unseen_test", seed=4,
                                   config=generator.SyntheticConfig(batch_size=4),
                                   progress=False)
  assert [p.rsplit("/", 1)[1] for p in folders] == ["sequence_000", "sequence_001"]
  for index, folder in enumerate(folders):
    with np.load(f"{folder}/{export.TRUTH_FILE}") as truth:
      subject = subjects.make_subject(truth["subject"][0])
      assert set(truth["subject"]) == {subjects.SUBJECT_SETS["unseen_test"][index]}
      np.testing.assert_allclose(truth["bone_lengths"], subject.lengths, rtol=1e-6)
      np.testing.assert_allclose(truth["time_s"], np.arange(5) / MOTION.fps)
      assert truth["theta"].shape == (5, 26)
      truth_xyz = truth["truth_xyz"]
    lines = open(f"{folder}/{export.TIMESTAMPS_FILE}", encoding="utf-8").read().split("\n")
    names = [line.split(" ")[0] for line in lines if line]
    assert names == [f"{export.FRAME_DIRS[fmt]}/{n.rsplit('/', 1)[1]}"
                     for n in export.frame_files(folder, fmt)]
    if fmt == "nyu":
      read = list(nyu.read_frames(folder, "train"))
    elif fmt == "hands2017":
      read = list(hands2017.read_frames(folder))
    else:
      read = list(capture.read_frames(folder))
    assert len(read) == 5
    if fmt == "nyu":
      np.testing.assert_allclose(np.stack([r["truth_xyz"] for r in read]), truth_xyz,
                                 atol=1e-3)
