"""Pre-annotation measured: how far a model's six proposed keypoints lie from the truth, in
pixels, on synthetic frames whose true joints are known (`scripts/preannotation_accuracy.py`).

The proposals come through the page's own path: the depth is read by `server.Frames` (as
`/api/depth` and `/api/frame` read it) and proposed by `suggest.Suggester.suggest` (what
`/api/frame` answers), one frame at a time. The truth is the projection of the frame's true
3D keypoints (`synthetic.export.TRUTH_FILE`), not the folder's labels, which carry simulated
annotators' click noise.
"""

import json
import os

import numpy as np

from handvol.annotate import server
from handvol.annotate import storage
from handvol.annotate import suggest
from handvol.data import capture
from handvol.data.synthetic import export as synthetic_export
from handvol.geometry import camera
from handvol.image import preprocess

NO_CORRECTION_PX = 5.0
"""A proposed keypoint within this distance of the truth (pixels) needs no drag."""
REFERENCES = ("depth", "labels")
"""Where the model's crop is centred: "depth", from the depth alone, as the page does (the
serving graph's hand localiser since 2026-12-03; the depth-only centre before);
"labels", the centre that training takes from the folder's own (noisy) 2D labels
(`preprocess.reference_point`), which tells the localiser's share of the error from the
model's."""


def read_camera(frames_dir):
  """(intrinsics [fx, fy, cx, cy] pixels, depth_unit_mm, frame names in writing order) of a
  capture folder."""
  path = os.path.join(frames_dir, capture.ANNOTATION_FILE)
  with open(path, encoding="utf-8") as f:
    meta = json.load(f)
  return meta["intrinsics"], meta["depth_unit_mm"], [entry["depth"] for entry in meta["frames"]]


def true_lab6_uv(frames_dir, intrinsics, num_frames):
  """The true pixels of the six keypoints of a synthetic capture folder's frames.

  Args:
    frames_dir: A folder written by `synthetic_frames.write_capture`.
    intrinsics: (fx, fy, cx, cy), pixels.
    num_frames: The frames the folder's annotation file lists (checked against the truth).

  Returns:
    A float array of shape `[F, 6, 2]`, (u, v) pixels, keypoints in `storage.KEYPOINTS` order.
  """
  path = os.path.join(frames_dir, synthetic_export.TRUTH_FILE)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no synthetic truth (make the folder with "
                            "handvol.annotate.synthetic_frames.write_capture)")
  truth_xyz = np.load(path)["truth_xyz"]
  if truth_xyz.shape != (num_frames, 21, 3):
    raise ValueError(f"{path}: truth_xyz has shape {truth_xyz.shape}, expected "
                     f"({num_frames}, 21, 3), one row per listed frame")
  lab6 = truth_xyz[:, list(suggest.LAB6_INDICES)]
  return camera.project(lab6, np.asarray(intrinsics, np.float32)).numpy()


def label_references(frames_dir, cube_mm):
  """`[F, 3]` reference points (u, v pixels, d mm) that training computes from a capture
  folder's labels (`preprocess.reference_point`), in the folder's frame order."""
  return np.stack([preprocess.reference_point(record, cube_mm)[0].numpy()
                   for record in capture.read_frames(frames_dir)])


def preannotation_errors(frames_dir, checkpoint, reference="depth"):
  """Pixel distances of a model's proposed six keypoints from the truth, frame by frame.

  Args:
    frames_dir: A synthetic capture folder (`synthetic_frames.write_capture`).
    checkpoint: A `.keras` checkpoint or an export's version folder.
    reference: One of `REFERENCES`.

  Returns:
    A dict: "frames", the names `[F]`; "errors_px", a float array `[F, 6]` (inf where the
    model proposed nothing for the frame, which then needs every keypoint clicked);
    "reference_uvd", `[F, 3]` (NaN where none was suggested); "reference_offset_px", `[F]`,
    the (u, v) distance of that centre from the labels' one (`label_references`), pixels.
  """
  if reference not in REFERENCES:
    raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
  intrinsics, depth_unit_mm, names = read_camera(frames_dir)
  truth = true_lab6_uv(frames_dir, intrinsics, len(names))
  frames = server.Frames(storage.FrameIndex(frames_dir), depth_unit_mm)
  suggester = suggest.Suggester(intrinsics, checkpoint)
  from_labels = label_references(frames_dir, suggester.cube_mm)
  given = from_labels if reference == "labels" else [None] * len(names)
  errors = np.full([len(names), len(storage.KEYPOINTS)], np.inf)
  references = np.full([len(names), 3], np.nan)
  for row, name in enumerate(names):
    proposal = suggester.suggest(name, frames.depth(name), given[row])
    if proposal["keypoints"] is None:
      continue
    uv = np.array([proposal["keypoints"][k] for k in storage.KEYPOINTS])
    errors[row] = np.linalg.norm(uv - truth[row], axis=-1)
    references[row] = proposal["reference_uvd"]
  offsets = np.linalg.norm(references[:, :2] - from_labels[:, :2], axis=-1)
  return {"frames": names, "errors_px": errors, "reference_uvd": references,
          "reference_offset_px": offsets}


def summarize(errors_px, threshold_px=NO_CORRECTION_PX):
  """The share of keypoints within `threshold_px` of the truth, overall and per keypoint, and
  the median error (pixels; a missing proposal counts as a miss and as an infinite error).

  Args:
    errors_px: A float array of shape `[F, 6]`, pixels (`preannotation_errors`).
    threshold_px: The no-correction radius, pixels.
  """
  errors_px = np.asarray(errors_px, np.float64)
  if errors_px.ndim != 2 or errors_px.shape[1] != len(storage.KEYPOINTS) or not errors_px.size:
    raise ValueError(f"errors_px must have shape [F > 0, {len(storage.KEYPOINTS)}], got "
                     f"{errors_px.shape}")
  within = errors_px <= threshold_px
  return {
      "frames": int(errors_px.shape[0]), "keypoints": int(errors_px.size),
      "threshold_px": float(threshold_px),
      "share_within": round(float(np.mean(within)), 4),
      "share_within_per_keypoint": {k: round(float(np.mean(within[:, i])), 4)
                                    for i, k in enumerate(storage.KEYPOINTS)},
      "median_px": _median(errors_px),
      "median_px_per_keypoint": {k: _median(errors_px[:, i])
                                 for i, k in enumerate(storage.KEYPOINTS)},
      "frames_without_proposal": int(np.sum(~np.all(np.isfinite(errors_px), axis=1))),
  }


def _median(values):
  """The median rounded to 0.01, or None when it is infinite (strict JSON has no inf)."""
  median = float(np.median(values))
  return round(median, 2) if np.isfinite(median) else None
