"""Own captures (the paper's HandID kind of data): a documented folder format, reader and writer.

A capture folder holds 16-bit single-channel depth PNGs and one JSON file, `annotations.json`:

    {
      "format": "handvol-capture",
      "version": 1,
      "intrinsics": [fx, fy, cx, cy],
      "depth_unit_mm": 1.0,
      "frames": [
        {"depth": "depth/000000.png",
         "subject": 0,
         "keypoints": {"wrist": {"uv": [u, v], "visible": 1},
                       "index_tip": {"uv": [u, v], "visible": 0, "xyz": [x, y, z]}},
         "center_uvd": [u, v, d]},
        ...
      ]
    }

- `intrinsics`: pixels, of the depth images as stored.
- `depth_unit_mm`: millimetres per PNG unit (1 by default; many RealSense cameras store
  1/8 mm, i.e. 0.125). 0 means no measurement.
- `keypoints`: keyed by the names of `handvol.hand.skeleton.KEYPOINT_NAMES`; any subset (the
  paper labels the wrist and the five tips). `uv` in pixels is required, `visible` (1 or 0)
  defaults to 1, `xyz` (mm, camera frame, y down) is optional and makes it a 3D label.
- `subject` (int, default 0) and `center_uvd` (optional reference point, pixels and mm) per
  frame.
"""

import json
import os

import numpy as np

from handvol.data import atomic
from handvol.data import png
from handvol.data import records
from handvol.hand import skeleton

ANNOTATION_FILE = "annotations.json"
FORMAT_NAME = "handvol-capture"
FORMAT_VERSION = 1
DEPTH_DIR = "depth"


def _is_numbers(value, count):
  return (isinstance(value, (list, tuple)) and len(value) == count
          and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value))


def _numbers(value, count, field):
  """`value` as `count` floats; a `FrameError` naming `field` when it is anything else."""
  if not _is_numbers(value, count):
    raise records.FrameError(f"{field} must be a list of {count} numbers, got {value!r}")
  return [float(x) for x in value]


def _keypoint_labels(keypoints):
  """The "keypoints" object of a frame → uv `[21, 2]`, xyz `[21, 3]`, visible, kind."""
  if not isinstance(keypoints, dict):
    raise records.FrameError(f"'keypoints' must be an object name → label, got {keypoints!r}")
  uv = np.full((records.NUM_KEYPOINTS, 2), np.nan)
  xyz = np.full((records.NUM_KEYPOINTS, 3), np.nan)
  visible = np.zeros(records.NUM_KEYPOINTS)
  kind = np.zeros(records.NUM_KEYPOINTS, np.int32)
  for name, label in keypoints.items():
    if name not in skeleton.KEYPOINT_NAMES:
      raise records.FrameError(f"unknown keypoint {name!r}; names: {skeleton.KEYPOINT_NAMES}")
    if not isinstance(label, dict) or "uv" not in label:
      raise records.FrameError(f"keypoint {name!r} must be an object with 'uv', got {label!r}")
    index = skeleton.KEYPOINT_NAMES.index(name)
    uv[index] = _numbers(label["uv"], 2, f"keypoint {name!r} 'uv'")
    visible[index] = label.get("visible", 1)
    if visible[index] not in (0, 1):
      raise records.FrameError(f"keypoint {name!r} 'visible' must be 0 or 1, got {label}")
    kind[index] = records.KIND_2D
    if label.get("xyz") is not None:
      xyz[index] = _numbers(label["xyz"], 3, f"keypoint {name!r} 'xyz'")
      kind[index] = records.KIND_3D
  if not (np.all(np.isfinite(uv[kind >= records.KIND_2D]))
          and np.all(np.isfinite(xyz[kind == records.KIND_3D]))):
    raise records.FrameError("keypoint labels hold NaN or Inf")
  return uv, xyz, visible, kind


def _frame_record(entry, intrinsics, unit_mm, root):
  if not isinstance(entry, dict) or not isinstance(entry.get("depth"), str):
    raise records.FrameError(f"a frame must be an object with a 'depth' file name, got {entry!r}")
  depth = png.read_depth16(os.path.join(root, entry["depth"]), unit_mm)
  uv, xyz, visible, kind = _keypoint_labels(entry.get("keypoints", {}))
  subject = entry.get("subject", 0)
  if not isinstance(subject, int) or isinstance(subject, bool):
    raise records.FrameError(f"'subject' must be an integer, got {subject!r}")
  center = entry.get("center_uvd")
  return records.make_record(depth, intrinsics, "capture", uv=uv, xyz=xyz, kind=kind,
                             visible=visible, subject=subject,
                             center_uvd=None if center is None else _numbers(
                                 center, 3, "'center_uvd'"))


