"""Finding the hand in a depth frame of a person: a reference point, a confidence, or no hand.

The depth-only centre of `preprocess.centers_from_depth` takes the nearest object's centre of
mass within a 300 mm cube, so a hand held less than 30 cm in front of the body is pulled onto
the chest. `localize_hands` instead segments the frame and picks the blob that is hand-like:

1. A grid: every `GRID_STEP`-th pixel in each direction (the top-left pixel of each block),
   converted to mm. Grid neighbours (4-connected) are connected when both are measured and
   their depths differ by at most `JUMP_MM`: connected components are smooth surfaces, so a
   hand in front of the torso, a table's edge and a wall fall apart, while the hand, its arm
   and the body they reach stay one component.
2. Per component, its near region: its grid pixels within `SLAB_MM` of its nearest depth. A
   hand held up is the near end of its component; the chest, a table or a wall have a near
   region far larger than a hand's, stray pixels far smaller. The near region's metric area
   (each grid pixel covers (GRID_STEP·d)²/(fx·fy) mm²) must lie in `HAND_AREA_MM2`, and it
   must not be flat: the spread of its points across their best-fitting plane must reach
   `MIN_THICKNESS_MM` (`_thick`: a table's or a wall's piece cut by the image border, or a
   torso's front, is flat; a hand with its fingers is not), and the component must begin
   within `MAX_HAND_DEPTH_MM` of the camera. Of the components that pass, the nearest wins.
3. Its centre. The winning component's points within `SHIFT_SLAB_MM` of its nearest point
   are mean-shifted with a `SHIFT_RADIUS_MM` sphere from `NUM_SEEDS` starts (its nearest
   point, then farthest-point samples of its near region). Of the modes, the hand is the one
   at an arm's free end: the most near-region area within the sphere, plus `OUTLINE_WEIGHT`
   times the area of outline pixels there (fingers have long outlines, an arm short ones),
   less `SHELL_WEIGHT` times the component's area in the shell out to `SHELL_RADIUS_MM` (an
   elbow is surrounded by an upper arm and a body, a hand only by its forearm). The mode is
   moved `DISTAL_SHIFT_MM` along the hand's long axis away from the arm (the joints' mean
   lies distal of the palm's mass) and `SURFACE_TO_CENTRE_MM` deeper, from the visible skin
   to the middle of the hand. The constants were set on scenes of seeds below 1000
   (`bench/localize.py` measures on seeds from 1000).
4. The confidence: how hand-like the near region's area is, exp(−½(ln(A/A_typ)/σ)²)
   (`TYPICAL_AREA_MM2`, `AREA_LOG_SD`); `valid` 1 when a component passed, else 0 with a
   `reason` (`REASONS`).

Stock TF ops only (a `tf.while_loop` of shifts, minima and gathers for the components), batched
over frames, in graph mode: it can run inside a serving graph and in `tf.data` maps, and it
converts to LiteRT builtins and ONNX (`handvol.export.portable`: eigen-decompositions by
`geometry.linalg`, segment sums over rank-1 ids, `expand_dims` for new axes). The cost
is a few passes over the grid ((H/4)·(W/4) pixels) per propagation step; label propagation
along whole row and column runs with pointer jumping (each pixel's label becomes its label's
label) needs a few steps, and the near regions' flatness is a sign test of three minors per
component rather than an eigen-decomposition (about 10 ms per 640×480 frame on 2 cores, a
sixth of the neighbour-by-neighbour propagation and Jacobi eigenvalues it replaced:
`bench/inference.py`).
"""

import tensorflow as tf

from handvol import numerics
from handvol import shapes
from handvol.geometry import camera
from handvol.geometry import linalg
from handvol.image import units

