"""The serving functions: depth frames or crops → joints, in stock TensorFlow ops only.

A trained `HandPoseModel` runs at inference as encoder + pose head + forward kinematics, which
are plain TF; the generative loss and its custom op stay out of the graph, so TF Serving and
`saved_model_cli` load the export without handvol's op library.

Two entry points, both batched, both returning the dict of `OUTPUT_KEYS`:

- `predict_frames(model, depth, depth_unit_mm, intrinsics, reference_uvd, has_reference)`:
  full depth frames. The batch goes through the training preprocessing
  (`handvol.image.preprocess`, SPEC §7; its batched functions, no per-frame loop) of frames
  without labels: the caller's reference point where `has_reference` is 1 (reported as source
  1, "centre_file"), else the hand localiser's centre (`handvol.image.localize.localize_hands`,
  source 3, "localizer") moved by the learned centre refiner (`handvol.model.centre_refiner`;
  `refiner`, by default the shipped one, `DEFAULT_REFINER`). The localiser replaces the
  depth-only centre of the nearest object (source 2, which lands on the chest whenever the hand
  is less than 30 cm in front of the body; the figures are in docs/localize.md); a frame where
  it finds no hand-like blob, or whose blob the refiner says is no hand, is `valid` 0 with
  reason "no_hand_found", not a pose on the torso. The localiser runs only when some frame of
  the batch has no reference point.
- `predict_crops(model, depth_input, crop_intrinsics, center_xyz)`: preprocessed crops, as in
  a training example.

Output conventions (all float32 except `reference_source`, `valid` and `reason`, int32):

| key | shape | meaning |
| --- | --- | --- |
| `joints_xyz` | `[B, 21, 3]` | keypoints, mm, camera frame (`handvol.hand.skeleton` order) |
| `joints_uvd` | `[B, 21, 3]` | (u, v) pixels of the input image (the crop for
  `predict_crops`) and d = z in mm |
| `theta` | `[B, 26]` | pose: wrist mm, rotation and articulation radians |
| `beta` | `[B, 20]` | bone-length coefficients |
| `bone_lengths` | `[B, 20]` | mm |
| `reference_uvd` | `[B, 3]` | the crop's reference point: pixels of the input image, mm |
| `reference_xyz` | `[B, 3]` | the same point in mm, camera frame |
| `reference_source` | `[B]` | index in `REFERENCE_SOURCES` |
| `valid` | `[B]` | 1 when a finite prediction was made, else 0 and every float output is 0 |
| `confidence` | `[B]` | in [0, 1]: for source 3 the centre refiner's probability that a hand is near (without a refiner, the localiser's: how hand-sized the blob is), 1 for a given reference point; 0 where `valid` is 0 |
| `reason` | `[B]` | index in `REASONS`: 0 "ok" where `valid` is 1, else the first failed check |

A frame is invalid (`valid` = 0), with the first of these `REASONS` that applies, when its
intrinsics are not finite and positive in fx, fy ("invalid_intrinsics"), the localiser finds
no hand in a frame without a reference point ("no_hand_found", also for a frame without any
depth), its reference depth is not above `numerics.MIN_DEPTH_MM` ("reference_not_in_front"),
its crop is not finite ("nonfinite_input", crops only), its crop holds fewer than
`MIN_VALID_CROP_PIXELS` measured pixels ("too_few_pixels": an all-zero frame, a hand outside
the depth range), or its network outputs are not all finite ("nonfinite_output": a model
trained into NaN, an overflow; `valid` is never 1 beside a NaN joint). Negative, NaN and
infinite depths count as "no measurement", and so does every depth of a frame whose
`depth_unit_mm` is not positive.
"""

import tensorflow as tf

from handvol import numerics
from handvol import pretrained
from handvol import shapes
from handvol.geometry import camera
from handvol.image import localize
from handvol.image import preprocess
from handvol.model import centre_refiner

REFERENCE_SOURCES = preprocess.CENTER_SOURCES
"""`reference_source` values index this tuple: 1 = given by the caller, 3 = the localiser
(2 = depth only, the centre before the localiser; no longer produced by serving)."""

SOURCE_GIVEN = REFERENCE_SOURCES.index("centre_file")
SOURCE_DEPTH_ONLY = REFERENCE_SOURCES.index("depth_only")
SOURCE_LOCALIZER = REFERENCE_SOURCES.index("localizer")

