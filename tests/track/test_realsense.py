"""The RealSense path without a camera: a recording written here by pyrealsense2's software
device and recorder, played back through the tracker, gives the joints of the same frames read
from a folder."""

import os
import time

import numpy as np
import pytest

from handvol.data.synthetic import export
from handvol.data.synthetic import generator
from handvol.track import sources
from handvol.track import tracker as tracker_lib

try:
  import pyrealsense2 as rs
except ImportError as error:  # not installed, or a library it links is missing (libusb-1.0)
  pytest.skip(f"pyrealsense2 does not import ({error}): it comes with the [test] and "
              "[realsense] extras and needs Debian's libusb-1.0-0", allow_module_level=True)

FRAMES = 4
FPS = 30
DEPTH_UNITS_M = 0.001


def _record(path, depths, intrinsics, queue_size=FRAMES):
  """Writes uint16 depth frames (mm) through a software depth sensor into a recording."""
  height, width = depths[0].shape
  device = rs.software_device()
  sensor = device.add_sensor("Depth")
  camera = rs.intrinsics()
  camera.width, camera.height = width, height
  camera.fx, camera.fy, camera.ppx, camera.ppy = (float(x) for x in intrinsics)
  camera.model, camera.coeffs = rs.distortion.none, [0.0] * 5
  stream = rs.video_stream()
  stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
  stream.width, stream.height, stream.fps, stream.bpp = width, height, FPS, 2
  stream.fmt, stream.intrinsics = rs.format.z16, camera
  profile = sensor.add_video_stream(stream)
  sensor.add_read_only_option(rs.option.depth_units, DEPTH_UNITS_M)
  recorder = rs.recorder(path, device)
  queue = rs.frame_queue(queue_size)
  sensor.open(profile)
  sensor.start(queue)
  for number, depth in enumerate(depths):
    frame = rs.software_video_frame()
    frame.pixels, frame.bpp, frame.stride = depth, 2, 2 * width
    frame.timestamp, frame.frame_number = 1000.0 * number / FPS, number
    frame.domain = rs.timestamp_domain.hardware_clock
    frame.profile = profile.as_video_stream_profile()
    sensor.on_video_frame(frame)
    queue.wait_for_frame()
  sensor.stop()
  sensor.close()
  del recorder  # closes the file


def test_a_recording_tracks_like_its_frames_in_a_folder(tmp_path, predictor):
  config = generator.SyntheticConfig(batch_size=FRAMES)
  folder = export.write_sequences(str(tmp_path / "sequence"), 1, FRAMES, "capture",
                                  "unseen_test", seed=7, config=config, progress=False)[0]
  files = sources.read_timestamps(os.path.join(folder, export.TIMESTAMPS_FILE))
  from_folder = list(sources.folder_frames(files, export.FORMAT_INTRINSICS["capture"]))
  # librealsense 2.59's recorder writes ROS 2 bags (.db3); older ones wrote ROS 1 .bag files.
  path = str(tmp_path / "recording.db3")
  _record(path, [f.depth.astype(np.uint16) for f in from_folder],
          export.FORMAT_INTRINSICS["capture"])
  from_bag = list(sources.realsense_frames(path))
  assert len(from_bag) == FRAMES
  np.testing.assert_allclose([f.time_s for f in from_bag], [f.time_s for f in from_folder],
                             atol=1e-6)
  config = {"reference": "localize", "fps": FPS,
            "filter": {"kind": "one_euro", "min_cutoff_hz": 1.0, "beta": 0.0,
                       "d_cutoff_hz": 1.0},
            "calibration": {"method": "robust_mean", "frames": 3, "steps": 0,
                            "learning_rate": 0.01}}
  results = [tracker_lib.track(frames, tracker_lib.Tracker(predictor, config), verbose=0)
             for frames in (from_folder, from_bag)]
  assert all(np.array_equal(a.depth, b.depth) for a, b in zip(from_folder, from_bag))
  for key in ("raw_joints_xyz", "shaped_joints_xyz"):
    np.testing.assert_array_equal(*(np.stack([r[key] for r in rs]) for rs in results))
  # The filter sees the recording's times (a float of milliseconds): equal to 1e-4 mm.
  np.testing.assert_allclose(*(np.stack([r["joints_xyz"] for r in rs]) for rs in results),
                             atol=1e-4)


def test_a_slow_reader_gets_every_frame_and_can_stop_early(tmp_path):
  """Playback waits for the reader: a reader slower than the recording's rate loses no frame
  (rs.pipeline kept only the newest one, so a busy machine read 1 of 4), and leaving early
  closes the recording without hanging."""
  count = 12
  depths = [np.full((48, 64), 400 + number, np.uint16) for number in range(count)]
  path = str(tmp_path / "recording.db3")
  _record(path, depths, (60.0, 60.0, 32.0, 24.0), queue_size=count)
  read = []
  for frame in sources.realsense_frames(path):
    time.sleep(2.0 / FPS)  # half the recording's rate
    read.append(frame)
  assert [f.name for f in read] == [f"frame_{number:06d}" for number in range(count)]
  np.testing.assert_allclose([f.depth[0, 0] for f in read], 400.0 + np.arange(count))
  np.testing.assert_allclose([f.time_s for f in read], np.arange(count) / FPS, atol=1e-6)
  np.testing.assert_allclose(read[0].intrinsics, (60.0, 60.0, 32.0, 24.0))
  started = time.monotonic()
  assert len(list(sources.realsense_frames(path, max_frames=3))) == 3
  assert time.monotonic() - started < 30.0


def test_a_missing_recording_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match="no RealSense recording"):
    list(sources.realsense_frames(str(tmp_path / "none.db3")))
