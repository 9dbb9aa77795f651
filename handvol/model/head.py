"""The parameterisation: the encoder's 46 outputs o mapped to the hand model's θ and β.

- Translation (θ[0:3], the wrist in mm, camera frame): t = c + h·o[0:3], with c the crop's
  reference point (`center_xyz`) and h the half side of the crop cube (150 mm by default), so
  outputs of order 1 span the cube.
- Global rotation (θ[3:6], the Euler angles of `handvol.hand.kinematics`): r = r_0 + s_r·o[3:6]
  radians (s_r = 1 and r_0 = 0 by default): o = 0 is the rotation r_0 of the model's rest
  orientation.
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
from handvol.hand import limits
from handvol.hand import skeleton

NUM_OUTPUTS = skeleton.NUM_THETA + skeleton.NUM_BETA
ARTICULATION_MAPS = ("free", "bounded")


def outputs_to_parameters(outputs, center_xyz, translation_scale_mm, rotation_scale,
                          beta_scale, lower, upper, articulation="free",
                          rotation_offset=(0.0, 0.0, 0.0), name=None):
  """Maps raw outputs to θ and β (module docstring).

  Args:
    outputs: A tensor of shape `[B, 46]`, the encoder's outputs.
    center_xyz: A tensor of shape `[B, 3]`, the crop's reference point in mm, camera frame.
    translation_scale_mm: h, mm per unit output of the translation.
    rotation_scale: Radians per unit output of the global rotation.
    beta_scale: β per unit output.
    lower: A sequence of 20 lower joint limits in radians.
    upper: A sequence of 20 upper joint limits in radians.
    articulation: "free" or "bounded".
    rotation_offset: r_0, the Euler angles (radians) that zero outputs give.
    name: Optional name scope.

  Returns:
    A dict: "theta" `[B, 26]` (mm and radians), "beta" `[B, 20]`.
  """
  with tf.name_scope(name or "outputs_to_parameters"):
    outputs = tf.convert_to_tensor(outputs)
    center_xyz = tf.convert_to_tensor(center_xyz, dtype=outputs.dtype)
    shapes.check_static(outputs, tensor_name="outputs", has_rank=2,
                        has_dim_equals=(-1, NUM_OUTPUTS))
    shapes.check_static(center_xyz, tensor_name="center_xyz", has_dim_equals=(-1, 3))
    if articulation not in ARTICULATION_MAPS:
      raise ValueError(f"articulation must be one of {ARTICULATION_MAPS}, got {articulation!r}")
    lower = np.asarray(lower, dtype=np.float32)
    upper = np.asarray(upper, dtype=np.float32)
    middle = tf.constant(0.5 * (lower + upper), dtype=outputs.dtype)
    rotation_offset = tf.constant(np.asarray(rotation_offset, np.float32).reshape([3]),
                                  dtype=outputs.dtype)
    half_range = tf.constant(0.5 * (upper - lower), dtype=outputs.dtype)

    translation_out, rotation_out, articulation_out, beta_out = tf.split(
        outputs, [3, skeleton.NUM_GLOBAL - 3, skeleton.NUM_ARTICULATIONS, skeleton.NUM_BETA],
        axis=-1)
    if articulation == "bounded":
      articulation_out = tf.tanh(articulation_out)
    theta = tf.concat([center_xyz + translation_scale_mm * translation_out,
                       rotation_offset + rotation_scale * rotation_out,
                       middle + half_range * articulation_out], axis=-1)
    return {"theta": theta, "beta": beta_scale * beta_out}


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
    lower: Optional 20 lower joint limits (radians); default `handvol.hand.limits.LOWER`.
    upper: Optional 20 upper joint limits (radians); default `handvol.hand.limits.UPPER`.

  Call arguments:
    outputs: `[B, 46]` encoder outputs.
    center_xyz: `[B, 3]` the crop's reference point in mm.

  Returns:
    A dict with "theta" `[B, 26]` and "beta" `[B, 20]`.

  Example:
  >>> PoseHead()(tf.zeros([1, 46]), tf.constant([[0.0, 0.0, 500.0]]))["theta"][0, :3]
  ... # [0, 0, 500]: the wrist at the reference point
  """

  def __init__(self, translation_scale_mm=150.0, rotation_scale=1.0, beta_scale=1.0,
               articulation="free", lower=None, upper=None, rotation_offset=(0.0, 0.0, 0.0),
               **kwargs):
    super().__init__(**kwargs)
    if articulation not in ARTICULATION_MAPS:
      raise ValueError(f"articulation must be one of {ARTICULATION_MAPS}, got {articulation!r}")
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
                                 self.articulation, self.rotation_offset)

  def get_config(self):
    config = super().get_config()
    config.update(translation_scale_mm=self.translation_scale_mm,
                  rotation_scale=self.rotation_scale, beta_scale=self.beta_scale,
                  articulation=self.articulation, lower=self.lower, upper=self.upper,
                  rotation_offset=self.rotation_offset)
    return config
