"""The multi-worker loop (`train.py --strategy=multi_worker`, two worker processes on this
host) stops as `model.fit` does: at a non-finite step, and at a source over its bad-frame
budget, with one line on every worker and no checkpoint of the failed epoch."""

import json
import os
import re
import subprocess
import sys

import pytest

from handvol.data import capture
from handvol.training import distributed

TIMEOUT_S = 300


def _run_workers(tools, workdir, settings, log_dir):
  """`train.py --strategy=multi_worker` as two workers of a local cluster; returns each
  worker's (exit code, stderr)."""
  cluster = distributed.local_cluster(2)
  args = [*map(str, tools.train_command(workdir, *settings)), "--strategy=multi_worker"]
  workers = []
  for index in range(2):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(tools.repo_root),
                                           os.environ.get("PYTHONPATH", "")]),
               TF_CONFIG=json.dumps({"cluster": cluster,
                                     "task": {"type": "worker", "index": index}}))
    with open(log_dir / f"worker{index}.err", "w", encoding="utf-8") as err:
      workers.append(subprocess.Popen([sys.executable, *args], cwd=log_dir, env=env,
                                      stdout=subprocess.DEVNULL, stderr=err))
  results = []
  for index, worker in enumerate(workers):
    try:
      worker.wait(TIMEOUT_S)
    except subprocess.TimeoutExpired:
      for other in workers:
        other.kill()
      pytest.fail(f"worker {index} did not stop within {TIMEOUT_S} s; see {log_dir}")
    results.append((worker.returncode,
                    (log_dir / f"worker{index}.err").read_text(encoding="utf-8")))
  return results


def _checkpoints(workdir):
  folder = workdir / distributed.CHECKPOINT_DIR
  return sorted(p.name for p in folder.glob("ckpt-*")) if folder.exists() else []


def test_a_nonfinite_step_stops_every_worker_at_once(tmp_path, tools):
  workdir = tmp_path / "run"
  results = _run_workers(tools, workdir, ["loss.weights.joint=1e38", "train.epochs=2"],
                         tmp_path)
  for index, (code, stderr) in enumerate(results):
    message = tools.last_line(stderr)
    assert code == 1, (index, stderr[-2000:])
    assert message.startswith(
        "train.py: error: training stopped at step 1 (epoch 1, batch 1): the weighted total "
        "loss went NaN or Inf"), (index, message)
    assert "Traceback" not in stderr, index
    # Each worker names its own batch (4 frames): frames i, i + 2, ... of the 8 are its share.
    listed = (workdir / f"nonfinite_batch_worker_{index}.txt").read_text(
        encoding="utf-8").splitlines()
    numbers = [int(re.fullmatch(r"data.train.0 synthetic frame (\d) of 8 \(seed \d+\)",
                                name).group(1)) for name in listed]
    assert len(set(numbers)) == 4 and all(n % 2 == index for n in numbers), (index, listed)
    assert f"The batch's 4 frames: {'; '.join(listed[:3])} and 1 more" in message
  assert _checkpoints(workdir) == []


def test_a_source_over_its_budget_stops_every_worker(tmp_path, make_records, tools):
  # Every worker reads the whole folder and keeps its share of the good frames
  # (`distributed.worker_source`): one bad frame in eight puts both over the 1 % budget at the
  # end of their first pass.
  folder = tmp_path / "captures"
  capture.write_frames(folder, make_records(8, "capture"))
  bad = folder / capture.DEPTH_DIR / "000003.png"
  bad.write_bytes(bad.read_bytes()[:80])
  workdir = tmp_path / "run"
  source = f"data.train=[{{'source': 'capture', 'args': {{'root': '{folder}'}}, 'ratio': 1}}]"
  results = _run_workers(tools, workdir, [source, "train.steps_per_epoch=4"], tmp_path)
  annotations = folder / capture.ANNOTATION_FILE
  for index, (code, stderr) in enumerate(results):
    message = tools.last_line(stderr)
    assert code == 1, (index, stderr[-2000:])
    assert message.startswith("train.py: error: data.train.0: 1 of 8 frames read are bad, "
                              "over the budget data.max_skipped_fraction=0.01 (first: "
                              f"{annotations}: frame 3 "), (index, message)
    assert "Traceback" not in stderr, index
  assert _checkpoints(workdir) == []
