"""The hand model as a layer: (θ, β) → keypoints and posed Gaussians (SPEC §3).

Forward kinematics and the volume model are `handvol.hand`'s pure TF functions; this layer only
holds the bone-length model, so that the serving graph (encoder + this layer) has no custom op.
"""

import keras
import numpy as np
import tensorflow as tf

from handvol.hand import bone_lengths
from handvol.hand import kinematics
from handvol.hand import volume


@keras.saving.register_keras_serializable(package="handvol")
class HandModelLayer(keras.layers.Layer):
  """Bone lengths b = b_avg + M_pca·β, forward kinematics, and the posed volume Gaussians.

  Args:
    bone_mean: Optional 20 mean bone lengths in mm; default `default_bone_model().mean`.
    bone_basis: Optional `[20, 20]` basis (mm per unit β); default `default_bone_model().basis`.

  Call arguments:
    theta: `[B, 26]` pose (wrist translation mm, rotation and articulation radians).
    beta: `[B, 20]` bone-length coefficients.
    global_rotation: Optional `[B, 3, 3]` rotation used instead of θ[3:6]'s
      (`kinematics.forward_kinematics`).

  Returns:
    A dict: "keypoints" `[B, 21, 3]` mm camera frame; "bone_lengths" `[B, 20]` mm;
    "gaussian_centers" `[B, N_m, 3]` mm camera frame (their σ_h are `sigmas_mm`).

  Example:
  >>> out = HandModelLayer()(theta, beta)
  >>> out["keypoints"].shape  # (B, 21, 3)
  """

  def __init__(self, bone_mean=None, bone_basis=None, **kwargs):
    super().__init__(**kwargs)
    if (bone_mean is None) != (bone_basis is None):
      raise ValueError("give both bone_mean and bone_basis, or neither (the default model)")
    if bone_mean is None:
      model = bone_lengths.default_bone_model()
      bone_mean, bone_basis = model.mean, model.basis
    self.bone_mean = np.asarray(bone_mean, dtype=np.float32).tolist()
    self.bone_basis = np.asarray(bone_basis, dtype=np.float32).tolist()
    self._model = bone_lengths.BoneLengthModel(np.asarray(self.bone_mean, dtype=np.float32),
                                               np.asarray(self.bone_basis, dtype=np.float32))

  @property
  def sigmas_mm(self):
    """`[N_m]` numpy, the standard deviations σ_h of the volume Gaussians in mm."""
    return volume.SIGMAS_MM

  def call(self, theta, beta, global_rotation=None):
    lengths = self._model.lengths(beta)
    fk = kinematics.forward_kinematics(theta, lengths, global_rotation)
    return {"keypoints": fk["keypoints"], "bone_lengths": lengths,
            "gaussian_centers": volume.posed_gaussians(fk)}

  def get_config(self):
    config = super().get_config()
    config.update(bone_mean=self.bone_mean, bone_basis=self.bone_basis)
    return config
