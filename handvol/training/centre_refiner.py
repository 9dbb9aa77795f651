"""Trains the localiser's centre refiner (`handvol.model.centre_refiner`) on synthetic scenes.

    python -m handvol.training.centre_refiner --workdir=/tmp/refiner [--frames_per_camera=2400]
        [--arm_towards_camera_prob=0.15] [--no_hand_prob=0.15] [--subjects=many|two_sets]
        [--far_frames_per_camera=0] [--head_crops] [--width=24] [--epochs=24]

For every camera of `sensor.CAMERAS`, scene frames (`handvol.data.synthetic.scene`, the default
`SceneConfig` with `--no_hand_prob` (`NO_HAND_PROB`) of the frames without a hand, and
`--arm_towards_camera_prob` of those with one drawn with the arm coming towards the camera) of
the training subjects (`SUBJECT_CHOICES[--subjects]`, never "unseen_test") from seeds
`TRAIN_SEEDS` (below 1000: `bench/localize.py` measures from 1000) are rendered in two
processes; `--far_frames_per_camera` more frames per camera, after those, hold a hand at
`FAR_HAND_DISTANCE_MM` (and never none; 0 by default: a refiner trained with 800 found more far
hands but took a far head for a hand, docs/localize.md, "Far hands in the refiner's data").
Each frame gives `2 + PERTURBED_PER_FRAME` crops: one at the localiser's point
(`localize.localize_hands`: its own misses, elbows and false finds are what the refiner must
correct), one at the other end of its blob (its "alternative_uvd", which
`centre_refiner.refine_found` weighs against the first: an elbow, a shoulder or an arm's end
cut by the image border, or the hand where the first is one of those), and the rest at the
true hand centre moved by `_perturb` (half within a 30 mm Gaussian, half anywhere within
180 mm); with `--head_crops` (off by default), one more at the person's head of every frame
that shows one (`_seen_centre`, moved by `HEAD_JITTER_MM`), against a far head taken for a far
hand. The targets: the offset to the hand's centre (the mean of the 21 true joints) in
units of `CUBE_MM`/2, and presence (a hand within `MAX_HAND_OFFSET_MM` of the crop's point).

The loss is a Huber loss (δ 0.05, 11 mm) on the offset of crops with a hand, plus the presence's
binary cross-entropy; mirrored crops (u → −u, x offset negated) double the data. The work
directory gets `data.npz` (the crops: a rerun reuses them), `centre_refiner.keras` (the
weights, float32, without the optimizer's state) and `summary.json` (the held-out crops'
figures, timings, the settings).

The shipped refiner (`handvol/pretrained/centre_refiner/`, its `summary.json` beside it) is
this command's output with the defaults (width 24, 2,400 frames per camera of the 200 hand
shapes of `configs.scenes.TRAIN_SUBJECTS`, 15 % of the hands with the arm towards the camera,
24 epochs), run in session 23 on the 2-core AMD EPYC (AVX-512): 56,258 crops (10.6 min to
render and crop, while a benchmark shared the cores) and 24 epochs (34.5 min, the crops reused
from a width-16 run of the same data). Shipped since session 23 (docs/localize.md, "A wider
refiner on 200 hand shapes"). The one before it (sessions 19–22) had width 16 and
`--frames_per_camera=1600 --epochs=20 --subjects=two_sets --arm_towards_camera_prob=0.15`.
"""

import json
import multiprocessing
import os
import time

from absl import app
from absl import flags
import keras
import numpy as np
import tensorflow as tf

from handvol.configs import scenes as scenes_config
from handvol.data import atomic
from handvol.data.synthetic import scene
from handvol.data.synthetic import sensor
from handvol.data.synthetic import subjects as subjects_lib
from handvol.geometry import camera
from handvol.image import localize
from handvol.model import centre_refiner

