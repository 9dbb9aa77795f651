"""Benchmark: the depth pipeline against what a training step consumes; quadtree vs recursion.

Frames are synthetic hands (`handvol.data.synthetic`, 640×480, NYU intrinsics, sensor noise)
written once to TFRecord shards in a temporary folder. In one run it measures, in frames/s:
- pipeline: `training_dataset(from_tfrecords(...))` with augmentation, batch 16: read, parse,
  PNG decode, reference point, crop, augmentation, quadtree, image self-overlap;
- in memory: the same frames held in memory as a synthetic source is (`from_records` of the
  stacked records), every frame cropped again at every pass against its crops cached after the
  first (`training_dataset(..., cache_crops=[True])`, what `build_datasets` does for sources
  held in memory), the two alternating per round;
- quadtree: `quadtree_gaussians` alone on batches of 16 preprocessed crops (a `tf.function`);
- recursive: the plain recursive quadtree of SPEC §4 in Python/numpy on the same crops;
- train: `train_on_batch` of a ResNet-18 (`handvol.model.encoder.ResNetEncoder`, width 64,
  46 outputs, mean squared error, Adam) on 128×128×1 batches of 16 (encoder step only; the
  generative loss makes a real step slower, so this is the fastest consumer).
It also reports the quadtree leaf counts of the crops (for N_i,max). Every rate is the median
of `--repeats` rounds. The last line is one JSON object with `pipeline_fps`,
`train_consumption_fps`, `quadtree_speedup` (quadtree / recursive) and `cache_speedup` (in
memory, cached over not cached).

  python bench/pipeline.py [--frames 128] [--batches 20] [--repeats 3]
"""

import argparse
import json
import os
import platform
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from handvol.data import synthetic
from handvol.data import tfrecords
from handvol.image import preprocess
from handvol.image import quadtree
from handvol.model import encoder as encoder_lib
from handvol.training import input_pipeline as pipeline
import machine_info  # bench/machine_info.py, beside this script

BATCH = 16


def recursive_leaves(depth, threshold, row=0, column=0, side=None, out=None):
  """SPEC §4 by plain recursion: (u, v, σ, z) of every all-valid leaf."""
  side = depth.shape[0] if side is None else side
  out = [] if out is None else out
  block = depth[row:row + side, column:column + side]
  valid = block > 0
  mixed = valid.any() and not valid.all()
  if side > 1 and (mixed or (valid.all() and block.max() - block.min() >= threshold)):
    half = side // 2
    for d_row in (0, half):
      for d_column in (0, half):
        recursive_leaves(depth, threshold, row + d_row, column + d_column, half, out)
  elif valid.all():
    out.append((column + (side - 1) / 2, row + (side - 1) / 2, side / 2, block.mean()))
  return out