GRID_STEP = 4
"""Pixels between grid samples (as `preprocess.NEAREST_BLOCK`'s subsample)."""
JUMP_MM = 40.0
"""Largest depth difference (mm) between connected grid neighbours."""
SLAB_MM = 80.0
"""Depth (mm) of a component's near region behind its nearest point: a hand held up reaches
back about a hand's depth, less than a typical gap to the body."""
HAND_AREA_MM2 = (1500.0, 45000.0)
"""Accepted metric area of a near region: from a partly visible or side-on hand to an open
hand with the forearm that lies in the slab. The lower end was 2500 until 2026-12-07: a hand
whose fingers curl towards the camera splits into pieces at the depth jumps, and its palm's
piece can hold less than 2000 mm² in the slab (`docs/localize.md`, "The smallest hand")."""
MIN_THICKNESS_MM = 3.0
"""A near region flatter than this (spread across its best plane) is a table's, a wall's or a
torso's front, not a hand's."""
MAX_HAND_DEPTH_MM = 2000.0
"""A component whose nearest point lies farther than this is not a hand candidate: a hand 2 m
away spans fewer than 20 pixels of a 640-pixel image (the pose network's crops were trained on
hands 25–120 cm away), while a wall's patch cut to a hand's area by the image's edges and by
shadows passes the flatness test there on its depth noise (a D435 no-hand frame of
`bench/localize.py`, seed 1000: `docs/localize.md`, "Where the far hands are lost").
`export.predict`'s plausible range ends here too."""
TYPICAL_AREA_MM2 = 15000.0
AREA_LOG_SD = 0.9
"""The confidence's log-normal area model."""
SHIFT_RADIUS_MM = 90.0
SHIFT_STEPS = 6
"""The mean shift's spherical window (about half a hand's length) and its number of steps."""
AXIS_RADIUS_MM = 160.0
HAND_REACH_MM = 100.0
DISTAL_SHIFT_MM = 40.0
"""The hand's long axis is found within `AXIS_RADIUS_MM` of the mean shift's centre; points
farther than `HAND_REACH_MM` along it mark the arm's side; the centre then moves
`DISTAL_SHIFT_MM` away from the arm (the joints' mean lies distal of the palm's mass)."""
SURFACE_TO_CENTRE_MM = 12.5
"""From the hand's camera-facing skin to the mean of its joints (half a palm's thickness)."""
NUM_SEEDS = 4
"""Mean-shift starts: the near region's nearest point and three spread over it."""
SHELL_RADIUS_MM = 200.0
SHELL_WEIGHT = 0.5
OUTLINE_WEIGHT = 4.0
"""Choosing among the modes (`_hand_mode`)."""
SHIFT_SLAB_MM = 160.0
"""The mean shift uses the component's points within this depth of its nearest point."""
MAX_PROPAGATION_STEPS = 400
"""Cap on the label propagation's steps (it stops earlier, once no label changes: a few
steps for a depth frame's surfaces; a spiral needs one per turn)."""

REASONS = ("found", "no_depth", "no_hand_sized_blob")
"""`reason` values: the index of why `valid` is what it is."""


def _grid(depth, depth_unit_mm):
  """The grid samples in mm `[B, h, w]` (0 = none) and their pixel rows `[h]`, columns `[w]`."""
  shape = tf.shape(depth)
  rows = tf.range(0, shape[1], GRID_STEP)
  columns = tf.range(0, shape[2], GRID_STEP)
  grid = units.depth_in_mm(depth[:, ::GRID_STEP, ::GRID_STEP], depth_unit_mm)
  grid = tf.where(tf.math.is_finite(grid), grid, tf.zeros_like(grid))
  return grid, rows, columns


def _shift(labels, axis, forward, fill):
  """`labels` `[B, h, w]` moved one grid step along `axis` (1 or 2), `fill` entering."""
  size = tf.shape(labels)[axis]
  if forward:
    kept = tf.gather(labels, tf.range(1, size), axis=axis)
    return tf.concat([kept, tf.fill(tf.shape(tf.gather(labels, [0], axis=axis)), fill)], axis)
  kept = tf.gather(labels, tf.range(0, size - 1), axis=axis)
  return tf.concat([tf.fill(tf.shape(tf.gather(labels, [0], axis=axis)), fill), kept], axis)