TRAIN_SUBJECTS = ("handid_like", "nyu_like")
"""The subject sets of `--subjects=two_sets`, taking turns by chunk (so half of the frames are
subject 0, `nyu_like`)."""
SUBJECT_CHOICES = {
    "two_sets": TRAIN_SUBJECTS,
    # The 200 training hand shapes of the `scenes` pose network (subjects 8, 9 held out).
    "many": (tuple(scenes_config.TRAIN_SUBJECTS),),
}
"""`--subjects`: the subject sets (names or id tuples) that the chunks take turns with."""
TRAIN_SEEDS = 100
"""Camera k of `sensor.CAMERAS` renders seed `TRAIN_SEEDS + k`."""
NO_HAND_PROB = 0.15
"""The share of frames without a hand (the shipped refiner's); `--no_hand_prob` changes it."""
PERTURBED_PER_FRAME = 3
CHUNK = 32
"""Frames a rendering process hands over at once."""
FAR_HAND_DISTANCE_MM = (800.0, 1200.0)
"""The hand's depth range of `--far_frames_per_camera`'s frames: the far end of the scenes'
default range, where the active-stereo cameras' misses are (docs/localize.md)."""
VALIDATION_SHARE = 0.05
HUBER_DELTA = 0.05
HEAD_MIN_PIXELS = 50
"""A frame's head gets a crop (`--head_crops`) when at least this many of its pixels are seen."""
HEAD_JITTER_MM = 20.0
"""The head crop's point: the seen head surface's mean moved by a Gaussian of this deviation
per axis."""

def _render_chunk(job):
  """Renders one chunk of scene frames in a worker process: the arrays the crops need."""
  camera, subjects, seed, first, count, towards, no_hand, distance = job
  config = scene.SceneConfig(camera=camera, no_hand_prob=no_hand,
                             arm_towards_camera_prob=towards, hand_distance_mm=distance)
  frames = list(scene.generate_scenes(count, config, seed=seed, subjects=subjects,
                                      first_frame=first))
  return {"counts": np.stack([f["counts"] for f in frames]),
          "intrinsics": np.stack([f["intrinsics"] for f in frames]).astype(np.float32),
          "unit": np.full(len(frames), frames[0]["depth_unit_mm"], np.float32),
          "has_hand": np.array([f["has_hand"] for f in frames]),
          # Without a hand: where the hand would have been (the perturbed points land on the
          # body, a table or nothing).
          "truth_centre": np.stack([np.mean(f["truth_xyz"], axis=0) if f["has_hand"]
                                    else f["centre_xyz"] for f in frames]),
          "head_centre": np.stack([_seen_centre(f, scene.PART_HEAD) for f in frames])}


def _seen_centre(frame, part):
  """`scene.seen_centre` of `part` in the z-buffer (mm, `[3]`); NaN when fewer than
  `HEAD_MIN_PIXELS` are seen."""
  point, pixels = scene.seen_centre(frame, (part,))
  return point if pixels >= HEAD_MIN_PIXELS else np.full(3, np.nan)


def _perturb(centre, rng):
  """`centre` `[N, 3]` mm moved: half by a 30 mm Gaussian per axis, half uniformly within a
  180 mm ball."""
  gaussian = rng.normal(0.0, 30.0, centre.shape)
  direction = rng.normal(size=centre.shape)
  direction /= np.linalg.norm(direction, axis=1, keepdims=True)
  ball = direction * (180.0 * rng.uniform(size=(len(centre), 1)) ** (1.0 / 3.0))
  return centre + np.where(rng.uniform(size=(len(centre), 1)) < 0.5, gaussian, ball)


@tf.function(reduce_retracing=True)
def _localise(counts, intrinsics, unit):
  found = localize.localize_hands(counts, intrinsics, unit)
  return (found["center_xyz"], camera.uvd_to_xyz(found["alternative_uvd"], intrinsics),
          found["valid"])


@tf.function(reduce_retracing=True)
def _crops(counts, center_xyz, intrinsics, unit):
  uvd = camera.xyz_to_uvd(center_xyz, intrinsics)
  return centre_refiner.refiner_crops(counts, uvd, intrinsics, unit)["depth_input"][..., 0]