def median_rates(runs, repeats):
  """Median frames/s of each (run, frames) pair; the runs alternate within each round, so that
  load from other processes on a shared machine slows them alike."""
  rates = [[] for _ in runs]
  for _ in range(repeats):
    for rate, (run, frames) in zip(rates, runs):
      start = time.perf_counter()
      run()
      rate.append(frames / (time.perf_counter() - start))
  return [float(np.median(rate)) for rate in rates]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--frames", type=int, default=128, help="synthetic frames on disk")
  parser.add_argument("--batches", type=int, default=20, help="pipeline batches per round")
  parser.add_argument("--train_steps", type=int, default=5, help="train steps per round")
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()

  frames = list(synthetic.generate(args.frames, "nyu_like", "lab6_2d", seed=0))
  crops = np.stack([preprocess.preprocess(record)["crop_depth"].numpy() for record in frames])

  with tempfile.TemporaryDirectory() as folder:
    paths = tfrecords.write_shards(frames, folder, "bench", frames_per_shard=32,
                                   progress=False)
    config = pipeline.PipelineConfig(batch_size=BATCH, shuffle_buffer=args.frames)
    iterator = iter(pipeline.training_dataset(pipeline.from_tfrecords(paths), config=config))
    for _ in range(3):
      next(iterator)

    def pipeline_round():
      for _ in range(args.batches):
        next(iterator)

    pipeline_fps, = median_rates([(pipeline_round, args.batches * BATCH)], args.repeats)

  def memory_round(cache):
    iterator = iter(pipeline.training_dataset(pipeline.from_records(stacked), config=config,
                                              cache_crops=[cache]))
    for _ in range(3):  # a cached source's first pass crops and fills the cache
      next(iterator)
    for _ in range(-(-len(frames) // BATCH)):
      next(iterator)

    def run():
      for _ in range(args.batches):
        next(iterator)
    return run

  stacked = pipeline.stack_records(frames)
  memory_fps, cached_fps = median_rates(
      [(memory_round(False), args.batches * BATCH), (memory_round(True), args.batches * BATCH)],
      args.repeats)

  batches = [tf.constant(crops[i:i + BATCH]) for i in range(0, len(crops) - BATCH + 1, BATCH)]
  tree = tf.function(lambda crop: quadtree.quadtree_gaussians(crop))
  counts = np.concatenate([tree(batch)["num_leaves"].numpy() for batch in batches])

  def quadtree_round():
    for batch in batches:
      tree(batch)["mask"].numpy()

  recursive_crops = crops[:BATCH].astype(np.float64)

  def recursive_round():
    for crop in recursive_crops:
      recursive_leaves(crop, quadtree.THRESHOLD_MM)

  quadtree_fps, recursive_fps = median_rates(
      [(quadtree_round, len(batches) * BATCH), (recursive_round, BATCH)], args.repeats)

  inputs = keras.Input((preprocess.CROP_SIZE, preprocess.CROP_SIZE, 1))
  model = keras.Model(inputs, encoder_lib.ResNetEncoder(46, 64)(inputs))
  model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
  x = tf.random.uniform([BATCH, preprocess.CROP_SIZE, preprocess.CROP_SIZE, 1], -1, 1)
  y = tf.zeros([BATCH, 46])
  for _ in range(2):
    model.train_on_batch(x, y)

  def train_round():
    for _ in range(args.train_steps):
      model.train_on_batch(x, y)

  train_fps, = median_rates([(train_round, args.train_steps * BATCH)], args.repeats)

  print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"TensorFlow {tf.__version__}")
  print(f"leaves per 128x128 crop over {len(counts)} synthetic crops: mean {counts.mean():.0f}, "
        f"p99 {np.percentile(counts, 99):.0f}, max {counts.max()}; over N_i,max = "
        f"{quadtree.MAX_GAUSSIANS}: {np.mean(counts > quadtree.MAX_GAUSSIANS):.1%}")
  print(f"pipeline (batch {BATCH}, augmented, from TFRecords): {pipeline_fps:8.1f} frames/s")
  print(f"pipeline in memory, cropped at every pass:         {memory_fps:8.1f} frames/s")
  print(f"pipeline in memory, crops cached:                  {cached_fps:8.1f} frames/s "
        f"({cached_fps / memory_fps:.2f}x)")
  print(f"quadtree alone (batches of {BATCH}):                 {quadtree_fps:8.1f} frames/s")
  print(f"recursive quadtree (Python):                       {recursive_fps:8.1f} frames/s")
  print(f"ResNet-18 train step (batch {BATCH}):                 {train_fps:8.1f} frames/s")
  print(machine_info.line())
  print(json.dumps({
      "pipeline_fps": round(pipeline_fps, 1),
      "train_consumption_fps": round(train_fps, 1),
      "pipeline_over_train": round(pipeline_fps / train_fps, 2),
      "memory_pipeline_fps": round(memory_fps, 1),
      "cached_pipeline_fps": round(cached_fps, 1),
      "cache_speedup": round(cached_fps / memory_fps, 2),
      "quadtree_fps": round(quadtree_fps, 1),
      "recursive_fps": round(recursive_fps, 1),
      "quadtree_speedup": round(quadtree_fps / recursive_fps, 1),
      "leaves_mean": round(float(counts.mean()), 1),
      "leaves_p99": round(float(np.percentile(counts, 99)), 1),
      "leaves_max": int(counts.max()),
      "machine": machine_info.describe(),
  }))


if __name__ == "__main__":
  main()
