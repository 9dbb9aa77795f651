"""Writes synthetic frames in the on-disk formats of the real datasets, so that the real readers
run on data whose truth is known.

The format's own writer (`handvol.data.nyu`, `hands2017`, `capture`) does the writing, with the
format's camera. The annotation file holds the frames' labels of the chosen label mode: for
"him_wrong_3d" the wrong labels (as HIM's annotation holds them); otherwise the NYU and
HANDS2017 writers store the truth. The truth of every frame is also saved beside it in
`TRUTH_FILE`, so that an evaluation can always compare with it.
"""

import dataclasses
import glob
import os

import keras
import numpy as np

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data.synthetic import generator
from handvol.data.synthetic import sequences

FORMATS = ("nyu", "hands2017", "capture")
DEFAULT_LABEL_MODES = {"nyu": "all21_3d", "hands2017": "him_wrong_3d", "capture": "lab6_2d"}
"""Each format's usual labels: NYU's full 3D joints, HIM's wrong 3D labels, HandID's 6 clicks."""
FORMAT_INTRINSICS = {"nyu": nyu.INTRINSICS, "hands2017": hands2017.INTRINSICS,
                     "capture": nyu.INTRINSICS}
"""The camera of each format (NYU and HANDS2017 readers assume their dataset's camera)."""
TRUTH_FILE = "synthetic_truth.npz"
"""Per frame, in writing order: "truth_xyz" `[N, 21, 3]` mm, "subject" `[N]` (a sequence's
has more, `write_sequences`)."""
TIMESTAMPS_FILE = "timestamps.txt"
"""A sequence's frame files and times (`write_sequences`)."""
FRAME_DIRS = {"nyu": "train", "hands2017": hands2017.IMAGE_DIR, "capture": capture.DEPTH_DIR}
"""The folder of each format's frame PNGs, relative to the dataset folder."""
DEPTH_ENCODINGS = {"nyu": ("nyu", 1.0), "hands2017": ("png16", 1.0), "capture": ("png16", 1.0)}
"""Each format's PNG encoding (`handvol.export.predict.DEPTH_FORMATS`) and mm per count."""


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
  config = _format_config(fmt, config)
  bar = keras.utils.Progbar(num_frames) if progress else None
  written, _ = _write_frames(out_dir, fmt, label_mode,
                             generator.generate_frames(num_frames, subjects, seed, config),
                             config, bar)
  return written


def _format_config(fmt, config):
  if fmt not in FORMATS:
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
  return dataclasses.replace(config or generator.SyntheticConfig(),
                             intrinsics=tuple(FORMAT_INTRINSICS[fmt]))


def _write_frames(out_dir, fmt, label_mode, frames, config, bar, extra_truth=None):
  """Writes frames of `render_frames` as records of `label_mode` in format `fmt`, and
  `TRUTH_FILE` with their truth (plus `extra_truth`: name → function of the list of frames
  giving an array). Returns (frames written, the list of frames without their images)."""
  write = _writer(fmt, out_dir)
  label_mode = label_mode or DEFAULT_LABEL_MODES[fmt]
  os.makedirs(out_dir, exist_ok=True)
  kept = []

  def records():
    for frame in frames:
      record = generator.to_record(frame, label_mode, config.intrinsics)
      kept.append({key: value for key, value in frame.items()
                   if key not in ("depth", "clean_depth", "primitive", "surface")})
      if label_mode == "him_wrong_3d":
        # The writers store the truth when a record has one; hide it so the file holds the
        # wrong labels, as HIM's does (the truth goes to TRUTH_FILE).
        record = dict(record, has_truth=np.float32(0.0))
      if bar is not None:
        bar.add(1)
      yield record

  written = write(records())
  arrays = {"truth_xyz": np.asarray([f["truth_xyz"] for f in kept], np.float32).reshape(-1, 21, 3),
            "subject": np.asarray([f["subject"] for f in kept], np.int32)}
  arrays.update({name: function(kept) for name, function in (extra_truth or {}).items()})
  np.savez(os.path.join(out_dir, TRUTH_FILE), **arrays)
  return written, kept


def frame_files(out_dir, fmt):
  """The frame PNGs a `fmt` writer wrote into `out_dir`, in writing order (their names are
  zero-padded frame numbers)."""
  return sorted(glob.glob(os.path.join(out_dir, FRAME_DIRS[fmt], "*.png")))


def write_sequences(out_dir, num_sequences, frames_per_sequence, fmt, subjects="unseen_test",
                    label_mode=None, seed=0, config=None, sequence_config=None, progress=True):
  """Writes `num_sequences` synthetic sequences (`sequences`), each a dataset of format `fmt`
  in `<out_dir>/sequence_<i:03d>/`, of one subject each (the set's subjects in turn).

  Each sequence folder holds, besides the format's files: `TRUTH_FILE` with "truth_xyz",
  "subject", and the sequence's "time_s" `[N]`, "theta" `[N, 26]`, "bone_lengths" `[20]` (the
  subject's true lengths, mm) and "beta" `[20]`; and `TIMESTAMPS_FILE`, one line "<frame file
  relative to the folder> <seconds>" per frame.

  Args:
    out_dir: The parent folder.
    num_sequences: Number of sequences.
    frames_per_sequence: Frames of each.
    fmt, label_mode, seed, config: As in `write_dataset`.
    subjects: A subject set name or ids.
    sequence_config: A `sequences.SequenceConfig`.
    progress: Show a progress bar.

  Returns:
    The list of sequence folders.
  """
  config = _format_config(fmt, config)
  bar = keras.utils.Progbar(num_sequences * frames_per_sequence) if progress else None
  folders = []
  for index in range(num_sequences):
    subject = sequences.sequence_subject(subjects, index)
    folder = os.path.join(out_dir, f"sequence_{index:03d}")
    frames = sequences.generate_sequence(frames_per_sequence, subject, seed, index, config,
                                         sequence_config)
    _, kept = _write_frames(folder, fmt, label_mode, frames, config, bar, {
        "time_s": lambda kept: np.asarray([f["time_s"] for f in kept], np.float64),
        "theta": lambda kept: np.asarray([f["theta"] for f in kept], np.float32),
        "bone_lengths": lambda kept: np.asarray(subject.lengths, np.float32),
        "beta": lambda kept: np.asarray(subject.beta, np.float32)})
    files = frame_files(folder, fmt)
    if len(files) != len(kept):
      raise RuntimeError(f"{folder}: {len(files)} frame files for {len(kept)} frames")
    with open(os.path.join(folder, TIMESTAMPS_FILE), "w", encoding="utf-8") as f:
      f.writelines(f"{os.path.relpath(path, folder)} {frame['time_s']:.6f}\n"
                   for path, frame in zip(files, kept))
    folders.append(folder)
  return folders
