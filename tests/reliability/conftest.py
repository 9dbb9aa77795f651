"""Fixtures of the reliability tests: a tiny configuration, one tiny trained run shared by the
tests (and by pytest-xdist's workers, under a file lock), and running the real commands."""

import fcntl
import os
import pathlib
import re
import shutil
import subprocess
import sys
import types

import pytest

from handvol import configs
from handvol import training

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]

TINY = ["data.batch_size=4", "data.max_gaussians=256", "data.train.0.num_frames=8",
        "data.validation.num_frames=4", "data.test.num_frames=4", "model.encoder_width=4",
        "model.blocks_per_stage=(1, 1, 1, 1)", "train.epochs=1", "train.steps_per_epoch=2",
        "train.warmup_steps=1", "train.images_every_epochs=1", "train.num_images=2",
        "train.verbose=2"]
"""`--set` settings of a run of a few seconds: 8 synthetic frames, a ResNet of width 4."""


def tiny_config(*settings):
  """The default config with `TINY` and then `settings` applied."""
  return configs.override(configs.load("default"), TINY + list(settings))


def run_command(args, cwd, timeout=300):
  """Runs `python <args>` from the repository, as a user would; returns the CompletedProcess
  (text stdout and stderr)."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
             PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
  return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout, check=False)


def train_command(workdir, *settings):
  """`train.py` arguments for the tiny config with `settings`."""
  return [REPO_ROOT / "train.py", f"--workdir={workdir}",
          *[f"--set={s}" for s in TINY + list(settings)]]


TF_LOG_LINE = re.compile(r"^([IWEF]\d{4} |\s+\[\[\{\{node )")
"""TensorFlow's C++ log lines (and their node notes), which are not what handvol says."""


def last_line(text):
  """The last line of `text` that is not TensorFlow's logging: what the user reads."""
  lines = [line for line in text.splitlines() if line.strip() and not TF_LOG_LINE.match(line)]
  return lines[-1] if lines else ""


@pytest.fixture(scope="session")
def tools():
  """This module's helpers for the tests (`--import-mode=importlib` cannot import conftest)."""
  return types.SimpleNamespace(tiny_config=tiny_config, run=run_command,
                               train_command=train_command, last_line=last_line,
                               repo_root=REPO_ROOT)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
  """A finished tiny run (1 epoch of 2 steps): its work directory, shared read-only.

  Under pytest-xdist the workers share one run: the first builds it under a lock, the others
  wait for it. Tests that change a work directory copy it first (`copy_run`).
  """
  uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
  root = tmp_path_factory.getbasetemp()
  root = root.parent / f"reliability-{uid}" if uid else root / "reliability"
  root.mkdir(parents=True, exist_ok=True)
  run = root / "run"
  with open(root / "lock", "w", encoding="utf-8") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    if not (run / "summary.json").is_file():
      if run.exists():
        shutil.rmtree(run)
      training.train_and_evaluate(tiny_config(), str(run))
  return run


@pytest.fixture
def copy_run(trained_run, tmp_path):
  """A private copy of `trained_run`'s work directory."""
  target = tmp_path / "run"
  shutil.copytree(trained_run, target)
  return target
