"""Synthetic depth frames with known truth, as frame records (`handvol.data.records`).

`generate` yields records for a subject set and a label mode; `dataset` wraps it as a
`tf.data.Dataset`; `render_frames` gives everything a frame was made of (truth, clean z-buffer,
wrong labels, pose) for tests, statistics and figures.

Frames come in batches of `SyntheticConfig.batch_size`: batch k of a run with seed s draws from
the random stream (s, k) alone, so a batch is reproducible on its own and batches can be made
in parallel. Forward kinematics (`handvol.hand.kinematics`) runs once per batch; each frame is
then ray-cast (`raycast`), passed through the sensor model (`sensor`) and labelled (`labels`).
"""

import dataclasses
import itertools

import numpy as np
import tensorflow as tf

from handvol.data import nyu
from handvol.data import records
from handvol.data.synthetic import labels as labels_lib
from handvol.data.synthetic import poses
from handvol.data.synthetic import raycast
from handvol.data.synthetic import sensor as sensor_lib
from handvol.data.synthetic import subjects as subjects_lib
from handvol.data.synthetic import surface as surface_lib
from handvol.geometry import camera
from handvol.hand import kinematics
from handvol.hand import skeleton

LAB6 = np.array(skeleton.LAB6)

IMAGE_MARGIN_PX = 12.0
"""True joints and wrong labels are kept this far inside the image; annotator clicks are then
clipped to it (pixel centres' continuous edges)."""


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
  """Everything a synthetic frame depends on besides the seed and the subjects.

  Attributes:
    intrinsics: (fx, fy, cx, cy) in pixels.
    height, width: Image size in pixels.
    pose, view, sensor, labels: The parts' configs.
    batch_size: Frames per forward-kinematics call (and per random stream).
  """
  intrinsics: tuple = nyu.INTRINSICS  # NYU's Kinect (SPEC §8), 640×480.
  height: int = 480
  width: int = 640
  pose: poses.PoseConfig = poses.PoseConfig()
  view: poses.ViewConfig = poses.ViewConfig()
  sensor: sensor_lib.SensorConfig = sensor_lib.SensorConfig()
  labels: labels_lib.LabelConfig = labels_lib.LabelConfig()
  batch_size: int = 32


def make_config(views="frontal", him_offset_mm=None, articulations="prototypes"):
  """A `SyntheticConfig` of the defaults with a named viewpoint distribution, a named
  articulation distribution and, optionally, the HIM-like wrong labels' offset.

  Args:
    views: A name of `poses.VIEW_PRESETS` ("frontal", "sphere").
    him_offset_mm: Optional `labels.LabelConfig.him_offset_mm`.
    articulations: A name of `poses.POSE_PRESETS` ("prototypes", "broad").

  Returns:
    A `SyntheticConfig`.
  """
  if views not in poses.VIEW_PRESETS:
    raise ValueError(f"views must be one of {sorted(poses.VIEW_PRESETS)}, got {views!r}")
  if articulations not in poses.POSE_PRESETS:
    raise ValueError(f"articulations must be one of {sorted(poses.POSE_PRESETS)}, got "
                     f"{articulations!r}")
  label_config = (labels_lib.LabelConfig() if him_offset_mm is None
                  else labels_lib.LabelConfig(him_offset_mm=him_offset_mm))
  return SyntheticConfig(pose=poses.POSE_PRESETS[articulations],
                         view=poses.VIEW_PRESETS[views], labels=label_config)


MOTION_KEYS = ("articulations", "rotations", "centres", "wrist_angles")
"""A given motion (`render_frames`' `motion`): `[N, 20]` radians, `[N, 3, 3]` rotations of the
rest hand, `[N, 3]` mm hand centres (the keypoints' mean), `[N, 2]` wrist flexion and deviation
in radians."""


