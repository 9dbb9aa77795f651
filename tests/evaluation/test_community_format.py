"""Reading and writing the community's u v d files."""

import numpy as np
import pytest

from handvol.data import nyu
from handvol.evaluation import community_format


def _write(path, text):
  path.write_text(text)
  return path


def test_round_trip(tmp_path):
  uvd = np.array([[[320.1234, 240.5, 700.0], [100.0, 50.25, 812.5]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
  community_format.write_uvd(tmp_path / "p.txt", uvd)
  assert (tmp_path / "p.txt").read_text().splitlines()[0] == (
      "320.123 240.500 700.000 100.000 50.250 812.500")
  np.testing.assert_allclose(community_format.read_uvd(tmp_path / "p.txt", 2), uvd, atol=5e-4)


def test_blank_lines_are_skipped(tmp_path):
  path = _write(tmp_path / "p.txt", "1 2 3\n\n4 5 6\n")
  assert community_format.read_uvd(path, 1).shape == (2, 1, 3)


@pytest.mark.parametrize("text, message", [
    ("1 2 3 4 5 6\n1 2 3 4 5\n", r"line 2: expected 6 columns \(2 joints × u v d\), got 5"),
    ("1 2 3 4 5 6\n1 2 nan 4 5 6\n", "line 2: NaN or Inf value"),
    ("1 2 3 4 5 inf\n", "line 1: NaN or Inf value"),
    ("1 2 3 4 5 x\n", "line 1: could not convert string to float"),
    ("\n", "holds no frames"),
])
def test_bad_files_name_the_line(tmp_path, text, message):
  path = _write(tmp_path / "p.txt", text)
  with pytest.raises(ValueError, match=message):
    community_format.read_uvd(path, 2)


def test_write_rejects_nan(tmp_path):
  with pytest.raises(ValueError, match="NaN or Inf"):
    community_format.write_uvd(tmp_path / "p.txt", np.full((1, 2, 3), np.nan))


def test_uvd_to_camera_is_y_down():
  fx, fy, cx, cy = nyu.INTRINSICS
  uvd = np.array([[[cx + fx, cy, 100.0], [cx, cy + fy, 200.0]]])
  np.testing.assert_allclose(community_format.uvd_to_camera(uvd, nyu.INTRINSICS),
                             [[[100.0, 0.0, 100.0], [0.0, 200.0, 200.0]]], atol=1e-9)


def test_export_then_read_gives_back_the_keypoints(tmp_path):
  xyz = np.random.default_rng(1).normal(scale=60.0, size=(3, 14, 3)) + [0.0, 0.0, 700.0]
  community_format.export_predictions(tmp_path / "ours.txt", xyz,
                                      nyu.INTRINSICS)
  uvd = community_format.read_uvd(tmp_path / "ours.txt", 14)
  back = community_format.uvd_to_camera(uvd, nyu.INTRINSICS)
  np.testing.assert_allclose(back, xyz, atol=2e-3)


def test_check_frame_counts():
  labels = np.zeros((5, 14, 3))
  community_format.check_frame_counts(labels, {"a": np.zeros((5, 14, 3))})
  with pytest.raises(ValueError, match="predictions 'b' hold 4 frames, the labels 5"):
    community_format.check_frame_counts(labels, {"a": labels, "b": np.zeros((4, 14, 3))})
