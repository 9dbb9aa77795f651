"""eval.py --workdir: a (tiny) trained run evaluated with every 21-keypoint protocol."""

import json
import pathlib
import subprocess
import sys

import pytest

from handvol import configs
from handvol import training

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
TINY = ("data.batch_size=4", "data.max_gaussians=256", "data.train.0.num_frames=8",
        "data.validation.num_frames=4", "data.test.num_frames=4", "model.encoder_width=4",
        "model.blocks_per_stage=(1, 1, 1, 1)", "train.epochs=1", "train.steps_per_epoch=2",
        "train.warmup_steps=1", "train.num_images=2", "train.verbose=0")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("run")
  training.train_and_evaluate(configs.override(configs.load("default"), TINY), str(workdir))
  return workdir


@pytest.mark.slow
def test_eval_script_reports_every_protocol_with_figures(tiny_run, tmp_path):
  out = tmp_path / "eval"
  run = subprocess.run(
      [sys.executable, str(REPO_ROOT / "eval.py"), f"--workdir={tiny_run}", f"--out={out}",
       "--set=data.test.subjects='unseen_test'", "--set=data.test.num_frames=8"],
      cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  metrics = json.loads((out / "metrics.json").read_text())["handvol"]
  assert metrics["num_frames"] == 8
  for key in ("all21_mean_mm", "lab6_mean_mm", "unlab15_mean_mm", "mdpc_median_mm",
              "mdpc_mean_mm"):
    assert metrics[key] > 0.0, key
  assert sorted(metrics["bone_length_f1"]) == ["8", "9"]  # The two unseen test subjects.
  assert len(metrics["frac_max_le_mm"]) == 81
  for name in ("metrics.md", "frame_fractions.png", "per_joint_errors.png", "qualitative.png"):
    assert (out / name).stat().st_size > 0, name


def test_eval_script_modes(tmp_path):
  """No mode: the shipped pretrained model on its run's test frames; half a file mode: an
  error that names the modes."""
  run = subprocess.run([sys.executable, str(REPO_ROOT / "eval.py"), f"--out={tmp_path}",
                        "--set=data.test.num_frames=8"],
                       cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert run.returncode == 0, run.stderr[-3000:]
  assert "shipped pretrained model" in run.stdout
  with open(tmp_path / "metrics.json", encoding="utf-8") as f:
    assert "pretrained" in json.dumps(json.load(f))
  run = subprocess.run([sys.executable, str(REPO_ROOT / "eval.py"), f"--out={tmp_path}",
                        f"--labels={tmp_path / 'labels.txt'}"],
                       cwd=REPO_ROOT, capture_output=True, text=True, check=False)
  assert run.returncode != 0
  assert "give --workdir, or --labels and --predictions" in run.stderr
