"""The frame record: one depth frame with its labels, as every reader and generator yields it.

A frame record is a plain dict of numpy arrays (or, inside `tf.data`, of tensors):

| key | dtype, shape | meaning |
| --- | --- | --- |
| `"depth"` | float32 `[H, W]` | depth in mm, 0 = no measurement |
| `"intrinsics"` | float32 `[4]` | (fx, fy, cx, cy) in pixels |
| `"uv"` | float32 `[21, 2]` | pixel labels, valid where `kind` ≥ 1 |
| `"xyz"` | float32 `[21, 3]` | camera-frame labels in mm (y down), valid where `kind` == 2 |
| `"kind"` | int32 `[21]` | `KIND_NONE` (0), `KIND_2D` (1) or `KIND_3D` (2) |
| `"visible"` | float32 `[21]` | visibility flag (1 visible, 0 occluded) |
| `"truth_xyz"` | float32 `[21, 3]` | the true 21 joints in mm when known |
| `"has_truth"` | float32 `[]` | 1 when `truth_xyz` holds a truth, else 0 |
| `"subject"` | int32 `[]` | subject id within the dataset |
| `"dataset"` | int32 `[]` | an id of `DATASETS` |
| `"center_uvd"` | float32 `[3]` | reference point (u, v in pixels, d in mm) from a centre file |
| `"has_center"` | float32 `[]` | 1 when `center_uvd` holds one, else 0 |

Keypoints are in the order of `handvol.hand.skeleton.KEYPOINT_NAMES`. A 3D label also has its
projection in `"uv"` (readers fill it), so `uv` is valid wherever `kind` ≥ 1.

`make_record` fills the defaults; `validate_record` checks a record and names the frame in its
errors; bad frames raise `FrameError`.
"""

import numpy as np

from handvol.geometry import camera
from handvol.hand import skeleton

DATASETS = ("nyu", "hands2017", "capture", "synthetic")
"""Dataset names; a record's `"dataset"` is the index of its name here."""

DATASET_IDS = {name: index for index, name in enumerate(DATASETS)}

MAX_LABEL_MM = 10000.0
"""No hand label lies farther than 10 m from a depth camera: a larger coordinate is a unit
mistake (metres read as mm, labels scaled) that would overflow the losses."""

KIND_NONE = 0
KIND_2D = 1
KIND_3D = 2

NUM_KEYPOINTS = skeleton.NUM_KEYPOINTS

RECORD_SPEC = {
    "depth": (np.float32, (None, None)),
    "intrinsics": (np.float32, (4,)),
    "uv": (np.float32, (NUM_KEYPOINTS, 2)),
    "xyz": (np.float32, (NUM_KEYPOINTS, 3)),
    "kind": (np.int32, (NUM_KEYPOINTS,)),
    "visible": (np.float32, (NUM_KEYPOINTS,)),
    "truth_xyz": (np.float32, (NUM_KEYPOINTS, 3)),
    "has_truth": (np.float32, ()),
    "subject": (np.int32, ()),
    "dataset": (np.int32, ()),
    "center_uvd": (np.float32, (3,)),
    "has_center": (np.float32, ()),
}
"""Key → (dtype, shape) of a frame record; None is a free dimension."""


class FrameError(ValueError):
  """A frame that cannot be used; the message names the file and frame."""


def project_points(xyz, intrinsics):
  """numpy `[N, 3]` mm → `[N, 2]` pixels through `handvol.geometry.camera.project`."""
  return camera.project(np.asarray(xyz, np.float32),
                        np.asarray(intrinsics, np.float32)).numpy()