def _samples(chunk, rng, head_crops=False):
  """The crops of one rendered chunk: depth `[N, 64, 64]` float16, offset `[N, 3]` (units of
  cube/2), presence `[N]`, from-localiser flag `[N]`. With `head_crops`, one more crop per
  frame whose head is seen (`_seen_centre`), at its head moved by `HEAD_JITTER_MM`: presence 0
  unless the hand lies within `MAX_HAND_OFFSET_MM` (module docstring)."""
  counts = tf.constant(chunk["counts"].astype(np.float32))
  intrinsics, unit = tf.constant(chunk["intrinsics"]), tf.constant(chunk["unit"])
  located, alternative, valid = (t.numpy() for t in _localise(counts, intrinsics, unit))
  truth, has_hand = chunk["truth_centre"], chunk["has_hand"]
  # The localiser's own point and its alternative (where it found something), then perturbed
  # truths for every frame; a frame without a hand gets points around where the hand would
  # have been instead.
  keep = valid > 0
  points = [located[keep], alternative[keep]] + [_perturb(truth, rng)
                                                 for _ in range(PERTURBED_PER_FRAME)]
  index = [np.flatnonzero(keep)] * 2 + [np.arange(len(truth))] * PERTURBED_PER_FRAME
  if head_crops:
    heads = np.flatnonzero(np.isfinite(chunk["head_centre"][:, 0]))
    points.append(chunk["head_centre"][heads] + rng.normal(0.0, HEAD_JITTER_MM, (len(heads), 3)))
    index.append(heads)
  points, index = np.concatenate(points), np.concatenate(index)
  truths, hands = truth[index], has_hand[index]
  from_localiser = np.arange(len(index)) < keep.sum()
  points[:, 2] = np.maximum(points[:, 2], 100.0)
  depth = _crops(tf.gather(counts, index), tf.constant(points, tf.float32),
                 tf.gather(intrinsics, index), tf.gather(unit, index)).numpy()
  offset = (truths - points) / (0.5 * centre_refiner.CUBE_MM)
  presence = hands & (np.linalg.norm(truths - points, axis=1)
                      <= centre_refiner.MAX_HAND_OFFSET_MM)
  offset = np.where(presence[:, None], offset, 0.0)
  return {"depth": depth.astype(np.float16), "offset": offset.astype(np.float32),
          "presence": presence.astype(np.float32), "from_localiser": from_localiser}


