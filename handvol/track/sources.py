"""Where a tracked sequence's frames come from: a folder of depth PNGs, a RealSense `.bag`
recording or a live RealSense camera.

Every source yields `Frame`s in time order: the frame's name, its time in seconds from the
first frame, its depth in mm (float32 `[H, W]`, 0 = no measurement) and the camera's
intrinsics (fx, fy, cx, cy). `pyrealsense2` (`pip install ".[realsense]"`) is imported only by
the RealSense sources.
"""

import dataclasses
import os

import numpy as np

from handvol.export import predict

MM_PER_METRE = 1000.0
MS_PER_SECOND = 1000.0


@dataclasses.dataclass(frozen=True)
class Frame:
  """One depth frame of a sequence (module docstring)."""
  name: str
  time_s: float
  depth: np.ndarray
  intrinsics: np.ndarray


def read_timestamps(path):
  """The frames of a timestamps file, in time order.

  Each non-empty line is "<frame file> <seconds>", the file relative to the timestamps file's
  folder (or absolute); `#` starts a comment.

  Returns:
    A list of (path, seconds) sorted by time (ties keep the file's order).

  Raises:
    ValueError: a line that is not a name and a number, or a time given twice.
  """
  folder = os.path.dirname(os.path.abspath(path))
  entries = []
  with open(path, encoding="utf-8") as f:
    for number, line in enumerate(f, 1):
      text = line.split("#", 1)[0].strip()
      if not text:
        continue
      name, _, seconds = text.rpartition(" ")
      try:
        time_s = float(seconds)
      except ValueError:
        name = ""
      if not name.strip() or not np.isfinite(time_s):
        raise ValueError(f"{path}:{number}: expected '<frame file> <seconds>', got {text!r}")
      entries.append((os.path.join(folder, name.strip()), time_s))
  entries.sort(key=lambda entry: entry[1])
  times = [time_s for _, time_s in entries]
  if len(set(times)) != len(times):
    raise ValueError(f"{path}: two frames have the same time")
  return entries


def folder_files(folder, timestamps=None, fps=30.0):
  """(path, seconds) of a folder's frames: by a timestamps file, or every `*.png` sorted by
  name at `fps` frames per second."""
  if timestamps:
    return read_timestamps(timestamps)
  return [(path, index / fps) for index, path in enumerate(predict.frame_paths([folder]))]


def folder_frames(files, intrinsics, depth_format="png16", depth_unit_mm=1.0):
  """Yields the `Frame`s of (path, seconds) pairs (`folder_files`), read as `predict` reads
  them (`predict.read_depth`); times start at 0."""
  intrinsics = np.asarray(intrinsics, np.float32)
  start = files[0][1] if files else 0.0
  for path, time_s in files:
    depth = predict.read_depth(path, depth_format, depth_unit_mm)
    yield Frame(os.path.basename(path), time_s - start, depth, intrinsics)


def _realsense():
  try:
    import pyrealsense2  # pylint: disable=import-outside-toplevel
  except ImportError:
    raise ImportError("RealSense input needs pyrealsense2: pip install \"handvol[realsense]\" "
                      "(or pip install pyrealsense2)") from None
  return pyrealsense2


def _intrinsics(profile):
  values = profile.as_video_stream_profile().get_intrinsics()
  return np.array([values.fx, values.fy, values.ppx, values.ppy], np.float32)


def realsense_frames(bag=None, width=640, height=480, fps=30, max_frames=None):
  """Yields the depth `Frame`s of a RealSense `.bag` recording (every frame, in recorded
  order, not in real time) or, without `bag`, of the first connected camera.

  Depth counts are converted to mm with the device's depth scale; the intrinsics are the depth
  stream's; the name is "frame_<number>" of the device's frame counter and the time is the
  device's timestamp, from the first frame.

  Args:
    bag: A `.bag` file, or None for a live camera.
    width, height, fps: The live depth stream's mode.
    max_frames: Stop after this many frames (a live camera never ends otherwise).
  """
  rs = _realsense()
  pipeline, config = rs.pipeline(), rs.config()
  if bag:
    config.enable_device_from_file(bag, repeat_playback=False)
  else:
    config.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
  profile = pipeline.start(config)
  device = profile.get_device()
  if bag:
    device.as_playback().set_real_time(False)
  mm_per_count = device.first_depth_sensor().get_depth_scale() * MM_PER_METRE
  start, count = None, 0
  try:
    while max_frames is None or count < max_frames:
      ok, frames = pipeline.try_wait_for_frames(5000)
      if not ok:
        return
      depth = frames.get_depth_frame()
      start = depth.get_timestamp() if start is None else start
      yield Frame(f"frame_{depth.get_frame_number():06d}",
                  (depth.get_timestamp() - start) / MS_PER_SECOND,
                  np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(mm_per_count),
                  _intrinsics(depth.get_profile()))
      count += 1
  finally:
    pipeline.stop()