def make_record(depth, intrinsics, dataset, uv=None, xyz=None, kind=None, visible=None,
                truth_xyz=None, subject=0, center_uvd=None):
  """Builds a frame record, filling what is not given.

  Args:
    depth: `[H, W]` depth in mm (0 = no measurement), any real dtype.
    intrinsics: `[4]` (fx, fy, cx, cy).
    dataset: A name of `DATASETS` or its id.
    uv: Optional `[21, 2]` pixel labels (NaN rows allowed where `kind` is 0).
    xyz: Optional `[21, 3]` camera-frame labels in mm.
    kind: Optional `[21]` int; by default 2 where `xyz` is given and finite, else 1 where `uv`
      is given and finite, else 0.
    visible: Optional `[21]`; defaults to 1 for labelled keypoints.
    truth_xyz: Optional `[21, 3]` true joints in mm.
    subject: Subject id.
    center_uvd: Optional `[3]` reference point (u, v, d) from a centre file.

  Returns:
    A frame record (module docstring). Where `kind` is 2 and `uv` was not given, `uv` is the
    projection of `xyz`. Unlabelled entries are zero.
  """
  shape = (NUM_KEYPOINTS,)
  dataset_id = DATASET_IDS[dataset] if isinstance(dataset, str) else int(dataset)
  xyz_in = None if xyz is None else np.asarray(xyz, np.float64)
  uv_in = None if uv is None else np.asarray(uv, np.float64)
  if kind is None:
    kind = np.zeros(shape, np.int32)
    if uv_in is not None:
      kind[np.all(np.isfinite(uv_in), axis=-1)] = KIND_2D
    if xyz_in is not None:
      kind[np.all(np.isfinite(xyz_in), axis=-1)] = KIND_3D
  kind = np.asarray(kind, np.int32)
  labelled = kind >= KIND_2D
  xyz_out = np.zeros(shape + (3,), np.float32)
  if xyz_in is not None:
    xyz_out[kind == KIND_3D] = xyz_in[kind == KIND_3D]
  uv_out = np.zeros(shape + (2,), np.float32)
  if uv_in is not None:
    uv_out[labelled] = uv_in[labelled]
  elif np.any(kind == KIND_3D):
    uv_out[kind == KIND_3D] = project_points(xyz_out[kind == KIND_3D], intrinsics)
  visible = (labelled.astype(np.float32) if visible is None
             else np.where(labelled, np.asarray(visible, np.float32), 0.0).astype(np.float32))
  return {
      "depth": np.asarray(depth, np.float32),
      "intrinsics": np.asarray(intrinsics, np.float32).reshape(4),
      "uv": uv_out,
      "xyz": xyz_out,
      "kind": kind,
      "visible": visible,
      "truth_xyz": (np.zeros(shape + (3,), np.float32) if truth_xyz is None
                    else np.asarray(truth_xyz, np.float32)),
      "has_truth": np.float32(truth_xyz is not None),
      "subject": np.int32(subject),
      "dataset": np.int32(dataset_id),
      "center_uvd": (np.zeros(3, np.float32) if center_uvd is None
                     else np.asarray(center_uvd, np.float32)),
      "has_center": np.float32(center_uvd is not None),
  }


def validate_record(record, where="frame", allow_off_image=False):
  """Checks a frame record; raises `FrameError` naming `where` (file and frame) on a problem.

  Checks: every key of `RECORD_SPEC` with its dtype and shape; depth finite and ≥ 0; focal
  lengths > 0; `kind` in {0, 1, 2}; labels finite where they are valid; labelled pixels inside
  the image (continuous edges [−0.5, W − 0.5] × [−0.5, H − 0.5]) unless `allow_off_image`; a 3D
  label in front of the camera and within `MAX_LABEL_MM`; a centre file's reference point finite
  and in front of the camera; the dataset id in `DATASETS`.

  Args:
    record: A frame record of numpy arrays.
    where: Text naming the frame in errors, e.g. "train/depth_1_0000001.png (frame 0)".
    allow_off_image: Accept labelled keypoints that project outside the image (a test frame
      whose fingertip leaves the picture still has a true label to score against).

  Returns:
    The record, unchanged.
  """
  def fail(message):
    raise FrameError(f"{where}: {message}")

  for key, (dtype, shape) in RECORD_SPEC.items():
    if key not in record:
      fail(f"the record has no {key!r}")
    value = np.asarray(record[key])
    if value.dtype != dtype:
      fail(f"{key!r} must be {np.dtype(dtype).name}, got {value.dtype.name}")
    if len(value.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(value.shape, shape)):
      fail(f"{key!r} must have shape {shape} (None = any), got {value.shape}")
  depth = record["depth"]
  if not np.all(np.isfinite(depth)):
    fail("depth holds NaN or Inf")
  if np.any(depth < 0):
    fail("depth holds negative values")
  if not np.all(np.isfinite(record["intrinsics"])) or np.any(record["intrinsics"][:2] <= 0):
    fail(f"intrinsics must be finite with fx, fy > 0, got {record['intrinsics']}")
  _check_labels(record, fail, allow_off_image)
  if record["has_truth"] > 0 and not np.all(np.isfinite(record["truth_xyz"])):
    fail("truth_xyz holds NaN or Inf")
  center = record["center_uvd"]
  if record["has_center"] > 0 and not (np.all(np.isfinite(center)) and center[2] > 0):
    fail(f"center_uvd must be finite (u, v pixels, d mm) with d > 0, got {center.tolist()}")
  if not 0 <= int(record["dataset"]) < len(DATASETS):
    fail(f"dataset id {int(record['dataset'])} is not in {DATASETS}")
  return record


def _check_labels(record, fail, allow_off_image):
  """`validate_record`'s checks of `kind`, `uv` and `xyz`; `fail(message)` raises."""
  kind = record["kind"]
  if np.any((kind < KIND_NONE) | (kind > KIND_3D)):
    fail(f"kind must be 0, 1 or 2, got {kind}")
  labelled = kind >= KIND_2D
  in_3d = kind == KIND_3D
  if not np.all(np.isfinite(record["uv"][labelled])):
    fail(f"uv labels hold NaN or Inf at keypoints {np.flatnonzero(labelled)}")
  if not np.all(np.isfinite(record["xyz"][in_3d])):
    fail(f"xyz labels hold NaN or Inf at keypoints {np.flatnonzero(in_3d)}")
  if np.any(record["xyz"][in_3d][:, 2] <= 0):
    fail("a 3D label lies at or behind the camera (z ≤ 0)")
  if np.any(np.abs(record["xyz"][in_3d]) > MAX_LABEL_MM):
    fail(f"a 3D label lies farther than {MAX_LABEL_MM:g} mm from the camera (labels in mm?)")
  height, width = record["depth"].shape
  uv = record["uv"]
  outside = labelled & ((uv[:, 0] < -0.5) | (uv[:, 0] > width - 0.5) | (uv[:, 1] < -0.5)
                        | (uv[:, 1] > height - 0.5))
  if np.any(outside) and not allow_off_image:
    fail(f"keypoints {np.flatnonzero(outside).tolist()} lie outside the {width}×{height} image")


