import numpy as np
import pytest
import tensorflow as tf
from scipy.spatial import transform

from handvol.hand import kinematics
from handvol.hand import skeleton

WRIST = np.array([12.0, -30.0, 480.0])


def _random_lengths(rng, batch):
  return rng.uniform(10.0, 90.0, (batch, skeleton.NUM_BONES))


def _rest_pose(batch=1):
  theta = np.zeros((batch, skeleton.NUM_THETA))
  theta[:, skeleton.THETA_TRANSLATION] = WRIST
  return theta


def test_skeleton_tables_are_consistent():
  assert skeleton.NUM_KEYPOINTS == 21 and skeleton.NUM_BONES == 20
  assert skeleton.NUM_THETA == 26 and skeleton.NUM_BETA == 20
  assert skeleton.LAB6 == (0, 4, 8, 12, 16, 20)
  assert sorted(skeleton.LAB6 + skeleton.UNLAB15) == list(range(21))
  assert all(parent < child for child, parent in enumerate(skeleton.KEYPOINT_PARENTS))
  assert skeleton.ARTICULATIONS[:4] == ("thumb_base_flexion", "thumb_base_abduction",
                                        "thumb_joint1_flexion", "thumb_joint2_flexion")
  assert skeleton.KEYPOINT_NAMES[skeleton.ARTICULATION_JOINTS[4]] == "index_mcp"
  assert len(skeleton.ARTICULATED_JOINTS) == 15 and skeleton.NUM_ARTICULATIONS == 20
  for frame in skeleton.REST_BONE_FRAMES:
    np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(frame), 1.0)


@pytest.mark.parametrize("dtype", [tf.float64, tf.float32])
def test_bone_lengths_measured_on_output_equal_input(dtype, random_pose):
  rng = np.random.default_rng(0)
  theta, lengths = random_pose(rng, 64), _random_lengths(rng, 64)
  keypoints = kinematics.forward_kinematics(tf.constant(theta, dtype), tf.constant(lengths, dtype))[
      "keypoints"].numpy().astype(np.float64)
  measured = np.linalg.norm(keypoints[:, skeleton.BONE_END] - keypoints[:, skeleton.BONE_START],
                            axis=-1)
  # float32 keypoints ~500 mm from the camera carry ~3e-5 mm of rounding each.
  np.testing.assert_allclose(measured, lengths, rtol=0, atol=1e-4 if dtype == tf.float64 else 3e-4)


def test_global_rotation_rotates_rigidly_about_the_wrist(random_pose):
  rng = np.random.default_rng(1)
  theta, lengths = random_pose(rng, 16), _random_lengths(rng, 16)
  unrotated = theta.copy()
  unrotated[:, skeleton.THETA_ROTATION] = 0.0
  posed = kinematics.forward_kinematics(theta, lengths)["keypoints"].numpy()
  reference = kinematics.forward_kinematics(unrotated, lengths)["keypoints"].numpy()
  # scipy's lower-case "xyz" is extrinsic x, then y, then z: R = Rz·Ry·Rx.
  rotations = transform.Rotation.from_euler("xyz", theta[:, skeleton.THETA_ROTATION]).as_matrix()
  wrist = theta[:, None, skeleton.THETA_TRANSLATION]
  expected = wrist + np.einsum("bij,bkj->bki", rotations, reference - wrist)
  np.testing.assert_allclose(posed, expected, atol=1e-9)
  np.testing.assert_allclose(kinematics.euler_to_matrix(theta[:, skeleton.THETA_ROTATION]).numpy(),
                             rotations, atol=1e-12)


def test_rest_pose_matches_documented_rest_geometry():
  lengths = np.arange(20.0, 40.0)[None]
  keypoints = kinematics.forward_kinematics(_rest_pose(), lengths)["keypoints"].numpy()[0]
  expected = np.zeros((skeleton.NUM_KEYPOINTS, 3))
  expected[skeleton.ROOT] = WRIST
  for finger, chain in zip(skeleton.FINGERS, skeleton.FINGER_KEYPOINTS):
    position = WRIST.copy()
    for keypoint, angle in zip(chain, np.radians(skeleton.REST_ANGLES_DEG[finger])):
      # In the palm plane z = const; DISTAL is −y (up in the image), RADIAL +x.
      position = position + lengths[0, keypoint - 1] * np.array([np.sin(angle), -np.cos(angle), 0])
      expected[keypoint] = position
  np.testing.assert_allclose(keypoints, expected, atol=1e-9)
  # A right hand with its palm to the camera and fingers up: the thumb is on the image's right.
  assert keypoints[skeleton.KEYPOINT_NAMES.index("thumb_tip"), 0] > keypoints[
      skeleton.KEYPOINT_NAMES.index("little_tip"), 0]


def test_bone_frames_are_rotations_along_the_bones(random_pose):
  rng = np.random.default_rng(2)
  theta, lengths = random_pose(rng, 8), _random_lengths(rng, 8)
  fk = kinematics.forward_kinematics(theta, lengths)
  frames = fk["bone_frames"].numpy()
  np.testing.assert_allclose(np.einsum("bkji,bkjl->bkil", frames, frames),
                             np.broadcast_to(np.eye(3), frames.shape), atol=1e-12)
  np.testing.assert_allclose(np.linalg.det(frames), 1.0, atol=1e-12)
  keypoints = fk["keypoints"].numpy()
  np.testing.assert_allclose(fk["bone_starts"].numpy(), keypoints[:, skeleton.BONE_START])
  along = keypoints[:, skeleton.BONE_END] - keypoints[:, skeleton.BONE_START]
  np.testing.assert_allclose(frames[..., 0] * lengths[..., None], along, atol=1e-9)


