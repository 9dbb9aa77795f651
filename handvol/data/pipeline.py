"""`tf.data` pipelines from frame records to training examples (the contract's dict).

Sources are datasets of frame records (`handvol.data.records`):
- `from_tfrecords(paths, worker_index, num_workers)`: sharded TFRecords, read in parallel and
  split by file between workers;
- `from_records(records)`: frame records in memory: a list of record dicts, a dict of stacked
  arrays, or a callable returning an iterator of records (a generator, for example of
  synthetic frames), optionally split by element between workers.

`training_dataset(sources, ratios, config)` turns one or more sources into batches:
per frame (parallel, order-preserving) `preprocess`; per source a batch of its exact share of
the batch (`ratios` 3 : 1 with batch 16 gives 12 + 4); the shares concatenated in source
order; then, per batch, augmentation, quadtree Gaussians and the image self-overlap; then
prefetch. Each source is shuffled and repeated on its own, so every batch holds exactly the
configured ratio. Everything random is seeded from `config.seed` (shuffles with fixed seeds,
augmentation with stateless seeds from (seed, batch index)), and every map keeps its order, so
one seed gives identical batches.

`evaluation_dataset(source, config)` preprocesses without shuffling or augmentation.

A training example holds `"depth_input"` `[128, 128, 1]`, `"crop_depth"` `[128, 128]` mm,
`"crop_intrinsics"` `[4]`, `"center_xyz"` `[3]` mm, `"image_gaussians"` `[N_i,max, 4]`,
`"image_mask"` `[N_i,max]`, `"image_self_overlap"` `[]`, `"num_leaves"` `[]` (before
truncation), the labels mapped into the crop (`"uv"` crop pixels, `"xyz"`, `"kind"`,
`"visible"`, `"truth_xyz"`, `"has_truth"`), `"subject"`, `"dataset"` and `"center_source"`;
batches add a leading dimension.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from handvol import ops
from handvol.data import records
from handvol.data import tfrecords
from handvol.image import augment as augment_lib
from handvol.image import preprocess
from handvol.image import quadtree

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


def from_records(frame_records, worker_index=0, num_workers=1):
  """A dataset of frame records held in memory or made by a generator.

  Args:
    frame_records: One of: a list or tuple of frame records (numpy); a dict of arrays stacked
      along a new first axis (all depth images of one size); a callable returning an iterator
      of frame records (called anew at every pass, e.g. a generator function).
    worker_index: This worker's index among `num_workers`.
    num_workers: Workers splitting the frames by element.

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
        yield records.validate_record(record, f"generated record {index}")

    dataset = tf.data.Dataset.from_generator(generate, output_signature=record_signature())
  else:
    raise TypeError("frame_records must be a list of records, a dict of stacked arrays or a "
                    f"callable returning an iterator, got {type(frame_records).__name__}")
  if num_workers > 1:
    dataset = dataset.shard(num_workers, worker_index)
  return dataset


def self_overlap(gaussians, mask, name=None):
  """`ops.image_self_overlap` per crop over its Gaussians only, not the padding.

  The quadtree packs each crop's Gaussians first, so crop b's sum runs over its first n_b
  entries; the cost is Σ_b n_b² pair terms instead of B·N_i,max² (the padding adds exact zeros).

  Args:
    gaussians: A tensor of shape `[B, N_i,max, 4]` from `quadtree.quadtree_gaussians`.
    mask: A tensor of shape `[B, N_i,max]`, its packed mask.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]`, pixels².
  """
  with tf.name_scope(name or "self_overlap"):
    counts = tf.cast(tf.reduce_sum(mask, axis=1), tf.int32)

    def one(inputs):
      crop_gaussians, crop_mask, count = inputs
      return ops.image_self_overlap(crop_gaussians[tf.newaxis, :count],
                                    crop_mask[tf.newaxis, :count])[0]

    return tf.map_fn(one, (gaussians, mask, counts),
                     fn_output_signature=tf.TensorSpec([], gaussians.dtype))