def full_joints(record, where):
  """The 21 joints a writer of a 3D format stores: `truth_xyz` when the record has a truth,
  else `xyz` when all 21 are 3D labels; otherwise `FrameError` naming `where`.

  Returns:
    float64 `[21, 3]`, mm.
  """
  if record["has_truth"] > 0:
    return np.asarray(record["truth_xyz"], np.float64)
  if np.all(record["kind"] == KIND_3D):
    return np.asarray(record["xyz"], np.float64)
  raise FrameError(f"{where}: this format needs all 21 joints in 3D (a truth or 3D labels)")


def read_center_file(path):
  """Reads a centre file: one line per frame, "u v d" (pixels, mm) in frame order.

  A line whose values are not finite numbers (e.g. "nan nan nan" or "invalid") marks a frame
  without a centre.

  Returns:
    float32 `[F, 3]`, NaN rows for frames without a centre.

  Raises:
    FrameError: a missing file, or a line without 3 fields (naming the line).
  """
  try:
    with open(path, encoding="utf-8") as f:
      lines = f.read().splitlines()
  except OSError as error:
    raise FrameError(f"{path}: {error}") from error
  centers = np.full((len(lines), 3), np.nan, np.float32)
  for index, line in enumerate(lines):
    fields = line.split()
    if len(fields) != 3:
      raise FrameError(f"{path}:{index + 1}: expected 3 numbers u v d, got {line!r}")
    try:
      centers[index] = [float(field) for field in fields]
    except ValueError:
      continue
  centers[~np.all(np.isfinite(centers), axis=1)] = np.nan
  return centers


def with_centers(frame_records, centers):
  """Yields the records with `center_uvd` / `has_center` set from `centers` `[F, 3]` (NaN
  rows: no centre), record i from row i."""
  for record, center in zip(frame_records, np.asarray(centers, np.float32)):
    record = dict(record)
    known = bool(np.all(np.isfinite(center)))
    record["center_uvd"] = center if known else np.zeros(3, np.float32)
    record["has_center"] = np.float32(known)
    yield record


class SkipLog:
  """Frames skipped by a reader asked to skip bad input, over every pass of it.

  Attributes:
    entries: One message per distinct skipped frame ("<file> (frame i): <reason>").
    frames: The reader's frame index of each entry (None where it has none).
    seen: Frames read, skipped or not, over all passes.
    skipped: Frames skipped over all passes (a frame bad at every pass counts each time).
    allow_off_image: Whether labels projecting outside the image are kept (evaluation
      splits) rather than skipped (training).
    error: Set by a consumer that stopped because of this log (a budget exceeded), so that
      the error can be reported outside the pipeline that found it.
    last_good: Where the last frame read without error was ("<file> (frame i)"), for a
      consumer that names the frames it hands on (`input_pipeline.reader_records`).
  """

  def __init__(self, allow_off_image=False):
    self.allow_off_image = allow_off_image
    self.error = None
    self.last_good = None
    self.entries = []
    self.frames = []
    self.seen = 0
    self.skipped = 0

  @property
  def count(self):
    """Distinct skipped frames."""
    return len(self.entries)

  def add(self, error, frame=None):
    self.skipped += 1
    message = str(error)
    if (frame is None and message not in self.entries) or (
        frame is not None and frame not in self.frames):
      self.entries.append(message)
      self.frames.append(frame)


def checked(make, where, skip_log=None, frame=None):
  """Calls `make()` for a record and validates it.

  Errors of `make` (`FrameError`, `OSError`, `ValueError`, `KeyError`, `TypeError`: a field of
  the wrong type) and of the validation become a `FrameError` whose message starts with
  `where`; with a `SkipLog` they are logged there (with the reader's `frame` index) and None is
  returned instead.
  """
  if skip_log is not None:
    skip_log.seen += 1
  try:
    try:
      record = make()
    except (OSError, ValueError, KeyError, TypeError) as error:
      raise FrameError(f"{where}: {error}") from error
    record = validate_record(record, where,
                             allow_off_image=skip_log is not None and skip_log.allow_off_image)
    if skip_log is not None:
      skip_log.last_good = where
    return record
  except FrameError as error:
    if skip_log is None:
      raise
    skip_log.add(error, frame)
    return None