def render_jobs(frames_per_camera, subjects="two_sets", arm_towards_camera_prob=0.0,
                no_hand_prob=NO_HAND_PROB, far_frames_per_camera=0):
  """The rendering chunks: tuples (camera, subject set, seed, first frame, count, share of arms
  towards the camera, share of frames without a hand, the hand's depth range in mm), `CHUNK`
  frames each, the chunks of a camera taking turns with the sets of
  `SUBJECT_CHOICES[subjects]`. All cameras' `frames_per_camera` frames come first (the scenes'
  default depth range), then `far_frames_per_camera` frames per camera numbered on from them
  (`FAR_HAND_DISTANCE_MM`, every one with a hand), so that adding far frames leaves the others
  as they were."""
  if not 0.0 <= no_hand_prob < 1.0:
    raise ValueError(f"no_hand_prob must lie in [0, 1), got {no_hand_prob}")
  if subjects not in SUBJECT_CHOICES:
    raise ValueError(f"subjects must be one of {sorted(SUBJECT_CHOICES)}, not {subjects!r}")
  if far_frames_per_camera < 0:
    raise ValueError(f"far_frames_per_camera must be >= 0, got {far_frames_per_camera}")
  sets = SUBJECT_CHOICES[subjects]

  def chunks(start, end, no_hand, distance):
    """Every camera's chunks of frames `start` to `end`."""
    return [(camera, sets[(first // CHUNK) % len(sets)], TRAIN_SEEDS + k, first,
             min(CHUNK, end - first), arm_towards_camera_prob, no_hand, distance)
            for k, camera in enumerate(sensor.CAMERAS) for first in range(start, end, CHUNK)]

  return (chunks(0, frames_per_camera, no_hand_prob, scene.SceneConfig().hand_distance_mm)
          + chunks(frames_per_camera, frames_per_camera + far_frames_per_camera, 0.0,
                   FAR_HAND_DISTANCE_MM))


def make_data(frames_per_camera, seed=0, processes=2, verbose=True, arm_towards_camera_prob=0.0,
              subjects="two_sets", no_hand_prob=NO_HAND_PROB, far_frames_per_camera=0,
              head_crops=False):
  """Renders and crops the training data (module docstring); a dict of arrays. `subjects` is a
  key of `SUBJECT_CHOICES`; `head_crops` as in `_samples`."""
  jobs = render_jobs(frames_per_camera, subjects, arm_towards_camera_prob, no_hand_prob,
                     far_frames_per_camera)
  rng = np.random.default_rng(seed)
  parts = []
  progress = keras.utils.Progbar(len(jobs), unit_name="chunk", verbose=int(verbose))
  context = multiprocessing.get_context("spawn")
  with context.Pool(processes) as pool:
    for chunk in pool.imap(_render_chunk, jobs):
      parts.append(_samples(chunk, rng, head_crops))
      progress.add(1)
  return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _loss(y_true, y_pred):
  """Huber on the offset where a hand is present, plus the presence's cross-entropy."""
  presence = y_true[:, 3]
  error = y_pred[:, :3] - y_true[:, :3]
  absolute = tf.abs(error)
  huber = tf.where(absolute <= HUBER_DELTA, 0.5 * tf.square(error),
                   HUBER_DELTA * (absolute - 0.5 * HUBER_DELTA))
  offset = tf.reduce_sum(huber, axis=1) * presence / HUBER_DELTA
  presence_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=presence, logits=y_pred[:, 3])
  return offset + 0.1 * presence_loss


def _dataset(depth, targets, batch, shuffle, seed):
  """A `tf.data` pipeline of (crop `[b, 64, 64, 1]`, target `[b, 4]`), mirrored at random when
  shuffling."""
  data = tf.data.Dataset.from_tensor_slices((depth, targets))
  if shuffle:
    data = data.shuffle(len(depth), seed=seed, reshuffle_each_iteration=True)

  def mirror(crop, target):
    flip = tf.random.uniform([]) < 0.5
    crop = tf.where(flip, tf.reverse(crop, [1]), crop)
    sign = tf.where(flip, tf.constant([-1.0, 1.0, 1.0, 1.0]), 1.0)
    return crop, target * sign

  data = data.map(lambda d, t: (tf.cast(d, tf.float32)[..., tf.newaxis], t))
  if shuffle:
    data = data.map(mirror)
  return data.batch(batch).prefetch(2)


def evaluate(refiner, depth, offset, presence):
  """Held-out figures: the refined point's error (mm) where a hand is present (median, share
  within 30 mm, before and after), presence accuracy."""
  output = refiner.predict(depth[..., None].astype(np.float32), batch_size=256, verbose=0)
  scale = 0.5 * centre_refiner.CUBE_MM
  hand = presence > 0.5
  before = np.linalg.norm(offset[hand], axis=1) * scale
  after = np.linalg.norm(output[hand, :3] - offset[hand], axis=1) * scale
  return {"crops": int(len(depth)), "crops_with_hand": int(hand.sum()),
          "median_error_before_mm": float(np.median(before)),
          "median_error_after_mm": float(np.median(after)),
          "within_30mm_before": float(np.mean(before <= 30.0)),
          "within_30mm_after": float(np.mean(after <= 30.0)),
          "presence_accuracy": float(np.mean((output[:, 3] > 0) == hand))}


def save_without_optimizer(refiner, path, width):
  """Writes `refiner`'s weights as a fresh, uncompiled model (no Adam state: a third of the
  size) to `path`."""
  fresh = centre_refiner.build_centre_refiner(width)
  fresh.set_weights(refiner.get_weights())
  fresh.save(path)


def train(workdir, frames_per_camera, epochs, batch_size, learning_rate, width, seed,
          arm_towards_camera_prob=0.0, subjects="two_sets", no_hand_prob=NO_HAND_PROB,
          far_frames_per_camera=0, head_crops=False):
  """The whole run (module docstring); returns the summary dict."""
  os.makedirs(workdir, exist_ok=True)
  start = time.time()
  data_path = os.path.join(workdir, "data.npz")
  if os.path.isfile(data_path):
    data = dict(np.load(data_path))
  else:
    data = make_data(frames_per_camera, seed, arm_towards_camera_prob=arm_towards_camera_prob,
                     subjects=subjects, no_hand_prob=no_hand_prob,
                     far_frames_per_camera=far_frames_per_camera, head_crops=head_crops)
    np.savez(data_path, **data)
  data_seconds = time.time() - start
  rng = np.random.default_rng(seed)
  order = rng.permutation(len(data["depth"]))
  held = order[:int(VALIDATION_SHARE * len(order))]
  kept = order[len(held):]
  targets = np.concatenate([data["offset"], data["presence"][:, None]], axis=1)
  keras.utils.set_random_seed(seed)
  refiner = centre_refiner.build_centre_refiner(width)
  steps = epochs * -(-len(kept) // batch_size)
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  refiner.compile(optimizer=keras.optimizers.Adam(schedule), loss=_loss)
  train_start = time.time()
  history = refiner.fit(_dataset(data["depth"][kept], targets[kept], batch_size, True, seed),
                        validation_data=_dataset(data["depth"][held], targets[held], 256,
                                                 False, seed),
                        epochs=epochs, verbose=2)
  train_seconds = time.time() - train_start
  save_without_optimizer(refiner, os.path.join(workdir, "centre_refiner.keras"), width)
  held_localiser = held[data["from_localiser"][held]]
  summary = {
      "held_out": evaluate(refiner, data["depth"][held], data["offset"][held],
                           data["presence"][held]),
      "held_out_localiser_points": evaluate(refiner, data["depth"][held_localiser],
                                            data["offset"][held_localiser],
                                            data["presence"][held_localiser]),
      "loss": [float(v) for v in history.history["loss"]],
      "val_loss": [float(v) for v in history.history["val_loss"]],
      "crops": int(len(order)), "frames_per_camera": frames_per_camera,
      "cameras": list(sensor.CAMERAS), "subjects": subjects,
      "subject_ids": sorted({i for group in SUBJECT_CHOICES[subjects]
                             for i in subjects_lib.subject_ids(group)}),
      "arm_towards_camera_prob": arm_towards_camera_prob, "no_hand_prob": no_hand_prob,
      "far_frames_per_camera": far_frames_per_camera,
      "far_hand_distance_mm": list(FAR_HAND_DISTANCE_MM), "head_crops": bool(head_crops),
      "seeds": [TRAIN_SEEDS + k for k in range(len(sensor.CAMERAS))],
      "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
      "width": width, "seed": seed, "parameters": int(refiner.count_params()),
      "data_seconds": data_seconds, "train_seconds": train_seconds,
  }
  atomic.write_text(os.path.join(workdir, "summary.json"), json.dumps(summary, indent=1) + "\n")
  return summary


def main(argv):
  del argv
  values = flags.FLAGS
  if not values.workdir:
    raise app.UsageError("--workdir is required")
  summary = train(values.workdir, values.frames_per_camera, values.epochs, values.batch_size,
                  values.learning_rate, values.width, values.seed,
                  values.arm_towards_camera_prob, values.subjects, values.no_hand_prob,
                  values.far_frames_per_camera, values.head_crops)
  print(json.dumps(summary["held_out"]))
  print(json.dumps(summary["held_out_localiser_points"]))


if __name__ == "__main__":
  flags.DEFINE_string("workdir", None, "Where data.npz, the weights and summary go.")
  flags.DEFINE_integer("frames_per_camera", 2400, "Scene frames per camera.")
  flags.DEFINE_integer("epochs", 24, "Passes over the crops.")
  flags.DEFINE_integer("batch_size", 64, "Crops per step.")
  flags.DEFINE_float("learning_rate", 1e-3, "Adam's initial rate, cosine decay.")
  flags.DEFINE_integer("width", 24, "The refiner's first convolution width.")
  flags.DEFINE_integer("seed", 0, "Weights, shuffling and perturbations.")
  flags.DEFINE_float("arm_towards_camera_prob", 0.15,
                     "Share of the frames with a hand whose arm comes towards the camera.")
  flags.DEFINE_float("no_hand_prob", NO_HAND_PROB, "Share of the frames without a hand.")
  flags.DEFINE_integer("far_frames_per_camera", 0,
                       "More frames per camera with the hand at FAR_HAND_DISTANCE_MM.")
  flags.DEFINE_bool("head_crops", False,
                    "One more crop per frame at its person's head (presence 0 unless the hand "
                    "is near).")
  flags.DEFINE_enum("subjects", "many", sorted(SUBJECT_CHOICES),
                    "two_sets: handid_like and nyu_like by turns; many: the scenes config's 200.")
  app.run(main)
