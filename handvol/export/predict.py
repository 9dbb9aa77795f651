"""Predicts hand joints for depth PNGs: a JSON of joints per frame and overlay images.

  python -m handvol.export.predict --model exports/handvol/1 --frames 'captures/*.png' \
      --intrinsics 475.07,475.07,315.94,245.29 --depth_unit_mm 1 --output_dir predictions

`--model` is an export's version folder (what TF Serving runs) or a `.keras` checkpoint (run
in-process through the same `handvol.export.serving` functions); without it, the pretrained
model that ships with handvol (`handvol.pretrained`, `docs/pretrained.md`). `--frames` takes folders
(every `*.png` in them), glob patterns or files, repeatable; frames are predicted in the
order given (sorted within a folder or pattern), in batches of `--batch_size` frames of one
image size. The hand is found by the hand localiser of the serving graph
(`handvol.image.localize`) unless `--references` names a text file with one row "u v d"
(pixels, mm) per frame, in that order; a row with d ≤ 0 leaves its frame to the localiser.

Writes `OUTPUT_DIR/predictions.json`: the camera, keypoint names and, per frame, the file, a
validity flag with its `reason` (`serving.REASONS`), the localiser's `confidence`, the
reference point with its source, `joints_xyz` (mm, camera frame), `joints_uvd` (pixels, mm),
`bone_lengths` (mm), `theta` and `warnings` (`plausibility_warnings`: distances no hand in
front of a depth camera has, which a wrong `--depth_unit_mm` or `--intrinsics` gives; each
distinct warning is also printed once to stderr with its number of frames); and, unless
`--nooverlays`, `OUTPUT_DIR/overlays/<index>_<frame>.png` with the camera and side views of
each valid frame, titled with its file name, with the reference point and the crop window
(`handvol.evaluation.plots.plot_qualitative`). `predictions.json` is strict JSON (no NaN), written
atomically. A frame that cannot be read (a corrupt PNG, a frame smaller than
`serving.MIN_FRAME_SIDE`) gets `"valid": false` and an `"error"` naming its file; the other
frames are still predicted, and the command then exits with code 1.
"""

import collections
import glob
import math
import os
import sys

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from handvol import pretrained
from handvol.data import atomic
from handvol.data import png
from handvol.data import records
from handvol.evaluation import plots
from handvol.export import export
from handvol.export import serving
from handvol.hand import skeleton
from handvol.image import localize

DEPTH_FORMATS = ("png16", "nyu")
"""Single-channel 16-bit PNGs in `depth_unit_mm` units; NYU's colour PNGs in mm."""

JSON_OUTPUTS = ("joints_xyz", "joints_uvd", "reference_uvd", "bone_lengths", "theta")

HAND_DEPTH_RANGE_MM = (100.0, localize.MAX_HAND_DEPTH_MM)
"""Distances at which a depth camera sees a hand well enough to estimate it (the cameras of
`handvol/data/synthetic/cameras.json` see 0.2–4.5 m; a hand farther than 2 m spans fewer than
20 pixels of a 640-pixel image, and the localiser does not look there). A reference point
outside is a warning: usually the depth unit (a RealSense SR300 counts 1/8 mm: read as mm, a
hand at 60 cm is at 4.8 m), or a reference point given from outside."""

MAX_MEDIAN_DEPTH_MM = 5000.0
"""A frame whose measured pixels have a median depth beyond 5 m is warned about (no depth camera
of `cameras.json` measures beyond 4.5 m)."""

FOV_RANGE_DEG = (20.0, 130.0)
"""Horizontal and vertical fields of view (from fx, fy and the image size) of real depth
cameras lie within this range (Kinect v1 57°, RealSense D435 87°, Azure Kinect NFOV 75°)."""


