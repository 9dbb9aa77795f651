"""A learned refinement of the hand localiser's reference point (DeepPrior++-style).

The localiser (`handvol.image.localize`) segments the frame and averages visible skin: its
point lies within 30 mm of the joints' mean in 59–70 % of scene frames with a body behind
(docs/localize.md), since the joints' mean lies distal of the skin's centroid by an amount that
depends on pose and view, and an elbow or a sleeve sometimes wins (with this refiner: 95–97 %,
`bench/localize.py`). A small CNN looks at a
`CUBE_MM` crop around that point, `CROP_SIZE`² pixels, normalised as the pose network's input
(`preprocess.normalize_depth`), and regresses

- the offset from the crop's reference point to the hand's centre (the mean of the 21 joints),
  in units of `CUBE_MM`/2, camera axes;
- a logit: whether a hand is within reach of the crop (`MAX_HAND_OFFSET_MM`) at all, which
  flags the localiser's false finds (a rounded piece of a body, a table's corner).

`refine_centres` applies it `ITERATIONS` times (4), re-cropping at each refined point (rounded to
`preprocess.CENTER_GRID`), and then asks the depth whether the last point has surface near it
(`surface_support`): where less than `MIN_SUPPORT_MM2` is measured within `SUPPORT_RADIUS_MM`,
the presence is 0 (the refiner sometimes moves a point from a table's corner into the air with
presence 0.95 or more).
`refine_found` refines two points per frame: the localiser's, and the mode at the other end of
its blob ("alternative_uvd": a forearm that enters from the image border nearest to the camera
wins the localiser's choice, and the hand is its far end); it keeps the alternative where the
refiner is clearly more sure of a hand there (`ALTERNATIVE_MARGIN`). Keras
layers: plain convolutions and dense layers, stock ops in the serving graph, which convert to
LiteRT builtins and ONNX. The trainer is `handvol.training.centre_refiner`; the shipped weights
are `handvol.pretrained.CENTRE_REFINER`.
"""

import keras
import tensorflow as tf

from handvol.geometry import camera
from handvol.image import localize
from handvol.image import preprocess

CUBE_MM = 450.0
"""The refiner's crop cube (mm): wider than the pose network's 300 mm, so that a reference
point 150 mm off still shows the hand."""
CROP_SIZE = 64
"""The refiner's crop side, pixels (7 mm per pixel at `CUBE_MM`)."""
ITERATIONS = 4
"""Refinement passes at inference (each re-crops at the last point). Chosen on scenes of seed
500 (`python bench/localize.py --seed 500 --passes N`; the measured seeds start at 1000): a
point that starts 150–350 mm from the hand (an elbow, an arm's end) needs more than two passes
to reach it. Over the five cameras, hits within 30 mm rose from 458 (2 passes) to 470 (4) of 500
frames with a body behind, 474 → 479 with none, and flagged no-hand frames 492 → 497; more
passes gained no more (docs/localize.md). Two more passes over both candidates cost about 4 ms
per frame at batch 1 on 2 AVX2 cores (`bench/inference.py`)."""
MAX_HAND_OFFSET_MM = 200.0
"""A crop counts as showing the hand (presence target 1) when its reference point lies within
this distance of the hand's centre."""
PRESENCE_THRESHOLD = 0.8
"""`refine_centres`' "present" is its presence (`PRESENCE_PASSES`) at least this.
Chosen for the shipped refiner on scenes of seed 500 (`python bench/localize.py --seed 500
--presence_threshold T`; the measured seeds start at 1000), before the passes' points were
rounded to the grid: over the five cameras, 0.8 flagged 495 of 500 frames without a hand
against 491 at 0.5, with the same hits within 30 mm (471 of 500 with a body behind, 477 with
none, 435 with the arm towards the camera); with the rounding, 493, 472, 476 and 432
(docs/localize.md). Kept for the wider refiner shipped since session 23: on seed 500, 0.6 gives
the same counts as 0.8 in every camera and condition."""
SUPPORT_RADIUS_MM = 50.0
MIN_SUPPORT_MM2 = 400.0
SUPPORT_SIZE = 16
"""A refined point must have measured surface near it: at least `MIN_SUPPORT_MM2` of depth
pixels within `SUPPORT_RADIUS_MM` of it (`surface_support`, on a `SUPPORT_SIZE`² crop), or its
presence is 0. The joints' mean lies inside the hand, about 12.5 mm under the palm's skin; a
point the refiner moved into the air above a table's edge, or onto a hand the camera did not
measure, has none. Chosen on scenes of seed 500 (`bench/localize.py`'s frames; the measured
seeds start at 1000): every point within 30 mm of a hand, 1,394 of them, had at least 826 mm²
within 50 mm; 14 of the 47 gross misses that the refiner kept (a table's corner, points in the
air) had at most 152 (docs/localize.md, "Surface near the point")."""
REASONS = localize.REASONS + ("rejected_by_refiner",)
"""`locate_hands`' "reason" values: the localiser's, and a blob the refiner says is no hand."""