def _links(grid):
  """Whether each grid pixel connects to its neighbour (down, up, right, left): 4 × `[B, h, w]`
  bool, as (axis, forward) pairs with their masks."""
  valid = grid > 0
  links = []
  for axis in (1, 2):
    for forward in (True, False):
      neighbour = _shift(grid, axis, forward, 0.0)
      links.append(((axis, forward),
                    valid & (neighbour > 0) & (tf.abs(neighbour - grid) <= JUMP_MM)))
  return links


def _outline(grid):
  """`[B, h, w]` bool: measured grid pixels with a neighbour they do not connect to (the
  outlines of surfaces: long around fingers, short along an arm)."""
  unlinked = tf.zeros_like(grid, tf.bool)
  for _, linked in _links(grid):
    unlinked |= ~linked
  return unlinked & (grid > 0)


def _runs(linked_before, across):
  """The runs of a grid: maximal straight lines of linked pixels along rows (`across` False)
  or columns (True). `linked_before` `[B, h, w]` bool says whether a pixel links to the one
  before it on its line; returns each pixel's run `[B, h, w]` int32, numbered from 0 over the
  batch, and their count B·h·w (an upper bound)."""
  shape = tf.shape(linked_before)
  starts = ~linked_before
  if across:
    starts = tf.transpose(starts, [0, 2, 1])
  size = shape[1] * shape[2]
  runs = tf.math.cumsum(tf.reshape(tf.cast(starts, tf.int32), [-1])) - 1
  runs = tf.reshape(runs, tf.shape(starts))
  if across:
    runs = tf.transpose(runs, [0, 2, 1])
  return runs, shape[0] * size


def connected_components(grid, name=None):
  """Labels of the smooth surfaces of a grid of depths (module docstring, step 1).

  Each step gives every pixel the lowest label along its row run, then along its column run
  (maximal lines of linked pixels: a segment minimum each, however long the line), then its
  label's label (pointer jumping); it stops once no label changes, after a few steps for
  the surfaces of a depth frame where neighbour-to-neighbour propagation needed tens.

  Args:
    grid: A float32 tensor of shape `[B, h, w]`, depth in mm (0 = none).
    name: Optional name scope.

  Returns:
    An int32 tensor of shape `[B, h, w]`: per measured pixel, the flat index (row·w + column)
    of the first pixel of its component; h·w for pixels without depth.
  """
  with tf.name_scope(name or "connected_components"):
    shape = tf.shape(grid)
    size = shape[1] * shape[2]
    links = dict(_links(grid))
    # The (axis, forward=False) link joins a pixel to the one before it along that axis.
    lines = [_runs(links[(2, False)], across=False), _runs(links[(1, False)], across=True)]
    start = tf.where(grid > 0, tf.reshape(tf.range(size), [1, shape[1], shape[2]]), size)

    def step(labels, _):
      # In float32 (exact below 2²⁴ grid pixels): tf2onnx converts only float segment minima.
      lowest = tf.cast(labels, tf.float32)
      for runs, count in lines:
        lowest = tf.gather(_segment_min(lowest, runs, count), runs)
      lowest = tf.cast(lowest, tf.int32)
      # Pointer jumping: a label's own label is no larger and names a pixel of the same
      # component; the sentinel h·w maps to itself.
      flat = tf.concat([tf.reshape(lowest, [shape[0], size]),
                        tf.fill([shape[0], 1], size)], axis=1)
      jumped = tf.gather(flat, tf.reshape(lowest, [shape[0], size]), batch_dims=1)
      jumped = tf.reshape(jumped, shape)
      return jumped, tf.reduce_any(jumped != labels)

    labels, _ = tf.while_loop(lambda _, changed: changed, step, (start, tf.constant(True)),
                              maximum_iterations=MAX_PROPAGATION_STEPS)
    return labels


def _segment_sum(data, segment, count):
  """`tf.math.unsorted_segment_sum` of `data` `[*segment.shape, ...]` by `segment`, flattened to
  rank-1 ids first (the ONNX conversion takes no others)."""
  return _flat_segments(tf.math.unsorted_segment_sum, data, segment, count)


def _segment_min(data, segment, count):
  """`tf.math.unsorted_segment_min`, as `_segment_sum`."""
  return _flat_segments(tf.math.unsorted_segment_min, data, segment, count)


