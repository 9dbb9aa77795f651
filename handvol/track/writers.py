"""What `python -m handvol.track` writes: joints per frame (JSON lines or CSV) and an overlay
video.

- JSON lines (`.jsonl`): one object per frame, in time order: "frame" (its name), "time_s",
  "valid", "calibrated", "joints_xyz" `[21][3]` (mm, camera frame), "joints_uvd" `[21][3]`
  (pixels, mm), "bone_lengths" `[20]` (mm), "reference_source". Strict JSON: an invalid frame's
  numbers are 0.
- CSV (`.csv`): a header, then one row per frame: frame, time_s, valid, calibrated, and x, y, z
  (mm) of each keypoint (`<keypoint>_x`, ...).
- Video (`--video FILE`, OpenCV `VideoWriter`, "mp4v"): the depth frame in grey (near is
  bright) with the skeleton drawn on it (green when calibrated, orange otherwise).
"""

import csv
import json
import os

import numpy as np

from handvol.hand import skeleton

FORMATS = (".jsonl", ".csv")
DEPTH_RANGE_MM = 400.0
"""The video's grey ramp spans this far behind the hand's reference depth."""


def _finite(values):
  values = np.asarray(values, np.float64)
  return np.where(np.isfinite(values), np.round(values, 3), 0.0)


class JointsWriter:
  """Writes results of `tracker.Tracker` to a `.jsonl` or `.csv` file (module docstring)."""

  def __init__(self, path):
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
      raise ValueError(f"{path}: the joints file must end in one of {FORMATS}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    self._csv = extension == ".csv"
    # Closed by `close`: the writer lives as long as the tracking run.
    self._file = open(path, "w", encoding="utf-8", newline="")  # pylint: disable=R1732
    if self._csv:
      self._writer = csv.writer(self._file)
      self._writer.writerow(["frame", "time_s", "valid", "calibrated"] + [
          f"{name}_{axis}" for name in skeleton.KEYPOINT_NAMES for axis in "xyz"])

  def write(self, result):
    valid = result["valid"]
    joints = _finite(result["joints_xyz"]) if valid else np.zeros((skeleton.NUM_KEYPOINTS, 3))
    if self._csv:
      self._writer.writerow([result["name"], f"{result['time_s']:.6f}", int(valid),
                             int(result["calibrated"])] + joints.reshape(-1).tolist())
      return
    uvd = _finite(result["joints_uvd"]) if valid else np.zeros_like(joints)
    lengths = _finite(result["bone_lengths"]) if valid else np.zeros(skeleton.NUM_BONES)
    self._file.write(json.dumps({
        "frame": result["name"], "time_s": round(result["time_s"], 6), "valid": valid,
        "calibrated": result["calibrated"], "joints_xyz": joints.tolist(),
        "joints_uvd": uvd.tolist(), "bone_lengths": lengths.tolist(),
        "reference_source": result["reference_source"]}, allow_nan=False) + "\n")

  def close(self):
    self._file.close()


def read_joints(path):
  """The frames of a `.jsonl` or `.csv` joints file: a list of dicts with "frame", "time_s",
  "valid" and "joints_xyz" `[21, 3]` (numpy)."""
  with open(path, encoding="utf-8", newline="") as f:
    if path.lower().endswith(".csv"):
      rows = list(csv.DictReader(f))
      return [{"frame": row["frame"], "time_s": float(row["time_s"]),
               "valid": row["valid"] == "1",
               "joints_xyz": np.array([float(row[f"{name}_{axis}"])
                                       for name in skeleton.KEYPOINT_NAMES
                                       for axis in "xyz"]).reshape(-1, 3)} for row in rows]
    frames = [json.loads(line) for line in f if line.strip()]
  for frame in frames:
    frame["joints_xyz"] = np.asarray(frame["joints_xyz"])
  return frames


class OverlayVideo:
  """An overlay video of tracked frames (module docstring), opened at the first frame."""

  def __init__(self, path, fps):
    import cv2  # pylint: disable=import-outside-toplevel
    self._cv2 = cv2
    self.path, self.fps = path, float(fps)
    self._writer = None

  def write(self, depth, result):
    cv2 = self._cv2
    reference = result["reference_uvd"][2] if result["valid"] else np.max(depth)
    near = reference - 0.5 * DEPTH_RANGE_MM
    grey = np.clip(1.0 - (depth - near) / DEPTH_RANGE_MM, 0.0, 1.0) * 255.0
    image = cv2.cvtColor(np.where(depth > 0, grey, 0).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    if self._writer is None:
      self._writer = cv2.VideoWriter(self.path, cv2.VideoWriter_fourcc(*"mp4v"), self.fps,
                                     (image.shape[1], image.shape[0]))
      if not self._writer.isOpened():
        raise OSError(f"{self.path}: OpenCV cannot write this video")
    if result["valid"]:
      colour = (0, 200, 0) if result["calibrated"] else (0, 140, 255)
      uv = np.round(_finite(result["joints_uvd"])[:, :2]).astype(int)
      for child, parent in enumerate(skeleton.KEYPOINT_PARENTS):
        if parent >= 0:
          cv2.line(image, tuple(uv[parent]), tuple(uv[child]), colour, 2)
      for point in uv:
        cv2.circle(image, tuple(point), 3, (255, 255, 255), -1)
    cv2.putText(image, f"{result['name']}  {result['time_s']:.2f} s", (8, 20),
                cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1)
    self._writer.write(image)

  def close(self):
    if self._writer is not None:
      self._writer.release()