ALTERNATIVE_MARGIN = 0.2
"""How much more probable (the refiner's presence) a hand must be at the localiser's
alternative point than at its chosen one for the alternative to be kept. Set on sequences and
scenes of seeds below 1000: 0 let near-certain ties swap onto wrong ends (hit rates on scenes
0.96 → 0.88); 0.1–0.35 gave the same scene hit rates and 0.84–0.86 on sequences whose forearm
enters from the image border (0.77 without the alternative)."""


def build_centre_refiner(width=16, name="centre_refiner"):
  """The refiner: `[B, CROP_SIZE, CROP_SIZE, 1]` normalised depth → `[B, 4]` (offset x, y, z in
  units of `CUBE_MM`/2; presence logit).

  Four stride-2 3×3 convolution stages (widths w, 2w, 4w, 4w, each with a stride-1
  convolution after it), a dense layer of 256 and a linear output layer that starts at zero
  (an untrained refiner keeps the localiser's point).
  """
  inputs = keras.Input((CROP_SIZE, CROP_SIZE, 1), name="depth_input")
  x = inputs
  for filters in (width, 2 * width, 4 * width, 4 * width):
    x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
  x = keras.layers.Flatten()(x)
  x = keras.layers.Dense(256, activation="relu")(x)
  outputs = keras.layers.Dense(4, kernel_initializer="zeros", name="offset_and_presence")(x)
  return keras.Model(inputs, outputs, name=name)


def refiner_crops(depth, center_uvd, intrinsics, depth_unit_mm=None):
  """The refiner's input at reference points: `preprocess.crop_frames` with `CUBE_MM` and
  `CROP_SIZE`; "depth_input" `[B, 64, 64, 1]` and "center_xyz" `[B, 3]` mm."""
  return preprocess.crop_frames(depth, center_uvd, intrinsics, CUBE_MM, CROP_SIZE, depth_unit_mm)


def surface_support(depth, center_uvd, intrinsics, depth_unit_mm=None, name=None):
  """Measured surface near points: the area (mm²) of depth pixels within `SUPPORT_RADIUS_MM`
  of each point.

  A `SUPPORT_SIZE`² crop of the frame around the point, as `preprocess.crop_frames` makes it
  (a window 2·`SUPPORT_RADIUS_MM` wide at the point's depth, nearest pixels); a crop pixel
  counts where its depth is measured and its lateral offset from the point (at the point's
  depth) and its depth difference lie within the radius, and covers (2·radius/size)² mm².

  Args:
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (mm when None).
    center_uvd: A tensor of shape `[B, 3]`: (u, v) pixels, d mm.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy).
    depth_unit_mm: A tensor of shape `[B]`, mm per count, or None.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, mm².
  """
  with tf.name_scope(name or "surface_support"):
    center_uvd = tf.convert_to_tensor(center_uvd, tf.float32)
    crops = preprocess.crop_frames(depth, center_uvd, intrinsics, 2.0 * SUPPORT_RADIUS_MM,
                                   SUPPORT_SIZE, depth_unit_mm)
    pixel_mm = 2.0 * SUPPORT_RADIUS_MM / SUPPORT_SIZE
    offsets = (tf.range(SUPPORT_SIZE, dtype=tf.float32) + 0.5) * pixel_mm - SUPPORT_RADIUS_MM
    lateral = tf.square(offsets)[:, tf.newaxis] + tf.square(offsets)[tf.newaxis, :]
    crop = crops["crop_depth"]
    along = crop - center_uvd[:, 2, tf.newaxis, tf.newaxis]
    near = (crop > 0) & (lateral + tf.square(along) <= SUPPORT_RADIUS_MM ** 2)
    return tf.reduce_sum(tf.cast(near, tf.float32), axis=[1, 2]) * pixel_mm ** 2


