"""The Gaussian decoder (SPEC §5): model Gaussians rendered to image-space Gaussians."""

import keras
import tensorflow as tf

from handvol import numerics
from handvol import shapes
from handvol.geometry import camera


def project_gaussians(centers, sigmas, intrinsics, name=None):
  """Projects isotropic 3D Gaussians to 2D Gaussians with the depth of their facing surface.

  μ_p = π_K(μ_h), σ_p = σ_h·f̄/z_h with f̄ = (fx + fy)/2, z_p = z_h − σ_h.

  A Gaussian at or behind the camera (z_h ≤ `numerics.MIN_DEPTH_MM`) is projected as if at that
  depth: μ_p and σ_p stay finite and their gradient with respect to z_h is zero there. Its
  z_p (≤ 1 mm − σ_h) lies far in front of every measured depth, so the depth weight Δ of SPEC §6
  is 0 for it and it adds nothing to the dissimilarity.

  Args:
    centers: A tensor of shape `[B, N_m, 3]`, centres μ_h in mm, camera frame.
    sigmas: A tensor of shape `[B, N_m]` or `[N_m]`, σ_h in mm.
    intrinsics: A tensor of shape `[B, 4]`, the crop's (fx, fy, cx, cy).
    name: Optional name scope.

  Returns:
    A tensor of shape `[B, N_m, 4]`: (u, v) in crop pixels, σ_p in pixels, z_p in mm.
  """
  with tf.name_scope(name or "project_gaussians"):
    centers = tf.convert_to_tensor(centers)
    sigmas = tf.convert_to_tensor(sigmas, dtype=centers.dtype)
    intrinsics = tf.convert_to_tensor(intrinsics, dtype=centers.dtype)
    shapes.check_static(centers, tensor_name="centers", has_rank=3, has_dim_equals=(-1, 3))
    shapes.check_static(intrinsics, tensor_name="intrinsics", has_rank=2,
                        has_dim_equals=(-1, 4))
    sigmas = tf.broadcast_to(sigmas, tf.shape(centers)[:-1])
    uv = camera.project(centers, intrinsics[:, tf.newaxis, :])
    depth = centers[..., 2]
    safe_depth = tf.maximum(depth, tf.cast(numerics.MIN_DEPTH_MM, depth.dtype))
    mean_focal = 0.5 * (intrinsics[:, 0] + intrinsics[:, 1])
    sigma_pixels = sigmas * mean_focal[:, tf.newaxis] / safe_depth
    surface_depth = depth - sigmas
    return tf.concat([uv, sigma_pixels[..., tf.newaxis], surface_depth[..., tf.newaxis]],
                     axis=-1)


@keras.saving.register_keras_serializable(package="handvol")
class GaussianDecoder(keras.layers.Layer):
  """Renders posed 3D model Gaussians into the crop's image plane (`project_gaussians`).

  Call arguments:
    centers: `[B, N_m, 3]` centres in mm, camera frame.
    sigmas: `[B, N_m]` or `[N_m]` σ_h in mm.
    intrinsics: `[B, 4]` the crop intrinsics.

  Returns:
    `[B, N_m, 4]` (u, v, σ_p px, z_p mm), the op's `model_gaussians`.

  Example:
  >>> GaussianDecoder()(centers, volume.SIGMAS_MM, crop_intrinsics)
  """

  def call(self, centers, sigmas, intrinsics):
    return project_gaussians(centers, sigmas, intrinsics)
