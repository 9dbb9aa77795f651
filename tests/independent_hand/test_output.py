"""`python -m independent_hand` writes a capture folder that handvol's reader reads back with the
same keypoints, and a views.json; bad flags fail with one clear line."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from handvol.data import capture
from handvol.hand import skeleton
from independent_hand import scene
from independent_hand import writer

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMES, SEED = 4, 11


def _run(*args):
  env = dict(os.environ, PYTHONPATH=REPO_ROOT)
  return subprocess.run([sys.executable, "-m", "independent_hand", *args], cwd=REPO_ROOT,
                        env=env, capture_output=True, text=True, check=False, timeout=120)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
  out = tmp_path_factory.mktemp("independent") / "run"
  run = _run("--out", str(out), "--frames", str(FRAMES), "--seed", str(SEED),
             "--views", "sphere")
  assert run.returncode == 0, run.stderr[-2000:]
  assert f"wrote {FRAMES} frames" in run.stdout
  assert f"{FRAMES}/{FRAMES}" in run.stderr  # the progress bar
  return out


def test_capture_reader_reads_the_same_keypoints_and_depth(folder):
  records = list(capture.read_frames(str(folder)))
  assert len(records) == FRAMES
  for k, record in enumerate(records):
    frame = scene.sample_frame(SEED, k, 6, "sphere")
    np.testing.assert_allclose(record["xyz"], frame.xyz, atol=1e-9)
    np.testing.assert_allclose(record["uv"], frame.uv, atol=1e-9)
    np.testing.assert_array_equal(record["visible"], frame.visible)
    np.testing.assert_array_equal(record["kind"], np.full(21, 2))
    np.testing.assert_array_equal(record["depth"], frame.depth.astype(np.float32))
    assert record["subject"] == frame.subject.subject_id
    np.testing.assert_allclose(record["intrinsics"], [588.03, 588.03, 320.0, 240.0])


def test_annotations_name_every_keypoint_in_mm(folder):
  with open(folder / "annotations.json", encoding="utf-8") as f:
    meta = json.load(f)
  assert (meta["format"], meta["version"], meta["depth_unit_mm"]) == ("handvol-capture", 1, 1.0)
  for entry in meta["frames"]:
    assert tuple(entry["keypoints"]) == skeleton.KEYPOINT_NAMES
    for label in entry["keypoints"].values():
      assert set(label) == {"uv", "xyz", "visible"} and 300.0 < label["xyz"][2] < 1300.0


def test_views_sidecar_describes_each_frame(folder):
  with open(folder / writer.VIEWS_FILE, encoding="utf-8") as f:
    views = json.load(f)
  assert (views["seed"], views["views"], len(views["frames"])) == (SEED, "sphere", FRAMES)
  for k, entry in enumerate(views["frames"]):
    assert entry["depth"] == f"depth/{k:06d}.png"
    assert entry["view"] in ("palm", "back", "side")
    assert -180.0 <= entry["roll_deg"] <= 180.0
    assert np.linalg.norm(entry["palm_normal"]) == pytest.approx(1.0)
    assert 0.8 <= entry["subject"]["scale"] <= 1.2


def test_other_intrinsics(tmp_path):
  run = _run("--out", str(tmp_path), "--frames", "1", "--fx", "475", "--fy", "475",
             "--cx", "160", "--cy", "120", "--width", "320", "--height", "240")
  assert run.returncode == 0, run.stderr[-2000:]
  record = next(capture.read_frames(str(tmp_path)))
  assert record["depth"].shape == (240, 320)
  assert np.all(record["uv"] >= 0) and np.all(record["uv"] < [320, 240])


@pytest.mark.parametrize("args, says", [
    (["--frames", "0"], "--frames"),
    (["--views", "above"], "--views"),
    (["--cx", "900"], "--cx"),
])
def test_bad_flags_fail_with_a_clear_line(tmp_path, args, says):
  run = _run("--out", str(tmp_path / "x"), *args)
  assert run.returncode != 0
  lines = [line for line in run.stderr.splitlines() if line.strip()]
  assert says in lines[0] and "Flags parsing error" in lines[0] and len(lines) <= 2, lines
  assert not (tmp_path / "x" / "annotations.json").exists()


def test_an_existing_folder_is_kept_without_overwrite(folder):
  before = (folder / "annotations.json").read_bytes()
  run = _run("--out", str(folder), "--frames", "1")
  assert run.returncode != 0 and "pass --overwrite" in run.stderr.splitlines()[0]
  assert (folder / "annotations.json").read_bytes() == before