MIRRORED = False
"""Whether each pass averages the refiner's output on the crop and on its mirror image (u → −u,
the x offset negated back), as the trainer's augmentation mirrors its crops: one refiner run
at twice the batch per pass. Off: on scenes of seed 500 it gained 0–2 hits of 500 without a
body; on seed 1000, with the far-hands refiner, it lost 1–2 in each of issue 18's conditions,
for a quarter more time (`bench/localize.py --mirrored 1`; docs/localize.md, "Far hands in the
refiner's data")."""
_MIRROR_SIGN = (-1.0, 1.0, 1.0, 1.0)
PRESENCE_PASSES = 2
"""`refine_centres`' presence is the mean of the last this many passes' (at most `iterations`;
1 is the last pass's alone, as until session 26). The passes' presence oscillates on points
that the refiner moves about a head or a shoulder (0.00, 0.00, 0.17, 1.00 over four passes),
and the mean of two calms it. Chosen on seed 500 (`python bench/localize.py --seed 500
--presence_passes N`, `bench/scenes_end_to_end.py --seed 500 --presence_passes N`; the measured
seeds start at 1000): with the shipped refiner, points more than 30 mm off that were still
called a hand fell from 62 to 51 of 2,000 frames, with 477 / 488 / 500 / 451 hits (body behind,
none, no-hand frames flagged, arm towards the camera) against 479 / 487 / 500 / 447; the mean
of all four passes lost 16 hits with a body behind for another refiner (docs/localize.md,
"Head crops and the presence of two passes")."""


def _predict(refiner, crops):
  """The refiner's output `[B, 4]` on `crops` `[B, S, S, 1]`; with `MIRRORED`, the mean of it
  and of the mirrored crops' output mirrored back."""
  if not MIRRORED:
    return tf.ensure_shape(refiner(crops, training=False), [None, 4])
  batch = tf.shape(crops)[0]
  both = tf.ensure_shape(refiner(tf.concat([crops, tf.reverse(crops, [2])], 0),
                                 training=False), [None, 4])
  return 0.5 * (both[:batch] + both[batch:] * tf.constant(_MIRROR_SIGN))


def refine_centres(refiner, depth, center_uvd, intrinsics, depth_unit_mm=None,
                   iterations=ITERATIONS, name=None):
  """Refined reference points of a batch of frames.

  Args:
    refiner: The model of `build_centre_refiner` (trained).
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (mm when None).
    center_uvd: A tensor of shape `[B, 3]`, the localiser's points: (u, v) pixels, d mm.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy).
    depth_unit_mm: A tensor of shape `[B]`, mm per count, or None.
    iterations: Passes (0 returns the input point with probability 1).
    name: Optional name scope.

  Returns:
    A dict: "center_uvd" `[B, 3]`, "center_xyz" `[B, 3]` mm, "presence" `[B]` (the mean over
    the last `PRESENCE_PASSES` passes of the probability that a hand is within
    `MAX_HAND_OFFSET_MM`; 0 where the refined point has less than `MIN_SUPPORT_MM2` of
    measured surface near it), "support_mm2" `[B]` (`surface_support` of the refined point)
    and "present" bool `[B]`.
  """
  with tf.name_scope(name or "refine_centres"):
    # Static ranks throughout: the ONNX converter needs them inside the serving graph's cond.
    center_uvd = tf.ensure_shape(tf.convert_to_tensor(center_uvd, tf.float32), [None, 3])
    intrinsics = tf.ensure_shape(tf.convert_to_tensor(intrinsics, tf.float32), [None, 4])
    presence = tf.ones(tf.shape(center_uvd)[:1])
    presences = []
    for _ in range(iterations):
      # On the grid, runtimes whose convolutions differ in the last bits crop alike.
      crops = refiner_crops(depth, preprocess.on_center_grid(center_uvd), intrinsics,
                            depth_unit_mm)
      output = _predict(refiner, crops["depth_input"])
      center_xyz = crops["center_xyz"] + output[:, :3] * (0.5 * CUBE_MM)
      # Never behind the camera: a refined point keeps at least the localiser's minimum depth.
      center_xyz = tf.concat([center_xyz[:, :2], tf.maximum(center_xyz[:, 2:], 1.0)], axis=1)
      center_uvd = tf.ensure_shape(camera.xyz_to_uvd(center_xyz, intrinsics), [None, 3])
      presences.append(tf.sigmoid(output[:, 3]))
    support = surface_support(depth, preprocess.on_center_grid(center_uvd), intrinsics,
                              depth_unit_mm)
    if iterations:
      presence = tf.add_n(presences[-PRESENCE_PASSES:]) / len(presences[-PRESENCE_PASSES:])
      presence = tf.where(support >= MIN_SUPPORT_MM2, presence, 0.0)
    return {"center_uvd": center_uvd,
            "center_xyz": camera.uvd_to_xyz(center_uvd, intrinsics),
            "presence": presence,
            "support_mm2": support,
            "present": presence >= PRESENCE_THRESHOLD}