def plausibility_warnings(depth_mm, intrinsics, reference_xyz=None):
  """Warnings (strings) about distances that no hand in front of a depth camera has.

  Args:
    depth_mm: One frame's depth in mm, `[H, W]` (0 = no measurement).
    intrinsics: (fx, fy, cx, cy) in pixels.
    reference_xyz: The crop's reference point (mm, camera frame), or None where none was found.

  Returns:
    A list of sentences, empty when nothing is implausible; each names the flag to check.
  """
  height, width = depth_mm.shape
  fx, fy, cx, cy = (float(x) for x in intrinsics)
  found = []
  measured = depth_mm[depth_mm > 0]
  if measured.size and float(np.median(measured)) > MAX_MEDIAN_DEPTH_MM:
    found.append(f"the median measured depth is {np.median(measured) / 1000:.1f} m, beyond any "
                 f"depth camera's range: check --depth_unit_mm")
  if reference_xyz is not None:
    z = float(reference_xyz[2])
    low, high = HAND_DEPTH_RANGE_MM
    if not low <= z <= high:
      found.append(f"the hand is at {z / 1000:.2f} m, outside {low / 1000:g}–{high / 1000:g} m "
                   f"where depth cameras see hands: check --depth_unit_mm")
  if fx > 0 and fy > 0:
    for axis, focal, size in (("horizontal", fx, width), ("vertical", fy, height)):
      fov = math.degrees(2 * math.atan(size / (2 * focal)))
      if not FOV_RANGE_DEG[0] <= fov <= FOV_RANGE_DEG[1]:
        found.append(f"the {axis} field of view is {fov:.0f}° (focal {focal:g} px over "
                     f"{size} px), outside the {FOV_RANGE_DEG[0]:g}–{FOV_RANGE_DEG[1]:g}° of "
                     f"depth cameras: check --intrinsics")
  if not (0 <= cx <= width and 0 <= cy <= height):
    found.append(f"the principal point ({cx:g}, {cy:g}) is outside the {width}×{height} image: "
                 f"check --intrinsics")
  return found


def frame_paths(sources):
  """Frame files from folders (their `*.png`, sorted), glob patterns (sorted) and files.

  Raises:
    FileNotFoundError: a source that matches no file.
  """
  paths = []
  for source in sources:
    if os.path.isdir(source):
      matches = sorted(glob.glob(os.path.join(source, "*.png")))
    elif glob.has_magic(source):
      matches = sorted(glob.glob(source))
    else:
      matches = [source] if os.path.isfile(source) else []
    if not matches:
      raise FileNotFoundError(f"{source}: no PNG frames found")
    paths.extend(matches)
  return paths


def read_references(path, num_frames):
  """`[F, 3]` reference points (u, v, d) and `[F]` flags from a text file, one row per frame."""
  rows = np.loadtxt(path, dtype=np.float32, ndmin=2)
  if rows.shape != (num_frames, 3):
    raise ValueError(f"{path}: expected {num_frames} rows of 'u v d' (one per frame), got an "
                     f"array of shape {rows.shape}")
  return rows, (rows[:, 2] > 0).astype(np.float32)


def read_depth(path, depth_format, depth_unit_mm):
  """One frame's depth in mm, float32 `[H, W]`."""
  if depth_format == "nyu":
    return png.read_nyu_depth(path)
  if depth_format == "png16":
    return png.read_depth16(path, depth_unit_mm)
  raise ValueError(f"depth_format must be one of {DEPTH_FORMATS}, got {depth_format!r}")


def frame_predictor(model_path, cube_mm=None):
  """A function (depth mm `[B, H, W]`, intrinsics `[B, 4]`, reference_uvd `[B, 3]`,
  has_reference `[B]`) → dict of numpy `serving.OUTPUT_KEYS`, with the attribute `cube_mm`
  (the crop cube, mm).

  Args:
    model_path: An export's version folder (its `serving_default` runs) or a `.keras`
      checkpoint; None for the shipped pretrained model.
    cube_mm: The crop cube for a checkpoint; default: its run's config.json, else 300 mm.
      An export carries its own.
  """
  if model_path is None:
    model_path = pretrained.CHECKPOINT
  if os.path.isdir(model_path):
    try:
      signature = tf.saved_model.load(model_path).signatures[export.SIGNATURE_FRAME]
    except (OSError, ValueError, KeyError) as error:
      raise ValueError(f"{model_path}: not a readable handvol export ({error})") from None
    cube_mm = export.model_cube_mm(model_path)

    def run(depth, intrinsics, reference_uvd, has_reference):
      return signature(depth=tf.constant(depth), depth_unit_mm=tf.ones([len(depth)]),
                       intrinsics=tf.constant(intrinsics),
                       reference_uvd=tf.constant(reference_uvd),
                       has_reference=tf.constant(has_reference))
  else:
    model = export.load_checked(model_path)
    cube_mm = cube_mm or export.cube_from_workdir(model_path)
    function = tf.function(
        lambda *inputs: serving.predict_frames(model, *inputs, cube_mm=cube_mm),
        input_signature=serving.frame_signature(tf.float32))
    # A batch whose every frame has its reference point never uses the localiser or its
    # refiner (the same outputs); the serving graph still runs the refiner after its cond.
    given = tf.function(
        lambda *inputs: serving.predict_frames(model, *inputs, cube_mm=cube_mm, refiner=None),
        input_signature=serving.frame_signature(tf.float32))

    def run(depth, intrinsics, reference_uvd, has_reference):
      chosen = given if np.all(np.asarray(has_reference) > 0) else function
      return chosen(depth, np.ones([len(depth)], np.float32), intrinsics, reference_uvd,
                    has_reference)

  def predictor(*inputs):
    return {key: value.numpy() for key, value in run(*inputs).items()}

  predictor.cube_mm = cube_mm
  return predictor


