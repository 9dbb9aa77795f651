"""The training input pipeline: frame records to batches of training examples (the contract's
dict), and the datasets a configuration names.

Sources are datasets of frame records (`handvol.data.records`):
- `from_tfrecords(paths, worker_index, num_workers)`: sharded TFRecords, read in parallel and
  split by file between workers;
- `from_records(records)`: frame records in memory: a list of record dicts, a dict of stacked
  arrays, or a callable returning an iterator of records (a generator, for example of
  synthetic frames), optionally split by element between workers.

`training_dataset(sources, ratios, config)` turns one or more sources into batches:
per frame (parallel, order-preserving) `preprocess` (once, cached, for sources held in
memory); per source a batch of its exact share of the batch (`ratios` 3 : 1 with batch 16
gives 12 + 4); the shares concatenated in source order; then, per batch, augmentation,
quadtree Gaussians and the image self-overlap (the dissimilarity's denominator,
`handvol.losses.dissimilarity.image_self_overlap`); then prefetch. Each source is shuffled
and repeated on its own, so every batch holds exactly the configured ratio. Everything random
is seeded from `config.seed` (shuffles with fixed seeds, augmentation with stateless seeds from
(seed, batch index)), and every map keeps its order, so one seed gives identical batches.

`evaluation_dataset(source, config)` preprocesses without shuffling or augmentation.

`TrainingFrames` remembers which frames each training batch holds (source and position in its
pass, recorded as the batch is made), so that an error at a step can name the batch's frames:
a reader source's file and frame, a synthetic frame's index and seed, a shard and record.

A training example holds `"depth_input"` `[128, 128, 1]`, `"crop_depth"` `[128, 128]` mm,
`"crop_intrinsics"` `[4]`, `"center_xyz"` `[3]` mm, `"image_gaussians"` `[N_i,max, 4]`,
`"image_mask"` `[N_i,max]`, `"image_self_overlap"` `[]`, `"num_leaves"` `[]` (before
truncation), the labels mapped into the crop (`"uv"` crop pixels, `"xyz"`, `"kind"`,
`"visible"`, `"truth_xyz"`, `"has_truth"`), `"subject"`, `"dataset"` and `"center_source"`;
batches add a leading dimension.

A source entry of a config's "data" section (`frame_source`) is a dict with "source" and its
arguments:
- `{"source": "synthetic", "subjects": ..., "label_mode": ..., "num_frames": N, "seed": s}`:
  N frames of `handvol.data.synthetic.generate`, made once and held in memory; an optional
  "views" names the viewpoints ("frontal" or "sphere", `synthetic.poses.VIEW_PRESETS`), an optional
  "poses" the articulations ("prototypes" or "broad", `synthetic.poses.POSE_PRESETS`), an optional
  "him_offset_mm" sets the HIM-like wrong labels' offset (`synthetic.labels.LabelConfig`);
- `{"source": "scenes", "cameras": "all" | "name,name", "subjects": ..., "label_mode": ...,
  "num_frames": N, "seed": s}`: N hand scenes of a person (`scene_records`), each cropped
  about the serving graph's reference point (its localiser and centre refiner; optional
  "reference": "truth" centres them on the hand instead), made once and held in memory;
- `{"source": "tfrecords", "dir": ..., "name": ...}`: shards written by
  `handvol.data.tfrecords.write_shards` (the fast path for the real datasets);
- `{"source": "nyu" | "hands2017" | "capture", "args": {...}}`: frames read from a dataset
  folder by that reader's `read_frames(**args)`, at every pass.
Training sources also carry a mixing "ratio" (`training_dataset`). `build_datasets` makes a
config's three splits; `evaluation_split` one held-out split, or any source, for evaluation.
"""

import collections
import dataclasses

import keras
import numpy as np
import tensorflow as tf

from handvol.configs import schema
from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data import records
from handvol.data import synthetic
from handvol.data import tfrecords
from handvol.image import augment as augment_lib
from handvol.image import preprocess
from handvol.image import quadtree
from handvol.losses import dissimilarity
from handvol.training import faults
from handvol.training import scene_records

