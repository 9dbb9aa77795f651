"""Writes rendered frames as a handvol capture folder (the format of `handvol/data/capture.py`'s
docstring, written here with json and OpenCV) plus a `views.json` sidecar.

Layout: `depth/%06d.png` (16-bit, whole mm), `annotations.json` ("format": "handvol-capture",
"version": 1, intrinsics, "depth_unit_mm": 1, per frame all 21 keypoints with "uv" (pixels),
"xyz" (mm, camera frame, y down) and "visible"), and `views.json` (per frame, in the same order:
the view class, true roll, palm normal, pose kind, wrist angles, forearm length, subject).
"""

import json
import os

import cv2
import numpy as np

from independent_hand import names

FORMAT_NAME = "handvol-capture"
FORMAT_VERSION = 1
ANNOTATION_FILE = "annotations.json"
VIEWS_FILE = "views.json"
VIEWS_FORMAT = "independent-hand-views"
DEPTH_DIR = "depth"
UINT16_MAX = 65535


def write_depth(path, depth):
  """Writes `[H, W]` depth in mm as a 16-bit PNG of whole millimetres."""
  units = np.rint(depth)
  if np.any(units < 0) or np.any(units > UINT16_MAX):
    raise ValueError(f"{path}: depth outside 0–{UINT16_MAX} mm")
  if not cv2.imwrite(path, units.astype(np.uint16)):
    raise OSError(f"{path}: could not write the PNG")


def frame_entry(name, frame):
  """The capture-format entry (dict) of one `scene.Frame` whose PNG is `name`."""
  keypoints = {
      key: {"uv": [float(c) for c in frame.uv[k]], "xyz": [float(c) for c in frame.xyz[k]],
            "visible": int(frame.visible[k])}
      for k, key in enumerate(names.KEYPOINT_NAMES)}
  return {"depth": name, "subject": frame.subject.subject_id, "keypoints": keypoints}


def write_folder(out_dir, frames, camera, run_info):
  """Writes frames (an iterable of `scene.Frame`) to `out_dir`.

  Args:
    out_dir: The folder (made if absent).
    frames: `scene.Frame`s, written in order as `depth/000000.png`, ...
    camera: The `raycast.Camera` they were rendered with.
    run_info: A JSON-ready dict (seed, view mode, ...) stored at the top of `views.json`.

  Returns:
    The contents of `views.json` (a dict; its "frames" hold one entry per frame written).
  """
  os.makedirs(os.path.join(out_dir, DEPTH_DIR), exist_ok=True)
  entries, views = [], []
  for index, frame in enumerate(frames):
    name = f"{DEPTH_DIR}/{index:06d}.png"
    write_depth(os.path.join(out_dir, name), frame.depth)
    entries.append(frame_entry(name, frame))
    views.append({"depth": name, **frame.meta})
  meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "intrinsics": camera.intrinsics,
          "depth_unit_mm": 1.0, "frames": entries}
  with open(os.path.join(out_dir, ANNOTATION_FILE), "w", encoding="utf-8") as f:
    json.dump(meta, f, indent=1)
  sidecar = {"format": VIEWS_FORMAT, "version": 1, **run_info,
             "image_size": [camera.width, camera.height], "frames": views}
  with open(os.path.join(out_dir, VIEWS_FILE), "w", encoding="utf-8") as f:
    json.dump(sidecar, f, indent=1)
  return sidecar


def summary(sidecar):
  """One line on what a run holds: frames per view class and |roll| bin, visible keypoints."""
  frames = sidecar["frames"]
  classes = {view: sum(f["view"] == view for f in frames) for view in ("palm", "back", "side")}
  roll = np.abs([f["roll_deg"] for f in frames])
  bins = np.histogram(roll, [0.0, 60.0, 120.0, 180.0])[0]
  return (f"{len(frames)} frames; views " + ", ".join(f"{k} {v}" for k, v in classes.items())
          + f"; |roll| 0-60/60-120/120-180: {'/'.join(str(b) for b in bins)}"
          + f"; roll SD {np.std([f['roll_deg'] for f in frames]):.0f} deg")