def _read_checked(path, depth_format, depth_unit_mm):
  depth = read_depth(path, depth_format, depth_unit_mm)
  if min(depth.shape) < serving.MIN_FRAME_SIDE:
    raise records.FrameError(f"{path}: a {depth.shape[1]}×{depth.shape[0]} frame is smaller "
                             f"than {serving.MIN_FRAME_SIDE}×{serving.MIN_FRAME_SIDE} pixels")
  return depth


def _batches(paths, depth_format, depth_unit_mm, batch_size, failures):
  """Reads the frames lazily; yields (indices, depth `[b, H, W]` mm) of consecutive frames of
  one image size, at most `batch_size` of them. A frame that cannot be read goes to
  `failures` (index → message) instead."""
  indices, depths = [], []
  for index, path in enumerate(paths):
    try:
      depth = _read_checked(path, depth_format, depth_unit_mm)
    except records.FrameError as error:
      failures[index] = str(error)
      continue
    if depths and (len(depths) == batch_size or depth.shape != depths[0].shape):
      yield indices, np.stack(depths)
      indices, depths = [], []
    indices.append(index)
    depths.append(depth)
  if depths:
    yield indices, np.stack(depths)


def predict_files(paths, predictor, intrinsics, output_dir, depth_unit_mm=1.0,
                  depth_format="png16", references=None, batch_size=16, overlays=True,
                  verbose=1):
  """Predicts every frame and writes `predictions.json` and the overlays (module docstring).

  Args:
    paths: Frame files.
    predictor: A function of `frame_predictor`.
    intrinsics: (fx, fy, cx, cy) of the depth camera, pixels.
    output_dir: Output folder (created).
    depth_unit_mm: mm per PNG count ("png16").
    depth_format: One of `DEPTH_FORMATS`.
    references: Optional (`[F, 3]` u v d, `[F]` flags), see `read_references`.
    batch_size: Frames per call.
    overlays: Whether to draw the overlay images.
    verbose: 1 for a progress bar, 0 for none.

  Returns:
    The list of per-frame dicts written to `predictions.json`.
  """
  intrinsics = np.asarray(intrinsics, np.float32)
  if intrinsics.shape != (4,):
    raise ValueError(f"intrinsics must be 4 numbers (fx, fy, cx, cy), got {intrinsics}")
  if references is None:
    references = (np.zeros([len(paths), 3], np.float32), np.zeros([len(paths)], np.float32))
  overlay_dir = os.path.join(output_dir, "overlays")
  os.makedirs(overlay_dir if overlays else output_dir, exist_ok=True)
  progress = keras.utils.Progbar(len(paths), verbose=verbose, unit_name="frame")
  frames, failures = {}, {}
  for batch, depth in _batches(paths, depth_format, depth_unit_mm, batch_size, failures):
    outputs = predictor(depth, np.tile(intrinsics, (len(batch), 1)), references[0][batch],
                        references[1][batch])
    for row, index in enumerate(batch):
      frames[index] = _frame_entry(paths[index], outputs, row)
      frames[index]["warnings"] = plausibility_warnings(
          depth[row], intrinsics,
          outputs["reference_xyz"][row] if frames[index]["valid"] else None)
      if overlays and frames[index]["valid"]:
        name = os.path.splitext(os.path.basename(paths[index]))[0]
        plots.plot_qualitative(os.path.join(overlay_dir, f"{index:06d}_{name}.png"),
                               depth[row:row + 1], intrinsics, outputs["joints_xyz"][row:row + 1],
                               {}, parents=skeleton.KEYPOINT_PARENTS, label_name="prediction",
                               titles=[os.path.basename(paths[index])],
                               references=outputs["reference_xyz"][row:row + 1],
                               cube_mm=getattr(predictor, "cube_mm", None))
    progress.add(len(batch))
  for index, message in failures.items():
    frames[index] = {"file": paths[index], "valid": False, "error": message}
  frames = [frames[index] for index in sorted(frames)]
  atomic.write_json(os.path.join(output_dir, "predictions.json"),
                    {"intrinsics": intrinsics.tolist(), "depth_unit_mm": depth_unit_mm,
                     "keypoint_names": list(skeleton.KEYPOINT_NAMES), "frames": frames}, indent=1)
  return frames


