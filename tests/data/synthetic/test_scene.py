"""Synthetic scenes (`scene.render_scene`): a hand in front of a person, seen by a camera."""

import numpy as np
import pytest

from handvol.data.synthetic import scene
from handvol.data.synthetic import sensor
from handvol.data.synthetic import surface as surface_lib


def _frames(num, seed=0, **changes):
  return list(scene.generate_scenes(num, scene.SceneConfig(**changes), seed=seed))


def test_a_frame_is_the_camera_s_frame_in_its_unit():
  frame = _frames(1, camera="realsense_sr300")[0]
  camera = sensor.get_camera("realsense_sr300")
  assert frame["counts"].shape == (camera.height, camera.width)
  assert frame["counts"].dtype == np.uint16
  np.testing.assert_allclose(frame["depth"], frame["counts"] * 0.125, rtol=1e-6)
  assert frame["depth_unit_mm"] == 0.125
  np.testing.assert_allclose(frame["intrinsics"], camera.intrinsics, rtol=1e-6)


def test_frames_replay_from_their_seed_and_index():
  first = _frames(2, seed=3)
  again = list(scene.generate_scenes(1, seed=3, first_frame=1))
  np.testing.assert_array_equal(first[1]["counts"], again[0]["counts"])
  assert not np.array_equal(first[0]["counts"], first[1]["counts"])


def test_the_torso_lies_the_gap_behind_the_hand_and_the_arm_joins_them():
  frames = _frames(3, seed=1, body_prob=1.0, body_gap_mm=(250.0, 250.0), no_hand_prob=0.0,
                   table_prob=0.0, wall_prob=0.0, centre_spread=0.05,
                   hand_distance_mm=(700.0, 700.0))
  for frame in frames:
    torso = frame["clean_depth"][frame["part"] == scene.PART_TORSO]
    assert torso.size > 0
    # The torso ellipsoid's nearest point is its front, the gap behind the hand's centre.
    assert abs(torso.min() - (frame["centre_xyz"][2] + 250.0)) < 15.0
    assert np.isin(frame["part"], scene.HAND_PARTS).sum() == frame["hand_pixels"] > 0
    assert (frame["part"] == scene.PART_UPPER_ARM).any() or (
        frame["part"] == scene.PART_SLEEVE).any()
    # The keypoints' mean is the centre.
    np.testing.assert_allclose(frame["truth_xyz"].mean(axis=0), frame["centre_xyz"], atol=1e-6)


def test_no_hand_frames_show_no_hand():
  for frame in _frames(3, seed=2, no_hand_prob=1.0, body_prob=1.0):
    assert not frame["has_hand"]
    assert frame["hand_pixels"] == 0
    assert not np.isin(frame["part"], scene.HAND_PARTS + (surface_lib.PART_FOREARM,)).any()
    assert (frame["part"] == scene.PART_TORSO).any()


def test_hands_keep_their_distance_and_some_leave_the_image():
  frames = _frames(24, seed=4, body_prob=0.0, table_prob=0.0, wall_prob=0.0, no_hand_prob=0.0,
                   centre_spread=0.5)
  depths = np.array([f["centre_xyz"][2] for f in frames])
  near = sensor.get_camera("kinect_v1").range_mm[0] + scene.HAND_NEAR_MARGIN_MM
  assert depths.min() >= near and depths.max() <= 1200.0
  inside = np.array([f["inside"] for f in frames])
  assert (inside < 1.0).any() and (inside == 1.0).any()


@pytest.mark.parametrize("key", ["table_prob", "wall_prob"])
def test_tables_and_walls_appear_by_their_chance(key):
  part = scene.PART_TABLE if key == "table_prob" else scene.PART_WALL
  other = "wall_prob" if key == "table_prob" else "table_prob"
  frames = _frames(3, seed=5, **{key: 1.0, other: 0.0}, body_prob=0.0)
  assert all((f["part"] == part).sum() > 1000 for f in frames)
  assert not any((f["part"] == part).any() for f in _frames(3, seed=5, **{key: 0.0}))