REASONS = ("ok", "no_hand_found", "invalid_intrinsics", "reference_not_in_front",
           "too_few_pixels", "nonfinite_output", "nonfinite_input")
"""`reason` values index this tuple: why `valid` is 0 (module docstring), "ok" where it is 1."""

MIN_VALID_CROP_PIXELS = 32
"""Fewer measured pixels than this in the 128×128 crop (0.2 %) is no hand to predict."""

MAX_LOCALIZER_DEPTH_MM = 1e5
"""Depths beyond 100 m are no measurement for the localiser (they would overflow its sums)."""

MIN_FRAME_SIDE = preprocess.NEAREST_BLOCK
"""Smallest frame height and width (pixels) the depth-only centre handles."""

OUTPUT_KEYS = ("joints_xyz", "joints_uvd", "theta", "beta", "bone_lengths", "reference_uvd",
               "reference_xyz", "reference_source", "valid", "confidence", "reason")

FRAME_INPUT_KEYS = ("depth", "depth_unit_mm", "intrinsics", "reference_uvd", "has_reference")
CROP_INPUT_KEYS = ("depth_input", "crop_intrinsics", "center_xyz")

FRAME_DTYPES = (tf.float32, tf.uint16)
"""Depth dtypes the frame signatures accept (one signature each)."""


def frame_signature(depth_dtype=tf.float32):
  """`tf.TensorSpec`s of `predict_frames`' inputs, in `FRAME_INPUT_KEYS` order.

  `depth` `[B, H, W]` in units of `depth_unit_mm` `[B]`; `intrinsics` `[B, 4]` (fx, fy, cx, cy);
  `reference_uvd` `[B, 3]` (u, v pixels, d mm) used where `has_reference` `[B]` is 1.
  """
  if tf.as_dtype(depth_dtype) not in FRAME_DTYPES:
    raise ValueError(f"depth_dtype must be one of {[d.name for d in FRAME_DTYPES]}, got "
                     f"{tf.as_dtype(depth_dtype).name}")
  return (tf.TensorSpec([None, None, None], depth_dtype, name="depth"),
          tf.TensorSpec([None], tf.float32, name="depth_unit_mm"),
          tf.TensorSpec([None, 4], tf.float32, name="intrinsics"),
          tf.TensorSpec([None, 3], tf.float32, name="reference_uvd"),
          tf.TensorSpec([None], tf.float32, name="has_reference"))


def crop_signature(size=preprocess.CROP_SIZE):
  """`tf.TensorSpec`s of `predict_crops`' inputs, in `CROP_INPUT_KEYS` order."""
  return (tf.TensorSpec([None, size, size, 1], tf.float32, name="depth_input"),
          tf.TensorSpec([None, 4], tf.float32, name="crop_intrinsics"),
          tf.TensorSpec([None, 3], tf.float32, name="center_xyz"))


def ensure_signature(inputs, specs, name=None):
  """Checks each input's shape against its spec at run time (`tf.ensure_shape`).

  A loaded signature or a server may pass tensors of another rank than the traced placeholders
  without complaint; this names the input in the error ("Shape of tensor depth [120,160] is not
  compatible with expected shape [?,?,?]") before any other op fails obscurely.

  Args:
    inputs: A sequence of tensors.
    specs: The matching sequence of named `tf.TensorSpec`s.
    name: Optional name scope.

  Returns:
    The list of checked tensors.
  """
  with tf.name_scope(name or "ensure_signature"):
    return [tf.ensure_shape(tensor, spec.shape, name=spec.name)
            for tensor, spec in zip(inputs, specs)]


DEFAULT_REFINER = "pretrained"
"""`refiner` arguments: "pretrained" (the shipped `pretrained.load_centre_refiner()`), a
trained `centre_refiner` model, or None (the localiser's point as it is)."""


def resolve_refiner(refiner):
  """The refiner model that a `refiner` argument names (`DEFAULT_REFINER`), or None."""
  if isinstance(refiner, str):
    if refiner != DEFAULT_REFINER:
      raise ValueError(f"refiner: {DEFAULT_REFINER!r}, a model or None, got {refiner!r}")
    return pretrained.load_centre_refiner()
  return refiner


