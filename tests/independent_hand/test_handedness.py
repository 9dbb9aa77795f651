"""Keypoint order, names and handedness of the independent hand agree with SPEC.md §2."""

import numpy as np
import pytest

from handvol.hand import skeleton
from independent_hand import anatomy
from independent_hand import kinematics
from independent_hand import names
from independent_hand import poses
from independent_hand import raycast
from independent_hand import scene
from independent_hand import views

CAMERA = raycast.Camera()


def test_names_and_parents_are_handvols():
  assert names.KEYPOINT_NAMES == skeleton.KEYPOINT_NAMES
  assert names.PARENTS == skeleton.KEYPOINT_PARENTS


def _posed(kind, rotation, subject_id=0):
  subject = anatomy.make_subject(0, subject_id)
  points, _ = kinematics.keypoints(subject, poses.Pose(kind, poses.PROTOTYPES_DEG[kind], 0, 0))
  return points @ rotation.T + np.array([0.0, 0.0, 500.0])


def test_chains_run_outwards_from_the_wrist():
  # Open hand: along every finger the keypoints get further from the wrist, tip last.
  xyz = _posed("open", views.PALM_TO_CAMERA)
  for chain in names.FINGER_KEYPOINTS.values():
    reach = np.linalg.norm(xyz[list(chain)] - xyz[names.WRIST], axis=1)
    assert np.all(np.diff(reach) > 5.0), reach


@pytest.mark.parametrize("subject_id", [0, 3])
def test_a_right_hand_shows_its_thumb_right_of_the_palm(subject_id):
  # A right hand, fingers up, palm to the camera: thumb on the image right, little finger on the
  # left, fingertips above the wrist; the back to the camera mirrors left and right.
  def order(xyz):
    uv = CAMERA.project(xyz)
    thumb = uv[list(names.FINGER_KEYPOINTS["thumb"])[1:], 0].mean()
    little = uv[list(names.FINGER_KEYPOINTS["little"]), 0].mean()
    return thumb - little, uv[names.FINGER_KEYPOINTS["middle"][-1], 1] - uv[names.WRIST, 1]
  across, up = order(_posed("open", views.PALM_TO_CAMERA, subject_id))
  assert across > 40.0 and up < -100.0
  across, up = order(_posed("open", views.BACK_TO_CAMERA, subject_id))
  assert across < -40.0 and up < -100.0


@pytest.mark.parametrize("rotation, towards", [(views.PALM_TO_CAMERA, 1.0),
                                               (views.BACK_TO_CAMERA, -1.0)])
def test_fingers_curl_to_the_palm_side(rotation, towards):
  # A fist with the palm to the camera: curled fingertips come nearer than their MCPs; with the
  # back to the camera they go further away.
  xyz = _posed("fist", rotation)
  for finger in names.FINGERS[1:]:
    mcp, *_, tip = names.FINGER_KEYPOINTS[finger]
    assert towards * (xyz[mcp, 2] - xyz[tip, 2]) > 15.0, finger


def test_the_pinch_brings_thumb_and_index_tips_together():
  xyz = _posed("pinch", np.eye(3))
  gap = np.linalg.norm(xyz[names.FINGER_KEYPOINTS["thumb"][-1]]
                       - xyz[names.FINGER_KEYPOINTS["index"][-1]])
  assert 8.0 < gap < 20.0


def test_palm_normal_follows_the_right_hand_rule_of_the_keypoints():
  # The stored normal agrees with (index MCP − wrist) × (little MCP − wrist), which for a right
  # hand points out of the palm; and "palm" views have it towards the camera.
  for k in range(60):
    frame = scene.sample_frame(1, k, 6, "sphere", render=False)
    xyz = frame.xyz
    cross = np.cross(xyz[names.FINGER_KEYPOINTS["index"][0]] - xyz[names.WRIST],
                     xyz[names.FINGER_KEYPOINTS["little"][0]] - xyz[names.WRIST])
    normal = np.array(frame.meta["palm_normal"])
    assert normal @ cross / np.linalg.norm(cross) > 0.9
    facing = frame.meta["palm_facing_cos"]
    assert {"palm": facing > 0.5, "back": facing < -0.5,
            "side": abs(facing) <= 0.5}[frame.meta["view"]]
