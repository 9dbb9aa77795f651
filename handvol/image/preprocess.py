"""Preprocessing of one depth frame (SPEC §7): reference point, cube crop, normalised input.

All functions act on one frame (no batch dimension) with TF ops, so they run inside
`tf.data` maps. Pixel coordinates follow `handvol.geometry.camera` (pixel centres at integers,
windows by their continuous edges).

Steps, as `preprocess` runs them:
1. A reference point (u, v, d), from the first available of (`CENTER_SOURCES`):
   - labels: (u, v) = mean of the labelled keypoints' pixels; d = the mean depth of the 3D
     labels, or, with 2D labels only, the median of the measured depths under the labelled
     pixels; then d is re-centred once to the mean valid depth inside the cube around that
     point (the paper re-crops "the same cube, but centered at the average depth");
   - a centre file: the record's `center_uvd`, as given;
   - depth alone: the centre of mass of the nearest object. The nearest surface depth is the
     smallest depth of any fully valid 4×4 pixel block (so isolated flying pixels are
     ignored); the object is every valid pixel within one cube side behind it; its (u, v, d)
     centre of mass is then recomputed once over the pixels inside the cube around it.
2. The window: the cube's extent (`cube_mm`) projected at depth d, centred at (u, v):
   half-widths fx·cube/2d and fy·cube/2d pixels. Resampled to `size`×`size` by nearest
   neighbour (crop pixel j samples the original pixel nearest to u_min + (j + ½)·w/size);
   pixels outside the image are invalid.
3. Depths outside d ± cube/2 become invalid (0). The network input is (depth − d)/(cube/2)
   clipped to [−1, 1], +1 at invalid pixels.
4. The crop's intrinsics (`camera.crop_intrinsics`, fx' = fy' = size·d/cube) and the labels in
   crop pixels (`camera.image_to_crop`); 3D labels stay in the camera frame, which the crop
   shares.
"""

import tensorflow as tf

from handvol import numerics
from handvol.data import records
from handvol.geometry import camera

CROP_SIZE = 128
"""Side of the square network input, pixels."""

CUBE_MM = 300.0
"""Side of the crop cube, mm."""

CENTER_SOURCES = ("labels", "centre_file", "depth_only")
"""`center_source` values: the index of the reference point's origin here."""

NEAREST_BLOCK = 4
"""Side (pixels) of the fully valid blocks whose depth defines the nearest surface."""


def _nearest_pixel(coordinate, extent):
  """Nearest pixel index (pixel centres at integers) and whether it lies inside [0, extent)."""
  index = tf.cast(tf.floor(coordinate + 0.5), tf.int32)
  inside = (index >= 0) & (index < extent)
  return tf.clip_by_value(index, 0, extent - 1), inside


def as_record_tensors(record):
  """A frame record with each field a tensor of its `records.RECORD_SPEC` dtype."""
  return {key: tf.cast(record[key], tf.as_dtype(dtype))
          for key, (dtype, _) in records.RECORD_SPEC.items()}