def _flat_segments(reduce, data, segment, count):
  ids = tf.reshape(segment, [-1])
  rows = tf.concat([tf.shape(ids), tf.shape(data)[segment.shape.rank:]], axis=0)
  return reduce(tf.reshape(data, rows), ids, count)


def _component_stats(grid, labels, pixel_area, points):
  """Per component (segment b·(h·w + 1) + label): nearest depth `[B·(N+1)]`, near-region area
  `[B·(N+1)]` mm², whether the near region is thick `[B·(N+1)]` (`_thick`), and each pixel's
  segment `[B, h, w]` and near flag."""
  shape = tf.shape(grid)
  segments_per_frame = shape[1] * shape[2] + 1
  segment = labels + tf.range(shape[0])[:, tf.newaxis, tf.newaxis] * segments_per_frame
  count = shape[0] * segments_per_frame
  valid = grid > 0
  nearest = _segment_min(tf.where(valid, grid, tf.float32.max), segment, count)
  near = valid & (grid <= tf.gather(nearest, segment) + SLAB_MM)
  area = _segment_sum(tf.where(near, pixel_area, 0.0), segment, count)
  return nearest, area, _thick(points, near, segment, count), segment, near


def _thick(points, near, segment, count):
  """Per segment `[count]` bool: whether the spread of its `near` points across their
  best-fitting plane reaches `MIN_THICKNESS_MM`, i.e. their covariance's smallest eigenvalue
  reaches its square: C − t²·I is positive definite, by Sylvester's criterion (its three
  leading principal minors are positive). Exact up to the minors' float32 rounding, and a
  few elementwise ops per segment where an eigen-decomposition of every segment's matrix
  (h·w + 1 per frame) cost more than the rest of the localiser."""
  flat_points = tf.reshape(points, tf.concat([tf.shape(near), [3]], axis=0))
  weight = tf.expand_dims(tf.cast(near, tf.float32), -1)
  number = tf.maximum(_segment_sum(weight, segment, count), 1.0)
  mean = _segment_sum(flat_points * weight, segment, count) / number
  offset = (flat_points - tf.gather(mean, segment)) * weight
  outer = tf.expand_dims(offset, -1) * tf.expand_dims(offset, -2)
  c = (_segment_sum(outer, segment, count) / number[..., tf.newaxis]
       - MIN_THICKNESS_MM ** 2 * tf.eye(3))
  minor_2 = c[:, 0, 0] * c[:, 1, 1] - c[:, 0, 1] * c[:, 1, 0]
  minor_3 = (c[:, 0, 0] * (c[:, 1, 1] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 1])
             - c[:, 0, 1] * (c[:, 1, 0] * c[:, 2, 2] - c[:, 1, 2] * c[:, 2, 0])
             + c[:, 0, 2] * (c[:, 1, 0] * c[:, 2, 1] - c[:, 1, 1] * c[:, 2, 0]))
  return (c[:, 0, 0] > 0.0) & (minor_2 > 0.0) & (minor_3 > 0.0)


def _choose(nearest, area, thick, batch):
  """The nearest hand-sized component within reach (`MAX_HAND_DEPTH_MM`) per frame: its
  segment `[B]`, whether one passed `[B]`, and its area `[B]` (mm²)."""
  nearest = tf.reshape(nearest, [batch, -1])
  area = tf.reshape(area, [batch, -1])
  hand_sized = ((area >= HAND_AREA_MM2[0]) & (area <= HAND_AREA_MM2[1])
                & tf.reshape(thick, [batch, -1]) & (nearest <= MAX_HAND_DEPTH_MM))
  score = tf.where(hand_sized, nearest, tf.float32.max)
  best = tf.argmin(score, axis=1, output_type=tf.int32)
  found = tf.reduce_any(hand_sized, axis=1)
  chosen_area = tf.gather(area, best, batch_dims=1)
  return best + tf.range(batch) * tf.shape(nearest)[1], found, chosen_area


