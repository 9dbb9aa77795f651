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

from handvol.data import png
from handvol.data import records
from handvol.hand import skeleton

ANNOTATION_FILE = "annotations.json"
FORMAT_NAME = "handvol-capture"
FORMAT_VERSION = 1
DEPTH_DIR = "depth"


def _frame_record(entry, intrinsics, unit_mm, root):
  depth = png.read_depth16(os.path.join(root, entry["depth"]), unit_mm)
  uv = np.full((records.NUM_KEYPOINTS, 2), np.nan)
  xyz = np.full((records.NUM_KEYPOINTS, 3), np.nan)
  visible = np.zeros(records.NUM_KEYPOINTS)
  kind = np.zeros(records.NUM_KEYPOINTS, np.int32)
  for name, label in entry.get("keypoints", {}).items():
    if name not in skeleton.KEYPOINT_NAMES:
      raise records.FrameError(f"unknown keypoint {name!r}; names: {skeleton.KEYPOINT_NAMES}")
    index = skeleton.KEYPOINT_NAMES.index(name)
    uv[index] = label["uv"]
    visible[index] = label.get("visible", 1)
    kind[index] = records.KIND_2D
    if label.get("xyz") is not None:
      xyz[index] = label["xyz"]
      kind[index] = records.KIND_3D
  if not (np.all(np.isfinite(uv[kind >= records.KIND_2D]))
          and np.all(np.isfinite(xyz[kind == records.KIND_3D]))):
    raise records.FrameError("keypoint labels hold NaN or Inf")
  return records.make_record(depth, intrinsics, "capture", uv=uv, xyz=xyz, kind=kind,
                             visible=visible, subject=entry.get("subject", 0),
                             center_uvd=entry.get("center_uvd"))


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
  missing = [key for key in ("intrinsics", "frames") if key not in meta]
  if missing or len(meta["intrinsics"]) != 4:
    raise records.FrameError(f"{path}: needs 'intrinsics' [fx, fy, cx, cy] and 'frames'")
  intrinsics = meta["intrinsics"]
  unit_mm = float(meta.get("depth_unit_mm", 1.0))
  for frame, entry in enumerate(meta["frames"]):
    where = f"{path}: frame {frame} ({entry.get('depth')})"
    record = records.checked(lambda entry=entry: _frame_record(entry, intrinsics, unit_mm, root),
                             where, skip_log)
    if record is not None:
      yield record


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
  with open(os.path.join(out_dir, ANNOTATION_FILE), "w", encoding="utf-8") as f:
    json.dump(meta, f, indent=1)
  return len(frames)