def read_frames(root, annotation=ANNOTATION_FILE, skip_log=None):
  """Yields the frames of a capture folder as frame records (dataset "capture").

  Args:
    root: The capture folder.
    annotation: The JSON file's name inside `root`.
    skip_log: A `records.SkipLog` to skip bad frames and log them; None raises `FrameError`.
  """
  path = os.path.join(root, annotation)
  if not os.path.isfile(path):
    raise records.FrameError(f"{path}: file not found")
  with open(path, encoding="utf-8") as f:
    try:
      meta = json.load(f)
    except json.JSONDecodeError as error:
      raise records.FrameError(f"{path}: not valid JSON ({error})") from error
  if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
    raise records.FrameError(
        f"{path}: expected format {FORMAT_NAME!r} version {FORMAT_VERSION}, got "
        f"{meta.get('format')!r} version {meta.get('version')}")
  intrinsics, unit_mm = _camera(meta, path)
  for frame, entry in enumerate(meta["frames"]):
    name = entry.get("depth") if isinstance(entry, dict) else None
    where = f"{path}: frame {frame} ({name})"
    record = records.checked(lambda entry=entry: _frame_record(entry, intrinsics, unit_mm, root),
                             where, skip_log, frame)
    if record is not None:
      yield record


def _camera(meta, path):
  """The file's intrinsics and depth unit, checked; `FrameError` naming `path` and the field."""
  if not isinstance(meta.get("frames"), list):
    raise records.FrameError(f"{path}: needs 'frames', a list of frame objects")
  intrinsics, unit_mm = meta.get("intrinsics"), meta.get("depth_unit_mm", 1.0)
  if not _is_numbers(intrinsics, 4):
    raise records.FrameError(f"{path}: needs 'intrinsics' [fx, fy, cx, cy], 4 numbers, got "
                             f"{intrinsics!r}")
  if not _is_numbers([unit_mm], 1):
    raise records.FrameError(f"{path}: 'depth_unit_mm' must be a number, got {unit_mm!r}")
  intrinsics, unit_mm = [float(x) for x in intrinsics], float(unit_mm)
  if not (np.all(np.isfinite(intrinsics)) and min(intrinsics[:2]) > 0):
    raise records.FrameError(f"{path}: 'intrinsics' need finite fx, fy > 0, got {intrinsics}")
  if not (np.isfinite(unit_mm) and unit_mm > 0):
    raise records.FrameError(f"{path}: 'depth_unit_mm' must be a number > 0, got {unit_mm}")
  return intrinsics, unit_mm


def write_frames(out_dir, frame_records, depth_unit_mm=1.0):
  """Writes frame records as a capture folder.

  Every record must share one set of intrinsics. Labelled keypoints (`kind` ≥ 1) are written
  with their `uv` and visibility, 3D ones with their `xyz` too; depth is stored in units of
  `depth_unit_mm` (rounded).

  Returns:
    The number of frames written.
  """
  os.makedirs(os.path.join(out_dir, DEPTH_DIR), exist_ok=True)
  frames, intrinsics = [], None
  for frame, record in enumerate(frame_records):
    this = [float(value) for value in record["intrinsics"]]
    if intrinsics is not None and not np.allclose(this, intrinsics):
      raise records.FrameError(f"frame {frame}: a capture folder has one set of intrinsics")
    intrinsics = this
    name = os.path.join(DEPTH_DIR, f"{frame:06d}.png")
    png.write_depth16(os.path.join(out_dir, name), record["depth"], depth_unit_mm)
    keypoints = {}
    for index in np.flatnonzero(record["kind"] >= records.KIND_2D):
      label = {"uv": [float(value) for value in record["uv"][index]],
               "visible": int(record["visible"][index] > 0)}
      if record["kind"][index] == records.KIND_3D:
        label["xyz"] = [float(value) for value in record["xyz"][index]]
      keypoints[skeleton.KEYPOINT_NAMES[index]] = label
    entry = {"depth": name, "subject": int(record["subject"]), "keypoints": keypoints}
    if record["has_center"] > 0:
      entry["center_uvd"] = [float(value) for value in record["center_uvd"]]
    frames.append(entry)
  meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "intrinsics": intrinsics,
          "depth_unit_mm": depth_unit_mm, "frames": frames}
  atomic.write_text(os.path.join(out_dir, ANNOTATION_FILE), json.dumps(meta, indent=1))
  return len(frames)