def _seeds(points, near, first):
  """`NUM_SEEDS` start points `[B, S, 3]`: `first` `[B, 3]`, then by farthest-point sampling
  among the `near` `[B, P]` points (each the point farthest from the seeds so far)."""
  seeds = [first]
  closest = _squared_distances(points, first[:, tf.newaxis])[:, 0]
  for _ in range(NUM_SEEDS - 1):
    pick = tf.argmax(tf.where(near, closest, -1.0), axis=1, output_type=tf.int32)
    seeds.append(tf.gather(points, pick, batch_dims=1))
    closest = tf.minimum(closest, _squared_distances(points, seeds[-1][:, tf.newaxis])[:, 0])
  return tf.stack(seeds, axis=1)


def _squared_distances(points, centres):
  """Squared distances (mm²) `[B, S, P]` from `centres` `[B, S, 3]` to `points` `[B, P, 3]`:
  |p − o|² + |c − o|² − 2·(c − o)·(p − o) about the first centre o, one matrix product in
  place of a `[B, S, P, 3]` difference (about o, float32 keeps those within a hand's reach
  to about 0.01 mm²)."""
  origin = centres[:, :1]
  offsets, centred = points - origin, centres - origin
  squared = (tf.reduce_sum(tf.square(offsets), axis=-1)[:, tf.newaxis]
             + tf.reduce_sum(tf.square(centred), axis=-1)[..., tf.newaxis]
             - 2.0 * tf.matmul(centred, offsets, transpose_b=True))
  return tf.maximum(squared, 0.0)


def _mean_shift(points, member, seeds):
  """Mean shift of a `SHIFT_RADIUS_MM` sphere over `points` `[B, P, 3]` (mm) where `member`
  `[B, P]`, from each of `seeds` `[B, S, 3]`, `SHIFT_STEPS` steps; returns the modes
  `[B, S, 3]`."""
  weight_mask = tf.cast(member, tf.float32)[:, tf.newaxis]
  centre = seeds
  for _ in range(SHIFT_STEPS):
    inside = tf.cast(_squared_distances(points, centre) <= SHIFT_RADIUS_MM ** 2, tf.float32)
    weight = weight_mask * inside
    total = tf.reduce_sum(weight, axis=2, keepdims=True)
    mean = numerics.safe_divide(tf.matmul(weight, points), total)
    centre = tf.where(total > 0, mean, centre)
  return centre


def _free_end(points, component, mode):
  """The blob's other end: the mode `[B, 3]` of a mean shift over the `component` `[B, P]`
  points, started at its point farthest from `mode` `[B, 3]`. Where the chosen mode is a
  forearm's end cut by the image border (the arm reaching in from near the camera), this is
  the hand; where the mode is the hand, it is an elbow, a shoulder or a body's far side."""
  squared = _squared_distances(points, mode[:, tf.newaxis])[:, 0]
  far = tf.argmax(tf.where(component, squared, -1.0), axis=1, output_type=tf.int32)
  start = tf.gather(points, far, batch_dims=1)[:, tf.newaxis]
  return _mean_shift(points, component, start)[:, 0]


def _hand_mode(points, modes, near_area, component_area, edge_area):
  """The mode `[B, 3]` of `modes` `[B, S, 3]` that looks most like a hand at an arm's free end:
  the most near-region area within `SHIFT_RADIUS_MM` (`near_area` `[B, P]` mm², 0 off it),
  less `SHELL_WEIGHT` times the component's area between that and `SHELL_RADIUS_MM`
  (`component_area`: an upper arm, a shoulder and a torso surround an elbow, only a forearm
  surrounds a hand)."""
  squared = _squared_distances(points, modes)
  within = squared <= SHIFT_RADIUS_MM ** 2
  inner = tf.reduce_sum(tf.where(within, near_area[:, tf.newaxis], 0.0), axis=2)
  shell = tf.reduce_sum(tf.where(~within & (squared <= SHELL_RADIUS_MM ** 2),
                                 component_area[:, tf.newaxis], 0.0), axis=2)
  outline = tf.reduce_sum(tf.where(within, edge_area[:, tf.newaxis], 0.0), axis=2)
  score = inner + OUTLINE_WEIGHT * outline - SHELL_WEIGHT * shell
  return tf.gather(modes, tf.argmax(score, axis=1, output_type=tf.int32), batch_dims=1)


