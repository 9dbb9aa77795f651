"""Renders frames of the independent hand into a capture folder.

    python -m independent_hand --out DIR [--frames 200] [--seed 0] [--views sphere|frontal]
        [--subjects 6] [--fx 588.03 --fy 588.03 --cx 320 --cy 240 --width 640 --height 480]
"""

import os
import sys
import time

from absl import app
from absl import flags

from independent_hand import raycast
from independent_hand import scene
from independent_hand import views
from independent_hand import writer

_OUT = flags.DEFINE_string("out", None, "Output folder (a capture folder with views.json).",
                           required=True)
_FRAMES = flags.DEFINE_integer("frames", 200, "Frames to render.", lower_bound=1)
_SEED = flags.DEFINE_integer("seed", 0, "Run seed (frame k draws from the seed (seed, k)).",
                             lower_bound=0)
_VIEWS = flags.DEFINE_enum("views", "sphere", list(views.VIEW_MODES),
                           "sphere: any rotation; frontal: palm or back to the camera.")
_SUBJECTS = flags.DEFINE_integer("subjects", 6, "Distinct hands (subjects) of the run.",
                                 lower_bound=1)
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace an existing capture folder.")
_FX = flags.DEFINE_float("fx", 588.03, "Focal length x, pixels.", lower_bound=1.0)
_FY = flags.DEFINE_float("fy", 588.03, "Focal length y, pixels.", lower_bound=1.0)
_CX = flags.DEFINE_float("cx", 320.0, "Principal point x, pixels.")
_CY = flags.DEFINE_float("cy", 240.0, "Principal point y, pixels.")
_WIDTH = flags.DEFINE_integer("width", 640, "Image width, pixels.", lower_bound=64)
_HEIGHT = flags.DEFINE_integer("height", 480, "Image height, pixels.", lower_bound=64)




@flags.multi_flags_validator(["cx", "cy", "width", "height"],
                             message="--cx/--cy: the principal point must lie inside the image "
                                     "(0 ≤ cx < width, 0 ≤ cy < height)")
def _principal_point_inside(values):
  return (0 <= values["cx"] < values["width"]) and (0 <= values["cy"] < values["height"])


@flags.multi_flags_validator(["out", "overwrite"],
                             message="--out already holds an annotations.json; pass --overwrite "
                                     "to replace it")
def _keeps_existing_folder(values):
  return (values["out"] is None or values["overwrite"]
          or not os.path.exists(os.path.join(values["out"], writer.ANNOTATION_FILE)))


def _progress(frames, total, stream=sys.stderr):
  # A one-line progress bar on stderr, passing the frames through.
  start = time.monotonic()
  for done, frame in enumerate(frames, 1):
    yield frame
    filled = int(30 * done / total)
    elapsed = time.monotonic() - start
    stream.write(f"\rrendering [{'#' * filled}{'.' * (30 - filled)}] {done}/{total} "
                 f"{elapsed:.1f} s")
    stream.flush()
  stream.write("\n")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}; every option is a --flag")
  camera = raycast.Camera(_FX.value, _FY.value, _CX.value, _CY.value, _WIDTH.value,
                          _HEIGHT.value)
  frames = (scene.sample_frame(_SEED.value, k, _SUBJECTS.value, _VIEWS.value, camera)
            for k in range(_FRAMES.value))
  run_info = {"seed": _SEED.value, "views": _VIEWS.value, "subjects": _SUBJECTS.value}
  start = time.monotonic()
  sidecar = writer.write_folder(_OUT.value, _progress(frames, _FRAMES.value), camera, run_info)
  print(f"wrote {len(sidecar['frames'])} frames to {_OUT.value} in "
        f"{time.monotonic() - start:.1f} s: {writer.summary(sidecar)}")


if __name__ == "__main__":
  app.run(main)