def _frame_entry(path, outputs, row):
  """One frame's entry of `predictions.json`; invalid unless every number is finite."""
  values = {key: np.round(outputs[key][row].astype(np.float64), 3) for key in JSON_OUTPUTS}
  valid = bool(outputs["valid"][row]) and all(np.all(np.isfinite(v)) for v in values.values())
  reason = serving.REASONS[int(outputs["reason"][row])]
  if not valid and reason == "ok":
    reason = "nonfinite_output"
  frame = {"file": path, "valid": valid, "reason": reason,
           "confidence": round(float(outputs["confidence"][row]), 4),
           "reference_source": serving.REFERENCE_SOURCES[outputs["reference_source"][row]]}
  frame.update({key: np.where(np.isfinite(v), v, 0.0).tolist() for key, v in values.items()})
  return frame


def main(argv):
  del argv
  try:
    _run()
  except (ValueError, OSError) as error:
    raise SystemExit(f"predict: error: {error}") from None


def _run():
  paths = frame_paths(_FRAMES.value)
  references = (read_references(_REFERENCES.value, len(paths)) if _REFERENCES.value
                else None)
  frames = predict_files(paths, frame_predictor(_MODEL.value, _CUBE_MM.value),
                         [float(x) for x in _INTRINSICS.value], _OUTPUT_DIR.value,
                         depth_unit_mm=_DEPTH_UNIT_MM.value, depth_format=_DEPTH_FORMAT.value,
                         references=references, batch_size=_BATCH_SIZE.value,
                         overlays=_OVERLAYS.value)
  warned = collections.Counter(w for frame in frames for w in frame.get("warnings", []))
  for warning, count in warned.items():
    print(f"warning: {warning} ({count} of {len(frames)} frames)", file=sys.stderr)
  failed = [frame for frame in frames if "error" in frame]
  for frame in failed:
    print(f"failed: {frame['error']}", file=sys.stderr)
  if failed:
    raise SystemExit(f"predict: {len(failed)} of {len(frames)} frames failed (listed above, "
                     f"\"error\" in predictions.json); the other frames were predicted")


if __name__ == "__main__":
  _MODEL = flags.DEFINE_string("model", None, "An export's version folder or a .keras file "
                               "(default: the shipped pretrained model).")
  _FRAMES = flags.DEFINE_multi_string("frames", None, "Folder, glob pattern or PNG file.")
  _INTRINSICS = flags.DEFINE_list("intrinsics", None, "fx,fy,cx,cy of the depth camera.")
  _DEPTH_UNIT_MM = flags.DEFINE_float("depth_unit_mm", 1.0, "mm per count of a 16-bit PNG.")
  _DEPTH_FORMAT = flags.DEFINE_enum("depth_format", "png16", DEPTH_FORMATS, "PNG encoding.")
  _REFERENCES = flags.DEFINE_string("references", None, "Text file, one 'u v d' per frame.")
  _BATCH_SIZE = flags.DEFINE_integer("batch_size", 16, "Frames per call.")
  _CUBE_MM = flags.DEFINE_float("cube_mm", None, "Crop cube (mm) for a .keras checkpoint.")
  _OUTPUT_DIR = flags.DEFINE_string("output_dir", "predictions", "Output folder.")
  _OVERLAYS = flags.DEFINE_bool("overlays", True, "Draw camera and side views per frame.")
  flags.mark_flags_as_required(["frames", "intrinsics"])
  app.run(main)