def _away_from_arm(points, member, centre):
  """`centre` `[B, 3]` moved `DISTAL_SHIFT_MM` along the hand's long axis, away from the arm.

  The long axis is the principal axis of the member points within `AXIS_RADIUS_MM`; the arm
  lies on the side where more of them reach beyond `HAND_REACH_MM` (fingers end sooner than a
  forearm). No move when neither side reaches that far.
  """
  offset = points - centre[:, tf.newaxis]
  near = tf.cast(member & (tf.norm(offset, axis=-1) <= AXIS_RADIUS_MM), tf.float32)
  count = tf.maximum(tf.reduce_sum(near, axis=1), 1.0)[:, tf.newaxis, tf.newaxis]
  near_column = tf.expand_dims(near, -1)
  mean = tf.reduce_sum(offset * near_column, axis=1, keepdims=True) / count
  centred = (offset - mean) * near_column
  covariance = tf.matmul(centred, centred, transpose_a=True) / count
  axis = linalg.symmetric_eigh_3x3(covariance)[1][:, :, -1]
  along = tf.reduce_sum(offset * axis[:, tf.newaxis], axis=-1)
  beyond = near * tf.cast(tf.abs(along) > HAND_REACH_MM, tf.float32)
  balance = tf.reduce_sum(beyond * tf.sign(along), axis=1)
  return centre - DISTAL_SHIFT_MM * tf.sign(balance)[:, tf.newaxis] * axis


def _grid_points(grid, rows, columns, intrinsics):
  """The grid's 3D points `[B, h·w, 3]` (mm) and each sample's covered area `[B, h, w]` mm²."""
  shape = tf.shape(grid)
  v, u = tf.meshgrid(tf.cast(rows, tf.float32), tf.cast(columns, tf.float32), indexing="ij")
  uvd = tf.stack([tf.broadcast_to(u, shape), tf.broadcast_to(v, shape), grid], axis=-1)
  points = camera.uvd_to_xyz(uvd, intrinsics[:, tf.newaxis, tf.newaxis, :])
  focal = intrinsics[:, 0] * intrinsics[:, 1]
  area = float(GRID_STEP ** 2) * tf.square(grid) / focal[:, tf.newaxis, tf.newaxis]
  return tf.reshape(points, [shape[0], -1, 3]), area


