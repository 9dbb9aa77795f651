"""Scenes of a person as training frames for the pose network, cropped where serving crops.

A "scenes" source (`input_pipeline.frame_source`) renders frames of
`handvol.data.synthetic.scene` (a hand held up in front of a torso, sleeves, tables, walls; five
cameras' sensor models, 25–120 cm away) and finds each hand's reference point the way the
serving graph does: the localiser, then the shipped centre refiner
(`centre_refiner.locate_hands`). The record's centre ("center_uvd", "has_center" 1) is that
point, and the source is preprocessed with `prefer_centre` (`preprocess.reference_point`), so
the network learns on the crops it is given at test time instead of crops centred on its
labels. Where the localiser misses (flagged, or its point more than `MAX_MISS_MM` from the
hand's centre) the record's centre is the true hand centre instead: those crops would hold no
hand to learn from, and serving flags most of them.

To keep thousands of frames in memory, a record holds only the window of the frame that its
crop can reach (the crop cube's window grown by `WINDOW_GROWTH` for in-plane rotation, scaling
and shifts of the augmentation), with the principal point moved by the window's corner: the
same camera, cut down, so that every crop equals the full frame's.

Units: mm, pixels, camera frame (docs/conventions.md).
"""

import contextlib
import multiprocessing

import keras
import numpy as np
import tensorflow as tf

from handvol import pretrained
from handvol.data import records
from handvol.data.synthetic import scene
from handvol.data.synthetic import sensor
from handvol.geometry import camera
from handvol.hand import skeleton
from handvol.image import preprocess
from handvol.model import centre_refiner

MAX_MISS_MM = 60.0
"""A localised point farther than this from the true hand centre is a miss (module docstring)."""
WINDOW_GROWTH = 1.6
"""Side of a record's window over its crop cube's: √2 for any in-plane rotation, and room for
the augmentation's scale (×1.05) and shift (4 px)."""
CHUNK = 16
"""Frames a rendering process hands over at once (and localised in one batch)."""


def cameras_of(names):
  """The camera names of a source's "cameras": "all" (`sensor.CAMERAS`) or a comma-separated
  list of them."""
  if names == "all":
    return list(sensor.CAMERAS)
  cameras = [name.strip() for name in names.split(",") if name.strip()]
  for name in cameras:
    sensor.get_camera(name)  # names the known cameras when unknown
  if not cameras:
    raise ValueError("cameras: name at least one camera, or \"all\"")
  return cameras


def _render_chunk(job):
  """One chunk of hand scenes (a worker process's job): a list of `scene.render_scene` dicts."""
  camera_name, subjects, seed, first, count = job
  config = scene.SceneConfig(camera=camera_name, no_hand_prob=0.0)
  return list(scene.generate_scenes(count, config, seed=seed, subjects=subjects,
                                    first_frame=first))


@tf.function(reduce_retracing=True, autograph=False)
def _locate(refiner, counts, intrinsics, unit):
  found = centre_refiner.locate_hands(refiner, counts, intrinsics, unit)
  return found["center_uvd"], found["valid"]


def _window(depth, center_uvd, intrinsics, cube_mm):
  """The part of `depth` a crop about `center_uvd` can reach, and its intrinsics."""
  u0, v0, u1, v1 = preprocess.crop_window(center_uvd, intrinsics,
                                          cube_mm * WINDOW_GROWTH).numpy()
  height, width = depth.shape
  left, top = int(np.clip(np.floor(u0), 0, width - 1)), int(np.clip(np.floor(v0), 0, height - 1))
  right = int(np.clip(np.ceil(u1) + 1, left + 1, width))
  bottom = int(np.clip(np.ceil(v1) + 1, top + 1, height))
  shifted = np.asarray(intrinsics, np.float32) - np.array([0, 0, left, top], np.float32)
  return depth[top:bottom, left:right], shifted, np.array([left, top], np.float32)


def to_record(frame, center_uvd, label_mode, cube_mm=preprocess.CUBE_MM):
  """A hand scene of `scene.render_scene` as a frame record centred at `center_uvd` `[3]`
  (pixels, mm), cut down to its window (module docstring); labels of `label_mode`
  ("lab6_3d" or "all21_3d"), every labelled keypoint visible."""
  labelled = {"lab6_3d": list(skeleton.LAB6),
              "all21_3d": list(range(skeleton.NUM_KEYPOINTS))}.get(label_mode)
  if labelled is None:
    raise ValueError(f"label_mode of a scenes source: lab6_3d or all21_3d, got {label_mode!r}")
  depth, intrinsics, corner = _window(frame["depth"], center_uvd, frame["intrinsics"], cube_mm)
  truth = np.asarray(frame["truth_xyz"], np.float32)
  kind = np.zeros(skeleton.NUM_KEYPOINTS, np.int32)
  kind[labelled] = records.KIND_3D
  uv, xyz = np.zeros((skeleton.NUM_KEYPOINTS, 2), np.float32), np.zeros_like(truth)
  uv[labelled] = camera.project(truth[labelled], intrinsics).numpy()
  xyz[labelled] = truth[labelled]
  centre = np.asarray(center_uvd, np.float32) - np.append(corner, 0.0).astype(np.float32)
  return {"depth": depth.astype(np.float32), "intrinsics": intrinsics, "uv": uv, "xyz": xyz,
          "kind": kind, "visible": (kind > 0).astype(np.float32), "truth_xyz": truth,
          "has_truth": np.float32(1.0), "subject": np.int32(frame["subject"]),
          "dataset": np.int32(records.DATASET_IDS["synthetic"]), "center_uvd": centre,
          "has_center": np.float32(1.0)}


