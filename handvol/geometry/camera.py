"""Pinhole camera helpers in the OpenCV frame (x right, y down, z forward; mm and pixels).

Intrinsics are tensors of shape `[A1, ..., An, 4]` holding (fx, fy, cx, cy) in pixels. They
broadcast against the batch dimensions of the points they act on: for points `[B, N, 3]` pass
intrinsics `[B, 1, 4]` (or `[4]` for one camera).

Pixel coordinates: pixel (i, j) (column i, row j) has its centre at u = i, v = j and covers
[i − 0.5, i + 0.5] × [j − 0.5, j + 0.5]. Crop windows are given by their continuous edges in
these coordinates.
"""

import numpy as np
import tensorflow as tf

from handvol import numerics
from handvol import shapes


def _split_intrinsics(intrinsics, dtype):
  intrinsics = tf.convert_to_tensor(intrinsics, dtype=dtype)
  shapes.check_static(intrinsics, tensor_name="intrinsics", has_dim_equals=(-1, 4))
  return tf.unstack(intrinsics, axis=-1)


def _check_last_dim(tensor, size, arg_name):
  shapes.check_static(tensor, tensor_name=arg_name, has_dim_equals=(-1, size))


def project(points, intrinsics, name=None):
  """Projects 3D points to pixels: u = fx·x/z + cx, v = fy·y/z + cy.

  Points at z ≤ `numerics.MIN_DEPTH_MM` (behind or at the camera) are projected as if at
  that depth, so the output and its gradient stay finite; mask them yourself where it matters.

  Args:
    points: A tensor of shape `[A1, ..., An, 3]`, camera-frame xyz in mm.
    intrinsics: A tensor of shape `[A1, ..., An, 4]` (broadcastable), (fx, fy, cx, cy).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 2]`, (u, v) in pixels.
  """
  with tf.name_scope(name or "project"):
    points = tf.convert_to_tensor(points)
    _check_last_dim(points, 3, "points")
    fx, fy, cx, cy = _split_intrinsics(intrinsics, points.dtype)
    x, y, z = tf.unstack(points, axis=-1)
    z = tf.maximum(z, tf.cast(numerics.MIN_DEPTH_MM, points.dtype))
    return tf.stack([fx * x / z + cx, fy * y / z + cy], axis=-1)


def xyz_to_uvd(points, intrinsics, name=None):
  """Camera-frame xyz (mm) to (u, v, d): pixels and depth d = z in mm.

  Args:
    points: A tensor of shape `[A1, ..., An, 3]`, xyz in mm.
    intrinsics: A tensor of shape `[A1, ..., An, 4]` (broadcastable).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3]`, (u, v, d).
  """
  with tf.name_scope(name or "xyz_to_uvd"):
    points = tf.convert_to_tensor(points)
    uv = project(points, intrinsics)
    return tf.concat([uv, points[..., 2:3]], axis=-1)


def xyz_to_uvd_numpy(points, intrinsics):
  """`xyz_to_uvd` in numpy, for per-frame host code where an eager TensorFlow call costs
  about a millisecond (a tracker's joints at every frame): points `[..., 3]` mm, intrinsics
  `[..., 4]` (broadcastable) → `[..., 3]` (u, v pixels, d mm), z clamped as `project` does."""
  points = np.asarray(points)
  fx, fy, cx, cy = np.moveaxis(np.asarray(intrinsics, points.dtype), -1, 0)
  z = np.maximum(points[..., 2], numerics.MIN_DEPTH_MM)
  return np.stack([fx * points[..., 0] / z + cx, fy * points[..., 1] / z + cy,
                   points[..., 2]], axis=-1)


def uvd_to_xyz(uvd, intrinsics, name=None):
  """(u, v, d) in pixels and mm to camera-frame xyz in mm: x = (u − cx)·d/fx, y = (v − cy)·d/fy.

  Args:
    uvd: A tensor of shape `[A1, ..., An, 3]`.
    intrinsics: A tensor of shape `[A1, ..., An, 4]` (broadcastable).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3]`, xyz in mm (y down).
  """
  with tf.name_scope(name or "uvd_to_xyz"):
    uvd = tf.convert_to_tensor(uvd)
    _check_last_dim(uvd, 3, "uvd")
    fx, fy, cx, cy = _split_intrinsics(intrinsics, uvd.dtype)
    u, v, d = tf.unstack(uvd, axis=-1)
    return tf.stack([(u - cx) * d / fx, (v - cy) * d / fy, d], axis=-1)