def _pose_batch(subjects, config, rng, motion=None):
  """Poses, skeletons and wrong labels of one batch (numpy, camera frame, mm); sampled, or the
  given `motion` (`MOTION_KEYS`)."""
  num = len(subjects)
  if motion is None:
    articulations = poses.sample_articulations(num, config.pose, rng)
    rotations = poses.sample_rotations(num, config.view, rng)
  else:
    articulations, rotations = motion["articulations"], motion["rotations"]
  theta = np.zeros((num, skeleton.NUM_THETA))
  theta[:, skeleton.THETA_ROTATION] = poses.rotation_to_euler(rotations)
  theta[:, skeleton.THETA_ARTICULATION] = articulations
  lengths = np.stack([s.lengths for s in subjects])
  fk = {key: value.numpy() for key, value in
        kinematics.forward_kinematics(tf.constant(theta), tf.constant(lengths)).items()}
  # The wrist sat at the origin; move each hand so that its keypoints' mean is the sampled
  # centre. Translation commutes with the rest of the kinematics.
  if motion is None:
    centres = poses.sample_centres(num, np.asarray(config.intrinsics),
                                   (config.height, config.width), config.view, rng)
  else:
    centres = motion["centres"]
  shift = centres - fk["keypoints"].mean(axis=1)
  keypoints = fk["keypoints"] + shift[:, None]
  him_xyz = labels_lib.him_wrong_labels(keypoints, fk["bone_frames"], config.labels, rng)
  inside = _shift_into_image(np.concatenate([keypoints, him_xyz], axis=1), config)
  keypoints = keypoints + inside[:, None]
  theta[:, skeleton.THETA_TRANSLATION] = keypoints[:, skeleton.ROOT]
  palm_axes = np.stack([surface_lib.palm_frame(k, f)[1]
                        for k, f in zip(keypoints, fk["bone_frames"])])
  return {
      "theta": theta,
      "keypoints": keypoints,
      "bone_frames": fk["bone_frames"],
      "forearm": (poses.forearm_directions(palm_axes, config.view, rng) if motion is None
                  else poses.forearm_from_angles(palm_axes, *np.moveaxis(
                      np.asarray(motion["wrist_angles"]), -1, 0))),
      "him_xyz": him_xyz + inside[:, None],
  }


def _shift_into_image(points, config):
  """Sideways shifts `[N, 3]` (mm) that bring every point's projection at least
  `IMAGE_MARGIN_PX` inside the image (readers reject labels outside it).

  The shift is converted to mm at the farthest point's depth, so every point moves at least as
  many pixels as needed (nearer points move more).
  """
  fx, fy = config.intrinsics[0], config.intrinsics[1]
  uv = camera.project(tf.constant(points), tf.constant(config.intrinsics, tf.float64)).numpy()
  low = IMAGE_MARGIN_PX
  high = np.array([config.width - 1 - IMAGE_MARGIN_PX, config.height - 1 - IMAGE_MARGIN_PX])
  pixels = (np.maximum(low - uv.min(axis=1), 0.0) - np.maximum(uv.max(axis=1) - high, 0.0))
  far = points[:, :, 2].max(axis=1)
  return np.stack([pixels[:, 0] * far / fx, pixels[:, 1] * far / fy, np.zeros(len(far))],
                  axis=-1)


