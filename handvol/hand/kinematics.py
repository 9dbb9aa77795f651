"""Forward kinematics of the hand skeleton in TF ops: pose θ and bone lengths → 21 keypoints.

Pose θ `[..., 26]`:
  θ[0:3]  the wrist position t in mm, camera frame;
  θ[3:6]  the global rotation (a_x, a_y, a_z) in radians, extrinsic rotations about the
          camera's x, then y, then z axis: R = Rz(a_z)·Ry(a_y)·Rx(a_x), each right-handed. The hand rotates about the wrist: a point p of the rest hand goes to t + R·p.
  θ[6:26] the articulation angles of `skeleton.ARTICULATIONS`, radians.

Bone frames are rotation matrices whose columns are the bone's axes in the camera frame:
column 0 along the bone (proximal → distal), column 1 the dorsal normal (palm side → back of the
hand; for the thumb the nail's direction), column 2 = column 0 × column 1. A bone's frame is its
parent's frame times the fixed rest rotation between the two times the articulation rotations at
its joint, each about `skeleton.ARTICULATION_AXES` in the bone's own frame: flexion > 0 bends a
bone towards its palmar side, abduction > 0 turns a finger radially (towards the thumb) and the
thumb palmar (out of the palm plane). The palm bones (wrist→base) are rigid: their frames are
the global rotation times their rest frames.

θ = (t, 0, ..., 0) is the rest pose of `skeleton` (a flat right hand, palm to the camera, fingers
up in the image); `docs/hand_model.md` draws it.
"""

import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.hand import skeleton


def _rest_relative_rotations():
  relative = np.tile(np.eye(3), (skeleton.NUM_BONES, 1, 1))
  for bone, parent in enumerate(skeleton.BONE_PARENT):
    if parent >= 0:
      relative[bone] = skeleton.REST_BONE_FRAMES[parent].T @ skeleton.REST_BONE_FRAMES[bone]
  return relative


REST_RELATIVE_ROTATIONS = _rest_relative_rotations()
"""`[20, 3, 3]`: a bone's rest frame in its parent bone's frame (identity for the palm bones)."""


def axis_angle_to_matrix(axis, angle, name=None):
  """Rotation matrices about fixed unit axes (Rodrigues' formula).

  Args:
    axis: A tensor of shape `[A1, ..., An, 3]` (broadcastable with `angle[..., None]`), unit
      rotation axes.
    angle: A tensor of shape `[A1, ..., An]`, angles in radians (right-handed).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3, 3]`.
  """
  with tf.name_scope(name or "axis_angle_to_matrix"):
    angle = tf.convert_to_tensor(angle)
    axis = tf.convert_to_tensor(axis, dtype=angle.dtype)
    shapes.check_static(axis, tensor_name="axis", has_dim_equals=(-1, 3))
    x, y, z = tf.unstack(axis, axis=-1)
    zero = tf.zeros_like(x)
    cross = tf.reshape(tf.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1),
                       tf.concat([tf.shape(x), [3, 3]], axis=0))
    sin = tf.sin(angle)[..., tf.newaxis, tf.newaxis]
    one_minus_cos = (1.0 - tf.cos(angle))[..., tf.newaxis, tf.newaxis]
    return (tf.eye(3, dtype=angle.dtype) + sin * cross
            + one_minus_cos * tf.matmul(cross, cross))


def euler_to_matrix(angles, name=None):
  """R = Rz(a_z)·Ry(a_y)·Rx(a_x): extrinsic rotations about x, then y, then z.

  Args:
    angles: A tensor of shape `[A1, ..., An, 3]`, (a_x, a_y, a_z) in radians.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3, 3]`.
  """
  with tf.name_scope(name or "euler_to_matrix"):
    angles = tf.convert_to_tensor(angles)
    shapes.check_static(angles, tensor_name="angles", has_dim_equals=(-1, 3))
    sx, sy, sz = tf.unstack(tf.sin(angles), axis=-1)
    cx, cy, cz = tf.unstack(tf.cos(angles), axis=-1)
    rows = [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx,
            sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx,
            -sy, cy * sx, cy * cx]
    return tf.reshape(tf.stack(rows, axis=-1), tf.concat([tf.shape(sx), [3, 3]], axis=0))


def matrix_to_euler(rotations, name=None):
  """The inverse of `euler_to_matrix`: (a_x, a_y, a_z) with a_y in [−π/2, π/2].

  At gimbal lock (|a_y| = π/2) a_x is set to 0 and a_z carries the whole turn about the axis, so
  `euler_to_matrix(matrix_to_euler(R))` equals R for every rotation R.

  Args:
    rotations: A tensor of shape `[A1, ..., An, 3, 3]`, rotation matrices.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3]`, radians.
  """
  with tf.name_scope(name or "matrix_to_euler"):
    rotations = tf.convert_to_tensor(rotations)
    shapes.check_static(rotations, tensor_name="rotations", has_rank_greater_than=1,
                        has_dim_equals=((-1, 3), (-2, 3)))
    r00, r10, r20 = rotations[..., 0, 0], rotations[..., 1, 0], rotations[..., 2, 0]
    r21, r22 = rotations[..., 2, 1], rotations[..., 2, 2]
    cos_y = tf.sqrt(tf.square(r00) + tf.square(r10))
    locked = cos_y < 1e-6
    a_y = tf.atan2(-r20, cos_y)
    a_x = tf.where(locked, tf.zeros_like(a_y), tf.atan2(r21, r22))
    # Locked (a_x = 0): R = Rz(a_z)·Ry(±π/2) has R[0,1] = −sin(a_z) and R[1,1] = cos(a_z).
    a_z = tf.where(locked, tf.atan2(-rotations[..., 0, 1], rotations[..., 1, 1]),
                   tf.atan2(r10, r00))
    return tf.stack([a_x, a_y, a_z], axis=-1)


