"""Tracking one hand through a sequence: localise, predict, calibrate the shape, filter.

Per frame (batch 1, as a live camera delivers them):

1. **Localise**: the hand's reference point (config `track.reference`):
   - "follow" (the default): the last frame's reference point, refined on this frame by the
     centre refiner (`centre_refiner.refine_centres`, the shipped one); where the refiner says
     no hand is near it, or on the first frame and after a frame without a hand, the frame is
     localised as under "localize". A hand moves little between frames, so following it keeps
     the crop on the hand where a frame's own localisation would jump to the other end of
     its arm, and a refined point costs less than localising the whole frame.
   - "localize": `handvol.image.localize.localize_hands` and the refiner on every frame, as
     the serving graph finds the point of a frame without one (a frame where it finds no hand
     is invalid, "no_hand_found");
   - "depth_only": the nearest object's centre of mass (`preprocess.centers_from_depth`).
2. **Predict**: the network through `handvol.export.predict.frame_predictor` (an export or a
   checkpoint, as `predict` runs them): θ, β and joints.
3. **Calibrate** (`track.calibration`): until a shape is known, frames are held back; after
   `frames` valid frames (or at the end of a shorter input) one β is estimated from them
   (`shape`), and from then on every frame's joints are the forward kinematics of its θ with
   that β: the bone lengths are constant by construction. A shape given up front
   (`--shape FILE`) is used from the first frame, and method "none" keeps the network's β.
4. **Filter** (`track.filter`): the One Euro filter (`one_euro`) on the joints, with the
   frames' times; it restarts after a frame without a hand. A single frame passes unchanged.
   With a shape, the filtered joints are put back on its bone lengths
   (`shape.impose_bone_lengths`), so the output's bones keep their lengths exactly.

`Tracker.push` takes one frame and returns the frames that are done (none while calibrating);
`Tracker.finish` returns the rest. Each result is a dict: "name", "time_s", "valid",
"joints_xyz" `[21, 3]` mm (the final joints), "raw_joints_xyz" (the network's own),
"shaped_joints_xyz" (with the shape, before the filter), "joints_uvd", "bone_lengths" `[20]` mm,
"calibrated" (whether a fixed shape was used), "reference_uvd" and "reference_source"
(`serving.REFERENCE_SOURCES`' names, or `FOLLOWED` for a point followed from the last frame).
"""

import os
import time

import keras
import numpy as np
import tensorflow as tf

from handvol import pretrained
from handvol.export import export
from handvol.export import predict
from handvol.export import serving
from handvol.geometry import camera
from handvol.image import preprocess
from handvol.model import centre_refiner
from handvol.track import one_euro
from handvol.track import shape as shape_lib

REFERENCES = ("follow", "localize", "depth_only")
FOLLOWED = "previous_frame"
"""The "reference_source" of a frame whose point was followed from the frame before."""
FILTERS = ("one_euro", "none")
CALIBRATIONS = ("none",) + shape_lib.METHODS

LIVE_REPORT_S = 2.0
"""Seconds between two frames-per-second lines of live input."""

CONFIG_CHOICES = {"track.reference": REFERENCES, "track.filter.kind": FILTERS,
                  "track.calibration.method": CALIBRATIONS}
"""The allowed names of the `track` section (`handvol.configs.validate`'s choices)."""


