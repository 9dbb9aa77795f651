"""The depth cameras of `cameras.json` and their sensor models' artefacts (`sensor.measure`)."""

import json

import numpy as np
import pytest

from handvol.data import hands2017
from handvol.data import nyu
from handvol.data.synthetic import sensor

WALL_MM, BOX_MM = 1500.0, 700.0
BOX_COLUMNS = slice(300, 340)
BOX_ROWS = slice(200, 280)


def _flat(camera, depth_mm):
  """A wall facing the camera at `depth_mm` over the whole image, and its cos(incidence)."""
  shape = (camera.height, camera.width)
  return np.full(shape, depth_mm), np.ones(shape)


def _box_on_wall(camera):
  """A square patch at `BOX_MM` in front of a wall at `WALL_MM` (clean depth, cos)."""
  depth, cos = _flat(camera, WALL_MM)
  depth[BOX_ROWS, BOX_COLUMNS] = BOX_MM
  return depth, cos


def _quiet(name, **changes):
  """Camera `name` without random dropout and edge drops, so that artefacts stand alone."""
  camera = sensor.get_camera(name)
  parameters = dict(camera.parameters, dropout=0.0, **changes)
  if "edge_drop" in parameters:
    parameters["edge_drop"] = 0.0
  return sensor.Camera(**{**camera.__dict__, "parameters": parameters})


def test_every_camera_has_a_known_kind_and_sane_data():
  assert set(sensor.CAMERAS) >= {"kinect_v1", "realsense_d435", "realsense_sr300", "kinect_v2",
                                 "azure_kinect"}
  kinds = {camera.kind for camera in sensor.CAMERAS.values()}
  assert kinds == set(sensor.SENSOR_KINDS)
  for camera in sensor.CAMERAS.values():
    fx, fy, cx, cy = camera.intrinsics
    assert 0 < cx < camera.width and 0 < cy < camera.height, camera.name
    # Horizontal fields of view between 50° and 100°.
    assert 50 < np.degrees(2 * np.arctan(camera.width / 2 / fx)) < 100, camera.name


def test_units_and_intrinsics_of_the_cameras():
  assert sensor.get_camera("kinect_v1").intrinsics == nyu.INTRINSICS
  assert sensor.get_camera("realsense_sr300").intrinsics == hands2017.INTRINSICS
  assert sensor.get_camera("realsense_sr300").depth_unit_mm == 0.125
  for name in ("kinect_v1", "realsense_d435", "kinect_v2", "azure_kinect"):
    assert sensor.get_camera(name).depth_unit_mm == 1.0
  assert (sensor.get_camera("kinect_v2").width, sensor.get_camera("kinect_v2").height) == (512,
                                                                                         424)


@pytest.mark.parametrize("name", sorted(sensor.CAMERAS))
def test_counts_are_in_the_camera_unit(name):
  camera = sensor.get_camera(name)
  out = sensor.measure(*_flat(camera, 800.0), camera, np.random.default_rng(0))
  assert out["counts"].dtype == np.uint16
  measured = out["counts"] > 0
  assert measured.mean() > 0.9
  expected_counts = 800.0 / camera.depth_unit_mm
  assert abs(np.median(out["counts"][measured]) - expected_counts) < 0.02 * expected_counts
  np.testing.assert_allclose(out["depth_mm"], out["counts"] * camera.depth_unit_mm, rtol=1e-6)


@pytest.mark.parametrize("name", sorted(sensor.CAMERAS))
def test_out_of_range_reads_nothing(name):
  camera = sensor.get_camera(name)
  near, far = camera.range_mm
  for depth in (0.5 * near, 1.2 * far):
    out = sensor.measure(*_flat(camera, depth), camera, np.random.default_rng(1))
    assert not out["counts"].any()


def test_structured_light_quantises_disparity_not_depth():
  camera = _quiet("kinect_v1", disparity_noise_px=0.0)
  focal_baseline = camera.intrinsics[0] * camera.parameters["baseline_mm"]
  step = camera.parameters["disparity_step_px"]
  depth = np.linspace(900.0, 1100.0, camera.width)[None].repeat(camera.height, axis=0)
  out = sensor.measure(depth, np.ones_like(depth), camera, np.random.default_rng(2))
  values = np.unique(out["depth_mm"][out["depth_mm"] > 0])
  # Each value is f·b/(n·step) for a whole n, rounded to the 1 mm unit.
  n = np.round(focal_baseline / values / step)
  np.testing.assert_array_equal(values, np.round(focal_baseline / (n * step)))
  assert len(values) < 0.5 * (1100 - 900)
  # Steps grow as z²: at 1 m about z²/(f·b)·step = 2.8 mm.
  gaps = np.diff(values)
  assert 2.0 < np.median(gaps) < 4.0