def preprocess_frames(depth, depth_unit_mm, intrinsics, reference_uvd, has_reference,
                      cube_mm=preprocess.CUBE_MM, refiner=DEFAULT_REFINER, name=None):
  """The training preprocessing of a batch of label-free frames, vectorised over the batch.

  The reference point is `reference_uvd` where `has_reference` is 1, else the localiser's
  centre refined by `refiner` (`centre_refiner.locate_hands`, run only when some row has no
  reference point); the crop
  is `preprocess.crop_frames`, the steps `preprocess.preprocess` runs. Depth counts are
  converted to mm (`preprocess.depth_in_mm`) only on the pixels these read (a subsample and
  128×128 crops), never on whole frames.

  Args:
    depth: A tensor of shape `[B, H, W]`, counts of `depth_unit_mm` (0 = no measurement).
    depth_unit_mm: A tensor of shape `[B]`, mm per count.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy) of the frames.
    reference_uvd: A tensor of shape `[B, 3]`, (u, v) pixels and d mm, used where
      `has_reference` is 1.
    has_reference: A tensor of shape `[B]`, 1 or 0.
    cube_mm: The crop cube's side, mm (as in training).
    refiner: The centre refiner (`DEFAULT_REFINER`).
    name: Optional name scope.

  Returns:
    A dict: "depth_input" `[B, 128, 128, 1]`, "crop_depth" `[B, 128, 128]` mm,
    "crop_intrinsics" `[B, 4]`, "center_xyz" `[B, 3]` mm, "center_source" int32 `[B]`,
    "confidence" `[B]` (1 for a given reference point, the localiser's otherwise) and
    "found" bool `[B]` (a given reference point, or a hand the localiser found).
  """
  with tf.name_scope(name or "preprocess_frames"):
    depth = tf.convert_to_tensor(depth)
    depth_unit_mm = tf.convert_to_tensor(depth_unit_mm, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    given = tf.convert_to_tensor(has_reference, tf.float32) > 0
    found = _localize_unless_given(depth, intrinsics, depth_unit_mm, given,
                                   resolve_refiner(refiner))
    center_uvd = tf.where(given[:, tf.newaxis], tf.convert_to_tensor(reference_uvd, tf.float32),
                          preprocess.on_center_grid(found["center_uvd"]))
    crops = preprocess.crop_frames(depth, center_uvd, intrinsics, cube_mm,
                                   preprocess.CROP_SIZE, depth_unit_mm)
    del crops["window"]
    crops["center_source"] = tf.where(given, SOURCE_GIVEN, SOURCE_LOCALIZER)
    crops["confidence"] = tf.where(given, 1.0, found["confidence"])
    crops["found"] = given | (found["valid"] > 0)
    return crops


def _localize_unless_given(depth, intrinsics, depth_unit_mm, given, refiner):
  """`centre_refiner.locate_hands`' "center_uvd", "confidence" and "valid" `[B]`. When every
  row has its reference point the localiser is skipped (a `tf.cond`: a stock `If`) and every
  row is "not found". The refiner runs after the `cond`, not inside it: the ONNX converter
  cannot read a convolution's kernel variable inside an `If` branch (its cost is under 1 ms a
  frame).

  A request's garbage must not fail the batch (the localiser's `eigh` raises on NaN): rows
  with unusable intrinsics are localised with a unit camera (they are flagged anyway), and
  depths beyond `MAX_LOCALIZER_DEPTH_MM` count as no measurement.
  """
  camera_in = tf.where(_usable_intrinsics(intrinsics)[:, tf.newaxis], intrinsics,
                       [[1.0, 1.0, 0.0, 0.0]])
  depth_mm = preprocess.depth_in_mm(depth, depth_unit_mm)
  depth_mm = tf.where(depth_mm <= MAX_LOCALIZER_DEPTH_MM, depth_mm, 0.0)

  def run():
    found = localize.localize_hands(depth_mm, camera_in)
    return (found["center_uvd"], found["alternative_uvd"], found["confidence"], found["valid"],
            found["reason"])

  def skip():
    rows = tf.shape(given)[:1]
    # A finite point in front of the camera, so that the refiner's crop is well defined.
    # Two distinct tensors: tf2onnx loses an If branch's output that repeats another one.
    point = tf.tile([[0.0, 0.0, numerics.MIN_DEPTH_MM]], tf.concat([rows, [1]], 0))
    other = tf.tile([[1.0, 1.0, numerics.MIN_DEPTH_MM]], tf.concat([rows, [1]], 0))
    return point, other, tf.zeros(rows), tf.zeros(rows, tf.int32), tf.zeros(rows, tf.int32)

  center_uvd, alternative_uvd, confidence, valid, reason = tf.cond(tf.reduce_all(given), skip,
                                                                   run)
  found = {"center_uvd": tf.ensure_shape(center_uvd, [None, 3]),
           "alternative_uvd": tf.ensure_shape(alternative_uvd, [None, 3]),
           "confidence": tf.ensure_shape(confidence, [None]),
           "valid": tf.ensure_shape(valid, [None]), "reason": tf.ensure_shape(reason, [None])}
  found = centre_refiner.refine_found(refiner, depth_mm, found, camera_in)
  return {"center_uvd": found["center_uvd"], "confidence": found["confidence"],
          "valid": found["valid"]}


def _usable_intrinsics(intrinsics):
  """`[B]` bool: finite intrinsics with fx, fy > 0."""
  return (tf.reduce_all(tf.math.is_finite(intrinsics), axis=-1)
          & tf.reduce_all(intrinsics[:, :2] > 0, axis=-1))


def _camera_checks(intrinsics, center_xyz):
  """("invalid_intrinsics", `[B]` bool: `_usable_intrinsics`) and ("reference_not_in_front", a
  finite reference point in front of the camera)."""
  in_front = ((center_xyz[:, 2] > numerics.MIN_DEPTH_MM)
              & tf.reduce_all(tf.math.is_finite(center_xyz), axis=-1))
  return [("invalid_intrinsics", _usable_intrinsics(intrinsics)),
          ("reference_not_in_front", in_front)]


def _reason(checks):
  """`[B]` int32 index of `REASONS`: the first check of `checks` ((reason, `[B]` bool passed)
  pairs, in order) that a row fails, "ok" where it passes them all."""
  reason = tf.zeros_like(checks[0][1], tf.int32)
  for name, passed in reversed(checks):
    reason = tf.where(passed, reason, REASONS.index(name))
  return reason


def _pose_outputs(model, depth_input, center_xyz, image_intrinsics, source, checks,
                  confidence):
  """Runs the network and gathers `OUTPUT_KEYS`, zeroing the rows that fail a check of
  `checks` (`_reason`) or have any non-finite output ("nonfinite_output")."""
  pose = model({"depth_input": depth_input, "center_xyz": center_xyz}, training=False)
  joints_xyz = pose["keypoints"]
  finite = tf.reduce_all(tf.math.is_finite(joints_xyz), axis=[1, 2])
  for key in ("theta", "beta", "bone_lengths"):
    finite = finite & tf.reduce_all(tf.math.is_finite(pose[key]), axis=-1)
  reason = _reason(checks + [("nonfinite_output", finite)])
  valid = tf.equal(reason, REASONS.index("ok"))
  outputs = {
      "joints_xyz": joints_xyz,
      "joints_uvd": camera.xyz_to_uvd(joints_xyz, image_intrinsics[:, tf.newaxis]),
      "theta": pose["theta"],
      "beta": pose["beta"],
      "bone_lengths": pose["bone_lengths"],
      "reference_uvd": camera.xyz_to_uvd(center_xyz, image_intrinsics),
      "reference_xyz": center_xyz,
      "confidence": tf.broadcast_to(tf.cast(confidence, tf.float32), tf.shape(valid)),
  }
  for key, value in outputs.items():
    row_valid = tf.reshape(valid, [-1] + [1] * (value.shape.rank - 1))
    outputs[key] = tf.where(row_valid, value, tf.zeros_like(value))
  outputs["reference_source"] = tf.cast(source, tf.int32)
  outputs["valid"] = tf.cast(valid, tf.int32)
  outputs["reason"] = reason
  return outputs


def _check_batch(reference, name, *tensors):
  """Asserts that every tensor has as many rows as `reference` (a clear serving error)."""
  rows = tf.shape(reference)[0]
  return [tf.debugging.assert_equal(
      tf.shape(tensor)[0], rows,
      message=f"every input needs one row per {name}: batch sizes differ") for tensor in tensors]


def predict_frames(model, depth, depth_unit_mm, intrinsics, reference_uvd, has_reference,
                   cube_mm=preprocess.CUBE_MM, refiner=DEFAULT_REFINER, name=None):
  """Full depth frames → joints (module docstring): preprocessing, network, hand model.

  Args:
    model: A `handvol.model.hand_pose_model.HandPoseModel` (or any model with its call).
    depth: A tensor of shape `[B, H, W]`, float32 or uint16 counts.
    depth_unit_mm: A tensor of shape `[B]`, mm per count.
    intrinsics: A tensor of shape `[B, 4]`, (fx, fy, cx, cy) in pixels.
    reference_uvd: A tensor of shape `[B, 3]`, (u, v) pixels, d mm; used where `has_reference`.
    has_reference: A tensor of shape `[B]`, 1 to use `reference_uvd`, 0 for the localiser's
      centre.
    cube_mm: The crop cube's side in mm, as in training.
    refiner: The localiser's centre refiner (`DEFAULT_REFINER`: the shipped one; None: off).
    name: Optional name scope.

  Returns:
    A dict of `OUTPUT_KEYS` (module docstring); pixels are the frame's.
  """
  with tf.name_scope(name or "predict_frames"):
    depth = tf.convert_to_tensor(depth)
    shapes.check_static(depth, tensor_name="depth", has_rank=3)
    # Exact (counts < 2^24), and every runtime gathers and selects float32 (LiteRT has no
    # uint16 Gather or Select).
    depth = tf.cast(depth, tf.float32)
    depth_unit_mm = tf.convert_to_tensor(depth_unit_mm, tf.float32)
    intrinsics = tf.convert_to_tensor(intrinsics, tf.float32)
    reference_uvd = tf.convert_to_tensor(reference_uvd, tf.float32)
    has_reference = tf.convert_to_tensor(has_reference, tf.float32)
    checks = _check_batch(depth, "depth frame", depth_unit_mm, intrinsics, reference_uvd,
                          has_reference)
    checks.append(tf.debugging.assert_greater_equal(
        tf.reduce_min(tf.shape(depth)[1:]), MIN_FRAME_SIDE,
        message=f"depth frames must be at least {MIN_FRAME_SIDE}×{MIN_FRAME_SIDE} pixels"))
    with tf.control_dependencies(checks):
      depth = tf.identity(depth)
    crops = preprocess_frames(depth, depth_unit_mm, intrinsics, reference_uvd, has_reference,
                              cube_mm, refiner)
    measured = tf.math.count_nonzero(crops["crop_depth"] > 0, axis=[1, 2])
    checks = _camera_checks(intrinsics, crops["center_xyz"])
    checks.insert(1, ("no_hand_found", crops["found"]))
    checks.append(("too_few_pixels", measured >= MIN_VALID_CROP_PIXELS))
    return _pose_outputs(model, crops["depth_input"], crops["center_xyz"], intrinsics,
                         crops["center_source"], checks, crops["confidence"])


def predict_crops(model, depth_input, crop_intrinsics, center_xyz, name=None):
  """Preprocessed crops → joints (module docstring); pixels are the crop's.

  Args:
    model: A `HandPoseModel`.
    depth_input: A tensor of shape `[B, 128, 128, 1]`, normalised depth (SPEC §7: +1 where
      invalid).
    crop_intrinsics: A tensor of shape `[B, 4]`, the crops' (fx, fy, cx, cy).
    center_xyz: A tensor of shape `[B, 3]`, the crops' reference points in mm, camera frame.
    name: Optional name scope.

  Returns:
    A dict of `OUTPUT_KEYS`; `reference_source` is 1 (given), `confidence` 1 where valid.
  """
  with tf.name_scope(name or "predict_crops"):
    depth_input = tf.convert_to_tensor(depth_input, tf.float32)
    shapes.check_static(depth_input, tensor_name="depth_input", has_rank=4)
    crop_intrinsics = tf.convert_to_tensor(crop_intrinsics, tf.float32)
    center_xyz = tf.convert_to_tensor(center_xyz, tf.float32)
    checks = _check_batch(depth_input, "crop", crop_intrinsics, center_xyz)
    with tf.control_dependencies(checks):
      depth_input = tf.identity(depth_input)
    # Invalid crop pixels hold exactly +1 (preprocess.normalize_depth).
    measured = tf.math.count_nonzero(depth_input[..., 0] < 1.0, axis=[1, 2])
    checks = _camera_checks(crop_intrinsics, center_xyz) + [
        ("nonfinite_input", tf.reduce_all(tf.math.is_finite(depth_input), axis=[1, 2, 3])),
        ("too_few_pixels", measured >= MIN_VALID_CROP_PIXELS)]
    source = tf.fill(tf.shape(center_xyz)[:1], SOURCE_GIVEN)
    return _pose_outputs(model, depth_input, center_xyz, crop_intrinsics, source, checks, 1.0)
