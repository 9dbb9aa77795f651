"""Preprocessing of depth frames (SPEC §7): reference point, cube crop, normalised input.

The per-frame functions (no batch dimension; `preprocess`, `reference_point`,
`center_from_depth`, `resample_window`) run inside `tf.data` maps for training. They call the
batched ones (`centers_from_depth`, `resample_windows`, `crop_frames`; leading dimension B) on
a batch of one, which the serving graph (`handvol.export.serving`) runs on whole batches: one
implementation for both. All are TF ops. Pixel coordinates follow `handvol.geometry.camera`
(pixel centres at integers, windows by their continuous edges).

Steps, as `preprocess` runs them:
1. A reference point (u, v, d), from the first available of (`CENTER_SOURCES`):
   - labels: (u, v) = mean of the labelled keypoints' pixels; d = the mean depth of the 3D
     labels, or, with 2D labels only, the median of the measured depths under the labelled
     pixels; then d is re-centred once to the mean valid depth inside the cube around that
     point (the paper re-crops "the same cube, but centered at the average depth");
   - a centre file: the record's `center_uvd`, as given;
   - depth alone: the centre of mass of the nearest object. The nearest surface depth is the
     smallest depth of any fully valid 4×4 pixel block (a block's depth: its largest; blocks
     start at pixel 0, so isolated flying pixels are ignored; without such a block, the
     nearest valid pixel of the subsample below). A first (u, v, d) centre of mass is taken
     over the valid pixels within one cube side behind it among every 4th pixel in each
     direction (the top-left pixel of each whole 4×4 block). It is refined once: the centre of
     mass of the valid pixels within d ± cube/2 among those that the 128×128 (`CROP_SIZE`)
     resampling of the cube's window around the first estimate (step 2) reads, each pixel
     counted once at its original (u, v): every pixel of the window (± ½ pixel) when it spans
     at most 128 pixels, else a regular subsample of it (spacing window/128).
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

import functools

import tensorflow as tf

from handvol import numerics
from handvol import shapes
from handvol.data import records
from handvol.geometry import camera
from handvol.image import localize
from handvol.image.units import depth_in_mm

CROP_SIZE = 128
"""Side of the square network input, pixels."""

CUBE_MM = 300.0
"""Side of the crop cube, mm."""

CENTER_SOURCES = ("labels", "centre_file", "depth_only", "localizer")
"""`center_source` values: the index of the reference point's origin here. "localizer" is the
hand localiser of `handvol.image.localize`, which the serving graph uses for frames without a
reference point (appended last: the other indices are stable)."""

NEAREST_BLOCK = 4
"""Side (pixels) of the fully valid blocks whose depth defines the nearest surface."""

CENTER_GRID = (0.125, 0.125, 0.5)
"""A computed reference point (u, v pixels, d mm) is rounded to this grid before a crop is made
at it (`on_center_grid`): the serving graph's localised point, and each pass of the centre
refiner. The crop samples its nearest pixels, so a point that moves by 1e-4 pixel can make a
crop pixel take its neighbour's depth; float32 convolutions differ that much between
TensorFlow, LiteRT and ONNX Runtime, and through the refiner's passes such a flip can grow into
a different point. On the grid, runtimes crop at the same point unless theirs straddle one of
its lines (about 1e-4 / 0.125 of points); the point moves by at most 1/16 pixel and 0.25 mm."""


def _nearest_pixel(coordinate, extent):
  """Nearest pixel index (pixel centres at integers) and whether it lies inside [0, extent)."""
  index = tf.cast(tf.floor(coordinate + 0.5), tf.int32)
  inside = (index >= 0) & (index < extent)
  return tf.clip_by_value(index, 0, extent - 1), inside


def _window_samples(low, high, size, extent):
  """The pixels that a `size`-sample nearest-neighbour resampling of [low, high] reads.

  Args:
    low: A tensor of shape `[B]`, the window's lower continuous edge, pixels.
    high: A tensor of shape `[B]`, its upper edge.
    size: Number of samples.
    extent: The image's extent along this axis, pixels (int32 scalar).

  Returns:
    A tuple of tensors of shape `[B, size]`: the pixel indices (int32, clipped to the image),
    whether each lies inside the image, and whether it is the first sample of its pixel (the
    indices do not decrease, so a pixel's samples are consecutive).
  """
  steps = (tf.range(size, dtype=tf.float32) + 0.5) / size
  coordinate = low[:, tf.newaxis] + steps * (high - low)[:, tf.newaxis]
  index, inside = _nearest_pixel(coordinate, extent)
  unclipped = tf.floor(coordinate + 0.5)
  first = tf.concat([tf.ones_like(inside[:, :1]), unclipped[:, 1:] > unclipped[:, :-1]],
                    axis=1)
  return index, inside, first


def _resample(depth, windows, size):
  """`resample_windows`, plus the samples' pixels: `(crop, (rows, columns), (first_row,
  first_column))`, each of the last four `[B, size]` (`_window_samples`)."""
  rows, rows_in, first_row = _window_samples(windows[:, 1], windows[:, 3], size,
                                             tf.shape(depth)[1])
  columns, columns_in, first_column = _window_samples(windows[:, 0], windows[:, 2], size,
                                                      tf.shape(depth)[2])
  # One gather from the flattened batch (much faster than two with batch_dims on CPU).
  shape = tf.shape(depth, out_type=tf.int64)
  row_starts = (tf.range(shape[0])[:, tf.newaxis] * shape[1] + tf.cast(rows, tf.int64)) * shape[2]
  crop = tf.gather(tf.reshape(depth, [-1]),
                   row_starts[:, :, tf.newaxis] + tf.cast(columns, tf.int64)[:, tf.newaxis, :])
  inside = rows_in[:, :, tf.newaxis] & columns_in[:, tf.newaxis, :]
  crop = tf.where(inside, crop, tf.zeros_like(crop))
  return crop, (rows, columns), (first_row, first_column)


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


def resample_windows(depth, windows, size=CROP_SIZE, name=None):
  """Nearest-neighbour resampling of one window per image of a batch (any depth dtype).

  Args:
    depth: A tensor of shape `[B, H, W]` (0 = no measurement).
    windows: A tensor of shape `[B, 4]`, (u_min, v_min, u_max, v_max) in pixels.
    size: Output side in pixels.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B, size, size]` and the dtype of `depth`: crop pixel (row i, column j)
    of image b holds its original pixel nearest to (u_min + (j + ½)·w/size,
    v_min + (i + ½)·h/size); 0 outside the image.
  """
  with tf.name_scope(name or "resample_windows"):
    depth = tf.convert_to_tensor(depth)
    shapes.check_static(depth, tensor_name="depth", has_rank=3)
    return _resample(depth, tf.convert_to_tensor(windows, tf.float32), size)[0]


def resample_window(depth, window, size=CROP_SIZE, name=None):
  """`resample_windows` of one image: depth `[H, W]` mm, window `[4]` → `[size, size]` mm."""
  with tf.name_scope(name or "resample_window"):
    depth = tf.convert_to_tensor(depth, tf.float32)
    shapes.check_static(depth, tensor_name="depth", has_rank=2)
    window = tf.convert_to_tensor(window, tf.float32)
    return resample_windows(depth[tf.newaxis], window[tf.newaxis], size)[0]


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


def centers_from_depth(depth, intrinsics, cube_mm=CUBE_MM, depth_unit_mm=None, name=None):
  """Reference points from the depth alone, for a batch (module docstring, step 1).

  The only pass over the full frames is the blocks' maxima and minima of the nearest surface;
  the centres of mass read a subsample (every 4th pixel in each direction) and the `CROP_SIZE`²
  resampling of the cube's window, converted to mm there only.

  Args:
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (any real dtype), H and W
      at least `NEAREST_BLOCK`; negative, NaN and ±Inf are no measurement.
    intrinsics: A tensor of shape `[B, 4]`.
    cube_mm: Cube side, mm.
    depth_unit_mm: A tensor of shape `[B]`, mm per count (> 0); None: `depth` is in mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B, 3]`, (u, v) pixels and d mm; for an image without valid pixels, the
    image centre at depth `numerics.MIN_DEPTH_MM`.
  """
  with tf.name_scope(name or "centers_from_depth"):
    depth = tf.convert_to_tensor(depth)
    shapes.check_static(depth, tensor_name="depth", has_rank=3)
    if depth.dtype != tf.float32:
      depth = tf.cast(depth, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    shape = tf.shape(depth)
    batch, height, width = shape[0], shape[1], shape[2]
    nearest, sample = _nearest_surface(depth, depth_unit_mm)
    valid = sample > 0
    down, across = height // NEAREST_BLOCK, width // NEAREST_BLOCK
    image_centre = tf.stack([tf.fill([batch], tf.cast(width - 1, tf.float32) / 2),
                             tf.fill([batch], tf.cast(height - 1, tf.float32) / 2),
                             tf.fill([batch], numerics.MIN_DEPTH_MM)], axis=1)
    sample_rows = tf.tile(tf.range(down)[tf.newaxis] * NEAREST_BLOCK, [batch, 1])
    sample_columns = tf.tile(tf.range(across)[tf.newaxis] * NEAREST_BLOCK, [batch, 1])
    first = _centre_of_mass(valid & (sample <= (nearest + cube_mm)[:, tf.newaxis, tf.newaxis]),
                            sample, sample_rows, sample_columns, image_centre)
    # Refinement over the pixels that the cube's crop samples, each counted once.
    crop, (rows, columns), (first_row, first_column) = _resample(
        depth, crop_window(first, intrinsics, cube_mm), CROP_SIZE)
    crop = depth_in_mm(crop, depth_unit_mm)
    in_cube = ((crop > 0) & (tf.abs(crop - first[:, 2:3, tf.newaxis]) <= 0.5 * cube_mm)
               & first_row[:, :, tf.newaxis] & first_column[:, tf.newaxis, :])
    return _centre_of_mass(in_cube, crop, rows, columns, first)


def _nearest_surface(depth, depth_unit_mm):
  """The nearest surface `[B]` mm of float32 depth `[B, H, W]` in counts, and the subsample
  `[B, H/4, W/4]` mm (each 4×4 block's top-left pixel, so a fully valid block is never
  missed)."""
  unit = (tf.ones(tf.shape(depth)[:1]) if depth_unit_mm is None
          else tf.convert_to_tensor(depth_unit_mm, tf.float32))
  shape = tf.shape(depth)
  batch, height, width = shape[0], shape[1], shape[2]
  # Nearest surface, in counts (a positive unit keeps their order). Each 4×4 block's maximum,
  # and whether its minimum is > 0 (min and max propagate NaN): first elementwise over its
  # rows, the only pass over the full frames, then over its columns.
  down, across = height // NEAREST_BLOCK, width // NEAREST_BLOCK
  grouped = tf.reshape(depth[:, :down * NEAREST_BLOCK, :across * NEAREST_BLOCK],
                       [batch, down, NEAREST_BLOCK, across * NEAREST_BLOCK])
  block_rows = tf.unstack(grouped, axis=2)
  row_max = functools.reduce(tf.maximum, block_rows)
  row_valid = functools.reduce(tf.minimum, block_rows) > 0
  far = tf.where(row_valid, row_max, tf.float32.max)
  block_far = functools.reduce(tf.maximum, tf.unstack(
      tf.reshape(far, [batch, down, across, NEAREST_BLOCK]), axis=3))
  block_nearest = tf.reduce_min(block_far, axis=[1, 2])
  sample = tf.reshape(block_rows[0], [batch, down, across, NEAREST_BLOCK])[..., 0]
  sample = depth_in_mm(sample, depth_unit_mm)
  sample_nearest = tf.reduce_min(tf.where(sample > 0, sample, tf.float32.max), axis=[1, 2])
  return tf.where(block_nearest < tf.float32.max, block_nearest * unit, sample_nearest), sample


def _centre_of_mass(mask, crop, rows, columns, fallback):
  """(u, v, d) `[B, 3]`: the mean pixel and depth of `mask` `[B, R, C]` over `crop` mm at
  pixel `rows` `[B, R]` and `columns` `[B, C]`; `fallback` for an empty mask."""
  weight = tf.cast(mask, tf.float32)
  count = tf.reduce_sum(weight, axis=[1, 2])
  sums = tf.stack([
      tf.reduce_sum(tf.reduce_sum(weight, axis=1) * tf.cast(columns, tf.float32), axis=1),
      tf.reduce_sum(tf.reduce_sum(weight, axis=2) * tf.cast(rows, tf.float32), axis=1),
      tf.reduce_sum(tf.where(mask, crop, 0.0), axis=[1, 2])], axis=1)
  mean = numerics.safe_divide(sums, count[:, tf.newaxis])
  return tf.where(count[:, tf.newaxis] > 0, mean, fallback)


def center_from_depth(depth, intrinsics, cube_mm=CUBE_MM, name=None):
  """`centers_from_depth` of one frame: depth `[H, W]` mm, intrinsics `[4]` → `[3]`."""
  with tf.name_scope(name or "center_from_depth"):
    depth = tf.convert_to_tensor(depth, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    return centers_from_depth(depth[tf.newaxis], intrinsics[tf.newaxis], cube_mm)[0]


def reference_point(record, cube_mm=CUBE_MM, prefer_centre=False, name=None):
  """The frame's reference point and its source: the labels, else the centre file, else the
  hand localiser (`handvol.image.localize.localize_hand`, the serving graph's code), else,
  where the localiser finds no hand-like blob, the depth-only centre (`center_from_depth`).
  With `prefer_centre` (a Python bool), a record's centre comes before its labels: a source
  whose centres are the serving graph's points trains on the crops serving makes.

  Returns:
    A tuple: a tensor of shape `[3]` (u, v pixels; d mm) and an int32 scalar, the index of its
    source in `CENTER_SOURCES`.
  """
  with tf.name_scope(name or "reference_point"):
    record = as_record_tensors(record)
    has_labels = tf.reduce_any(record["kind"] >= records.KIND_2D)
    has_center = record["has_center"] > 0
    branch = tf.where(has_center & prefer_centre, 1,
                      tf.where(has_labels, 0, tf.where(has_center, 1, 2)))

    def from_localiser():
      found = localize.localize_hand(record["depth"], record["intrinsics"])
      return tf.cond(found["valid"] > 0,
                     lambda: (found["center_uvd"], tf.constant(CENTER_SOURCES.index("localizer"))),
                     lambda: (center_from_depth(record["depth"], record["intrinsics"], cube_mm),
                              tf.constant(CENTER_SOURCES.index("depth_only"))))

    center, source = tf.switch_case(branch, [
        lambda: (center_from_labels(record, cube_mm), tf.constant(0)),
        lambda: (record["center_uvd"], tf.constant(1)),
        from_localiser])
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


def on_center_grid(center_uvd):
  """`center_uvd` `[..., 3]` (u, v pixels, d mm) rounded to `CENTER_GRID` (halves up)."""
  grid = tf.constant(CENTER_GRID)
  return tf.floor(tf.convert_to_tensor(center_uvd, tf.float32) / grid + 0.5) * grid


def crop_frames(depth, center_uvd, intrinsics, cube_mm=CUBE_MM, size=CROP_SIZE,
                depth_unit_mm=None, name=None):
  """Steps 2–4 (module docstring) for a batch: window, crop and network input.

  Args:
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (any real dtype; converted
      to mm on the crop only).
    center_uvd: A tensor of shape `[B, 3]`, the reference points: (u, v) pixels, d mm.
    intrinsics: A tensor of shape `[B, 4]`.
    cube_mm: Cube side, mm.
    size: Crop side, pixels.
    depth_unit_mm: A tensor of shape `[B]`, mm per count (> 0); None: `depth` is in mm.
    name: Optional name scope.

  Returns:
    A dict: `"depth_input"` `[B, size, size, 1]`, `"crop_depth"` `[B, size, size]` mm (0 outside
    d ± cube/2), `"crop_intrinsics"` `[B, 4]`, `"center_xyz"` `[B, 3]` mm and `"window"`
    `[B, 4]` (u_min, v_min, u_max, v_max) pixels.
  """
  with tf.name_scope(name or "crop_frames"):
    center_uvd = tf.convert_to_tensor(center_uvd, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    window = crop_window(center_uvd, intrinsics, cube_mm)
    crop = depth_in_mm(resample_windows(depth, window, size), depth_unit_mm)
    center_depth = center_uvd[:, 2]
    crop = tf.where(tf.abs(crop - center_depth[:, tf.newaxis, tf.newaxis]) <= 0.5 * cube_mm,
                    crop, tf.zeros_like(crop))
    return {
        "depth_input": normalize_depth(crop, center_depth, cube_mm),
        "crop_depth": crop,
        "crop_intrinsics": camera.crop_intrinsics(intrinsics, window, size),
        "center_xyz": camera.uvd_to_xyz(center_uvd, intrinsics),
        "window": window,
    }


def preprocess(record, cube_mm=CUBE_MM, size=CROP_SIZE, prefer_centre=False, name=None):
  """One frame record (tensors) → the training example without its image Gaussians.

  Args:
    record: A frame record (`handvol.data.records`) of tensors or arrays.
    cube_mm: Cube side, mm.
    size: Crop side, pixels.
    prefer_centre: Crop about the record's centre, where it has one, even when it has labels
      (`reference_point`).
    name: Optional name scope.

  Returns:
    A dict: `"depth_input"` `[size, size, 1]`, `"crop_depth"` `[size, size]` mm,
    `"crop_intrinsics"` `[4]`, `"center_xyz"` `[3]` mm, `"uv"` `[21, 2]` crop pixels (0 where
    unlabelled), `"xyz"`, `"kind"`, `"visible"`, `"truth_xyz"`, `"has_truth"`, `"subject"`,
    `"dataset"` as in the record, and `"center_source"` int32.
  """
  with tf.name_scope(name or "preprocess"):
    record = as_record_tensors(record)
    center_uvd, source = reference_point(record, cube_mm, prefer_centre)
    example = {key: value[0] for key, value in crop_frames(
        record["depth"][tf.newaxis], center_uvd[tf.newaxis], record["intrinsics"][tf.newaxis],
        cube_mm, size).items()}
    labelled = (record["kind"] >= records.KIND_2D)[:, tf.newaxis]
    uv = camera.image_to_crop(record["uv"], example.pop("window"), size)
    example.update({
        "uv": tf.where(labelled, uv, tf.zeros_like(uv)),
        "xyz": record["xyz"],
        "kind": record["kind"],
        "visible": record["visible"],
        "truth_xyz": record["truth_xyz"],
        "has_truth": record["has_truth"],
        "subject": record["subject"],
        "dataset": record["dataset"],
        "center_source": source,
    })
    return example