def crop_window(center_uvd, intrinsics, cube_mm=CUBE_MM, name=None):
  """The image window of a cube centred at a reference point.

  Args:
    center_uvd: A tensor of shape `[A1, ..., An, 3]`, (u, v) pixels and d mm.
    intrinsics: A tensor of shape `[A1, ..., An, 4]`.
    cube_mm: The cube's side in mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, 4]`, (u_min, v_min, u_max, v_max) in pixels.
  """
  with tf.name_scope(name or "crop_window"):
    center_uvd = tf.convert_to_tensor(center_uvd, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    depth = tf.maximum(center_uvd[..., 2:3], numerics.MIN_DEPTH_MM)
    half = 0.5 * cube_mm * intrinsics[..., :2] / depth
    return tf.concat([center_uvd[..., :2] - half, center_uvd[..., :2] + half], axis=-1)


def resample_window(depth, window, size=CROP_SIZE, name=None):
  """Nearest-neighbour resampling of a window of a depth image.

  Args:
    depth: A tensor of shape `[H, W]`, mm (0 = no measurement).
    window: A tensor of shape `[4]`, (u_min, v_min, u_max, v_max) in pixels.
    size: Output side in pixels.
    name: Optional name scope.

  Returns:
    A tensor of shape `[size, size]`: crop pixel (row i, column j) holds the original pixel
    nearest to (u_min + (j + ½)·w/size, v_min + (i + ½)·h/size); 0 outside the image.
  """
  with tf.name_scope(name or "resample_window"):
    depth = tf.convert_to_tensor(depth, tf.float32)
    if depth.shape.rank is not None and depth.shape.rank != 2:
      raise ValueError(f"depth must have rank 2 ([H, W]), got shape {depth.shape}")
    window = tf.convert_to_tensor(window, tf.float32)
    steps = (tf.range(size, dtype=tf.float32) + 0.5) / size
    columns, columns_in = _nearest_pixel(window[0] + steps * (window[2] - window[0]),
                                         tf.shape(depth)[1])
    rows, rows_in = _nearest_pixel(window[1] + steps * (window[3] - window[1]),
                                   tf.shape(depth)[0])
    crop = tf.gather(tf.gather(depth, rows, axis=0), columns, axis=1)
    inside = rows_in[:, tf.newaxis] & columns_in[tf.newaxis, :]
    return tf.where(inside, crop, tf.zeros_like(crop))


def _mean_valid_depth(depth, center_uvd, intrinsics, cube_mm):
  """Mean depth of the valid pixels in the cube around `center_uvd` (d kept when none)."""
  window = crop_window(center_uvd, intrinsics, cube_mm)
  crop = resample_window(depth, window, CROP_SIZE)
  inside = (crop > 0) & (tf.abs(crop - center_uvd[2]) <= 0.5 * cube_mm)
  count = tf.reduce_sum(tf.cast(inside, tf.float32))
  mean = numerics.safe_divide(tf.reduce_sum(tf.where(inside, crop, 0.0)), count)
  return tf.where(count > 0, mean, center_uvd[2])


def center_from_labels(record, cube_mm=CUBE_MM, name=None):
  """Reference point from the labels (module docstring, step 1); needs ≥ 1 labelled keypoint.

  Returns:
    A tensor of shape `[3]`, (u, v) pixels and d mm.
  """
  with tf.name_scope(name or "center_from_labels"):
    record = as_record_tensors(record)
    depth = record["depth"]
    labelled = record["kind"] >= records.KIND_2D
    in_3d = record["kind"] == records.KIND_3D
    uv = tf.boolean_mask(record["uv"], labelled)
    center_uv = tf.reduce_mean(uv, axis=0)
    columns, columns_in = _nearest_pixel(uv[:, 0], tf.shape(depth)[1])
    rows, rows_in = _nearest_pixel(uv[:, 1], tf.shape(depth)[0])
    sampled = tf.gather_nd(depth, tf.stack([rows, columns], axis=-1))
    sampled = tf.boolean_mask(sampled, columns_in & rows_in & (sampled > 0))
    depth_2d = tf.cond(tf.size(sampled) > 0,
                       lambda: tf.sort(sampled)[tf.size(sampled) // 2],
                       lambda: center_from_depth(depth, record["intrinsics"], cube_mm)[2])
    depth_3d = tf.reduce_mean(tf.boolean_mask(record["xyz"][:, 2], in_3d))
    initial = tf.where(tf.reduce_any(in_3d), depth_3d, depth_2d)
    center = tf.concat([center_uv, initial[tf.newaxis]], axis=0)
    refined = _mean_valid_depth(depth, center, record["intrinsics"], cube_mm)
    return tf.concat([center_uv, refined[tf.newaxis]], axis=0)


def center_from_depth(depth, intrinsics, cube_mm=CUBE_MM, name=None):
  """Reference point from the depth alone: the nearest object's centre of mass (module doc).

  Args:
    depth: A tensor of shape `[H, W]`, mm.
    intrinsics: A tensor of shape `[4]`.
    cube_mm: Cube side, mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[3]`, (u, v) pixels and d mm; for an image without valid pixels, the
    image centre at depth `numerics.MIN_DEPTH_MM`.
  """
  with tf.name_scope(name or "center_from_depth"):
    depth = tf.convert_to_tensor(depth, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    valid = depth > 0
    far = tf.where(valid, depth, tf.float32.max)
    blocks = tf.nn.max_pool2d(far[tf.newaxis, :, :, tf.newaxis], NEAREST_BLOCK, NEAREST_BLOCK,
                              "VALID")
    block_nearest = tf.reduce_min(blocks)
    nearest = tf.where(block_nearest < tf.float32.max, block_nearest,
                       tf.reduce_min(far))
    height, width = tf.shape(depth)[0], tf.shape(depth)[1]
    v, u = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32),
                       indexing="ij")

    def centre_of_mass(mask, fallback):
      weight = tf.cast(mask, tf.float32)
      count = tf.reduce_sum(weight)
      mean = numerics.safe_divide(
          tf.stack([tf.reduce_sum(weight * u), tf.reduce_sum(weight * v),
                    tf.reduce_sum(weight * depth)]), count)
      return tf.where(count > 0, mean, fallback)

    image_centre = tf.stack([tf.cast(width - 1, tf.float32) / 2,
                             tf.cast(height - 1, tf.float32) / 2, numerics.MIN_DEPTH_MM])
    first = centre_of_mass(valid & (depth <= nearest + cube_mm), image_centre)
    window = crop_window(first, intrinsics, cube_mm)
    in_cube = (valid & (tf.abs(depth - first[2]) <= 0.5 * cube_mm) & (u >= window[0])
               & (u <= window[2]) & (v >= window[1]) & (v <= window[3]))
    return centre_of_mass(in_cube, first)


def reference_point(record, cube_mm=CUBE_MM, name=None):
  """The frame's reference point and its source (labels, centre file, depth; in that order).

  Returns:
    A tuple: a tensor of shape `[3]` (u, v pixels; d mm) and an int32 scalar, the index of its
    source in `CENTER_SOURCES`.
  """
  with tf.name_scope(name or "reference_point"):
    record = as_record_tensors(record)
    has_labels = tf.reduce_any(record["kind"] >= records.KIND_2D)
    source = tf.where(has_labels, 0, tf.where(record["has_center"] > 0, 1, 2))
    center = tf.switch_case(source, [
        lambda: center_from_labels(record, cube_mm),
        lambda: record["center_uvd"],
        lambda: center_from_depth(record["depth"], record["intrinsics"], cube_mm)])
    return center, tf.cast(source, tf.int32)


def normalize_depth(crop_depth, center_depth, cube_mm=CUBE_MM, name=None):
  """The network input: (depth − d)/(cube/2) clipped to [−1, 1], +1 where invalid.

  Args:
    crop_depth: A tensor of shape `[A1, ..., An, H, W]`, mm (0 invalid).
    center_depth: A tensor of shape `[A1, ..., An]`, mm.
    cube_mm: Cube side, mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[A1, ..., An, H, W, 1]`.
  """
  with tf.name_scope(name or "normalize_depth"):
    crop_depth = tf.convert_to_tensor(crop_depth, tf.float32)
    center_depth = tf.convert_to_tensor(center_depth, tf.float32)[..., tf.newaxis, tf.newaxis]
    scaled = tf.clip_by_value((crop_depth - center_depth) / (0.5 * cube_mm), -1.0, 1.0)
    return tf.where(crop_depth > 0, scaled, tf.ones_like(scaled))[..., tf.newaxis]


def preprocess(record, cube_mm=CUBE_MM, size=CROP_SIZE, name=None):
  """One frame record (tensors) → the training example without its image Gaussians.

  Args:
    record: A frame record (`handvol.data.records`) of tensors or arrays.
    cube_mm: Cube side, mm.
    size: Crop side, pixels.
    name: Optional name scope.

  Returns:
    A dict: `"depth_input"` `[size, size, 1]`, `"crop_depth"` `[size, size]` mm,
    `"crop_intrinsics"` `[4]`, `"center_xyz"` `[3]` mm, `"uv"` `[21, 2]` crop pixels (0 where
    unlabelled), `"xyz"`, `"kind"`, `"visible"`, `"truth_xyz"`, `"has_truth"`, `"subject"`,
    `"dataset"` as in the record, and `"center_source"` int32.
  """
  with tf.name_scope(name or "preprocess"):
    record = as_record_tensors(record)
    intrinsics = record["intrinsics"]
    center_uvd, source = reference_point(record, cube_mm)
    window = crop_window(center_uvd, intrinsics, cube_mm)
    crop = resample_window(record["depth"], window, size)
    crop = tf.where(tf.abs(crop - center_uvd[2]) <= 0.5 * cube_mm, crop, tf.zeros_like(crop))
    labelled = (record["kind"] >= records.KIND_2D)[:, tf.newaxis]
    uv = camera.image_to_crop(record["uv"], window, size)
    return {
        "depth_input": normalize_depth(crop, center_uvd[2], cube_mm),
        "crop_depth": crop,
        "crop_intrinsics": camera.crop_intrinsics(intrinsics, window, size),
        "center_xyz": camera.uvd_to_xyz(center_uvd, intrinsics),
        "uv": tf.where(labelled, uv, tf.zeros_like(uv)),
        "xyz": record["xyz"],
        "kind": record["kind"],
        "visible": record["visible"],
        "truth_xyz": record["truth_xyz"],
        "has_truth": record["has_truth"],
        "subject": record["subject"],
        "dataset": record["dataset"],
        "center_source": source,
    }
