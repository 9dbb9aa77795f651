"""bench/accuracy.py: its report's numbers on known predictions, and the command end to end."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from handvol.hand import bone_lengths
from handvol.hand import kinematics

ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ["--set=data.batch_size=4", "--set=data.max_gaussians=256",
        "--set=data.train.0.num_frames=8", "--set=data.validation.num_frames=4",
        "--set=data.test.num_frames=4", "--set=model.encoder_width=4",
        "--set=model.blocks_per_stage=(1, 1, 1, 1)", "--set=model.head.rotation=6d",
        "--set=train.epochs=1", "--set=train.steps_per_epoch=2", "--set=train.warmup_steps=1",
        "--set=train.images_every_epochs=1", "--set=train.num_images=2", "--set=train.verbose=2"]



def _hands(rotations):
  theta = np.zeros([len(rotations), 26], np.float32)
  theta[:, 2] = 500.0
  theta[:, 3:6] = rotations
  lengths = np.repeat(bone_lengths.default_bone_model().mean[None], len(rotations), 0)
  return kinematics.forward_kinematics(theta, lengths.astype(np.float32))["keypoints"].numpy()


def test_orientation_report_of_known_predictions(bench_script):
  bench = bench_script("accuracy")
  # Rolls 0°, 90°, 180° (palm), and a back view.
  truth = _hands([[0, 0, 0], [0, 0, np.pi / 2], [0, 0, np.pi], [0, np.pi, 0]])
  offset = np.zeros_like(truth)
  offset[:, :, 0] = 10.0
  offset[2] = [0.0, 30.0, 0.0]  # The 180° frame is off by 30 mm, the others by 10 mm.
  report = bench.orientation_report(truth + offset, truth)
  assert report["roll_bins_mm"] == pytest.approx({"0-60": 10.0, "60-120": 10.0, "120-180": 30.0})
  assert report["worst_roll_bin_ratio"] == pytest.approx(3.0)
  assert report["roll_bin_frames"] == {"0-60": 2, "60-120": 1, "120-180": 1}
  assert report["view_frames"] == {"palm": 3, "side": 0, "back": 1}
  assert report["all21_mm"] == pytest.approx(15.0)
  assert report["palm_flipped_pct"] == 0.0
  # Pure offsets: nothing is left once they are taken out.
  assert report["all21_mm_translation_aligned"] == pytest.approx(0.0, abs=1e-4)
  assert report["all21_mm_rigid_aligned"] == pytest.approx(0.0, abs=1e-4)
  # The offsets are sideways except the 180° frame's (30 mm along y): no depth bias.
  assert report["depth_bias_mm"] == pytest.approx({"wrist": 0.0, "finger_bases": 0.0,
                                                   "tips": 0.0}, abs=1e-4)
  assert report["per_keypoint_mm"]["wrist"] == pytest.approx(15.0)
  assert len(report["per_keypoint_mm"]) == 21
  nearer = truth.copy()
  nearer[:, [4, 8, 12, 16, 20], 2] -= 6.0  # the tips 6 mm in front of the truth
  nearer[:, 0, 2] += 2.0  # the wrist 2 mm behind it
  bias = bench.orientation_report(nearer, truth)["depth_bias_mm"]
  assert bias == pytest.approx({"wrist": 2.0, "finger_bases": 0.0, "tips": -6.0}, abs=1e-4)
  # The truth's back view predicted as a palm view: flipped.
  flipped = bench.orientation_report(_hands([[0, 0, 0], [0, 0, 0]]),
                                     _hands([[0, 0, 0], [0, np.pi, 0]]))
  assert flipped["palm_flipped_pct"] == 50.0


def test_the_generator_test_set_of_a_scenes_run_is_the_default_split(bench_script):
  bench = bench_script("accuracy")
  from handvol import configs  # pylint: disable=import-outside-toplevel
  own = bench.generator_test_entry(configs.load("sphere")["data"], "sphere", 16)
  assert own == dict(configs.load("sphere")["data"]["test"], num_frames=16)
  scenes = bench.generator_test_entry(configs.load("scenes")["data"], "sphere", 16,
                                      "unseen_test")
  assert scenes == dict(configs.load("default")["data"]["test"], views="sphere",
                        num_frames=16, subjects="unseen_test")


@pytest.mark.slow
def test_command_prints_both_test_sets(tmp_path):
  run = subprocess.run([sys.executable, "train.py", f"--workdir={tmp_path / 'run'}", *TINY],
                       cwd=ROOT, capture_output=True, text=True, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  folder = tmp_path / "independent"
  subprocess.run([sys.executable, "-m", "handvol.data.synthetic", f"--out={folder}",
                  "--frames=6", "--format=capture", "--labels=all21_3d", "--views=sphere"],
                 cwd=ROOT, capture_output=True, check=True)
  bench = subprocess.run([sys.executable, "bench/accuracy.py", f"--workdir={tmp_path / 'run'}",
                          f"--independent={folder}", "--generator_frames=6"],
                         cwd=ROOT, capture_output=True, text=True, check=False)
  assert bench.returncode == 0, bench.stderr[-3000:]
  result = json.loads(bench.stdout.strip().splitlines()[-1])
  for key in ("all21_mm", "all21_mm_independent", "worst_roll_bin_ratio", "palm_flipped_pct"):
    assert np.isfinite(result[key]), key
  assert result["generator"]["frames"] == 6 and result["independent"]["frames"] == 6
  assert "independent renderer (6 frames): All-21" in bench.stdout