def render_frames(subjects, config, rng, motion=None):
  """Renders one frame per subject in `subjects` (a batch), keeping everything.

  Args:
    subjects: A sequence of `subjects.Subject`, one per frame.
    config: A `SyntheticConfig`.
    rng: A `numpy.random.Generator`.
    motion: Optional dict of `MOTION_KEYS` arrays, one row per frame, used instead of random
      poses, views and wrist angles (`sequences`); the sensor's noise and the wrong labels
      are still drawn from `rng`. The hand is still shifted into the image
      (`IMAGE_MARGIN_PX`), a shift that varies continuously with the pose.

  Returns:
    A list of dicts (numpy), one per frame: "depth" `[H, W]` float32 measured depth (mm, 0
    missing); "clean_depth" `[H, W]` the z-buffer; "primitive" `[H, W]` the part hit
    (`surface.build_surface` parts, `raycast.NO_HIT` elsewhere); "truth_xyz" `[21, 3]`;
    "truth_uv" `[21, 2]`; "him_xyz" `[21, 3]`; "him_uv" `[21, 2]`; "clicks_uv" `[21, 2]`
    (annotator clicks, the truth's projection plus noise); "visible" `[21]` from the z-buffer;
    "bone_frames" `[20, 3, 3]`; "theta" `[26]`; "surface" (`raycast.Surface`); "subject" (id).
  """
  intrinsics = np.asarray(config.intrinsics, np.float64)
  batch = _pose_batch(subjects, config, rng, motion)
  projected = camera.project(
      tf.constant(np.concatenate([batch["keypoints"], batch["him_xyz"]], axis=1)),
      tf.constant(intrinsics)).numpy()
  truth_uv, him_uv = np.split(projected, 2, axis=1)
  clicks = truth_uv + config.labels.annotator_noise_px * rng.standard_normal(truth_uv.shape)
  clicks = np.clip(clicks, -0.5, [config.width - 0.5, config.height - 0.5])
  frames = []
  for i, subject in enumerate(subjects):
    surface, parts = surface_lib.build_surface(
        batch["keypoints"][i], batch["bone_frames"][i], subject.bone_radius_scale,
        subject.palm_thickness_scale, batch["forearm"][i])
    image = raycast.render(surface, intrinsics, config.height, config.width)
    depth = sensor_lib.apply_sensor(image["depth"], image["cos_incidence"], intrinsics,
                                    config.sensor, rng)
    # Index −1 (no hit) picks the appended NO_HIT.
    part = np.append(parts, raycast.NO_HIT).astype(np.int32)[image["primitive"]]
    frames.append({
        "depth": depth,
        "clean_depth": image["depth"],
        "primitive": part,
        "truth_xyz": batch["keypoints"][i],
        "truth_uv": truth_uv[i],
        "him_xyz": batch["him_xyz"][i],
        "him_uv": him_uv[i],
        "clicks_uv": clicks[i],
        "visible": labels_lib.visibility(
            batch["keypoints"][i], truth_uv[i], image["depth"],
            surface_lib.keypoint_radii(subject.bone_radius_scale),
            config.labels.visibility_margin_mm),
        "bone_frames": batch["bone_frames"][i],
        "theta": batch["theta"][i],
        "surface": surface,
        "subject": subject.subject_id,
    })
  return frames


def to_record(frame, label_mode, intrinsics):
  """A frame of `render_frames` as a frame record with labels of `label_mode`.

  Args:
    frame: A dict of `render_frames`.
    label_mode: One of `labels.LABEL_MODES`.
    intrinsics: `[4]` the camera's (fx, fy, cx, cy).

  Returns:
    A frame record (`records.RECORD_SPEC`). "visible" is the z-buffer's visibility of the
    labelled keypoints (0 for unlabelled ones); "truth_xyz" holds the true joints.
  """
  kind = np.full(skeleton.NUM_KEYPOINTS, records.KIND_NONE, np.int32)
  uv = np.zeros((skeleton.NUM_KEYPOINTS, 2), np.float32)
  xyz = np.zeros((skeleton.NUM_KEYPOINTS, 3), np.float32)
  if label_mode == "lab6_2d":
    kind[LAB6] = records.KIND_2D
    uv[LAB6] = frame["clicks_uv"][LAB6]
  elif label_mode == "lab6_3d":
    kind[LAB6] = records.KIND_3D
    uv[LAB6] = frame["truth_uv"][LAB6]
    xyz[LAB6] = frame["truth_xyz"][LAB6]
  elif label_mode == "all21_3d":
    kind[:] = records.KIND_3D
    uv[:] = frame["truth_uv"]
    xyz[:] = frame["truth_xyz"]
  elif label_mode == "him_wrong_3d":
    kind[:] = records.KIND_3D
    uv[:] = frame["him_uv"]
    xyz[:] = frame["him_xyz"]
  else:
    raise ValueError(f"label_mode must be one of {labels_lib.LABEL_MODES}, got {label_mode!r}")
  return {
      "depth": frame["depth"].astype(np.float32),
      "intrinsics": np.asarray(intrinsics, np.float32),
      "uv": uv,
      "xyz": xyz,
      "kind": kind,
      "visible": np.where(kind > records.KIND_NONE, frame["visible"], 0.0).astype(np.float32),
      "truth_xyz": frame["truth_xyz"].astype(np.float32),
      "has_truth": np.float32(1.0),
      "subject": np.int32(frame["subject"]),
      "dataset": np.int32(records.DATASET_IDS["synthetic"]),
      "center_uvd": np.zeros(3, np.float32),
      "has_center": np.float32(0.0),
  }


