"""The parameterisation: the encoder's 46 outputs o mapped to the hand model's θ and β.

- Translation (θ[0:3], the wrist in mm, camera frame): t = c + h·o[0:3], with c the crop's
  reference point (`center_xyz`) and h the half side of the crop cube (150 mm by default), so
  outputs of order 1 span the cube.
- Global rotation, one of two maps (`rotation`):
  "euler": θ[3:6], the Euler angles of `handvol.hand.kinematics`, are r = r_0 + s_r·o[3:6]
  radians (s_r = 1 and r_0 = 0 by default): o = 0 is the rotation r_0 of the model's rest
  orientation. Euler angles are discontinuous (a hand turned by 180° sits at ±π), so a network
  regressing them must jump.
  "6d": the continuous representation of Zhou et al. (CVPR 2019): six outputs are the first two
  columns a_1, a_2 of a matrix, a = a(R_0) + s_r·o[3:9], and Gram–Schmidt makes them a rotation:
  b_1 = a_1/|a_1|, b_2 = the unit part of a_2 orthogonal to b_1, b_3 = b_1 × b_2, R = [b_1 b_2 b_3].
  Every rotation is reached, and nearby rotations from nearby outputs. θ[3:6] are R's Euler
  angles (`kinematics.matrix_to_euler`), so θ keeps its documented meaning; the matrix itself
  goes to the forward kinematics ("rotation_matrix"), so no gradient crosses the angles'
  singularities.
- Articulation (θ[6:26], radians): a = m + r·o[6:26] with m and r the midpoint and half-width
  of each joint's range (`handvol.hand.limits`), so o ∈ [−1, 1] spans the anatomical range.
  "free" (default, as in the paper) leaves a unbounded and lets the joint-limit prior E_lim
  pull it back; "bounded" uses a = m + r·tanh(o), which cannot leave the range (E_lim is then
  0 and can be switched off).
- Bone-length coefficients: β = s_β·o[26:46] (s_β = 1 by default), so β ~ N(0, I) needs
  outputs of order 1.
"""

import keras
import numpy as np
import tensorflow as tf

from handvol import shapes
from handvol.geometry import linalg
from handvol.hand import kinematics
from handvol.hand import limits
from handvol.hand import skeleton

NUM_OUTPUTS = skeleton.NUM_THETA + skeleton.NUM_BETA
"""Outputs of the "euler" head (46); `num_outputs` gives each map's."""
ARTICULATION_MAPS = ("free", "bounded")
ROTATION_MAPS = ("euler", "6d")
_ROTATION_OUTPUTS = {"euler": 3, "6d": 6}


def num_outputs(rotation="euler"):
  """The encoder outputs a head with rotation map `rotation` reads: 46 ("euler") or 49 ("6d")."""
  if rotation not in ROTATION_MAPS:
    raise ValueError(f"rotation must be one of {ROTATION_MAPS}, got {rotation!r}")
  return NUM_OUTPUTS - 3 + _ROTATION_OUTPUTS[rotation]


def six_d_to_matrix(six_d, name=None):
  """Gram–Schmidt of two 3-vectors into a rotation (module docstring).

  Args:
    six_d: A tensor of shape `[..., 6]`: a_1 then a_2 (any non-parallel pair).
    name: Optional name scope.

  Returns:
    A tensor of shape `[..., 3, 3]` whose columns are b_1, b_2, b_3.
  """
  with tf.name_scope(name or "six_d_to_matrix"):
    six_d = tf.convert_to_tensor(six_d)
    shapes.check_static(six_d, tensor_name="six_d", has_dim_equals=(-1, 6))
    first, second = six_d[..., :3], six_d[..., 3:]
    b1 = tf.math.l2_normalize(first, axis=-1, epsilon=1e-12)
    b2 = tf.math.l2_normalize(
        second - tf.reduce_sum(b1 * second, axis=-1, keepdims=True) * b1, axis=-1,
        epsilon=1e-12)
    return tf.stack([b1, b2, linalg.cross(b1, b2)], axis=-1)


def _rotation(rotation_out, rotation, rotation_offset, rotation_scale):
  """(Euler angles `[B, 3]`, matrix `[B, 3, 3]` or None) of the rotation outputs."""
  offset = np.asarray(rotation_offset, np.float32).reshape([3])
  if rotation == "euler":
    return tf.constant(offset, rotation_out.dtype) + rotation_scale * rotation_out, None
  rest = kinematics.euler_to_matrix(tf.constant(offset, rotation_out.dtype))
  rest_six_d = tf.concat([rest[:, 0], rest[:, 1]], axis=-1)
  matrix = six_d_to_matrix(rest_six_d + rotation_scale * rotation_out)
  return tf.stop_gradient(kinematics.matrix_to_euler(matrix)), matrix


