"""Nothing half-written is ever visible: a full disk keeps the previous file and the run resumes;
an unreadable backup is named; prediction files are strict JSON, bad frames reported per file."""

import errno
import json
import os
import subprocess

import cv2
import h5py
import keras
import numpy as np
import pytest

from handvol import training
from handvol.data import atomic
from handvol.export import serving

INTRINSICS = "200,200,80,60"


def test_a_write_that_fails_with_enospc_keeps_the_previous_file(tmp_path):
  path = tmp_path / "report.json"
  atomic.write_json(str(path), {"epoch": 1})

  def fill(temp):
    with open(temp, "wb") as f:
      f.write(b'{"epo')
    raise OSError(errno.ENOSPC, "No space left on device", temp)

  with pytest.raises(atomic.DiskFullError,
                     match=rf"^{path}: no space left on the device \(\d+\.\d MiB free"):
    with atomic.atomic_path(str(path)) as temp:
      fill(temp)
  assert json.loads(path.read_text()) == {"epoch": 1}
  assert os.listdir(tmp_path) == ["report.json"]  # The temporary file is gone.


def _mount_tmpfs(folder, size_bytes):
  """Mounts a tmpfs of `size_bytes` at `folder`; False where the machine does not allow it."""
  folder.mkdir()
  try:
    run = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs",
                          str(folder)], capture_output=True, check=False, timeout=20)
  except OSError:
    return False
  return run.returncode == 0


def _enospc_on_next_backup(monkeypatch):
  """The filesystem-full simulation: the next weights file fills half and raises ENOSPC."""
  save_weights = keras.Model.save_weights

  def full(self, filepath, *args, **kwargs):
    with open(filepath, "wb") as f:
      f.write(b"\x89HDF half")
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    raise OSError(errno.ENOSPC, "No space left on device", filepath)

  monkeypatch.setattr(keras.Model, "save_weights", full)


def test_disk_full_mid_run_keeps_the_last_good_state_and_the_rerun_resumes(
    trained_run, tmp_path, tools, monkeypatch, capsys):
  config = tools.tiny_config("train.epochs=2")
  disk = tmp_path / "disk"
  used = sum(f.stat().st_size for f in trained_run.rglob("*") if f.is_file())
  on_tmpfs = _mount_tmpfs(disk, used + 600 * 1024)  # Room for a little, not an epoch.
  if not on_tmpfs:
    disk.mkdir(exist_ok=True)
    _enospc_on_next_backup(monkeypatch)
  try:
    workdir = disk / "run"
    subprocess.run(["cp", "-r", str(trained_run), str(workdir)], check=True)
    (workdir / "config.json").write_text(json.dumps(config))  # Now a run of 2 epochs.
    weights = workdir / "backup" / "latest.weights.h5"
    with pytest.raises(atomic.DiskFullError, match=rf"^{weights}: no space left on the device "
                       r"\(\d+\.\d MiB free, about \d+\.\d MiB needed\); the previous file"):
      training.train_and_evaluate(config, str(workdir))
    assert json.loads((workdir / "backup" / "training_metadata.json").read_text())["epoch"] == 1
    with h5py.File(weights, "r"):  # The previous backup is whole.
      pass
    assert not [p for p in workdir.rglob(f"{atomic.TEMP_PREFIX}*")]
    if on_tmpfs:
      subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
    capsys.readouterr()
    training.train_and_evaluate(config, str(workdir))
    output = capsys.readouterr().out
    assert "Epoch 2/2" in output and "Epoch 1/2" not in output  # Resumed, not restarted.
    assert json.loads((workdir / "summary.json").read_text())["epochs"] == 2
  finally:
    if on_tmpfs:
      subprocess.run(["umount", "-l", str(disk)], check=False)  # Lazy: TensorBoard holds files.


def test_an_unreadable_backup_is_named_on_resume(copy_run, tools):
  weights = copy_run / "backup" / "latest.weights.h5"
  weights.write_bytes(weights.read_bytes()[:1000])
  with pytest.raises(training.faults.CorruptFileError,
                     match=rf"^{weights}: this run's backup cannot be read back .*; delete "
                           rf"{copy_run / 'backup'} to resume from the start"):
    training.train_and_evaluate(tools.tiny_config(), str(copy_run))


def test_predict_on_a_folder_reports_bad_frames_and_writes_strict_json(trained_run, tmp_path,
                                                                      tools):
  frames = tmp_path / "frames"
  frames.mkdir()
  depth = np.zeros([120, 160], np.uint16)
  depth[40:80, 60:100] = 450
  for name in ("a.png", "c.png"):
    cv2.imwrite(str(frames / name), depth)
  cv2.imwrite(str(frames / "b.png"), depth)
  (frames / "b.png").write_bytes((frames / "b.png").read_bytes()[:60])  # Truncated.
  cv2.imwrite(str(frames / "d.png"), np.ones([1, 1], np.uint16))  # 1×1.
  out = tmp_path / "out"
  run = tools.run(["-m", "handvol.export.predict",
                   f"--model={trained_run / 'checkpoints' / 'last.keras'}",
                   f"--frames={frames}", f"--intrinsics={INTRINSICS}", "--nooverlays",
                   f"--output_dir={out}"], tmp_path)
  assert run.returncode == 1, run.stderr[-2000:]
  assert f"failed: {frames / 'b.png'}: not a readable PNG" in run.stderr
  assert f"failed: {frames / 'd.png'}: a 1×1 frame is smaller than {serving.MIN_FRAME_SIDE}×" in run.stderr
  assert tools.last_line(run.stderr).startswith("predict: 2 of 4 frames failed")

  def refuse(constant):
    raise AssertionError(f"predictions.json holds {constant}")

  result = json.loads((out / "predictions.json").read_text(), parse_constant=refuse)
  entries = {os.path.basename(frame["file"]): frame for frame in result["frames"]}
  assert sorted(entries) == ["a.png", "b.png", "c.png", "d.png"]
  for name in ("a.png", "c.png"):
    assert "error" not in entries[name]
    assert np.asarray(entries[name]["joints_xyz"]).shape == (21, 3)
  assert not entries["b.png"]["valid"] and "b.png" in entries["b.png"]["error"]
