"""Metrics on hand-computed cases."""

import numpy as np
import pytest

from handvol.evaluation import metrics
from handvol.geometry import camera
from handvol.hand import skeleton

PLANE_MM = 500.0
INTRINSICS = (100.0, 100.0, 15.5, 15.5)


def _plane_depth(frames=1, size=32):
  return np.full((frames, size, size), PLANE_MM)


def test_joint_errors_are_euclidean_distances():
  truth = np.zeros((2, 2, 3))
  predicted = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, -2.0]], [[1.0, 2.0, 2.0], [0.0, 0.0, 0.0]]])
  np.testing.assert_allclose(metrics.joint_errors(predicted, truth), [[5.0, 2.0], [3.0, 0.0]])


def test_joint_errors_reject_mismatched_shapes_and_nan():
  with pytest.raises(ValueError, match="same shape"):
    metrics.joint_errors(np.zeros((2, 14, 3)), np.zeros((3, 14, 3)))
  with pytest.raises(ValueError, match=r"predicted must have shape \[frames, joints, 3\]"):
    metrics.joint_errors(np.zeros((2, 14)), np.zeros((2, 14)))
  predicted = np.zeros((4, 14, 3))
  predicted[2, 5, 1] = np.nan
  with pytest.raises(ValueError, match="predicted holds NaN or Inf values in 1 frames, the "
                     "first at frame 2"):
    metrics.joint_errors(predicted, np.zeros((4, 14, 3)))


def test_mean_and_per_joint_errors():
  errors = np.array([[1.0, 2.0, 6.0], [3.0, 4.0, 8.0]])
  assert metrics.mean_error(errors) == pytest.approx(4.0)
  assert metrics.mean_error(errors, indices=(0, 1)) == pytest.approx(2.5)
  np.testing.assert_allclose(metrics.per_joint_errors(errors), [2.0, 3.0, 7.0])


def test_fraction_within_counts_the_threshold_itself():
  errors = np.array([[20.0, 3.0], [5.0, 19.5], [40.0, 0.0], [80.5, 1.0]])
  percent = metrics.fraction_within(errors)
  assert percent.shape == (81,)
  assert percent[19] == 0.0
  assert percent[20] == pytest.approx(50.0)
  assert percent[39] == pytest.approx(50.0)
  assert percent[40] == pytest.approx(75.0)
  assert percent[80] == pytest.approx(75.0)
  np.testing.assert_allclose(metrics.fraction_within(errors, indices=(1,), thresholds=[2, 3]),
                             [50.0, 75.0])


def test_mdpc_of_points_on_the_surface_is_zero():
  depth = _plane_depth()
  depth[0, 10:20, 5:15] = 450.0  # a step, so the surface is not one plane
  cloud = camera.depth_to_points(depth[0], INTRINSICS).numpy()
  on_surface = cloud[[3, 12, 15, 28], [7, 8, 11, 30]][np.newaxis]
  distances = metrics.mdpc(on_surface, depth, INTRINSICS)
  np.testing.assert_allclose(distances, np.zeros((1, 4)), atol=1e-9)


def test_mdpc_of_a_point_off_the_surface():
  # Pixel (7, 9) back-projects to x = (7 - 15.5)·500/100 = -42.5, y = -32.5 on the plane; the
  # grid spacing there is 5 mm, so the point 10 mm in front is nearest to that pixel's point.
  predicted = np.array([[[-42.5, -32.5, PLANE_MM - 10.0], [-42.5, -32.5, PLANE_MM]]])
  distances = metrics.mdpc(predicted, _plane_depth(), INTRINSICS)
  np.testing.assert_allclose(distances, [[10.0, 0.0]], atol=1e-9)


def test_mdpc_frames_without_depth_are_counted_not_averaged():
  depth = _plane_depth(frames=2)
  depth[1] = 0.0
  predicted = np.array([[[-42.5, -32.5, PLANE_MM - 10.0], [-42.5, -32.5, PLANE_MM]],
                        [[0.0, 0.0, 400.0], [0.0, 0.0, 400.0]]])
  distances = metrics.mdpc(predicted, depth, np.array([INTRINSICS, INTRINSICS]))
  assert np.all(np.isnan(distances[1]))
  summary = metrics.summarize_mdpc(distances)
  assert summary == {"mdpc_median_mm": pytest.approx(5.0), "mdpc_mean_mm": pytest.approx(5.0),
                     "mdpc_frames_without_depth": 1}
  assert metrics.summarize_mdpc(distances[1:])["mdpc_median_mm"] is None


def test_mdpc_rejects_depth_of_other_frames():
  with pytest.raises(ValueError, match=r"depth must have shape \[2, height, width\]"):
    metrics.mdpc(np.zeros((2, 21, 3)), _plane_depth(frames=3), INTRINSICS)


def test_bone_lengths_of_a_small_tree():
  keypoints = np.array([[[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 2.0], [0.0, 4.0, 0.0]]])
  np.testing.assert_allclose(metrics.bone_lengths(keypoints, parents=(-1, 0, 1, 1)),
                             [[5.0, 2.0, 3.0]])