def test_column_one_is_the_dorsal_side():
  lengths = np.full((1, skeleton.NUM_BONES), 30.0)
  frames = kinematics.forward_kinematics(_rest_pose(), lengths)["bone_frames"].numpy()[0]
  thumb = skeleton.FINGERS.index("thumb")
  for bone in range(skeleton.NUM_BONES):
    if skeleton.BONE_FINGER[bone] != thumb:
      # The palm faces the camera at rest: the back of the hand is away from it (+z).
      np.testing.assert_allclose(frames[bone][:, 1], [0, 0, 1], atol=1e-12)
    else:
      # The thumb's nail faces radially, away from the palm, in the palm plane.
      assert frames[bone][0, 1] > 0.5 and abs(frames[bone][2, 1]) < 1e-12
  # Flexing a finger moves its tip to the palmar side (towards the camera at rest).
  theta = _rest_pose()
  theta[0, skeleton.THETA_ARTICULATION.start + skeleton.ARTICULATIONS.index(
      "middle_base_flexion")] = 0.5
  tip = skeleton.KEYPOINT_NAMES.index("middle_tip")
  assert kinematics.forward_kinematics(theta, lengths)["keypoints"].numpy()[0, tip, 2] < WRIST[2]


def test_abduction_turns_fingers_towards_the_thumb():
  lengths = np.full((1, skeleton.NUM_BONES), 30.0)
  theta = _rest_pose()
  theta[0, skeleton.THETA_ARTICULATION.start + skeleton.ARTICULATIONS.index(
      "little_base_abduction")] = 0.3
  rest = kinematics.forward_kinematics(_rest_pose(), lengths)["keypoints"].numpy()[0]
  posed = kinematics.forward_kinematics(theta, lengths)["keypoints"].numpy()[0]
  tip = skeleton.KEYPOINT_NAMES.index("little_tip")
  assert posed[tip, 0] > rest[tip, 0]
  np.testing.assert_allclose(posed[tip, 2], rest[tip, 2], atol=1e-9)


def test_jacobian_matches_finite_differences(random_pose):
  rng = np.random.default_rng(3)
  theta = tf.constant(random_pose(rng, 1))
  lengths = tf.constant(_random_lengths(rng, 1))
  keypoints = tf.function(lambda t, b: kinematics.forward_kinematics(t, b)["keypoints"])
  theoretical, numerical = tf.test.compute_gradient(keypoints, [theta, lengths], delta=1e-6)
  for analytic, finite in zip(theoretical, numerical):
    np.testing.assert_allclose(analytic, finite, atol=1e-5)


def test_runs_in_a_graph_with_arbitrary_batch_shape():
  fk = tf.function(kinematics.forward_kinematics)
  out = fk(tf.zeros((3, 2, skeleton.NUM_THETA)), tf.ones((3, 2, skeleton.NUM_BONES)))
  assert out["keypoints"].shape == (3, 2, 21, 3)
  assert out["bone_frames"].shape == (3, 2, 20, 3, 3)
  assert out["bone_starts"].shape == (3, 2, 20, 3)


def test_shape_errors_name_the_argument():
  with pytest.raises(ValueError, match="theta"):
    kinematics.forward_kinematics(tf.zeros((1, 25)), tf.ones((1, 20)))
  with pytest.raises(ValueError, match="bone_lengths"):
    kinematics.forward_kinematics(tf.zeros((1, 26)), tf.ones((1, 19)))


def test_axis_angle_matches_scipy():
  rng = np.random.default_rng(4)
  axes = rng.standard_normal((5, 3))
  axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
  angles = rng.uniform(-np.pi, np.pi, (7, 5))
  expected = transform.Rotation.from_rotvec((angles[..., None] * axes).reshape(-1, 3)).as_matrix()
  np.testing.assert_allclose(kinematics.axis_angle_to_matrix(axes, angles).numpy(),
                             expected.reshape(7, 5, 3, 3), atol=1e-12)


def test_matrix_to_euler_inverts_euler_to_matrix_everywhere():
  from scipy.spatial import transform
  rotations = transform.Rotation.random(4096, random_state=3).as_matrix()
  locked = kinematics.euler_to_matrix(
      tf.constant([[0.3, np.pi / 2, 1.0], [0.2, -np.pi / 2, -2.0]], tf.float64)).numpy()
  rotations = np.concatenate([rotations, locked])
  angles = kinematics.matrix_to_euler(tf.constant(rotations)).numpy()
  np.testing.assert_allclose(kinematics.euler_to_matrix(angles), rotations, atol=1e-9)
  assert np.all(np.abs(angles[:, 1]) <= np.pi / 2 + 1e-9)


def test_a_given_global_rotation_replaces_the_euler_angles(random_pose):
  rng = np.random.default_rng(5)
  theta, lengths = random_pose(rng, 16), _random_lengths(rng, 16)
  rotation = kinematics.euler_to_matrix(theta[..., 3:6])
  zeroed = tf.concat([theta[..., :3], tf.zeros_like(theta[..., 3:6]), theta[..., 6:]], -1)
  want = kinematics.forward_kinematics(theta, lengths)["keypoints"]
  got = kinematics.forward_kinematics(zeroed, lengths, rotation)["keypoints"]
  np.testing.assert_allclose(got, want, atol=1e-6)
