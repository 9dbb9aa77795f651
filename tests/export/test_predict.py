"""The export command and the predict command on depth PNGs."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from handvol.data import png
from handvol.export import export
from handvol.export import predict
from handvol.export import serving

from .conftest import INTRINSICS, hand_frame

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
  """Three 16-bit PNGs in 1/4 mm: two 120×160 hands and an all-zero 60×80 frame."""
  folder = tmp_path_factory.mktemp("frames")
  depths = [hand_frame(), hand_frame(center_xyz=(15.0, 5.0, 600.0), variant=2),
            np.zeros([60, 80])]
  for index, depth in enumerate(depths):
    png.write_depth16(str(folder / f"frame_{index}.png"), depth, unit_mm=0.25)
  return folder, depths


@pytest.fixture(scope="module")
def checkpoint(trained_like, tmp_path_factory):
  model, _ = trained_like
  path = str(tmp_path_factory.mktemp("workdir") / "best.keras")
  model.save(path)
  return path


def _run(model_path, folder, output_dir, references=None, overlays=False):
  return predict.predict_files(
      predict.frame_paths([str(folder)]), predict.frame_predictor(model_path), INTRINSICS,
      str(output_dir), depth_unit_mm=0.25, references=references, batch_size=2,
      overlays=overlays, verbose=0)


def test_predict_writes_joints_and_overlays(trained_like, frames, tmp_path):
  folder, depths = frames
  results = _run(trained_like[1], folder, tmp_path, overlays=True)
  with open(tmp_path / "predictions.json", encoding="utf-8") as f:
    written = json.load(f)
  assert written["frames"] == results
  assert [r["valid"] for r in results] == [True, True, False]
  assert [r["reason"] for r in results] == ["ok", "ok", "no_hand_found"]
  assert [r["reference_source"] for r in results[:2]] == ["localizer"] * 2
  assert all(0.0 < r["confidence"] <= 1.0 for r in results[:2])
  assert [r["warnings"] for r in results[:2]] == [[], []]
  assert np.asarray(results[0]["joints_xyz"]).shape == (21, 3)
  assert sorted(os.listdir(tmp_path / "overlays")) == ["000000_frame_0.png",
                                                       "000001_frame_1.png"]
  # The same numbers as the signature on the frames in mm (PNG rounding to 1/4 mm aside).
  loaded_depth = np.round(depths[0] * 4) / 4
  expected = predict.frame_predictor(trained_like[1])(
      loaded_depth[np.newaxis].astype(np.float32), INTRINSICS[np.newaxis],
      np.zeros([1, 3], np.float32), np.zeros([1], np.float32))
  np.testing.assert_allclose(results[0]["joints_xyz"], expected["joints_xyz"][0], atol=2e-3)


def test_checkpoint_and_export_predict_alike(trained_like, checkpoint, frames, tmp_path):
  folder, _ = frames
  from_export = _run(trained_like[1], folder, tmp_path / "export")
  from_checkpoint = _run(checkpoint, folder, tmp_path / "checkpoint")
  assert len(from_export) == len(from_checkpoint) == len(list(pathlib.Path(folder).glob("*.png")))
  assert ([(a["file"], a["valid"]) for a in from_export]
          == [(b["file"], b["valid"]) for b in from_checkpoint])
  for a, b in zip(from_export, from_checkpoint, strict=True):
    np.testing.assert_allclose(a["joints_xyz"], b["joints_xyz"], atol=2e-3)


def test_reference_file_rows(trained_like, frames, tmp_path):
  folder, _ = frames
  reference_file = tmp_path / "references.txt"
  reference_file.write_text("75 58 500\n0 0 0\n40 30 600\n", encoding="utf-8")
  references = predict.read_references(str(reference_file), 3)
  results = _run(trained_like[1], folder, tmp_path, references=references)
  assert [r["reference_source"] for r in results] == ["centre_file", "localizer",
                                                      "centre_file"]
  np.testing.assert_allclose(results[0]["reference_uvd"], [75, 58, 500], atol=2e-3)
  with pytest.raises(ValueError, match="expected 2 rows"):
    predict.read_references(str(reference_file), 2)


def test_implausible_distances_are_warned(tmp_path):
  depth = hand_frame()  # A hand 500 mm away, 160×120 pixels.
  assert predict.plausibility_warnings(depth, INTRINSICS, [0.0, 0.0, 500.0]) == []
  # The depth unit left at 1 mm for a camera counting 1/8 mm: everything 8 times farther.
  warnings = predict.plausibility_warnings(depth * 8, INTRINSICS, [0.0, 0.0, 4000.0])
  assert any("hand is at 4.00 m" in w and "--depth_unit_mm" in w for w in warnings), warnings
  far = np.where(depth > 0, 9000.0, 0.0)
  assert any("median measured depth is 9.0 m" in w for w in
             predict.plausibility_warnings(far, INTRINSICS))
  # A focal length in the wrong unit (mm for pixels) and a principal point off the image.
  warnings = predict.plausibility_warnings(depth, [1.9, 1.9, 80.0, 60.0])
  assert len(warnings) == 2 and all("--intrinsics" in w for w in warnings)
  warnings = predict.plausibility_warnings(depth, [200.0, 200.0, 320.0, 240.0])
  assert len(warnings) == 1 and "principal point" in warnings[0]


def test_a_wrong_depth_unit_is_warned_about(trained_like, frames, tmp_path):
  folder, _ = frames
  results = predict.predict_files(
      predict.frame_paths([str(folder / "frame_0.png")]), predict.frame_predictor(trained_like[1]),
      INTRINSICS, str(tmp_path), depth_unit_mm=4.0, overlays=False, verbose=0)
  # 16 times farther (4 mm per count for 1/4 mm counts): 6.4 m, no hand-sized blob there.
  assert results[0]["valid"] is False and results[0]["reason"] == "no_hand_found"
  assert any("median measured depth" in w for w in results[0]["warnings"])


def test_frame_paths(frames, tmp_path):
  folder, _ = frames
  assert len(predict.frame_paths([str(folder)])) == 3
  assert len(predict.frame_paths([str(folder / "frame_[01].png")])) == 2
  with pytest.raises(FileNotFoundError, match="no PNG frames"):
    predict.frame_paths([str(tmp_path / "missing")])


@pytest.mark.slow
def test_export_and_predict_commands(checkpoint, frames, tmp_path):
  """`python -m handvol.export` writes a version folder whose metadata names the checkpoint;
  `python -m handvol.export.predict` runs on it."""
  env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TF_CPP_MIN_LOG_LEVEL="2")
  command = [sys.executable, "-m", "handvol.export", f"--checkpoint={checkpoint}",
             f"--export_dir={tmp_path}", "--model_name=hands", "--version=3"]
  child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                         check=False)
  assert child.returncode == 0, child.stderr[-3000:]
  path = tmp_path / "hands" / "3"
  assert child.stdout.strip().splitlines()[-1] == str(path)
  with open(path / export.METADATA_PATH, encoding="utf-8") as f:
    metadata = json.load(f)
  assert metadata["checkpoint"] == checkpoint
  assert metadata["outputs"] == list(serving.OUTPUT_KEYS)

  folder, _ = frames
  command = [sys.executable, "-m", "handvol.export.predict", f"--model={path}",
             f"--frames={folder / 'frame_0.png'}", f"--frames={folder / 'frame_2.png'}",
             "--intrinsics=" + ",".join(str(x) for x in INTRINSICS), "--depth_unit_mm=0.25",
             f"--output_dir={tmp_path / 'predictions'}", "--nooverlays"]
  child = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300,
                         check=False)
  assert child.returncode == 0, child.stderr[-3000:]
  with open(tmp_path / "predictions" / "predictions.json", encoding="utf-8") as f:
    written = json.load(f)
  assert [frame["valid"] for frame in written["frames"]] == [True, False]
  assert written["keypoint_names"] == metadata["keypoint_names"]


def test_a_checkpoints_batch_of_given_references_skips_the_refiner_with_the_same_outputs(
    checkpoint):
  predictor = predict.frame_predictor(checkpoint)
  depths = np.stack([hand_frame(), hand_frame(center_xyz=(15.0, 5.0, 600.0), variant=2),
                     hand_frame()])
  intrinsics = np.tile(INTRINSICS, (3, 1)).astype(np.float32)
  located = predictor(depths.astype(np.float32), intrinsics, np.zeros([3, 3], np.float32),
                      np.zeros([3], np.float32))
  references = located["reference_uvd"] + np.float32([3.0, -2.0, 5.0])
  # Two rows given and one localised: the graph with the refiner; all given: without it.
  mixed = predictor(depths.astype(np.float32), intrinsics, references,
                    np.float32([1.0, 1.0, 0.0]))
  given = predictor(depths[:2].astype(np.float32), intrinsics[:2], references[:2],
                    np.ones([2], np.float32))
  assert sorted(given) == sorted(serving.OUTPUT_KEYS)
  for key in serving.OUTPUT_KEYS:
    np.testing.assert_allclose(given[key], mixed[key][:2], atol=1e-4, err_msg=key)
  np.testing.assert_array_equal(given["reference_source"], serving.SOURCE_GIVEN)