def outputs_to_parameters(outputs, center_xyz, translation_scale_mm, rotation_scale,
                          beta_scale, lower, upper, articulation="free",
                          rotation_offset=(0.0, 0.0, 0.0), rotation="euler", name=None):
  """Maps raw outputs to θ and β (module docstring).

  Args:
    outputs: A tensor of shape `[B, num_outputs(rotation)]`, the encoder's outputs.
    center_xyz: A tensor of shape `[B, 3]`, the crop's reference point in mm, camera frame.
    translation_scale_mm: h, mm per unit output of the translation.
    rotation_scale: Radians per unit output of the global rotation.
    beta_scale: β per unit output.
    lower: A sequence of 20 lower joint limits in radians.
    upper: A sequence of 20 upper joint limits in radians.
    articulation: "free" or "bounded".
    rotation_offset: r_0, the Euler angles (radians) that zero outputs give.
    rotation: "euler" or "6d" (module docstring).
    name: Optional name scope.

  Returns:
    A dict: "theta" `[B, 26]` (mm and radians), "beta" `[B, 20]`; with "6d" also
    "rotation_matrix" `[B, 3, 3]`, the global rotation that θ[3:6] encodes.
  """
  with tf.name_scope(name or "outputs_to_parameters"):
    outputs = tf.convert_to_tensor(outputs)
    center_xyz = tf.convert_to_tensor(center_xyz, dtype=outputs.dtype)
    shapes.check_static(outputs, tensor_name="outputs", has_rank=2,
                        has_dim_equals=(-1, num_outputs(rotation)))
    shapes.check_static(center_xyz, tensor_name="center_xyz", has_dim_equals=(-1, 3))
    if articulation not in ARTICULATION_MAPS:
      raise ValueError(f"articulation must be one of {ARTICULATION_MAPS}, got {articulation!r}")
    lower = np.asarray(lower, dtype=np.float32)
    upper = np.asarray(upper, dtype=np.float32)
    middle = tf.constant(0.5 * (lower + upper), dtype=outputs.dtype)
    half_range = tf.constant(0.5 * (upper - lower), dtype=outputs.dtype)

    translation_out, rotation_out, articulation_out, beta_out = tf.split(
        outputs, [3, _ROTATION_OUTPUTS[rotation], skeleton.NUM_ARTICULATIONS,
                  skeleton.NUM_BETA], axis=-1)
    if articulation == "bounded":
      articulation_out = tf.tanh(articulation_out)
    euler, matrix = _rotation(rotation_out, rotation, rotation_offset, rotation_scale)
    theta = tf.concat([center_xyz + translation_scale_mm * translation_out, euler,
                       middle + half_range * articulation_out], axis=-1)
    parameters = {"theta": theta, "beta": beta_scale * beta_out}
    if matrix is not None:
      parameters["rotation_matrix"] = matrix
    return parameters


@keras.saving.register_keras_serializable(package="handvol")
class PoseHead(keras.layers.Layer):
  """Maps the encoder's 46 outputs to θ `[B, 26]` and β `[B, 20]` (module docstring).

  Args:
    translation_scale_mm: h in mm (half the crop cube's side).
    rotation_scale: Radians per unit output of the global rotation.
    beta_scale: β per unit output.
    articulation: "free" (unbounded, with the joint-limit prior) or "bounded" (tanh into the
      limits).
    rotation_offset: r_0, three Euler angles in radians: the global rotation of zero outputs.
    rotation: "euler" (default: three Euler angles, as the paper) or "6d" (continuous).
    lower: Optional 20 lower joint limits (radians); default `handvol.hand.limits.LOWER`.
    upper: Optional 20 upper joint limits (radians); default `handvol.hand.limits.UPPER`.

  Call arguments:
    outputs: `[B, num_outputs(rotation)]` encoder outputs (46 or 49).
    center_xyz: `[B, 3]` the crop's reference point in mm.

  Returns:
    A dict with "theta" `[B, 26]` and "beta" `[B, 20]` (and "rotation_matrix" `[B, 3, 3]` with
    "6d").

  Example:
  >>> PoseHead()(tf.zeros([1, 46]), tf.constant([[0.0, 0.0, 500.0]]))["theta"][0, :3]
  ... # [0, 0, 500]: the wrist at the reference point
  """

  def __init__(self, translation_scale_mm=150.0, rotation_scale=1.0, beta_scale=1.0,
               articulation="free", lower=None, upper=None, rotation_offset=(0.0, 0.0, 0.0),
               rotation="euler", **kwargs):
    super().__init__(**kwargs)
    if articulation not in ARTICULATION_MAPS:
      raise ValueError(f"articulation must be one of {ARTICULATION_MAPS}, got {articulation!r}")
    self.num_outputs = num_outputs(rotation)
    self.rotation = rotation
    if (lower is None) != (upper is None):
      raise ValueError("give both lower and upper, or neither (the hand model's limits)")
    self.translation_scale_mm = float(translation_scale_mm)
    self.rotation_scale = float(rotation_scale)
    self.beta_scale = float(beta_scale)
    self.articulation = articulation
    self.rotation_offset = [float(x) for x in np.asarray(rotation_offset).ravel()]
    if len(self.rotation_offset) != 3:
      raise ValueError(f"rotation_offset must hold 3 Euler angles, got {rotation_offset!r}")
    lower, upper = (limits.LOWER, limits.UPPER) if lower is None else (lower, upper)
    self.lower = [float(x) for x in np.asarray(lower).ravel()]
    self.upper = [float(x) for x in np.asarray(upper).ravel()]

  def call(self, outputs, center_xyz):
    return outputs_to_parameters(outputs, center_xyz, self.translation_scale_mm,
                                 self.rotation_scale, self.beta_scale, self.lower, self.upper,
                                 self.articulation, self.rotation_offset, self.rotation)

  def get_config(self):
    config = super().get_config()
    config.update(translation_scale_mm=self.translation_scale_mm,
                  rotation_scale=self.rotation_scale, beta_scale=self.beta_scale,
                  articulation=self.articulation, lower=self.lower, upper=self.upper,
                  rotation_offset=self.rotation_offset, rotation=self.rotation)
    return config