def localize_hands(depth, intrinsics, depth_unit_mm=None, name=None):
  """Reference points of the hands in a batch of depth frames (module docstring).

  Args:
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (any real dtype; 0,
      negative, NaN and ±Inf are no measurement), H and W at least `GRID_STEP`.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy) in pixels.
    depth_unit_mm: A tensor of shape `[B]`, mm per count; None: `depth` is in mm.
    name: Optional name scope.

  Returns:
    A dict of tensors: "center_uvd" `[B, 3]` float32 ((u, v) pixels, d mm: the hand's centre,
    as `preprocess` takes a reference point); "alternative_uvd" `[B, 3]`, the same from the
    chosen blob's other end (`_free_end`; for a second opinion, `centre_refiner.refine_found`); "center_xyz" `[B, 3]` mm, camera frame;
    "confidence" `[B]` in [0, 1] (0 without a hand); "valid" `[B]` int32 (1: a hand-sized
    blob was found); "reason" `[B]` int32, an index of `REASONS`; "area_mm2" `[B]` the chosen
    near region's area. Frames without a hand get the image centre at depth
    `numerics.MIN_DEPTH_MM`.
  """
  with tf.name_scope(name or "localize_hands"):
    depth = tf.convert_to_tensor(depth)
    shapes.check_static(depth, tensor_name="depth", has_rank=3)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    shapes.check_static(intrinsics, tensor_name="intrinsics", has_rank=2,
                        has_dim_equals=(-1, 4))
    grid, rows, columns = _grid(depth, depth_unit_mm)
    batch = tf.shape(grid)[0]
    points, pixel_area = _grid_points(grid, rows, columns, intrinsics)
    labels = connected_components(grid)
    nearest, area, thick, segment, near = _component_stats(grid, labels, pixel_area, points)
    best, found, chosen_area = _choose(nearest, area, thick, batch)
    chosen = tf.equal(segment, best[:, tf.newaxis, tf.newaxis])
    flat_grid = tf.reshape(grid, [batch, -1])
    near_chosen = tf.reshape(chosen & near, [batch, -1])
    start_index = tf.argmin(tf.where(near_chosen, flat_grid, tf.float32.max), axis=1,
                            output_type=tf.int32)
    member = tf.reshape(chosen, [batch, -1]) & (
        flat_grid <= tf.gather(flat_grid, start_index, batch_dims=1)[:, tf.newaxis]
        + SHIFT_SLAB_MM)
    seeds = _seeds(points, near_chosen, tf.gather(points, start_index, batch_dims=1))
    flat_area = tf.reshape(pixel_area, [batch, -1])
    mode = _hand_mode(points, _mean_shift(points, member, seeds),
                      tf.where(near_chosen, flat_area, 0.0),
                      tf.where(tf.reshape(chosen, [batch, -1]), flat_area, 0.0),
                      tf.where(near_chosen & tf.reshape(_outline(grid), [batch, -1]), flat_area,
                               0.0))
    centre = _away_from_arm(points, member, mode)
    centre = centre + tf.constant([0.0, 0.0, SURFACE_TO_CENTRE_MM])
    outputs = _outputs(centre, found, chosen_area, grid, depth, intrinsics)
    whole = tf.reshape(chosen, [batch, -1])
    alternative = _free_end(points, whole, mode)
    alternative = _away_from_arm(points, whole, alternative)
    alternative = alternative + tf.constant([0.0, 0.0, SURFACE_TO_CENTRE_MM])
    outputs["alternative_uvd"] = tf.where(found[:, tf.newaxis],
                                          camera.xyz_to_uvd(alternative, intrinsics),
                                          outputs["center_uvd"])
    return outputs


def _outputs(centre, found, area, grid, depth, intrinsics):
  """The dict of `localize_hands` from the chosen centre `[B, 3]` mm and the choice."""
  shape = tf.shape(depth)
  image_centre = tf.stack([
      tf.fill([shape[0]], tf.cast(shape[2] - 1, tf.float32) / 2),
      tf.fill([shape[0]], tf.cast(shape[1] - 1, tf.float32) / 2),
      tf.fill([shape[0]], numerics.MIN_DEPTH_MM)], axis=1)
  uvd = tf.where(found[:, tf.newaxis], camera.xyz_to_uvd(centre, intrinsics), image_centre)
  log_ratio = tf.math.log(tf.maximum(area, 1.0) / TYPICAL_AREA_MM2) / AREA_LOG_SD
  confidence = tf.where(found, tf.exp(-0.5 * tf.square(log_ratio)), 0.0)
  has_depth = tf.reduce_any(grid > 0, axis=[1, 2])
  reason = tf.where(found, 0, tf.where(has_depth, 2, 1))
  return {"center_uvd": uvd,
          "center_xyz": camera.uvd_to_xyz(uvd, intrinsics),
          "confidence": confidence,
          "valid": tf.cast(found, tf.int32),
          "reason": tf.cast(reason, tf.int32),
          "area_mm2": tf.where(found, area, 0.0)}


def localize_hand(depth, intrinsics, depth_unit_mm=None, name=None):
  """`localize_hands` of one frame: depth `[H, W]`, intrinsics `[4]`, unit scalar; outputs
  without the batch dimension."""
  with tf.name_scope(name or "localize_hand"):
    depth = tf.convert_to_tensor(depth)
    unit = None if depth_unit_mm is None else tf.reshape(
        tf.convert_to_tensor(depth_unit_mm, tf.float32), [1])
    outputs = localize_hands(depth[tf.newaxis], tf.convert_to_tensor(intrinsics,
                                                                     tf.float32)[tf.newaxis],
                             unit)
    return {key: value[0] for key, value in outputs.items()}