def batch_subjects(subjects, num, rng):
  """`num` subjects drawn uniformly (with replacement) from `subjects`."""
  return [subjects[i] for i in rng.integers(len(subjects), size=num)]


def generate_frames(num_frames=None, subjects="nyu_like", seed=0, config=None,
                    first_batch=0):
  """Yields the frames of `render_frames`, batch after batch.

  Args:
    num_frames: How many; None for an endless stream.
    subjects: A name of `subjects.SUBJECT_SETS`, a sequence of ids, or of `Subject`s.
    seed: The run's seed; batch k draws from the stream (seed, k).
    config: A `SyntheticConfig` (defaults when None).
    first_batch: Index of the first batch (to split a run between workers).

  Yields:
    Dicts of `render_frames`.
  """
  config = config or SyntheticConfig()
  if subjects and isinstance(subjects, (list, tuple)) and isinstance(subjects[0],
                                                                     subjects_lib.Subject):
    subject_list = tuple(subjects)
  else:
    subject_list = subjects_lib.subject_set(subjects)
  remaining = num_frames
  for batch_index in itertools.count(first_batch):
    if remaining is not None and remaining <= 0:
      return
    size = config.batch_size if remaining is None else min(config.batch_size, remaining)
    rng = np.random.default_rng([seed, batch_index])
    chosen = batch_subjects(subject_list, size, rng)
    yield from render_frames(chosen, config, rng)
    if remaining is not None:
      remaining -= size


def generate(num_frames=None, subjects="nyu_like", label_mode="lab6_2d", seed=0, config=None):
  """Yields synthetic frame records.

  Args:
    num_frames: How many; None for an endless stream.
    subjects: A name of `subjects.SUBJECT_SETS` ("nyu_like", "handid_like", "unseen_test"),
      or a sequence of subject ids.
    label_mode: One of `labels.LABEL_MODES`.
    seed: Seed of the run (same seed and config, same frames).
    config: A `SyntheticConfig`.

  Yields:
    Frame records (`handvol.data.records`), dataset "synthetic", with the true joints.
  """
  config = config or SyntheticConfig()
  if label_mode not in labels_lib.LABEL_MODES:
    raise ValueError(f"label_mode must be one of {labels_lib.LABEL_MODES}, got {label_mode!r}")
  for frame in generate_frames(num_frames, subjects, seed, config):
    yield to_record(frame, label_mode, config.intrinsics)


def record_signature(config=None):
  """The `tf.TensorSpec` dict of synthetic records (`records.RECORD_SPEC`, fixed image size)."""
  config = config or SyntheticConfig()
  signature = {}
  for key, (dtype, shape) in records.RECORD_SPEC.items():
    if key == "depth":
      shape = (config.height, config.width)
    signature[key] = tf.TensorSpec(shape, tf.as_dtype(dtype), name=key)
  return signature


def dataset(subjects="nyu_like", label_mode="lab6_2d", seed=0, num_frames=None, config=None):
  """A `tf.data.Dataset` of synthetic frame records.

  Each pass over the dataset replays the same frames (same seed); with `num_frames=None` it is
  endless. Example: `dataset("handid_like", "lab6_2d").take(8)`.

  Args:
    subjects, label_mode, seed, num_frames, config: As in `generate`.

  Returns:
    A `tf.data.Dataset` of dicts with the signature `record_signature(config)`.
  """
  config = config or SyntheticConfig()
  if label_mode not in labels_lib.LABEL_MODES:
    raise ValueError(f"label_mode must be one of {labels_lib.LABEL_MODES}, got {label_mode!r}")
  return tf.data.Dataset.from_generator(
      lambda: generate(num_frames, subjects, label_mode, seed, config),
      output_signature=record_signature(config))