def pixel_rays(uv, intrinsics, name=None):
  """Unit directions of the camera rays through pixels: d = K⁻¹(u, v, 1)ᵀ / ‖·‖.

  Args:
    uv: A tensor of shape `[A1, ..., An, 2]`, pixels.
    intrinsics: A tensor of shape `[A1, ..., An, 4]` (broadcastable).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 3]` of unit vectors (z > 0).
  """
  with tf.name_scope(name or "pixel_rays"):
    uv = tf.convert_to_tensor(uv)
    _check_last_dim(uv, 2, "uv")
    ones = tf.ones_like(uv[..., :1])
    directions = uvd_to_xyz(tf.concat([uv, ones], axis=-1), intrinsics)
    return numerics.safe_normalize(directions)


def depth_to_points(depth, intrinsics, name=None):
  """Back-projects a depth image to a point per pixel.

  Args:
    depth: A tensor of shape `[A1, ..., An, H, W]`, depth in mm (0 = no measurement).
    intrinsics: A tensor of shape `[A1, ..., An, 4]`.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, H, W, 3]`, xyz in mm; pixels with depth 0 give (0, 0, 0)
    after the formula (x and y scale with d), which callers mask with `depth > 0`.
  """
  with tf.name_scope(name or "depth_to_points"):
    depth = tf.convert_to_tensor(depth)
    if not depth.dtype.is_floating:
      depth = tf.cast(depth, tf.float32)
    height, width = tf.shape(depth)[-2], tf.shape(depth)[-1]
    v, u = tf.meshgrid(tf.range(height, dtype=depth.dtype), tf.range(width, dtype=depth.dtype),
                       indexing="ij")
    intrinsics = tf.convert_to_tensor(intrinsics, dtype=depth.dtype)
    intrinsics = intrinsics[..., tf.newaxis, tf.newaxis, :]
    uvd = tf.stack([tf.broadcast_to(u, tf.shape(depth)), tf.broadcast_to(v, tf.shape(depth)),
                    depth], axis=-1)
    return uvd_to_xyz(uvd, intrinsics)


def crop_intrinsics(intrinsics, window, size, name=None):
  """The intrinsics of a crop window resized to `size`×`size` pixels.

  The window's continuous edges (u_min, v_min, u_max, v_max) are in the original image's pixel
  coordinates (module docstring). Crop pixel j has its centre at u = u_min + (j + 0.5)·w/size,
  w = u_max − u_min, so the crop camera is fx' = fx·size/w, cx' = (cx − u_min)·size/w − 0.5 (and
  likewise for y). A point projected with the crop intrinsics lands exactly where its original
  pixel lands through the crop-and-resize transform.

  Args:
    intrinsics: A tensor of shape `[A1, ..., An, 4]`, (fx, fy, cx, cy) of the full image.
    window: A tensor of shape `[A1, ..., An, 4]`, (u_min, v_min, u_max, v_max) in pixels.
    size: The side of the square output crop in pixels (int or scalar tensor).
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 4]`, the crop's (fx, fy, cx, cy).
  """
  with tf.name_scope(name or "crop_intrinsics"):
    window = tf.convert_to_tensor(window)
    _check_last_dim(window, 4, "window")
    fx, fy, cx, cy = _split_intrinsics(intrinsics, window.dtype)
    u_min, v_min, u_max, v_max = tf.unstack(window, axis=-1)
    size = tf.cast(size, window.dtype)
    scale_u = size / (u_max - u_min)
    scale_v = size / (v_max - v_min)
    return tf.stack([fx * scale_u, fy * scale_v, (cx - u_min) * scale_u - 0.5,
                     (cy - v_min) * scale_v - 0.5], axis=-1)


def image_to_crop(uv, window, size, name=None):
  """Maps original-image pixels to crop pixels (the transform `crop_intrinsics` encodes).

  Args:
    uv: A tensor of shape `[A1, ..., An, 2]`, pixels of the original image.
    window: A tensor of shape `[A1, ..., An, 4]` (broadcastable), (u_min, v_min, u_max, v_max).
    size: The crop's side in pixels.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 2]`, pixels of the crop.
  """
  with tf.name_scope(name or "image_to_crop"):
    uv = tf.convert_to_tensor(uv)
    _check_last_dim(uv, 2, "uv")
    window = tf.convert_to_tensor(window, dtype=uv.dtype)
    size = tf.cast(size, uv.dtype)
    low = window[..., :2]
    extent = window[..., 2:] - low
    return (uv - low) * size / extent - 0.5