def locate_hands(refiner, depth, intrinsics, depth_unit_mm=None, iterations=ITERATIONS,
                 name=None):
  """`localize.localize_hands`, then `refine_found` (module docstring).

  Args:
    refiner: A trained refiner, or None for the localiser alone.
    depth, intrinsics, depth_unit_mm: As `localize.localize_hands`.
    iterations: The refiner's passes.
    name: Optional name scope.

  Returns:
    The dict of `refine_found`.
  """
  with tf.name_scope(name or "locate_hands"):
    found = localize.localize_hands(depth, intrinsics, depth_unit_mm)
    return refine_found(refiner, depth, found, intrinsics, depth_unit_mm, iterations)


def refine_found(refiner, depth, found, intrinsics, depth_unit_mm=None, iterations=ITERATIONS,
                 name=None):
  """The localiser's result `found` refined where it found a blob (`refine_centres`).

  Args:
    refiner: A trained refiner, or None (`found` is returned as it is, with "localizer_uvd").
    depth, intrinsics, depth_unit_mm: As `localize.localize_hands`.
    found: A dict with "center_uvd" `[B, 3]` (finite, in front of the camera), "confidence",
      "valid" and "reason" `[B]`, as `localize.localize_hands` returns.
    iterations: The refiner's passes.
    name: Optional name scope.

  Returns:
    `found` with "center_uvd" and "center_xyz" refined, "confidence" the refiner's presence
    probability, and "valid" 0 with "reason" "rejected_by_refiner" (`REASONS`) where the
    refiner says no hand is near; "localizer_uvd" `[B, 3]` keeps the localiser's own point.
    Where `found` has "alternative_uvd" `[B, 3]` (the localiser's other end of the blob), both
    points are refined and the alternative's refinement is kept where the refiner is more
    sure of a hand there, by more than `ALTERNATIVE_MARGIN` in probability; "candidate" `[B]`
    int32 says which (0: the localiser's point, 1: the alternative).
  """
  with tf.name_scope(name or "refine_found"):
    found = dict(found)
    found["localizer_uvd"] = found["center_uvd"]
    if refiner is None:
      return found
    refined, other = _refine_candidates(refiner, depth, found, intrinsics, depth_unit_mm,
                                        iterations)
    found["candidate"] = tf.cast(other & (found["valid"] > 0), tf.int32)
    was_found = found["valid"] > 0
    kept = was_found & refined["present"]
    center_uvd = tf.where(was_found[:, tf.newaxis], refined["center_uvd"], found["center_uvd"])
    found["center_uvd"] = tf.ensure_shape(center_uvd, [None, 3])
    found["center_xyz"] = camera.uvd_to_xyz(found["center_uvd"], intrinsics)
    found["confidence"] = tf.ensure_shape(tf.where(kept, refined["presence"], 0.0), [None])
    found["reason"] = tf.where(was_found & ~kept, REASONS.index("rejected_by_refiner"),
                               found["reason"])
    found["valid"] = tf.ensure_shape(tf.cast(kept, tf.int32), [None])
    return found


def _refine_candidates(refiner, depth, found, intrinsics, depth_unit_mm, iterations):
  """`refine_centres` of the localiser's point and, where `found` has one, of its
  "alternative_uvd" (in one batch of 2B); returns the refinement kept per frame and `[B]` bool
  whether it is the alternative's: where its presence exceeds the localiser's point's by more
  than `ALTERNATIVE_MARGIN`."""
  if "alternative_uvd" not in found:
    refined = refine_centres(refiner, depth, found["center_uvd"], intrinsics, depth_unit_mm,
                             iterations)
    return refined, tf.zeros_like(refined["present"])
  batch = tf.shape(found["center_uvd"])[0]
  unit = None if depth_unit_mm is None else tf.concat([depth_unit_mm, depth_unit_mm], 0)
  both = refine_centres(refiner, tf.concat([depth, depth], 0),
                        tf.concat([found["center_uvd"], found["alternative_uvd"]], 0),
                        tf.concat([intrinsics, intrinsics], 0), unit, iterations)
  other = both["presence"][batch:] > both["presence"][:batch] + ALTERNATIVE_MARGIN
  refined = {}
  for key, value in both.items():
    pick = tf.reshape(other, [-1] + [1] * (value.shape.rank - 1))
    refined[key] = tf.where(pick, value[batch:], value[:batch])
  return refined, other
