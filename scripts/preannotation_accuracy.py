"""Measures pre-annotation: the share of a model's six proposed keypoints that need no
correction (within 5 px of the truth) on synthetic frames, through the annotation page's own
code (`handvol.annotate.measure`, docs/annotate.md).

    python scripts/preannotation_accuracy.py --checkpoint RUN/checkpoints/best.keras \
        [--frames 200] [--seed 100] [--threshold_px 5] [--reference depth|labels]

The last line printed is one JSON object: the model, the frames' seed, the share within the
threshold (overall and per keypoint), the median pixel error, how far the crop centre lay from
the labels' centre (median, pixels) and the machine's CPU.
"""

import json
import os
import platform
import tempfile
import time

from absl import app
from absl import flags
import numpy as np

from handvol.annotate import measure
from handvol.annotate import synthetic_frames

_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "A .keras checkpoint or an export's version folder.")
_FRAMES = flags.DEFINE_integer("frames", 200, "Synthetic frames to measure on.")
_SEED = flags.DEFINE_integer("seed", 100, "Seed of the synthetic frames (the default "
                             "config trains on seeds 0-2).")
_SUBJECTS = flags.DEFINE_string("subjects", "nyu_like", "Synthetic subject set.")
_THRESHOLD_PX = flags.DEFINE_float("threshold_px", measure.NO_CORRECTION_PX,
                                   "No-correction radius, pixels.")
_REFERENCE = flags.DEFINE_enum("reference", "depth", measure.REFERENCES,
                               "Crop centre: the depth-only one (the page's) or the labels'.")
_WORK_DIR = flags.DEFINE_string("work_dir", None,
                                "Keep the synthetic frames here (default: a temporary folder).")


def _cpu_model():
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          return line.split(":", 1)[1].strip()
  except OSError:
    pass
  return platform.processor() or platform.machine()


def main(argv):
  del argv
  with tempfile.TemporaryDirectory() as temporary:
    frames_dir = _WORK_DIR.value or os.path.join(temporary, "frames")
    synthetic_frames.write_capture(frames_dir, _FRAMES.value, seed=_SEED.value,
                                   subjects=_SUBJECTS.value)
    start = time.perf_counter()
    result = measure.preannotation_errors(frames_dir, _CHECKPOINT.value, _REFERENCE.value)
    seconds = time.perf_counter() - start
  summary = measure.summarize(result["errors_px"], _THRESHOLD_PX.value)
  print(json.dumps(dict(summary, checkpoint=os.path.abspath(_CHECKPOINT.value),
                        reference=_REFERENCE.value,
                        reference_offset_px_median=round(
                            float(np.nanmedian(result["reference_offset_px"])), 2),
                        seed=_SEED.value,
                        subjects=_SUBJECTS.value,
                        seconds_per_frame=round(seconds / _FRAMES.value, 3),
                        cpu=_cpu_model(), cpu_count=os.cpu_count())))


if __name__ == "__main__":
  flags.mark_flag_as_required("checkpoint")
  app.run(main)