AUTOTUNE = tf.data.AUTOTUNE

# The map functions use explicit tf.cond / tf.switch_case and static Python loops only; without
# autograph's source conversion a pipeline builds 2-3x faster (8.7 s -> 3.4 s measured here).
_graph_function = tf.autograph.experimental.do_not_convert


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
  """Settings of the input pipeline.

  Attributes:
    batch_size: Frames per batch (a multiple of the sum of the mixing ratios).
    crop_size: Side of the crop, pixels (a power of two for the quadtree).
    cube_mm: Side of the crop cube, mm.
    threshold_mm: Quadtree split threshold c, mm.
    max_gaussians: N_i,max.
    augment: An `AugmentConfig`, or None for no augmentation.
    shuffle_buffer: Frames in each source's shuffle buffer.
    seed: Seed of shuffles and augmentation.
  """
  batch_size: int = 16
  crop_size: int = preprocess.CROP_SIZE
  cube_mm: float = preprocess.CUBE_MM
  threshold_mm: float = quadtree.THRESHOLD_MM
  max_gaussians: int = quadtree.MAX_GAUSSIANS
  augment: augment_lib.AugmentConfig | None = augment_lib.AugmentConfig()
  shuffle_buffer: int = 1000
  seed: int = 0


def record_signature():
  """The `tf.TensorSpec` of each key of a frame record (depth `[None, None]`)."""
  return {key: tf.TensorSpec(shape, tf.as_dtype(dtype))
          for key, (dtype, shape) in records.RECORD_SPEC.items()}


def from_tfrecords(paths, worker_index=0, num_workers=1):
  """A dataset of frame records read from TFRecord shards.

  Args:
    paths: Shard paths (e.g. from `tfrecords.list_shards`).
    worker_index: This worker's index among `num_workers`.
    num_workers: Workers splitting the shards; worker i reads shards i, i + n, ...

  Returns:
    A `tf.data.Dataset` of frame records (tensors) in shard order (evaluation keeps frame
    order); parsing and PNG decoding run in parallel.
  """
  paths = sorted(paths)
  if not paths:
    raise ValueError("from_tfrecords needs at least one shard path")
  if not 0 <= worker_index < num_workers:
    raise ValueError(f"worker_index must be in [0, {num_workers}), got {worker_index}")
  if len(paths) < num_workers:
    raise ValueError(f"{len(paths)} shards cannot be split between {num_workers} workers")
  serialized = tf.data.TFRecordDataset(paths[worker_index::num_workers])
  return serialized.map(_graph_function(tfrecords.parse_record), num_parallel_calls=AUTOTUNE,
                        deterministic=True)


def from_records(frame_records, worker_index=0, num_workers=1, allow_off_image=False):
  """A dataset of frame records held in memory or made by a generator.

  Args:
    frame_records: One of: a list or tuple of frame records (numpy); a dict of arrays stacked
      along a new first axis (all depth images of one size); a callable returning an iterator
      of frame records (called anew at every pass, e.g. a generator function).
    worker_index: This worker's index among `num_workers`.
    num_workers: Workers splitting the frames by element.
    allow_off_image: Keep generated records whose labels project off the image
      (`records.validate_record`; evaluation splits).

  Returns:
    A `tf.data.Dataset` of frame records (tensors).
  """
  if isinstance(frame_records, dict):
    dataset = tf.data.Dataset.from_tensor_slices(
        {key: tf.convert_to_tensor(frame_records[key], tf.as_dtype(dtype))
         for key, (dtype, _) in records.RECORD_SPEC.items()})
  elif isinstance(frame_records, (list, tuple)):
    items = list(frame_records)
    for index, record in enumerate(items):
      records.validate_record(record, f"record {index}")
    dataset = tf.data.Dataset.from_generator(lambda: iter(items),
                                             output_signature=record_signature())
  elif callable(frame_records):
    def generate():
      for index, record in enumerate(frame_records()):
        yield records.validate_record(record, f"generated record {index}", allow_off_image)

    dataset = tf.data.Dataset.from_generator(generate, output_signature=record_signature())
  else:
    raise TypeError("frame_records must be a list of records, a dict of stacked arrays or a "
                    f"callable returning an iterator, got {type(frame_records).__name__}")
  if num_workers > 1:
    dataset = dataset.shard(num_workers, worker_index)
  return dataset