def test_bone_lengths_follow_the_skeleton():
  rng = np.random.default_rng(3)
  keypoints = rng.normal(size=(2, skeleton.NUM_KEYPOINTS, 3)) * 30.0
  lengths = metrics.bone_lengths(keypoints)
  assert lengths.shape == (2, skeleton.NUM_KEYPOINTS - 1)
  child = skeleton.NUM_KEYPOINTS - 1
  parent = skeleton.KEYPOINT_PARENTS[child]
  np.testing.assert_allclose(lengths[:, -1],
                             np.linalg.norm(keypoints[:, child] - keypoints[:, parent], axis=-1))


def test_matched_f1_hand_computed():
  # Cluster 0 holds subject 7's four frames and one of subject 9's two. Matching 0 → 7:
  # subject 7 precision 4/5, recall 1, F1 = 8/9; subject 9 precision 1, recall 1/2, F1 = 2/3.
  # The other matching scores 0 and 2·(1/5)(1/2)/(1/5 + 1/2) = 2/7, a smaller sum.
  subjects = np.array([7, 7, 7, 7, 9, 9])
  clusters = np.array([0, 0, 0, 0, 0, 1])
  expected = {7: pytest.approx(8 / 9), 9: pytest.approx(2 / 3)}
  assert metrics.matched_f1(clusters, subjects) == expected
  assert metrics.matched_f1(1 - clusters, subjects) == expected


def test_matched_f1_needs_two_subjects():
  with pytest.raises(ValueError, match="exactly two subject ids"):
    metrics.matched_f1(np.array([0, 1, 1]), np.array([0, 1, 2]))


def test_kmeans_f1_of_well_separated_subjects_is_one():
  rng = np.random.default_rng(0)
  small = 30.0 + rng.normal(scale=0.5, size=(40, 20))
  large = 40.0 + rng.normal(scale=0.5, size=(25, 20))
  subjects = np.array([1] * 40 + [2] * 25)
  assert metrics.kmeans_f1(np.concatenate([small, large]), subjects) == {1: 1.0, 2: 1.0}


def test_kmeans_f1_of_overlapping_subjects():
  # One of subject 9's hands has subject 7's bone lengths: k-means puts it with subject 7,
  # which gives the hand-computed F1 scores of `test_matched_f1_hand_computed`.
  lengths = np.full((6, 20), 30.0)
  lengths[5] = 45.0
  scores = metrics.kmeans_f1(lengths, np.array([7, 7, 7, 7, 9, 9]))
  assert scores == {7: pytest.approx(8 / 9), 9: pytest.approx(2 / 3)}


def test_kmeans_f1_of_one_predicted_hand_shape():
  # All frames in one cluster: matching it to subject 7 gives precision 4/6, recall 1,
  # F1 = 0.8 (and 0 for subject 9), more than the 0.5 of matching it to subject 9.
  scores = metrics.kmeans_f1(np.full((6, 20), 30.0), np.array([7, 7, 7, 7, 9, 9]))
  assert scores == {7: pytest.approx(0.8), 9: 0.0}


def _palm(normal_sign=1.0):
  """Wrist, index MCP and little MCP of a hand21 array: a palm in the z = 500 plane whose
  normal (b − a) × (c − a) is +z (or −z, mirrored in x)."""
  keypoints = np.full((1, skeleton.NUM_KEYPOINTS, 3), 500.0)
  wrist, index_mcp, little_mcp = metrics.PALM_TRIANGLE
  keypoints[0, wrist] = (0.0, 0.0, 500.0)
  keypoints[0, index_mcp] = (normal_sign * 20.0, 80.0, 500.0)
  keypoints[0, little_mcp] = (-normal_sign * 20.0, 70.0, 500.0)
  return keypoints


def test_palm_normal_angles_of_a_rotated_and_a_mirrored_palm():
  truth = _palm()
  assert metrics.palm_normal_angles(truth, truth)[0] == pytest.approx(0.0, abs=1e-6)
  # Turned 30° about the palm's long (y) axis: the normal turns 30°.
  angle = np.radians(30.0)
  rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0],
                       [-np.sin(angle), 0, np.cos(angle)]])
  turned = (truth - 500.0 * np.array([0, 0, 1])) @ rotation.T
  assert metrics.palm_normal_angles(turned, truth)[0] == pytest.approx(30.0, abs=1e-6)
  mirrored = _palm(-1.0)
  assert metrics.palm_normal_angles(mirrored, truth)[0] == pytest.approx(180.0, abs=1e-6)
  both = np.concatenate([truth, mirrored, turned])
  assert metrics.palm_flipped_percent(both, np.repeat(truth, 3, axis=0)) == pytest.approx(
      100.0 / 3)


