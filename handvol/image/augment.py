"""Training augmentation of preprocessed crops: in-plane rotation, translation, scale, depth.

Every augmentation is a change of the virtual crop camera, so image, labels and intrinsics stay
exactly consistent (no label is approximated):

- The image warp is the similarity uv' = s·R(α)·(uv − c) + c + τ about the crop centre c
  (nearest neighbour, invalid outside; `tf.raw_ops.ImageProjectiveTransformV3`).
- Rotation: since the crop camera has fx = fy (`preprocess`), rotating the image by α about
  the principal point is the 3D rotation R_z(α) of the scene about the optical axis; a rotation
  about c is that rotation plus a shift of the principal point. So 3D labels rotate by R_z(α)
  and keep their depth, and the depth image's values are unchanged.
- Scale s and translation τ: the focal length becomes s·f and the principal point
  p' = s·R(α)·(p − c) + c + τ; the 3D scene is unchanged.
- Depth offset δ: the reference point moves along the ray through the crop centre to depth
  d + δ (the network input is re-normalised around it); measured depths and labels are
  unchanged.

The reference point (`"center_xyz"`) is the point on the ray through the crop centre c, as
before augmentation; translation and depth offset thus move the hand relative to it, which is
what the network must learn to undo.
"""

import dataclasses
import math

import tensorflow as tf

from handvol import shapes
from handvol.data import records
from handvol.geometry import camera
from handvol.image import preprocess


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
  """Ranges of the random augmentation, each drawn uniformly per example.

  Attributes:
    rotation_deg: In-plane rotation in [−r, r] degrees.
    translation_px: Shift of the image in [−t, t] crop pixels, per axis.
    scale_range: (low, high) zoom factor.
    depth_offset_mm: Shift of the reference depth in [−o, o] mm.
  """
  rotation_deg: float = 180.0
  translation_px: float = 8.0
  scale_range: tuple = (0.9, 1.1)
  depth_offset_mm: float = 10.0


def sample_parameters(batch_size, seed, config=AugmentConfig(), name=None):
  """Draws per-example augmentation parameters with a stateless RNG.

  Args:
    batch_size: Number of examples B (int or scalar tensor).
    seed: A tensor of shape `[2]` int, the stateless seed.
    config: An `AugmentConfig`.
    name: Optional name scope.

  Returns:
    A dict of tensors of shape `[B]`: `"angle"` radians, `"scale"`, `"shift_u"`, `"shift_v"`
    crop pixels, `"depth_offset"` mm.
  """
  with tf.name_scope(name or "sample_parameters"):
    unit = tf.random.stateless_uniform([batch_size, 5], seed, minval=-1.0, maxval=1.0)
    low, high = config.scale_range
    return {
        "angle": unit[:, 0] * math.radians(config.rotation_deg),
        "scale": low + (high - low) * 0.5 * (unit[:, 1] + 1.0),
        "shift_u": unit[:, 2] * config.translation_px,
        "shift_v": unit[:, 3] * config.translation_px,
        "depth_offset": unit[:, 4] * config.depth_offset_mm,
    }


def apply(examples, parameters, cube_mm=preprocess.CUBE_MM, name=None):
  """Applies given augmentation parameters to a batch of training examples.

  Args:
    examples: A dict of batched tensors with at least `"crop_depth"` `[B, S, S]`,
      `"crop_intrinsics"` `[B, 4]`, `"center_xyz"` `[B, 3]`, `"uv"` `[B, 21, 2]`, `"xyz"` and
      `"truth_xyz"` `[B, 21, 3]`, `"kind"` `[B, 21]`.
    parameters: A dict as `sample_parameters` returns, each `[B]`.
    cube_mm: Cube side used for the input normalisation, mm.
    name: Optional name scope.

  Returns:
    A dict with the same keys; `"depth_input"`, `"crop_depth"`, `"crop_intrinsics"`,
    `"center_xyz"`, `"uv"`, `"xyz"` and `"truth_xyz"` replaced by their augmented values.
  """
  with tf.name_scope(name or "augment"):
    crop_depth = tf.convert_to_tensor(examples["crop_depth"], tf.float32)
    shapes.check_static(crop_depth, tensor_name="crop_depth", has_rank=3)
    centre = (tf.cast(tf.shape(crop_depth)[1], tf.float32) - 1.0) / 2.0
    similarity = _Similarity(parameters, centre)
    intrinsics = tf.convert_to_tensor(examples["crop_intrinsics"], tf.float32)
    principal = similarity.forward_2d(intrinsics[:, tf.newaxis, 2:])[:, 0]
    new_intrinsics = tf.concat(
        [intrinsics[:, :2] * similarity.scale[:, tf.newaxis], principal], axis=-1)
    cos = similarity.cos
    old_center = tf.convert_to_tensor(examples["center_xyz"], tf.float32)
    center_depth = old_center[:, 2] + parameters["depth_offset"]
    center_uvd = tf.stack([tf.fill(tf.shape(cos), centre), tf.fill(tf.shape(cos), centre),
                           center_depth], axis=-1)
    labelled = (examples["kind"] >= records.KIND_2D)[..., tf.newaxis]
    uv = similarity.forward_2d(tf.convert_to_tensor(examples["uv"], tf.float32))
    warped = similarity.warp(crop_depth)
    result = dict(examples)
    result.update({
        "depth_input": preprocess.normalize_depth(warped, center_depth, cube_mm),
        "crop_depth": warped,
        "crop_intrinsics": new_intrinsics,
        "center_xyz": camera.uvd_to_xyz(center_uvd, new_intrinsics),
        "uv": tf.where(labelled, uv, tf.zeros_like(uv)),
        "xyz": similarity.rotate(examples["xyz"]),
        "truth_xyz": similarity.rotate(examples["truth_xyz"]),
    })
    return result