def _joint_rotations(theta_articulation):
  """Per bone, the product of its articulation rotations in `skeleton.AXIS_ORDER` (or None)."""
  rotations = axis_angle_to_matrix(skeleton.ARTICULATION_AXES, theta_articulation)
  per_bone = [None] * skeleton.NUM_BONES
  for kind in skeleton.AXIS_ORDER:
    for index, (bone, angle_kind) in enumerate(zip(skeleton.ARTICULATION_BONES,
                                                   skeleton.ARTICULATION_KINDS)):
      if angle_kind != kind:
        continue
      rotation = rotations[..., index, :, :]
      per_bone[bone] = rotation if per_bone[bone] is None else tf.matmul(per_bone[bone], rotation)
  return per_bone


def forward_kinematics(theta, bone_lengths, global_rotation=None, name=None):
  """Keypoints and bone frames of the hand for pose θ and bone lengths b.

  Walks the `skeleton.KEYPOINT_PARENTS` tree from the wrist; differentiable in θ and b.

  Args:
    theta: A tensor of shape `[A1, ..., An, 26]`, the pose (module docstring): wrist position in
      mm (camera frame), global Euler angles and 20 articulation angles in radians.
    bone_lengths: A tensor of shape `[A1, ..., An, 20]`, bone lengths in mm in bone order
      (`skeleton.BONE_NAMES`).
    global_rotation: Optional `[A1, ..., An, 3, 3]` rotation matrices used instead of
      `euler_to_matrix(θ[3:6])` (a head with a continuous rotation output passes its matrix,
      so that no gradient goes through the Euler angles' singularities).
    name: Optional name scope.

  Returns:
    A dict of tensors, all in the camera frame:
      "keypoints": `[A1, ..., An, 21, 3]`, keypoint positions in mm;
      "bone_frames": `[A1, ..., An, 20, 3, 3]`, rotation matrices (columns: along the bone,
        dorsal normal, their cross product);
      "bone_starts": `[A1, ..., An, 20, 3]`, the bones' proximal keypoints in mm.
  """
  with tf.name_scope(name or "forward_kinematics"):
    theta = tf.convert_to_tensor(theta)
    bone_lengths = tf.convert_to_tensor(bone_lengths, dtype=theta.dtype)
    shapes.check_static(theta, tensor_name="theta", has_dim_equals=(-1, skeleton.NUM_THETA))
    shapes.check_static(bone_lengths, tensor_name="bone_lengths",
                        has_dim_equals=(-1, skeleton.NUM_BONES))
    dtype = theta.dtype
    wrist = theta[..., skeleton.THETA_TRANSLATION]
    if global_rotation is None:
      global_rotation = euler_to_matrix(theta[..., skeleton.THETA_ROTATION])
    else:
      global_rotation = tf.convert_to_tensor(global_rotation, dtype=theta.dtype)
      shapes.check_static(global_rotation, tensor_name="global_rotation",
                          has_dim_equals=((-1, 3), (-2, 3)))
    joint_rotations = _joint_rotations(theta[..., skeleton.THETA_ARTICULATION])
    rest_frames = tf.constant(skeleton.REST_BONE_FRAMES, dtype=dtype)
    rest_relative = tf.constant(REST_RELATIVE_ROTATIONS, dtype=dtype)

    keypoints = [None] * skeleton.NUM_KEYPOINTS
    keypoints[skeleton.ROOT] = wrist
    frames = [None] * skeleton.NUM_BONES
    for bone in range(skeleton.NUM_BONES):
      parent = skeleton.BONE_PARENT[bone]
      if parent < 0:
        frame = tf.matmul(global_rotation, rest_frames[bone])
      else:
        frame = tf.matmul(frames[parent], rest_relative[bone])
      if joint_rotations[bone] is not None:
        frame = tf.matmul(frame, joint_rotations[bone])
      frames[bone] = frame
      start = keypoints[skeleton.BONE_START[bone]]
      length = bone_lengths[..., bone:bone + 1]
      keypoints[skeleton.BONE_END[bone]] = start + length * frame[..., 0]
    return {
        "keypoints": tf.stack(keypoints, axis=-2),
        "bone_frames": tf.stack(frames, axis=-3),
        "bone_starts": tf.stack([keypoints[s] for s in skeleton.BONE_START], axis=-2),
    }