class FramePredictor:
  """Depth frame → the network's outputs for one frame, with the reference point of
  `track.reference`.

  Args:
    model_path: An export's version folder or a `.keras` checkpoint (`predict.frame_predictor`).
    reference: One of `REFERENCES`.
    cube_mm: The crop cube for a checkpoint (default: its run's).
    refiner: The centre refiner that "follow" refines the last point with (default: the
      shipped one, which exports embed too).
  """

  def __init__(self, model_path, reference="follow", cube_mm=None, refiner=None):
    if reference not in REFERENCES:
      raise ValueError(f"reference must be one of {REFERENCES}, got {reference!r}")
    self.reference = reference
    self.cube_mm = cube_mm or export.model_cube_mm(model_path)
    self._predict = predict.frame_predictor(model_path, cube_mm)
    if reference == "follow":
      self._refiner = refiner or pretrained.load_centre_refiner()
      self._refine = tf.function(
          lambda depth, xyz, intrinsics: centre_refiner.refine_centres(
              self._refiner, depth, camera.xyz_to_uvd(xyz, intrinsics), intrinsics),
          input_signature=(tf.TensorSpec([None, None, None], tf.float32),
                           tf.TensorSpec([None, 3], tf.float32),
                           tf.TensorSpec([None, 4], tf.float32)))
    self._depth_only = tf.function(
        lambda depth, intrinsics: preprocess.centers_from_depth(depth, intrinsics,
                                                                self.cube_mm),
        input_signature=(tf.TensorSpec([None, None, None], tf.float32),
                         tf.TensorSpec([None, 4], tf.float32)))
    self._crops = tf.function(
        lambda *inputs: serving.preprocess_frames(*inputs, cube_mm=self.cube_mm),
        input_signature=serving.frame_signature(tf.float32))

  def __call__(self, depth, intrinsics, previous_xyz=None):
    """Args: depth `[H, W]` mm, intrinsics `[4]`, and for "follow" the last frame's reference
    point `[3]` mm (None: localise this frame). Returns a dict of numpy arrays of one frame
    (`serving.OUTPUT_KEYS`; "reference_source" an index of `serving.REFERENCE_SOURCES`, or -1
    for a followed point)."""
    depth = np.asarray(depth, np.float32)[np.newaxis]
    intrinsics = np.asarray(intrinsics, np.float32)[np.newaxis]
    if self.reference == "follow" and previous_xyz is not None:
      followed = self._follow(depth, intrinsics, previous_xyz)
      if followed is not None:
        return followed
    if self.reference != "depth_only":  # The serving graph localises frames without a point.
      outputs = self._predict(depth, intrinsics, np.zeros([1, 3], np.float32),
                              np.zeros([1], np.float32))
    else:
      outputs = self._predict(depth, intrinsics, self._depth_only(depth, intrinsics).numpy(),
                              np.ones([1], np.float32))
      outputs["reference_source"] = np.full([1], serving.SOURCE_DEPTH_ONLY, np.int32)
    return {key: value[0] for key, value in outputs.items()}

  def _follow(self, depth, intrinsics, previous_xyz):
    """The outputs at the refined last point, or None where the refiner sees no hand there."""
    refined = self._refine(depth, np.asarray(previous_xyz, np.float32)[np.newaxis], intrinsics)
    if not bool(refined["present"][0]):
      return None
    outputs = self._predict(depth, intrinsics, refined["center_uvd"].numpy(),
                            np.ones([1], np.float32))
    outputs["reference_source"] = np.full([1], -1, np.int32)
    outputs["confidence"] = refined["presence"].numpy()
    return {key: value[0] for key, value in outputs.items()}

  def crops(self, depth, intrinsics, reference_uvd):
    """The crop the network saw (`serving.preprocess_frames` at its reference point): a dict of
    one frame's "crop_depth" `[128, 128]` mm, "crop_intrinsics" `[4]`, "center_xyz" `[3]`."""
    crops = self._crops(np.asarray(depth, np.float32)[np.newaxis], np.ones([1], np.float32),
                        np.asarray(intrinsics, np.float32)[np.newaxis],
                        np.asarray(reference_uvd, np.float32)[np.newaxis],
                        np.ones([1], np.float32))
    return {key: crops[key].numpy()[0] for key in ("crop_depth", "crop_intrinsics",
                                                    "center_xyz")}


