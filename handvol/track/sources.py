"""Where a tracked sequence's frames come from: a folder of depth PNGs, a RealSense `.bag`
recording or a live RealSense camera.

Every source yields `Frame`s in time order: the frame's name, its time in seconds from the
first frame, its depth in mm (float32 `[H, W]`, 0 = no measurement) and the camera's
intrinsics (fx, fy, cx, cy). `pyrealsense2` (`pip install ".[realsense]"`) is imported only by
the RealSense sources.
"""

import dataclasses
import os
import queue
import threading
import time

import numpy as np

from handvol.export import predict

MM_PER_METRE = 1000.0
MS_PER_SECOND = 1000.0
START_TIMEOUT_S = 5.0  # a recording's playback that has not delivered a frame by then is empty


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
  except ImportError as error:  # not installed, or its libusb-1.0 is missing
    raise ImportError(f"RealSense input needs pyrealsense2, which does not import ({error}): "
                      "pip install \"handvol[realsense]\" (or pip install pyrealsense2); it "
                      "loads libusb-1.0 (Debian: apt-get install libusb-1.0-0)") from None
  return pyrealsense2


def _intrinsics(profile):
  values = profile.as_video_stream_profile().get_intrinsics()
  return np.array([values.fx, values.fy, values.ppx, values.ppy], np.float32)


def realsense_frames(bag=None, width=640, height=480, fps=30, max_frames=None):
  """Yields the depth `Frame`s of a RealSense recording (every frame, in recorded order, not
  in real time) or, without `bag`, of the first connected camera.

  Depth counts are converted to mm with the device's depth scale; the intrinsics are the depth
  stream's; the name is "frame_<number>" of the device's frame counter and the time is the
  device's timestamp, from the first frame.

  Args:
    bag: A recording (`.bag`, or `.db3` from librealsense 2.59's recorder), or None for a live
      camera.
    width, height, fps: The live depth stream's mode.
    max_frames: Stop after this many frames (a live camera never ends otherwise).
  """
  rs = _realsense()
  depths = _recorded_depths(rs, bag) if bag else _live_depths(rs, width, height, fps)
  start, count = None, 0
  try:
    for depth, mm_per_count in depths:
      if max_frames is not None and count >= max_frames:
        return
      start = depth.get_timestamp() if start is None else start
      yield Frame(f"frame_{depth.get_frame_number():06d}",
                  (depth.get_timestamp() - start) / MS_PER_SECOND,
                  np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(mm_per_count),
                  _intrinsics(depth.get_profile()))
      count += 1
  finally:
    depth = None  # no frame may outlive its sensor (librealsense frees its pool on close)
    depths.close()


def _live_depths(rs, width, height, fps):
  """(depth frame, mm per count) of a live camera's depth stream, until `START_TIMEOUT_S`
  without a frame."""
  pipeline, config = rs.pipeline(), rs.config()
  config.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
  profile = pipeline.start(config)
  mm_per_count = profile.get_device().first_depth_sensor().get_depth_scale() * MM_PER_METRE
  try:
    while True:
      ok, frames = pipeline.try_wait_for_frames(int(START_TIMEOUT_S * MS_PER_SECOND))
      if not ok:
        return
      yield frames.get_depth_frame(), mm_per_count
  finally:
    pipeline.stop()


def _recorded_depths(rs, path, poll_s=0.1):
  """(depth frame, mm per count) of every depth frame of a recording, in order.

  The recording's depth sensor is played back directly, not through `rs.pipeline`: a pipeline
  starts playing in real time before it can be told otherwise and keeps only the newest frame,
  so a slow reader (or a busy machine) loses frames. Here playback is not in real time and its
  callback waits until the reader has taken the previous frame, so none is dropped and at most
  two are held.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no RealSense recording at {path}")
  device = rs.context().load_device(path)
  playback = device.as_playback()
  playback.set_real_time(False)
  sensor = device.first_depth_sensor()
  mm_per_count = sensor.get_depth_scale() * MM_PER_METRE
  profiles = [p for p in sensor.get_stream_profiles() if p.stream_type() == rs.stream.depth]
  if not profiles:
    raise ValueError(f"{path}: the recording has no depth stream")
  handoff, closing = queue.Queue(maxsize=1), threading.Event()

  def on_frame(frame):
    frame.keep()  # the frame outlives the callback
    depth = frame.as_depth_frame()
    while not closing.is_set():
      try:
        handoff.put(depth, timeout=poll_s)
        return
      except queue.Full:
        continue  # the reader has not taken the previous frame yet: wait on

  sensor.open(profiles[0])
  sensor.start(on_frame)
  waited_s, seen = 0.0, False
  try:
    while True:
      try:
        depth = handoff.get(timeout=poll_s)
      except queue.Empty:
        waited_s += poll_s
        ended = playback.current_status() == rs.playback_status.stopped and handoff.empty()
        if ended and (seen or waited_s >= START_TIMEOUT_S):
          return
        continue
      seen = True
      yield depth, mm_per_count
  finally:
    closing.set()
    depth = None
    sensor.stop()
    while not handoff.empty():  # release the frames still handed over before the sensor closes
      handoff.get_nowait()
    sensor.close()
    _wait_until_idle(rs, playback)


def _wait_until_idle(rs, playback, step_s=0.005):
  """Returns once a playback's reading thread has nothing left to do, so that the device may
  be destroyed.

  `sensor.stop()` and `sensor.close()` only queue work on the reading thread, and the reading
  loop queues itself again until that work has stopped the playback. The device's destructor
  stops the thread's queue, but librealsense's dispatcher::stop does not wait for an item that
  the thread has taken off the queue and not yet begun, so destroying the device while the loop
  still ran let one more read run on the destroyed device: a segfault on the reading thread,
  calling the freed reader's read_next_data (gdb; mostly when the reader left early, on a busy
  machine). Here the playback is first seen stopped (after which the loop runs once more at
  most), then `pause()`, which queues behind that and waits for it, leaves the queue empty.
  """
  waited_s = 0.0
  while playback.current_status() != rs.playback_status.stopped and waited_s < START_TIMEOUT_S:
    time.sleep(step_s)
    waited_s += step_s
  playback.pause()