def test_the_elbow_is_never_nearer_than_the_wrist():
  frames = _frames(12, seed=6, body_prob=0.0, table_prob=0.0, wall_prob=0.0, no_hand_prob=0.0)
  for frame in frames:
    forearm = frame["clean_depth"][frame["part"] == surface_lib.PART_FOREARM]
    wrist = frame["truth_xyz"][0, 2]
    # The forearm starts `FOREARM_OVERLAP_MM` inside the palm and is at most its larger radius
    # thick; beyond that nothing of it comes nearer than the wrist.
    reach = surface_lib.FOREARM_RADII_MM[1] + surface_lib.FOREARM_OVERLAP_MM
    assert forearm.size == 0 or forearm.min() > wrist - reach


def test_an_arm_towards_the_camera_comes_nearer_than_the_wrist_with_no_body_behind():
  frames = _frames(8, seed=7, arm_towards_camera_prob=1.0, no_hand_prob=0.0, table_prob=0.0,
                   wall_prob=0.0, sleeve_prob=0.0, centre_spread=0.1,
                   hand_distance_mm=(700.0, 900.0), camera="kinect_v2")
  assert all(frame["arm_towards_camera"] for frame in frames)
  nearer = 0
  for frame in frames:
    assert np.isnan(frame["body_gap_mm"])
    assert not np.isin(frame["part"], (scene.PART_TORSO, scene.PART_HEAD,
                                       scene.PART_OTHER_ARM)).any()
    forearm = frame["clean_depth"][frame["part"] == surface_lib.PART_FOREARM]
    # The forearm's nearest point lies at least TOWARDS_CAMERA_MIN_Z of its length (less its
    # end's radius) in front of the wrist.
    reach = (scene.TOWARDS_CAMERA_MIN_Z * surface_lib.FOREARM_LENGTH_MM
             - surface_lib.FOREARM_RADII_MM[1])
    assert forearm.size > 0 and forearm.min() < frame["truth_xyz"][0, 2] - 0.5 * reach
    arm = frame["clean_depth"][frame["part"] == scene.PART_UPPER_ARM]
    nearer += arm.size > 0 and arm.min() < forearm.min()
  # About half the frames draw the upper arm on towards the camera.
  assert 1 <= nearer <= 7
  # Not drawn unless asked for: the default draws none.
  assert not any(f["arm_towards_camera"] for f in _frames(8, seed=7, no_hand_prob=0.0))


def test_seen_centre_back_projects_the_parts_pixels_that_have_depth():
  part = np.full((10, 20), scene.PART_TORSO, np.int32)
  part[2:6, 4:8] = scene.PART_HEAD
  part[2:6, 8:10] = scene.PART_OTHER_ARM
  clean = np.full((10, 20), 800.0, np.float32)
  measured = clean.copy()
  measured[2:6, 4:6] = 0.0  # the head's left half not measured
  frame = {"part": part, "clean_depth": clean, "depth": measured,
           "intrinsics": np.array([200.0, 100.0, 10.0, 5.0], np.float32)}
  point, pixels = scene.seen_centre(frame, (scene.PART_HEAD,))
  assert pixels == 16
  np.testing.assert_allclose(point, [(5.5 - 10.0) * 4.0, (3.5 - 5.0) * 8.0, 800.0], rtol=1e-6)
  point, pixels = scene.seen_centre(frame, (scene.PART_HEAD, scene.PART_OTHER_ARM), "depth")
  assert pixels == 16  # columns 6..9
  np.testing.assert_allclose(point, [(7.5 - 10.0) * 4.0, (3.5 - 5.0) * 8.0, 800.0], rtol=1e-6)
  point, pixels = scene.seen_centre(frame, (scene.PART_TABLE,))
  assert pixels == 0 and np.isnan(point).all()