def add_image_gaussians(batch, config=PipelineConfig(), name=None):
  """Adds quadtree Gaussians and the image self-overlap to a batch of examples."""
  with tf.name_scope(name or "add_image_gaussians"):
    tree = quadtree.quadtree_gaussians(batch["crop_depth"], config.max_gaussians,
                                       config.threshold_mm)
    batch = dict(batch)
    batch["image_gaussians"] = tree["gaussians"]
    batch["image_mask"] = tree["mask"]
    batch["num_leaves"] = tree["num_leaves"]
    batch["image_self_overlap"] = dissimilarity.image_self_overlap(tree["gaussians"],
                                                                   tree["mask"])
    return batch


def _shares(ratios, batch_size):
  total = sum(ratios)
  if any(int(r) != r or r <= 0 for r in ratios):
    raise ValueError(f"ratios must be positive integers, got {ratios}")
  if batch_size % total:
    raise ValueError(f"batch_size {batch_size} must be a multiple of sum(ratios) = {total} so "
                     f"that every batch holds the ratios {tuple(ratios)} exactly")
  return [int(r) * batch_size // total for r in ratios]


class TrainingFrames:
  """Which frames each training batch holds, to name them in an error at a step.

  `training_dataset(..., frames=...)` records, as it makes the k-th batch (0-based, the order
  Keras consumes them in), each example's source and position in that source's pass;
  `names(k)` turns them into names. The last `KEEP` batches are held (the pipeline prefetches
  a few ahead of training).

  Args:
    namers: One callable per training source: position in a pass (0-based, among the frames
      the source yields) → the frame's name (`frame_namer`).
  """

  KEEP = 256

  def __init__(self, namers):
    self.namers = list(namers)
    self._batches = collections.OrderedDict()

  def record(self, index, refs):
    """Stores the batch `index`'s `[B, 2]` (source, position) pairs; returns `index` (the
    pipeline's `tf.py_function` uses it, so that the call is never pruned)."""
    self._batches[int(index)] = np.asarray(refs).tolist()
    while len(self._batches) > self.KEEP:
      self._batches.popitem(last=False)
    return index

  def names(self, index):
    """The names of the frames of batch `index`, in batch order; [] if it was not recorded
    (or is older than the last `KEEP`)."""
    return [self.namers[source](position) for source, position in self._batches.get(index, [])]


def frame_namer(entry, name="source", names=None):
  """The namer of `TrainingFrames` for one source entry (`frame_source`).

  Args:
    entry: The source entry (a "tfrecords" entry may list its "shards").
    name: Its place in the config ("data.train.0"), which starts synthetic frames' names.
    names: For a reader source, the list that `reader_records` fills with the frames' names
      during the first pass.
  """
  kind = entry["source"]
  if kind in ("synthetic", "scenes"):
    return lambda i: (f"{name} {kind} frame {i} of {entry['num_frames']} "
                      f"(seed {entry['seed']})")
  if kind == "tfrecords":
    # "shards": the shards a worker reads, when not all of them.
    return _ShardNamer(entry.get("shards") or tfrecords.list_shards(entry["dir"], entry["name"]))
  held = names if names is not None else []
  return lambda i: held[i] if i < len(held) else f"{name} frame {i} of a pass"


class _ShardNamer:
  """Position in the shards' order → "<shard> (record j)"; the shards are counted on the
  first call only (an error is being reported)."""

  def __init__(self, shards):
    self.shards = sorted(shards)
    self.counts = None

  def __call__(self, position):
    if self.counts is None:
      self.counts = [int(tf.data.TFRecordDataset(shard).reduce(0, lambda n, _: n + 1))
                     for shard in self.shards]
    for shard, count in zip(self.shards, self.counts):
      if position < count:
        return f"{shard} (record {position})"
      position -= count
    return f"record {position} past the end of the shards"


FRAME_KEY = "_frame"
"""The (source, position) key an example carries through the pipeline when its frames are
recorded (`TrainingFrames`); removed before the batch leaves it."""


def training_dataset(sources, ratios=None, config=PipelineConfig(), frames=None,
                     prefer_centre=None, cache_crops=None):
  """Endless, shuffled, augmented, mixed batches of training examples.

  Args:
    sources: A dataset of frame records, or a list of them (`from_tfrecords`,
      `from_records`), each already split between workers.
    ratios: Integer mixing ratios, one per source (e.g. (3, 3, 2)); equal by default.
    config: A `PipelineConfig`.
    frames: Optional `TrainingFrames` that records the frames of every batch (the batches
      are the same with or without it).
    prefer_centre: Optional bools, one per source: crop that source's frames about their
      records' centres rather than their labels (`preprocess.reference_point`; a "scenes"
      source, `prefers_centre`). False for every source by default.
    cache_crops: Optional bools, one per source: preprocess that source's frames once and
      keep the examples in memory (`.cache()` before the shuffle) instead of cropping every
      frame again at every pass. For sources held in memory anyway (`held_in_memory`): the
      batches are the same (`preprocess` draws nothing at random, and a shuffle's order
      depends only on its seed, buffer and length), each step costs less CPU, and the shuffle
      buffer holds 128×128 crops instead of full frames. False for every source by default.

  Returns:
    A `tf.data.Dataset` of batched training examples (module docstring), batch
    `config.batch_size`, every batch holding source k's share ratios[k]/sum(ratios) in
    source order.
  """
  if isinstance(sources, tf.data.Dataset):
    sources = [sources]
  ratios = _per_source(ratios, 1, len(sources), "ratios")
  prefer_centre = _per_source(prefer_centre, False, len(sources), "prefer_centre flags")
  cache_crops = _per_source(cache_crops, False, len(sources), "cache_crops flags")
  parts = []
  for index, (source, share) in enumerate(zip(sources, _shares(ratios, config.batch_size))):
    part = _examples(source, index, config, frames, prefer_centre[index], cache_crops[index])
    parts.append(part.batch(share, drop_remainder=True))
  batches = tf.data.Dataset.zip(tuple(parts)).map(_graph_function(
      lambda *shares: {key: tf.concat([share[key] for share in shares], axis=0)
                       for key in shares[0]}))

  def finish(index, batch):
    if frames is not None:
      batch = dict(batch)
      refs = batch.pop(FRAME_KEY)
      index = tf.ensure_shape(tf.py_function(frames.record, [index, refs], tf.int64), [])
    if config.augment is not None:
      seed = tf.stack([tf.constant(config.seed, tf.int64), index])
      batch = augment_lib.augment(batch, seed, config.augment, config.cube_mm)
    return add_image_gaussians(batch, config)

  return batches.enumerate().map(_graph_function(finish), num_parallel_calls=AUTOTUNE,
                                 deterministic=True).prefetch(AUTOTUNE)


def _per_source(values, default, count, name):
  """`values` as a tuple of one per source (`default` for each when None)."""
  values = tuple(values) if values is not None else (default,) * count
  if len(values) != count:
    raise ValueError(f"{count} sources need as many {name}, got {values}")
  return values


def _examples(source, index, config, frames, prefer_centre, cache):
  """Source `index`'s endless, shuffled, preprocessed examples (`training_dataset`)."""
  if frames is not None:
    # A shuffle's order depends on its seed and buffer only, not on what it shuffles.
    source = source.enumerate().map(_graph_function(
        lambda position, record: {
            **record, FRAME_KEY: tf.stack([tf.constant(index, tf.int64), position])}))
  crop = _graph_function(_preprocess_keeping_frame(config, prefer_centre))
  if cache:
    source = source.map(crop, num_parallel_calls=AUTOTUNE, deterministic=True).cache()
  examples = source.shuffle(config.shuffle_buffer, seed=config.seed + index,
                            reshuffle_each_iteration=True).repeat()
  if not cache:
    examples = examples.map(crop, num_parallel_calls=AUTOTUNE, deterministic=True)
  return examples


def _preprocess_keeping_frame(config, prefer_centre):
  def apply(record):
    example = preprocess.preprocess(record, config.cube_mm, config.crop_size, prefer_centre)
    if FRAME_KEY in record:
      example = {**example, FRAME_KEY: record[FRAME_KEY]}
    return example
  return apply


def evaluation_dataset(source, config=PipelineConfig(), prefer_centre=False):
  """Batches of preprocessed examples in source order (no shuffle, no augmentation, the last
  batch may be smaller); `prefer_centre` as in `training_dataset`."""
  examples = source.map(_graph_function(
      lambda record: preprocess.preprocess(record, config.cube_mm, config.crop_size,
                                           prefer_centre)),
                        num_parallel_calls=AUTOTUNE, deterministic=True)
  return examples.batch(config.batch_size).map(
      _graph_function(lambda batch: add_image_gaussians(batch, config)),
      num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def stack_records(frame_records):
  """A list of frame records of one image size → a dict of stacked numpy arrays."""
  return {key: np.stack([np.asarray(record[key]) for record in frame_records])
          for key in records.RECORD_SPEC}


READERS = {"nyu": nyu.read_frames, "hands2017": hands2017.read_frames,
           "capture": capture.read_frames}
"""Source names → readers of dataset folders."""

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test", "frames"],
                                  defaults=(None,))
"""Batched training examples: `train` endless and augmented; `validation` and `test` finite,
in order, cached after their first pass; `frames` the `TrainingFrames` of `train` (or None)."""


def synthetic_records(num_frames, subjects, label_mode, seed, config=None):
  """`num_frames` synthetic frame records, stacked (a progress bar shows the rendering)."""
  progress = keras.utils.Progbar(num_frames, unit_name="frame")
  frames = []
  for record in synthetic.generate(num_frames, subjects, label_mode, seed, config):
    frames.append(record)
    progress.add(1)
  return stack_records(frames)


def synthetic_config(entry):
  """The `synthetic.SyntheticConfig` of a synthetic source entry: the defaults, with the
  viewpoints of an optional "views" (`synthetic.poses.VIEW_PRESETS`, "frontal" by default),
  the articulations of an optional "poses" (`synthetic.poses.POSE_PRESETS`, "prototypes" by
  default) and the HIM-like wrong labels' offset of an optional "him_offset_mm"."""
  return synthetic.make_config(entry.get("views", "frontal"), entry.get("him_offset_mm"),
                               entry.get("poses", "prototypes"))


MIN_FRAMES_FOR_BUDGET = 100
"""A training source's bad-frame fraction is judged once this many frames of a pass were read
(or at the pass's end), so that one bad frame among the first few does not stop a run."""


def _over_budget(seen, skipped, max_fraction, final):
  return (final or seen >= MIN_FRAMES_FOR_BUDGET) and skipped > max_fraction * seen


def _budget_error(name, log, seen, skipped, max_fraction):
  return faults.BadFramesError(
      f"{name}: {skipped} of {seen} frames read are bad, over the budget "
      f"data.max_skipped_fraction={max_fraction:g} (first: {log.entries[0]}); fix or remove "
      "those frames, or raise the budget")


def _check_budget(log, start, max_fraction, name, final):
  """Sets `log.error` when the pass begun at `start` (seen, skipped) is over the budget."""
  seen, skipped = log.seen - start[0], log.skipped - start[1]
  if max_fraction is None or not _over_budget(seen, skipped, max_fraction, final):
    return False
  log.error = _budget_error(name, log, seen, skipped, max_fraction)
  return True


def _first_usable(reader, args, name):
  """Reads until a usable frame (errors of the folder itself, such as a missing annotation
  file, are raised as they are); `faults.BadFramesError` when there is none."""
  log = records.SkipLog(allow_off_image=True)
  for _ in reader(**args, skip_log=log):
    return
  detail = f"all {log.seen} skipped (first: {log.entries[0]})" if log.count else "it has none"
  raise faults.BadFramesError(f"{name}: no usable frame in {_kind_args(args)}: {detail}")


def _kind_args(args):
  return ", ".join(f"{key}={value!r}" for key, value in args.items())


def reader_records(reader, args, skip_log, max_fraction=None, name="source", names=None):
  """A callable (for `from_records`) of a reader's frames at every pass, bad frames skipped
  and logged in `skip_log` (each distinct bad frame once, over all passes); the good frames'
  names ("<file> (frame i)") of the first pass appended to `names` when given.

  Past `max_fraction` of bad frames in a pass (None: no budget) it sets `skip_log.error` (a
  `faults.BadFramesError`), which the trainer raises at its next step (`trainer.PipelineStop`).
  Raising inside `tf.data` instead can hang or abort the process at exit, as the issue that
  asked for the budget saw.
  """
  _first_usable(reader, args, name)

  held = []  # The last good frame, which feeds the pipeline once over the budget.
  passes = [0]

  def generate():
    first_pass = passes[0] == 0
    passes[0] += 1
    if skip_log.error is None:
      start = (skip_log.seen, skip_log.skipped)
      for record in reader(**args, skip_log=skip_log):
        held[:] = [record]
        if first_pass and names is not None:
          names.append(skip_log.last_good)
        yield record
        if _check_budget(skip_log, start, max_fraction, name, final=False):
          break
      else:
        _check_budget(skip_log, start, max_fraction, name, final=True)
    # An ended source would make `repeat` spin forever: over the budget, a good frame keeps
    # the pipeline fed until the trainer stops at its next step.
    while skip_log.error is not None and held:
      yield held[0]

  return generate


def frame_source(entry, skip_log=None, max_fraction=None, name="source", names=None):
  """A `tf.data.Dataset` of frame records for one source entry (module docstring).

  Reader sources ("nyu", "hands2017", "capture") skip bad frames into `skip_log` (a fresh
  `records.SkipLog` when None) within the `max_fraction` budget (`reader_records`); `name`
  (e.g. "data.train.0") starts their errors; `names`, when given, receives their frames' names
  (`frame_namer`).
  """
  kind = entry["source"]
  if kind == "synthetic":
    return from_records(synthetic_records(entry["num_frames"], entry["subjects"],
                                          entry["label_mode"], entry["seed"],
                                          synthetic_config(entry)))
  if kind == "scenes":
    held = scene_records.scene_records(
        entry["num_frames"], scene_records.cameras_of(entry["cameras"]), entry["subjects"],
        entry["label_mode"], entry["seed"], entry.get("reference", "localized"))
    # Some hands are partly outside the picture: their labels are still the truth.
    return from_records(lambda: iter(held), allow_off_image=True)
  if kind == "tfrecords":
    shards = tfrecords.list_shards(entry["dir"], entry["name"])
    if not shards:
      raise faults.BadFramesError(f"{name}: no shards {entry['name']}-*"
                                  f"{tfrecords.SHARD_SUFFIX} in {entry['dir']}")
    return from_tfrecords(shards)
  if kind in READERS:
    log = skip_log if skip_log is not None else records.SkipLog()
    return from_records(reader_records(READERS[kind], dict(entry["args"]), log, max_fraction,
                                       name, names), allow_off_image=log.allow_off_image)
  raise ValueError(f"unknown source {kind!r}; sources are synthetic, scenes, tfrecords, "
                   f"{', '.join(READERS)}")


def prefers_centre(entry):
  """Whether a source entry's frames are cropped about their records' centres (a "scenes"
  source's are the serving graph's points) rather than their labels."""
  return isinstance(entry, dict) and entry.get("source") == "scenes"


def held_in_memory(entry):
  """Whether a source entry's frames are made once and held in memory ("synthetic",
  "scenes"), so that `training_dataset` caches their crops (`cache_crops`); a reader's or a
  shard's frames are read at every pass and could be far too many to hold."""
  return isinstance(entry, dict) and entry.get("source") in ("synthetic", "scenes")


def source_options(entries):
  """`training_dataset`'s per-source keyword arguments for a config's training entries:
  `prefer_centre` (`prefers_centre`) and `cache_crops` (`held_in_memory`)."""
  return {"prefer_centre": [prefers_centre(entry) for entry in entries],
          "cache_crops": [held_in_memory(entry) for entry in entries]}


def max_skipped_fraction(data_config):
  """The config's bad-frame budget of training sources (`data.max_skipped_fraction`)."""
  return data_config.get("max_skipped_fraction", schema.OPTIONAL["data.max_skipped_fraction"])


def pipeline_config(data_config, batch_size, seed):
  """The `PipelineConfig` of a config's "data" section."""
  augment_config = data_config["augment"]
  return PipelineConfig(
      batch_size=batch_size,
      cube_mm=data_config["cube_mm"],
      max_gaussians=data_config["max_gaussians"],
      augment=None if augment_config is None else augment_lib.AugmentConfig(**augment_config),
      shuffle_buffer=data_config["shuffle_buffer"],
      seed=seed)


def evaluation_split(data_config, source, batch_size=None, skip_log=None):
  """Evaluation batches of one split of a config's "data" section, or of any source.

  Args:
    data_config: The "data" dict (its "cube_mm", "max_gaussians" and "batch_size" apply).
    source: A split name of `data_config` ("validation", "test"), a source entry
      (`frame_source`), or a `tf.data.Dataset` of frame records.
    batch_size: Frames per batch; `data_config["batch_size"]` when None.
    skip_log: Optional `records.SkipLog` that receives a reader source's bad frames (they are
      skipped, never the whole split). Frames whose keypoints project off the image are kept:
      their labels are still the truth to score against.

  Returns:
    The `evaluation_dataset` of the source: in order, not shuffled, not augmented.
  """
  name = f"data.{source}" if isinstance(source, str) else "source"
  if isinstance(source, str):
    source = data_config[source]
  prefer_centre = prefers_centre(source)
  if isinstance(source, dict):
    source = frame_source(source, skip_log or records.SkipLog(allow_off_image=True), name=name)
  # Nothing in an evaluation dataset is drawn at random: the seed does not matter.
  config = pipeline_config(data_config, batch_size or data_config["batch_size"], seed=0)
  return evaluation_dataset(source, config, prefer_centre)


def build_datasets(data_config, batch_size, seed, skip_logs=None):
  """The training mixture and the validation and test sets of a config's "data" section.

  Args:
    data_config: The "data" dict: "train" (a list of source entries with "ratio"),
      "validation" and "test" (one source entry each), "augment", "cube_mm",
      "max_gaussians", "shuffle_buffer", optionally "max_skipped_fraction".
    batch_size: The global batch size.
    seed: Seed of shuffling and augmentation.
    skip_logs: Optional dict that receives a `records.SkipLog` per source name
      ("data.train.0", ..., "data.validation", "data.test").

  Returns:
    A `Datasets`, with the `TrainingFrames` of its training batches.
  """
  config = pipeline_config(data_config, batch_size, seed)
  logs = skip_logs if skip_logs is not None else {}
  sources, namers = [], []
  for index, entry in enumerate(data_config["train"]):
    name = f"data.train.{index}"
    logs[name] = records.SkipLog()
    names = []
    sources.append(frame_source(entry, logs[name], max_skipped_fraction(data_config), name,
                                names))
    namers.append(frame_namer(entry, name, names))
  ratios = [entry["ratio"] for entry in data_config["train"]]
  frames = TrainingFrames(namers)
  train = training_dataset(sources, ratios, config, frames,
                           **source_options(data_config["train"]))
  held_out = []
  for split in ("validation", "test"):
    logs[f"data.{split}"] = records.SkipLog(allow_off_image=True)
    held_out.append(evaluation_split(data_config, split, batch_size,
                                     logs[f"data.{split}"]).cache())
  return Datasets(train, *held_out, frames)
