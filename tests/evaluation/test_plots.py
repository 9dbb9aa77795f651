"""Figures are written, readable, and reject arrays of the wrong shape."""

import numpy as np
import pytest
from matplotlib import image

from handvol.evaluation import metrics
from handvol.evaluation import plots
from handvol.geometry import camera
from handvol.hand import skeleton

SIZE = 48
INTRINSICS = np.array([120.0, 120.0, 23.5, 23.5])
CENTRE_MM = np.array([0.0, 0.0, 400.0])
RADIUS_MM = 60.0


def _sphere_depth():
  """The near half of a sphere in front of a 48×48 camera; background pixels are 0."""
  rays = camera.pixel_rays(
      np.stack(np.meshgrid(np.arange(SIZE), np.arange(SIZE)), axis=-1).astype(np.float64),
      INTRINSICS).numpy()
  along = rays @ CENTRE_MM
  discriminant = along**2 - CENTRE_MM @ CENTRE_MM + RADIUS_MM**2
  distance = along - np.sqrt(np.maximum(discriminant, 0.0))
  return np.where(discriminant > 0, distance * rays[..., 2], 0.0)


def _png_shape(path):
  return image.imread(path).shape


def test_frame_fraction_curves(tmp_path):
  errors = np.abs(np.random.default_rng(0).normal(scale=15.0, size=(50, 14)))
  panels = {"NYU-14": {"a": metrics.fraction_within(errors),
                       "b": metrics.fraction_within(errors * 2)},
            "Match-11": {"a": metrics.fraction_within(errors, indices=range(11))}}
  fig = plots.plot_frame_fractions(tmp_path / "curves.png", panels)
  height, width, _ = _png_shape(tmp_path / "curves.png")
  assert width > height > 100
  # One panel per protocol, one curve per method, each the method's percentages against T.
  assert [axes.get_title() for axes in fig.axes] == list(panels)
  for axes, curves in zip(fig.axes, panels.values()):
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == list(curves)
    for line, percent in zip(lines, curves.values(), strict=True):
      np.testing.assert_array_equal(line.get_xdata(), metrics.THRESHOLDS_MM)
      np.testing.assert_array_equal(line.get_ydata(), percent)


def test_per_joint_bars(tmp_path):
  plots.plot_per_joint_errors(tmp_path / "bars.png", {"a": np.arange(3.0), "b": np.ones(3)},
                              ["x", "y", "z"])
  assert _png_shape(tmp_path / "bars.png")[0] > 100
  with pytest.raises(ValueError, match=r"per_joint\['a'\] must have shape \[3\]"):
    plots.plot_per_joint_errors(tmp_path / "bad.png", {"a": np.ones(4)}, ["x", "y", "z"])


def test_qualitative_views_of_a_synthetic_depth(tmp_path):
  depth = _sphere_depth()[np.newaxis].repeat(2, axis=0)
  surface = camera.depth_to_points(depth[0], INTRINSICS).numpy()
  # Keypoints on the sphere: pixels within 12 of the centre, where the radius is 18 pixels.
  rows, columns = np.round(
      23.5 + np.random.default_rng(0).uniform(-8.0, 8.0, size=(2, skeleton.NUM_KEYPOINTS))
  ).astype(int)
  assert np.all(depth[0, rows, columns] > 0)
  labels = surface[rows, columns][np.newaxis].repeat(2, axis=0)
  predicted = labels + [0.0, 5.0, -15.0]
  plots.plot_qualitative(tmp_path / "frames.png", depth, INTRINSICS, labels,
                         {"ours": predicted, "other": labels + 20.0}, frames=[1],
                         parents=skeleton.KEYPOINT_PARENTS)
  one_row = _png_shape(tmp_path / "frames.png")
  plots.plot_qualitative(tmp_path / "both.png", depth, INTRINSICS, labels, predicted)
  assert _png_shape(tmp_path / "both.png")[0] > 1.5 * one_row[0]
  with pytest.raises(ValueError, match="same F"):
    plots.plot_qualitative(tmp_path / "bad.png", depth, INTRINSICS, labels[:1], {})


def test_the_overlay_marks_the_reference_point_and_the_crop_window(tmp_path):
  from matplotlib import figure  # pylint: disable=import-outside-toplevel
  from handvol.image import preprocess  # pylint: disable=import-outside-toplevel
  reference = np.array([10.0, -5.0, 400.0])
  fig = figure.Figure()
  camera_axes, side_axes = fig.subplots(1, 2)
  plots._draw_reference(camera_axes, side_axes, reference, INTRINSICS, 300.0)  # pylint: disable=protected-access
  cross, square = camera_axes.get_lines()
  uv = camera.project(reference[np.newaxis], INTRINSICS).numpy()[0]
  np.testing.assert_allclose([cross.get_xdata()[0], cross.get_ydata()[0]], uv, atol=1e-6)
  # The square is the crop's window (SPEC §7) around the reference point.
  window = preprocess.crop_window(np.array([*uv, reference[2]], np.float32), INTRINSICS).numpy()
  np.testing.assert_allclose([min(square.get_xdata()), min(square.get_ydata()),
                              max(square.get_xdata()), max(square.get_ydata())], window, atol=1e-3)
  depth = _sphere_depth()[np.newaxis]
  labels = np.zeros([1, skeleton.NUM_KEYPOINTS, 3]) + [0.0, 0.0, 400.0]
  plots.plot_qualitative(tmp_path / "marked.png", depth, INTRINSICS, labels, {},
                         titles=["frame_0042.png"], references=reference[np.newaxis],
                         cube_mm=300.0)
  assert (tmp_path / "marked.png").stat().st_size > 0