class _Similarity:
  """The in-plane similarity of a batch's parameters about the crop centre c (pixels): a
  rotation R by "angle", a scale s and a shift τ, as tensors `[B]`."""

  def __init__(self, parameters, centre):
    self.centre = centre
    self.cos, self.sin = tf.cos(parameters["angle"]), tf.sin(parameters["angle"])
    self.scale = parameters["scale"]
    self.shift = tf.stack([parameters["shift_u"], parameters["shift_v"]], axis=-1)

  def forward_2d(self, uv):
    """uv' = s·R·(uv − c) + c + τ for `[B, N, 2]` pixels."""
    du, dv = uv[..., 0] - self.centre, uv[..., 1] - self.centre
    s, c, n = self.scale[:, tf.newaxis], self.cos[:, tf.newaxis], self.sin[:, tf.newaxis]
    rotated = tf.stack([s * (c * du - n * dv), s * (n * du + c * dv)], axis=-1)
    return rotated + self.centre + self.shift[:, tf.newaxis, :]

  def warp(self, crop_depth):
    """The depth crops `[B, S, S]` moved by the similarity, nearest neighbour, 0 outside."""
    # The warp maps each output pixel back to its input pixel: uv = Rᵀ(uv' − c − τ)/s + c.
    cos, sin, scale, centre = self.cos, self.sin, self.scale, self.centre
    a0, a1 = cos / scale, sin / scale
    b0, b1 = -sin / scale, cos / scale
    offset_u = centre + self.shift[:, 0]
    offset_v = centre + self.shift[:, 1]
    transforms = tf.stack([
        a0, a1, centre - a0 * offset_u - a1 * offset_v,
        b0, b1, centre - b0 * offset_u - b1 * offset_v,
        tf.zeros_like(a0), tf.zeros_like(a0)], axis=-1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=crop_depth[..., tf.newaxis], transforms=transforms,
        output_shape=tf.shape(crop_depth)[1:3], fill_value=0.0, interpolation="NEAREST",
        fill_mode="CONSTANT")[..., 0]

  def rotate(self, points):
    """R applied to camera-frame points `[B, N, 3]` about the optical axis."""
    zeros, ones = tf.zeros_like(self.cos), tf.ones_like(self.cos)
    rotation = tf.reshape(tf.stack([self.cos, -self.sin, zeros, self.sin, self.cos, zeros,
                                    zeros, zeros, ones], axis=-1), [-1, 1, 3, 3])
    return tf.linalg.matvec(rotation, points)


def augment(examples, seed, config=AugmentConfig(), cube_mm=preprocess.CUBE_MM, name=None):
  """Random augmentation of a batch: `sample_parameters` then `apply`.

  Args:
    examples: Batched training examples (see `apply`).
    seed: A tensor of shape `[2]` int; equal seeds give equal augmentations.
    config: An `AugmentConfig`.
    cube_mm: Cube side, mm.
    name: Optional name scope.

  Returns:
    The augmented batch (see `apply`).
  """
  with tf.name_scope(name or "augment"):
    batch_size = tf.shape(examples["crop_depth"])[0]
    return apply(examples, sample_parameters(batch_size, seed, config), cube_mm)