class Tracker:
  """The per-frame pipeline of the module docstring.

  Args:
    predictor: A `FramePredictor` (or any callable with its call and `crops`).
    track_config: The config's `track` section.
    shape: Optional `shape.Shape` to hold fixed from the first frame.
    max_gaussians: Quadtree size of the "fit" calibration.
  """

  def __init__(self, predictor, track_config, shape=None, max_gaussians=1024):
    self.predictor = predictor
    self.config = track_config
    self.shape = shape
    self.max_gaussians = max_gaussians
    self._previous_xyz = None  # "follow": the last valid frame's reference point.
    method = track_config["calibration"]["method"]
    self._calibrating = shape is None and method != "none"
    self._held = []
    filter_config = track_config["filter"]
    self._filter = (one_euro.OneEuroFilter(filter_config["min_cutoff_hz"],
                                           filter_config["beta"], filter_config["d_cutoff_hz"])
                    if filter_config["kind"] == "one_euro" else None)

  def push(self, name, time_s, depth, intrinsics):
    """Tracks one frame (depth `[H, W]` mm, intrinsics `[4]`); returns the finished results."""
    if self.config["reference"] == "follow":
      outputs = self.predictor(depth, intrinsics, previous_xyz=self._previous_xyz)
      self._previous_xyz = outputs["reference_xyz"] if outputs["valid"] else None
    else:
      outputs = self.predictor(depth, intrinsics)
    source = int(outputs["reference_source"])
    result = {"name": name, "time_s": float(time_s), "valid": bool(outputs["valid"]),
              "intrinsics": np.asarray(intrinsics, np.float32), "theta": outputs["theta"],
              "beta": outputs["beta"], "raw_joints_xyz": outputs["joints_xyz"],
              "network_bone_lengths": outputs["bone_lengths"],
              "reference_uvd": outputs["reference_uvd"],
              "reference_source": FOLLOWED if source < 0 else serving.REFERENCE_SOURCES[source]}
    if not self._calibrating:
      return [self._finish_frame(result)]
    if result["valid"] and self.config["calibration"]["method"] == "fit":
      result["crop"] = self.predictor.crops(depth, intrinsics, outputs["reference_uvd"])
    self._held.append(result)
    if sum(r["valid"] for r in self._held) >= self.config["calibration"]["frames"]:
      return self._release()
    return []

  def finish(self):
    """The held frames at the end of the input (calibrated on what there is)."""
    return self._release() if self._calibrating else []

  def _release(self):
    valid = [r for r in self._held if r["valid"]]
    if valid:
      self.shape = self.calibrate(valid)
    self._calibrating = False
    held, self._held = self._held, []
    return [self._finish_frame(r) for r in held]

  def calibrate(self, results):
    """One `shape.Shape` from valid results of `push` (`track.calibration.method`)."""
    calibration = self.config["calibration"]
    betas = np.stack([r["beta"] for r in results])
    if calibration["method"] == "robust_mean":
      return shape_lib.shape_from_beta(shape_lib.robust_mean(betas), "robust_mean",
                                       len(results))
    examples = shape_lib.fit_examples(*(np.stack([r["crop"][key] for r in results])
                                        for key in ("crop_depth", "crop_intrinsics",
                                                    "center_xyz")), self.max_gaussians)
    return shape_lib.fit_shape(examples, np.stack([r["theta"] for r in results]), betas,
                               calibration["steps"], calibration["learning_rate"],
                               calibration.get("bone_weight", shape_lib.ENERGY_WEIGHTS["bone"]))

  def _finish_frame(self, result):
    result.pop("crop", None)
    if result["valid"] and self.shape is not None:
      shaped = shape_lib.joints_with_shape(result["theta"][np.newaxis], self.shape)[0]
      lengths = self.shape.bone_lengths
    else:
      shaped, lengths = result["raw_joints_xyz"].astype(np.float64), \
          result["network_bone_lengths"]
    if self._filter is not None and result["valid"]:
      joints = self._filter(shaped, result["time_s"])
      if self.shape is not None:
        joints = shape_lib.impose_bone_lengths(joints, self.shape.bone_lengths)
    else:
      if self._filter is not None:
        self._filter.reset()
      joints = shaped
    result.update(
        shaped_joints_xyz=shaped, joints_xyz=joints, bone_lengths=np.asarray(lengths),
        calibrated=bool(result["valid"] and self.shape is not None),
        joints_uvd=camera.xyz_to_uvd_numpy(np.asarray(joints, np.float32),
                                           result["intrinsics"]))
    return result


def track(frames, tracker, writer=None, video=None, total=None, verbose=1):
  """Runs `tracker` over `frames` (`sources.Frame`s), writing every result as it is done.

  Args:
    frames: An iterable of `sources.Frame`.
    tracker: A `Tracker`.
    writer: Optional `writers.JointsWriter`.
    video: Optional `writers.OverlayVideo`.
    total: The number of frames when known (files): a progress bar; None (a live camera):
      the frames per second, printed every `LIVE_REPORT_S` seconds.
    verbose: 0 for silence.

  Returns:
    The list of results, in time order (without their depth).
  """
  progress = keras.utils.Progbar(total, verbose=verbose, unit_name="frame") if total else None
  depths, results = {}, []
  start = last_report = time.perf_counter()

  def emit(done):
    for result in done:
      if writer is not None:
        writer.write(result)
      if video is not None:
        video.write(depths.pop(result["name"]), result)
      results.append(result)

  for count, frame in enumerate(frames, 1):
    if video is not None:
      depths[frame.name] = frame.depth
    emit(tracker.push(frame.name, frame.time_s, frame.depth, frame.intrinsics))
    if progress is not None:
      progress.add(1)
    elif verbose and time.perf_counter() - last_report >= LIVE_REPORT_S:
      last_report = time.perf_counter()
      print(f"{count} frames, {count / (last_report - start):.1f} fps", flush=True)
  emit(tracker.finish())
  return results
