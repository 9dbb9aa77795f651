"""`train.py` end to end: a tiny run is SIGKILLed mid-training, and rerunning the same command
resumes from the last finished epoch and writes the summary."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
EPOCHS = 12
TINY_CONFIG = f"""
from handvol.configs import default


def get_config():
  config = default.get_config()
  data = config["data"]
  data["batch_size"] = 4
  data["max_gaussians"] = 256
  data["train"][0]["num_frames"] = 8
  data["validation"]["num_frames"] = 4
  data["test"]["num_frames"] = 4
  config["model"]["encoder_width"] = 4
  config["model"]["blocks_per_stage"] = (1, 1, 1, 1)
  config["train"].update(epochs={EPOCHS}, steps_per_epoch=2, warmup_steps=1,
                         images_every_epochs=1, num_images=2, verbose=2)
  return config
"""


def _command(config_path, workdir):
  return [sys.executable, str(REPO_ROOT / "train.py"), f"--config={config_path}",
          f"--workdir={workdir}"]


def _environment():
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
  env["TF_CPP_MIN_LOG_LEVEL"] = "2"
  return env


@pytest.mark.slow
def test_sigkill_then_rerun_resumes(tmp_path):
  config_path = tmp_path / "tiny.py"
  config_path.write_text(TINY_CONFIG)
  workdir = tmp_path / "run"
  metadata = workdir / "backup" / "training_metadata.json"

  first = subprocess.Popen(_command(config_path, workdir), cwd=tmp_path, env=_environment(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  deadline = time.time() + 300
  killed_after = 0
  while time.time() < deadline and first.poll() is None:
    if metadata.exists():
      try:
        killed_after = json.loads(metadata.read_text())["epoch"]
      except (json.JSONDecodeError, KeyError):
        killed_after = 0  # caught mid-write; look again
      if killed_after >= 2:
        first.send_signal(signal.SIGKILL)
        break
    time.sleep(0.05)
  first.wait()
  assert first.returncode == -signal.SIGKILL, "the first run ended before it could be killed"
  assert not (workdir / "summary.json").exists()
  assert (workdir / "checkpoints" / "last.keras").exists()

  second = subprocess.run(_command(config_path, workdir), cwd=tmp_path, env=_environment(),
                          capture_output=True, text=True, timeout=600, check=False)
  assert second.returncode == 0, second.stderr[-3000:]
  epochs = [int(line.split()[1].split("/")[0]) for line in second.stdout.splitlines()
            if line.startswith("Epoch ")]
  assert epochs, second.stdout[-3000:]
  assert epochs[0] > killed_after >= 2  # resumed, not restarted
  assert epochs == list(range(epochs[0], EPOCHS + 1))
  summary = json.loads((workdir / "summary.json").read_text())
  for key in ("all21_mean_mm_untrained", "all21_mean_mm", "lab6_mean_mm", "unlab15_mean_mm"):
    assert summary[key] > 0.0, key