def test_palm_normal_angles_of_a_degenerate_palm_is_nan():
  truth = _palm()
  collapsed = np.full_like(truth, 500.0)
  assert np.isnan(metrics.palm_normal_angles(collapsed, truth)[0])
  assert metrics.palm_flipped_percent(collapsed, truth) is None
  with pytest.raises(ValueError, match="same shape"):
    metrics.palm_normal_angles(truth, np.zeros((2, skeleton.NUM_KEYPOINTS, 3)))


def test_subject_mean_distance_hand_computed():
  features = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 4.0], [2.0, 6.0]])
  subjects = np.array([7, 7, 9, 9])
  # Means (2, 0) and (2, 5).
  assert metrics.subject_mean_distance(features, subjects) == pytest.approx(5.0)
  assert metrics.subject_mean_distance(np.full((4, 20), 30.0), subjects) == 0.0


def test_subject_mean_distance_rejects_bad_input():
  with pytest.raises(ValueError, match="exactly two"):
    metrics.subject_mean_distance(np.zeros((3, 2)), np.array([1, 2, 3]))
  with pytest.raises(ValueError, match="as many frames"):
    metrics.subject_mean_distance(np.zeros((3, 2)), np.array([1, 2, 2, 1]))


def _rest_hand(theta_rotation=(0.0, 0.0, 0.0)):
  from handvol.hand import bone_lengths
  from handvol.hand import kinematics
  theta = np.zeros([1, 26], np.float32)
  theta[0, 2] = 500.0
  theta[0, 3:6] = theta_rotation
  lengths = bone_lengths.default_bone_model().mean[None].astype(np.float32)
  return kinematics.forward_kinematics(theta, lengths)["keypoints"].numpy()


def test_image_roll_and_view_of_known_rotations():
  # Rest: palm to the camera, fingers up. R_z turns in the image plane (x right, y down).
  cases = [((0.0, 0.0, 0.0), 0.0, "palm"), ((0.0, 0.0, np.pi / 2), 90.0, "palm"),
           ((0.0, 0.0, np.pi), 180.0, "palm"), ((0.0, 0.0, -2.0), -np.degrees(2.0), "palm"),
           ((0.0, np.pi, 0.0), 0.0, "back"), ((0.0, np.pi / 2, 0.0), 0.0, "side")]
  for rotation, roll, view in cases:
    keypoints = _rest_hand(rotation)
    measured = metrics.image_roll_degrees(keypoints)[0]
    assert abs((measured - roll + 180.0) % 360.0 - 180.0) < 1e-3, (rotation, measured)
    assert metrics.view_classes(keypoints)[0] == view, rotation


def test_roll_bins():
  np.testing.assert_array_equal(
      metrics.roll_bin_indices([0.0, -59.9, 60.0, 119.0, -150.0, 180.0]), [0, 0, 1, 1, 2, 2])


def test_best_rotations_recover_known_rotations_and_exclude_reflections():
  rng = np.random.default_rng(4)
  source = rng.normal(size=(5, 6, 3))
  q, _ = np.linalg.qr(rng.normal(size=(5, 3, 3)))
  q *= np.sign(np.linalg.det(q))[:, None, None]  # proper rotations
  target = np.einsum("fij,fkj->fki", q, source) + rng.normal(size=(5, 1, 3))
  np.testing.assert_allclose(metrics.best_rotations(source, target), q, atol=1e-9)
  mirrored = metrics.best_rotations(source, source * [-1.0, 1.0, 1.0])
  np.testing.assert_allclose(np.linalg.det(mirrored), 1.0, atol=1e-9)
  with pytest.raises(ValueError, match=r"\[F, P, 3\]"):
    metrics.best_rotations(source[0], target[0])


def test_aligned_errors_take_out_the_global_pose_and_nothing_else():
  rng = np.random.default_rng(3)
  truth = rng.normal(size=(4, 21, 3)) * 40.0 + [0.0, 0.0, 500.0]
  angles = rng.uniform(-np.pi, np.pi, size=4)
  rotations = np.stack([[[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0],
                         [0.0, 0.0, 1.0]] for a in angles])
  shift = rng.normal(size=(4, 1, 3)) * 100.0
  moved = np.einsum("fij,fkj->fki", rotations, truth) + shift
  np.testing.assert_allclose(metrics.aligned_errors(moved, truth, "rigid"), 0.0, atol=1e-9)
  np.testing.assert_allclose(metrics.aligned_errors(truth + shift, truth, "translation"), 0.0,
                             atol=1e-9)
  assert metrics.aligned_errors(moved, truth, "translation").mean() > 10.0
  # A mirror image is not a rotation: its error stays.
  mirrored = truth * [-1.0, 1.0, 1.0]
  assert metrics.aligned_errors(mirrored, truth, "rigid").mean() > 10.0
  # A change of shape stays after either alignment.
  bent = truth.copy()
  bent[:, 8] += [30.0, 0.0, 0.0]
  rigid = metrics.aligned_errors(bent, truth, "rigid")
  assert rigid[:, 8].mean() > 15.0
  with pytest.raises(ValueError, match="alignment"):
    metrics.aligned_errors(truth, truth, "scale")