def test_structured_light_shadow_lies_left_of_a_near_object():
  camera = _quiet("kinect_v1")
  out = sensor.measure(*_box_on_wall(camera), camera, np.random.default_rng(3))
  focal_baseline = camera.intrinsics[0] * camera.parameters["baseline_mm"]
  width = focal_baseline * (1 / BOX_MM - 1 / WALL_MM)  # ≈ 33.6 px
  row = out["counts"][240]
  left = BOX_COLUMNS.start
  assert not row[int(left - width) + 2:left].any()
  assert row[int(left - width) - 3:int(left - width) - 1].all()
  assert row[BOX_COLUMNS.stop:BOX_COLUMNS.stop + 40].all()
  assert row[BOX_COLUMNS].all()


def test_shadow_geometry_matches_the_disparity_difference():
  depth = np.full((4, 200), 2000.0)
  depth[:, 100:120] = 1000.0
  shadow = sensor.second_view_shadow(depth, 500.0, 40.0)
  # Shadow width f·b·(1/z_near − 1/z_far) = 10 px, left of column 100.
  np.testing.assert_array_equal(np.flatnonzero(shadow[0, 60:]) + 60, np.arange(90, 100))
  # Columns whose second-view position falls left of the image (u − f·b/z < −½) are unseen.
  np.testing.assert_array_equal(np.flatnonzero(shadow[0, :60]), np.arange(0, 10))


def test_active_stereo_has_the_left_band_and_fattened_edges():
  camera = _quiet("realsense_d435", disparity_noise_px=0.0)
  out = sensor.measure(*_box_on_wall(camera), camera, np.random.default_rng(4))
  band = camera.intrinsics[0] * camera.parameters["baseline_mm"] / WALL_MM  # ≈ 12.8 px
  assert not out["counts"][:, :int(band)].any()
  assert out["counts"][:, int(band) + 2:int(band) + 20].all()
  # Right of the box the near depth bleeds onto the wall in some pixels, at most 2 px out.
  right = out["depth_mm"][BOX_ROWS, BOX_COLUMNS.stop:BOX_COLUMNS.stop + 6]
  bled = np.abs(right - BOX_MM) < 10
  assert 0.2 < bled[:, :sensor.FATTENING_PX].mean() < 0.8
  assert not bled[:, sensor.FATTENING_PX:].any()


def test_time_of_flight_has_flying_pixels_where_triangulation_has_none():
  for name, expect_flying in (("kinect_v2", True), ("kinect_v1", False)):
    camera = _quiet(name)
    out = sensor.measure(*_box_on_wall(camera), camera, np.random.default_rng(5))
    depth = out["depth_mm"]
    between = (depth > BOX_MM + 50) & (depth < WALL_MM - 50)
    assert between.any() == expect_flying, name
    if expect_flying:
      rows, columns = np.nonzero(between)
      on_edge = ((np.abs(columns - BOX_COLUMNS.start) <= 1)
                 | (np.abs(columns - (BOX_COLUMNS.stop - 1)) <= 1)
                 | (np.abs(rows - BOX_ROWS.start) <= 1) | (np.abs(rows - (BOX_ROWS.stop - 1)) <= 1))
      assert on_edge.all()


def test_time_of_flight_multipath_pushes_the_wall_back_next_to_a_near_object():
  camera = _quiet("kinect_v2", noise_mm=0.0, noise_per_m_mm=0.0, flying_prob=0.0)
  out = sensor.measure(*_box_on_wall(camera), camera, np.random.default_rng(6))
  depth = out["depth_mm"]
  next_to = depth[BOX_ROWS, BOX_COLUMNS.stop + 1:BOX_COLUMNS.stop + 4]
  far_away = depth[BOX_ROWS, 450:460]
  assert np.all(far_away == WALL_MM)
  assert next_to.mean() > WALL_MM + 5
  assert next_to.max() <= WALL_MM + camera.parameters["multipath_max_mm"] + 1


def test_measure_refuses_another_image_size():
  camera = sensor.get_camera("kinect_v2")
  with pytest.raises(ValueError, match=r"shape \(424, 512\) of camera 'kinect_v2'"):
    sensor.measure(np.zeros((480, 640)), np.zeros((480, 640)), camera, np.random.default_rng())


def test_a_bad_cameras_file_names_the_file_and_the_key(tmp_path):
  entry = json.loads(sensor.CAMERAS_PATH.read_text())["kinect_v2"]
  del entry["flying_prob"]
  path = tmp_path / "cameras.json"
  path.write_text(json.dumps({"mine": entry}))
  with pytest.raises(ValueError, match=r"cameras.json: camera 'mine'.*flying_prob"):
    sensor.load_cameras(path)
  path.write_text(json.dumps({"mine": {**entry, "flying_prob": 0.1, "depth_unit_mm": 0}}))
  with pytest.raises(ValueError, match="depth_unit_mm must be > 0"):
    sensor.load_cameras(path)
  with pytest.raises(ValueError, match="camera must be one of"):
    sensor.get_camera("kinect_v3")
