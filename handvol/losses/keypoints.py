"""Keypoint supervision with slack (SPEC §6): 3D labels, 2D labels as camera rays, visibility.

Label kinds are the frame record's (`handvol.data.records.KIND_*`): 0 no label, 1 a 2D label (u, v)
in pixels, 2 a 3D label (x, y, z) in mm. A frame may mix kinds across keypoints.
"""

import keras
import numpy as np
import tensorflow as tf

from handvol import numerics
from handvol import shapes
from handvol.data import records
from handvol.geometry import camera


def keypoint_distances(keypoints, uv, xyz, kind, intrinsics, name=None):
  """Φ_j: the distance of each model keypoint to its label.

  For a 3D label J_j, Φ_j = ‖F_j − J_j‖. For a 2D label (u, v), Φ_j = ‖F_j − ⟨F_j, d_j⟩d_j‖,
  the distance from F_j to the camera ray d_j = K⁻¹(u, v, 1)ᵀ/‖·‖ through the pixel.
  Unlabelled keypoints get Φ_j = 0 (their labels are never read, so NaN there is harmless).

  Args:
    keypoints: A tensor of shape `[B, K, 3]`, model keypoints F in mm, camera frame.
    uv: A tensor of shape `[B, K, 2]`, 2D labels in pixels of the image `intrinsics` describes.
    xyz: A tensor of shape `[B, K, 3]`, 3D labels in mm, camera frame.
    kind: An int tensor of shape `[B, K]`, 0 none, 1 2D, 2 3D.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy) of that image.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B, K]`, distances in mm.
  """
  with tf.name_scope(name or "keypoint_distances"):
    keypoints = tf.convert_to_tensor(keypoints)
    dtype = keypoints.dtype
    uv = tf.convert_to_tensor(uv, dtype=dtype)
    xyz = tf.convert_to_tensor(xyz, dtype=dtype)
    kind = tf.convert_to_tensor(kind, dtype=tf.int32)
    intrinsics = tf.convert_to_tensor(intrinsics, dtype=dtype)
    for arg_name, tensor, size in (("keypoints", keypoints, 3), ("uv", uv, 2), ("xyz", xyz, 3)):
      shapes.check_static(tensor, tensor_name=arg_name, has_rank=3, has_dim_equals=(-1, size))
    shapes.check_static(intrinsics, tensor_name="intrinsics", has_rank=2)

    # Labels that are absent may hold anything (NaN included): zero them before any
    # arithmetic so neither the value nor the gradient can pick them up.
    is_2d = tf.equal(kind, records.KIND_2D)
    is_3d = tf.equal(kind, records.KIND_3D)
    uv = tf.where(is_2d[..., tf.newaxis], uv, tf.zeros_like(uv))
    xyz = tf.where(is_3d[..., tf.newaxis], xyz, tf.zeros_like(xyz))

    point_distance = numerics.safe_norm(keypoints - xyz)
    rays = camera.pixel_rays(uv, intrinsics[:, tf.newaxis, :])
    along = tf.reduce_sum(keypoints * rays, axis=-1, keepdims=True)
    ray_distance = numerics.safe_norm(keypoints - along * rays)
    zeros = tf.zeros_like(point_distance)
    return tf.where(is_3d, point_distance, tf.where(is_2d, ray_distance, zeros))


def keypoint_energy(distances, weights, slack_mm=0.0, name=None):
  """E_joint = Σ_j w_j · max(0, Φ_j − s)², per example.

  Args:
    distances: A tensor of shape `[B, K]`, Φ in mm (`keypoint_distances`).
    weights: A tensor of shape `[B, K]`, w_j = v_j for labelled keypoints, 0 otherwise.
    slack_mm: The slack radius s ≥ 0 in mm: errors within it cost nothing.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, in mm².
  """
  if slack_mm < 0:
    raise ValueError(f"slack_mm must be ≥ 0, got {slack_mm}")
  with tf.name_scope(name or "keypoint_energy"):
    distances = tf.convert_to_tensor(distances)
    weights = tf.convert_to_tensor(weights, dtype=distances.dtype)
    excess = tf.nn.relu(distances - tf.cast(slack_mm, distances.dtype))
    return tf.reduce_sum(weights * tf.square(excess), axis=-1)


@keras.saving.register_keras_serializable(package="handvol")
class KeypointLoss(keras.layers.Layer):
  """Keypoint supervision as a layer holding the slack and the supervised subset.

  Args:
    slack_mm: Slack radius s in mm (paper: 25 mm against noisy labels; 0 for exact labels).
    keypoints: Optional sequence of keypoint indices that may be supervised (e.g.
      `handvol.hand.skeleton.LAB6`); labels of the other keypoints are ignored. None: all.
    use_visibility: Weight each label by its visibility flag v_j (SPEC §6). False supervises
      every label, occluded or not: right for 3D labels such as NYU's, which exist for occluded
      joints too, whereas a 2D click on an occluded keypoint is a guess.

  Call arguments:
    keypoints: `[B, K, 3]` model keypoints in mm.
    uv: `[B, K, 2]` 2D labels (pixels of `intrinsics`).
    xyz: `[B, K, 3]` 3D labels in mm.
    kind: `[B, K]` int, 0 none, 1 2D, 2 3D.
    visible: `[B, K]` visibility flags v_j (1/0).
    intrinsics: `[B, 4]` the camera of `uv`.

  Returns:
    `[B]` energies in mm².

  Example:
  >>> KeypointLoss(slack_mm=5.0, keypoints=(0, 4, 8, 12, 16, 20))(
  ...     keypoints, uv, xyz, kind, visible, crop_intrinsics)
  """

  def __init__(self, slack_mm=0.0, keypoints=None, use_visibility=True, **kwargs):
    super().__init__(**kwargs)
    if slack_mm < 0:
      raise ValueError(f"slack_mm must be ≥ 0, got {slack_mm}")
    self.slack_mm = float(slack_mm)
    self.keypoints = None if keypoints is None else [int(k) for k in keypoints]
    self.use_visibility = bool(use_visibility)

  def call(self, keypoints, uv, xyz, kind, visible, intrinsics):
    kind = tf.convert_to_tensor(kind, dtype=tf.int32)
    if self.keypoints is not None:
      num_keypoints = keypoints.shape[1]
      allowed = np.zeros([num_keypoints], dtype=bool)
      allowed[self.keypoints] = True
      kind = tf.where(allowed[tf.newaxis, :], kind, tf.zeros_like(kind))
    distances = keypoint_distances(keypoints, uv, xyz, kind, intrinsics)
    weights = tf.cast(kind > records.KIND_NONE, distances.dtype)
    if self.use_visibility:
      weights *= tf.convert_to_tensor(visible, dtype=distances.dtype)
    return keypoint_energy(distances, weights, self.slack_mm)

  def get_config(self):
    config = super().get_config()
    config.update(slack_mm=self.slack_mm, keypoints=self.keypoints,
                  use_visibility=self.use_visibility)
    return config