def add_image_gaussians(batch, config=PipelineConfig(), name=None):
  """Adds quadtree Gaussians and the image self-overlap to a batch of examples."""
  with tf.name_scope(name or "add_image_gaussians"):
    tree = quadtree.quadtree_gaussians(batch["crop_depth"], config.max_gaussians,
                                       config.threshold_mm)
    batch = dict(batch)
    batch["image_gaussians"] = tree["gaussians"]
    batch["image_mask"] = tree["mask"]
    batch["num_leaves"] = tree["num_leaves"]
    batch["image_self_overlap"] = self_overlap(tree["gaussians"], tree["mask"])
    return batch


def _shares(ratios, batch_size):
  total = sum(ratios)
  if any(int(r) != r or r <= 0 for r in ratios):
    raise ValueError(f"ratios must be positive integers, got {ratios}")
  if batch_size % total:
    raise ValueError(f"batch_size {batch_size} must be a multiple of sum(ratios) = {total} so "
                     f"that every batch holds the ratios {tuple(ratios)} exactly")
  return [int(r) * batch_size // total for r in ratios]


def training_dataset(sources, ratios=None, config=PipelineConfig()):
  """Endless, shuffled, augmented, mixed batches of training examples.

  Args:
    sources: A dataset of frame records, or a list of them (`from_tfrecords`,
      `from_records`), each already split between workers.
    ratios: Integer mixing ratios, one per source (e.g. (3, 3, 2)); equal by default.
    config: A `PipelineConfig`.

  Returns:
    A `tf.data.Dataset` of batched training examples (module docstring), batch
    `config.batch_size`, every batch holding source k's share ratios[k]/sum(ratios) in
    source order.
  """
  if isinstance(sources, tf.data.Dataset):
    sources = [sources]
  ratios = tuple(ratios) if ratios is not None else (1,) * len(sources)
  if len(ratios) != len(sources):
    raise ValueError(f"{len(sources)} sources need as many ratios, got {ratios}")
  parts = []
  for index, (source, share) in enumerate(zip(sources, _shares(ratios, config.batch_size))):
    part = source.shuffle(config.shuffle_buffer, seed=config.seed + index,
                          reshuffle_each_iteration=True).repeat()
    part = part.map(_graph_function(
        lambda record: preprocess.preprocess(record, config.cube_mm, config.crop_size)),
                    num_parallel_calls=AUTOTUNE, deterministic=True)
    parts.append(part.batch(share, drop_remainder=True))
  batches = tf.data.Dataset.zip(tuple(parts)).map(_graph_function(
      lambda *shares: {key: tf.concat([share[key] for share in shares], axis=0)
                       for key in shares[0]}))

  def finish(index, batch):
    if config.augment is not None:
      seed = tf.stack([tf.constant(config.seed, tf.int64), index])
      batch = augment_lib.augment(batch, seed, config.augment, config.cube_mm)
    return add_image_gaussians(batch, config)

  return batches.enumerate().map(_graph_function(finish), num_parallel_calls=AUTOTUNE,
                                 deterministic=True).prefetch(AUTOTUNE)


def evaluation_dataset(source, config=PipelineConfig()):
  """Batches of preprocessed examples in source order (no shuffle, no augmentation, the last
  batch may be smaller)."""
  examples = source.map(_graph_function(
      lambda record: preprocess.preprocess(record, config.cube_mm, config.crop_size)),
                        num_parallel_calls=AUTOTUNE, deterministic=True)
  return examples.batch(config.batch_size).map(
      _graph_function(lambda batch: add_image_gaussians(batch, config)),
      num_parallel_calls=AUTOTUNE, deterministic=True).prefetch(AUTOTUNE)


def stack_records(frame_records):
  """A list of frame records of one image size → a dict of stacked numpy arrays."""
  return {key: np.stack([np.asarray(record[key]) for record in frame_records])
          for key in records.RECORD_SPEC}