def _centres(frames, refiner):
  """The reference points `[N, 3]` (uvd) of one camera's frames: the true hand centres (the
  mean of the 21 joints) without a `refiner`, else the serving graph's points, the true centre
  where they miss; and how many missed."""
  intrinsics = np.stack([f["intrinsics"] for f in frames]).astype(np.float32)
  truth = np.stack([np.mean(f["truth_xyz"], axis=0) for f in frames]).astype(np.float32)
  truth_uvd = camera.xyz_to_uvd(truth, intrinsics).numpy()
  if refiner is None:
    return truth_uvd, 0
  counts = tf.constant(np.stack([f["counts"] for f in frames]).astype(np.float32))
  unit = tf.constant([f["depth_unit_mm"] for f in frames], tf.float32)
  located, valid = (t.numpy() for t in _locate(refiner, counts, tf.constant(intrinsics), unit))
  located_xyz = camera.uvd_to_xyz(located, intrinsics).numpy()
  hit = (valid > 0) & (np.linalg.norm(located_xyz - truth, axis=1) <= MAX_MISS_MM)
  return np.where(hit[:, None], located, truth_uvd), int(np.sum(~hit))


def _jobs(num_frames, cameras, subjects, seed):
  """(camera, subjects, seed, first frame, count) per chunk: the frames split evenly between
  the cameras, camera k rendering seed `seed + k`."""
  jobs = []
  for k, name in enumerate(cameras):
    count = num_frames // len(cameras) + (k < num_frames % len(cameras))
    for first in range(0, count, CHUNK):
      jobs.append((name, subjects, seed + k, first, min(CHUNK, count - first)))
  return jobs


@contextlib.contextmanager
def _chunks(jobs, processes):
  """The rendered chunks of `jobs`, in order: by a pool of `processes` spawned processes, or
  in this one when `processes` ≤ 1."""
  if processes <= 1:
    yield map(_render_chunk, jobs)
    return
  with multiprocessing.get_context("spawn").Pool(processes) as pool:
    yield pool.imap(_render_chunk, jobs)


def scene_records(num_frames, cameras, subjects, label_mode, seed, reference="localized",
                  cube_mm=preprocess.CUBE_MM, processes=2, verbose=True):
  """Renders `num_frames` hand scenes and returns them as frame records (module docstring).

  Args:
    num_frames: Frames over all cameras (split evenly).
    cameras: Camera names (`cameras_of`).
    subjects: A subject set's name or a sequence of subject ids (`subjects.subject_set`).
    label_mode: "lab6_3d" or "all21_3d".
    seed: Camera k renders scene seed `seed + k`.
    reference: "localized" (the serving graph's point, the truth where it misses) or "truth"
      (the true hand centre: the mean of the 21 joints).
    cube_mm: The crop cube's side (the window's size).
    processes: Rendering processes (spawned; ≤ 1 renders in this process).
    verbose: A progress bar of the chunks.

  Returns:
    A list of frame records in an order shuffled by `seed`; windows differ in size.
  """
  if reference not in ("localized", "truth"):
    raise ValueError(f"reference: \"localized\" or \"truth\", got {reference!r}")
  refiner = pretrained.load_centre_refiner() if reference == "localized" else None
  subjects = subjects if isinstance(subjects, str) else tuple(subjects)
  jobs = _jobs(num_frames, cameras, subjects, seed)
  progress = keras.utils.Progbar(len(jobs), unit_name="chunk", verbose=int(verbose))
  out, missed = [], 0
  with _chunks(jobs, processes) as chunks:
    for frames in chunks:
      centres, misses = _centres(frames, refiner)
      missed += misses
      out.extend(to_record(f, c, label_mode, cube_mm) for f, c in zip(frames, centres))
      progress.add(1)
  # Camera by camera as rendered; a fixed shuffle mixes them for the pipeline's shuffle buffer.
  out = [out[i] for i in np.random.default_rng(seed).permutation(len(out))]
  if verbose and refiner is not None:
    print(f"scenes: the localiser missed {missed} of {len(out)} hands (> {MAX_MISS_MM:g} mm or "
          "flagged); those are centred on the truth", flush=True)
  return out
