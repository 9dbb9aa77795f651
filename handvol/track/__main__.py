"""Tracks one hand through a depth sequence: joints per frame, with one calibrated shape and
filtered over time.

    python -m handvol.track --model exports/handvol/1 --frames DIR --intrinsics fx,fy,cx,cy \
        [--timestamps FILE] [--depth_format png16|nyu] [--depth_unit_mm 1] \
        --output joints.jsonl|joints.csv [--video overlay.mp4] [--shape FILE] \
        [--save_shape FILE] [--config default] [--set track.filter.kind=none ...]
    python -m handvol.track --model ... --bag recording.bag --output joints.jsonl
    python -m handvol.track --model ... --camera --max_frames 300 --output joints.jsonl

`--frames` is a folder of depth PNGs taken in name order (frame k at k / track.fps seconds)
unless `--timestamps` names a file of "<frame file> <seconds>" lines; `--bag` a RealSense
recording (librealsense 2.59 records `.db3`); `--camera` the first connected
RealSense camera. The `track` section of `--config`
(with `--set` overrides) sets the reference point, the filter and the calibration
(`docs/track.md`). `--shape FILE` holds a saved shape fixed from the first frame instead of
calibrating; `--save_shape FILE` writes the shape that was used.
"""

from absl import app
from absl import flags

from handvol import configs
from handvol.export import predict
from handvol.track import shape as shape_lib
from handvol.track import sources
from handvol.track import tracker as tracker_lib
from handvol.track import writers

_MODEL = flags.DEFINE_string("model", None, "An export's version folder or a .keras file.",
                             required=True)
_FRAMES = flags.DEFINE_string("frames", None, "A folder of depth PNGs.")
_TIMESTAMPS = flags.DEFINE_string("timestamps", None, "'<frame file> <seconds>' per line.")
_BAG = flags.DEFINE_string("bag", None, "A RealSense recording (.bag, or .db3 from "
                           "librealsense 2.59).")
_CAMERA = flags.DEFINE_bool("camera", False, "Track the first connected RealSense camera.")
_MAX_FRAMES = flags.DEFINE_integer("max_frames", None, "Stop after this many frames.",
                                   lower_bound=1)
_INTRINSICS = flags.DEFINE_list("intrinsics", None, "fx,fy,cx,cy of a folder's camera.")
_DEPTH_FORMAT = flags.DEFINE_enum("depth_format", "png16", predict.DEPTH_FORMATS,
                                  "PNG encoding of a folder's frames.")
_DEPTH_UNIT_MM = flags.DEFINE_float("depth_unit_mm", 1.0, "mm per count of a 16-bit PNG.")
_OUTPUT = flags.DEFINE_string("output", None, "Joints per frame: a .jsonl or .csv file.",
                              required=True)
_VIDEO = flags.DEFINE_string("video", None, "An overlay video (.mp4).")
_SHAPE = flags.DEFINE_string("shape", None, "A shape file to hold fixed (no calibration).")
_SAVE_SHAPE = flags.DEFINE_string("save_shape", None, "Write the shape used to this file.")
_CONFIG = flags.DEFINE_string("config", "default", "A config in handvol/configs or a .py file.")
_SET = flags.DEFINE_multi_string("set", [], "Config override key.sub=value (repeatable).")
_CUBE_MM = flags.DEFINE_float("cube_mm", None, "Crop cube (mm); default: the model's.")


def _frames(fps):
  """(frames, their number or None)."""
  chosen = [name for name, value in (("--frames", _FRAMES.value), ("--bag", _BAG.value),
                                     ("--camera", _CAMERA.value)) if value]
  if len(chosen) != 1:
    raise ValueError(f"give exactly one of --frames, --bag, --camera (got {chosen or 'none'})")
  if _FRAMES.value:
    if not _INTRINSICS.value:
      raise ValueError("--frames needs --intrinsics fx,fy,cx,cy")
    files = sources.folder_files(_FRAMES.value, _TIMESTAMPS.value, fps)[:_MAX_FRAMES.value]
    return (sources.folder_frames(files, [float(x) for x in _INTRINSICS.value],
                                  _DEPTH_FORMAT.value, _DEPTH_UNIT_MM.value), len(files))
  return sources.realsense_frames(_BAG.value, max_frames=_MAX_FRAMES.value), None


def main(argv):
  del argv
  try:
    config = configs.validate(configs.override(configs.load(_CONFIG.value), _SET.value),
                              tracker_lib.CONFIG_CHOICES)
    track_config = config["track"]
    frames, total = _frames(track_config["fps"])
    fixed = shape_lib.load(_SHAPE.value) if _SHAPE.value else None
    tracker = tracker_lib.Tracker(
        tracker_lib.FramePredictor(_MODEL.value, track_config["reference"], _CUBE_MM.value),
        track_config, fixed, config["data"]["max_gaussians"])
    writer = writers.JointsWriter(_OUTPUT.value)
    video = writers.OverlayVideo(_VIDEO.value, track_config["fps"]) if _VIDEO.value else None
    try:
      results = tracker_lib.track(frames, tracker, writer, video, total)
    finally:
      writer.close()
      if video is not None:
        video.close()
  except (ValueError, OSError, ImportError) as error:
    raise SystemExit(f"track: error: {error}") from None
  if _SAVE_SHAPE.value and tracker.shape is not None:
    shape_lib.save(_SAVE_SHAPE.value, tracker.shape)
  valid = sum(r["valid"] for r in results)
  print(f"tracked {len(results)} frames ({valid} with a hand) to {_OUTPUT.value}"
        + (f"; shape: {tracker.shape.method} from {tracker.shape.frames} frames"
           if tracker.shape is not None else ""))


if __name__ == "__main__":
  app.run(main)
