"""Writes synthetic frames in the on-disk formats of the real datasets, so that the real readers
run on data whose truth is known.

The format's own writer (`handvol.data.nyu`, `hands2017`, `capture`) does the writing, with the
format's camera. The annotation file holds the frames' labels of the chosen label mode: for
"him_wrong_3d" the wrong labels (as HIM's annotation holds them); otherwise the NYU and
HANDS2017 writers store the truth. The truth of every frame is also saved beside it in
`TRUTH_FILE`, so that an evaluation can always compare with it.
"""

import dataclasses
import os

import keras
import numpy as np

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data.synthetic import generator

FORMATS = ("nyu", "hands2017", "capture")
DEFAULT_LABEL_MODES = {"nyu": "all21_3d", "hands2017": "him_wrong_3d", "capture": "lab6_2d"}
"""Each format's usual labels: NYU's full 3D joints, HIM's wrong 3D labels, HandID's 6 clicks."""
FORMAT_INTRINSICS = {"nyu": nyu.INTRINSICS, "hands2017": hands2017.INTRINSICS,
                     "capture": nyu.INTRINSICS}
"""The camera of each format (NYU and HANDS2017 readers assume their dataset's camera)."""
TRUTH_FILE = "synthetic_truth.npz"
"""Per frame, in writing order: "truth_xyz" `[N, 21, 3]` mm, "subject" `[N]`."""


def _writer(fmt, out_dir):
  if fmt == "nyu":
    return lambda frames: nyu.write_frames(out_dir, frames, split="train")
  if fmt == "hands2017":
    return lambda frames: hands2017.write_frames(out_dir, frames)
  if fmt == "capture":
    return lambda frames: capture.write_frames(out_dir, frames)
  raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")


def write_dataset(out_dir, num_frames, fmt, subjects="nyu_like", label_mode=None, seed=0,
                  config=None, progress=True):
  """Generates `num_frames` synthetic frames and writes them in format `fmt`.

  Args:
    out_dir: The dataset folder (NYU: `<out_dir>/train/`).
    num_frames: Number of frames.
    fmt: One of `FORMATS`.
    subjects: A subject set name or ids (`generator.generate`).
    label_mode: One of `labels.LABEL_MODES`; the format's `DEFAULT_LABEL_MODES` when None.
    seed: The run's seed.
    config: A `generator.SyntheticConfig`; its intrinsics are replaced by the format's camera.
    progress: Show a `keras.utils.Progbar`.

  Returns:
    The number of frames written.
  """
  write = _writer(fmt, out_dir)
  label_mode = label_mode or DEFAULT_LABEL_MODES[fmt]
  config = dataclasses.replace(config or generator.SyntheticConfig(),
                               intrinsics=tuple(FORMAT_INTRINSICS[fmt]))
  os.makedirs(out_dir, exist_ok=True)
  bar = keras.utils.Progbar(num_frames) if progress else None
  truths, subject_ids = [], []

  def records():
    for record in generator.generate(num_frames, subjects, label_mode, seed, config):
      truths.append(record["truth_xyz"])
      subject_ids.append(record["subject"])
      if label_mode == "him_wrong_3d":
        # The writers store the truth when a record has one; hide it so the file holds the
        # wrong labels, as HIM's does (the truth goes to TRUTH_FILE).
        record = dict(record, has_truth=np.float32(0.0))
      if bar is not None:
        bar.add(1)
      yield record

  written = write(records())
  np.savez(os.path.join(out_dir, TRUTH_FILE),
           truth_xyz=np.asarray(truths, np.float32).reshape(-1, 21, 3),
           subject=np.asarray(subject_ids, np.int32))
  return written
