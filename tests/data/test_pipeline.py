"""tf.data pipelines: the training example, exact mixing ratios, determinism."""

import numpy as np
import pytest
import tensorflow as tf

from handvol import ops
from handvol.data import pipeline
from handvol.data import records
from handvol.image import quadtree

SMALL = pipeline.PipelineConfig(batch_size=8, max_gaussians=256, shuffle_buffer=8)


def hand_like(make_records, count, dataset, seed):
  """Records whose labels sit on a smooth surface, so crops are not pure noise."""
  frames = make_records(count, dataset, seed=seed)
  for frame in frames:
    v, u = np.mgrid[0:48, 0:64]
    frame["depth"] = np.where((u - 32)**2 + (v - 24)**2 < 300, 500.0 + u, 0.0).astype(np.float32)
  return frames


def test_training_example_matches_the_contract(make_records):
  frames = hand_like(make_records, 4, "synthetic", 0)
  batch = next(iter(pipeline.training_dataset(pipeline.from_records(frames), config=SMALL)))
  shapes = {
      "depth_input": (8, 128, 128, 1), "crop_depth": (8, 128, 128), "crop_intrinsics": (8, 4),
      "center_xyz": (8, 3), "image_gaussians": (8, 256, 4), "image_mask": (8, 256),
      "image_self_overlap": (8,), "uv": (8, 21, 2), "xyz": (8, 21, 3), "kind": (8, 21),
      "visible": (8, 21), "truth_xyz": (8, 21, 3), "has_truth": (8,), "subject": (8,),
      "dataset": (8,), "center_source": (8,), "num_leaves": (8,)}
  assert {key: tuple(value.shape) for key, value in batch.items()} == shapes
  for key in ("kind", "subject", "dataset", "center_source"):
    assert batch[key].dtype == tf.int32, key
  assert np.all(batch["image_mask"].numpy().sum(axis=1) > 0)
  assert np.all(batch["image_self_overlap"].numpy() > 0)


@pytest.mark.parametrize("ratios", [(3, 1), (3, 3, 2)])
def test_mixed_batches_hold_the_ratios_exactly(make_records, ratios):
  names = ("nyu", "capture", "hands2017")
  sources = [pipeline.from_records(hand_like(make_records, 3, names[i], seed=i))
             for i in range(len(ratios))]
  config = pipeline.PipelineConfig(batch_size=16, max_gaussians=64, shuffle_buffer=4,
                                   augment=None)
  for batch in pipeline.training_dataset(sources, ratios, config).take(3):
    counts = np.bincount(batch["dataset"].numpy(), minlength=len(records.DATASETS))
    want = [r * 16 // sum(ratios) for r in ratios]
    assert [counts[records.DATASET_IDS[names[i]]] for i in range(len(ratios))] == want
  with pytest.raises(ValueError, match="multiple of sum"):
    pipeline.training_dataset(sources, ratios, pipeline.PipelineConfig(batch_size=10))


def batches(frames, seed, count=2):
  config = pipeline.PipelineConfig(batch_size=4, max_gaussians=128, shuffle_buffer=6,
                                   seed=seed)
  dataset = pipeline.training_dataset(pipeline.from_records(frames), config=config)
  return list(dataset.take(count).as_numpy_iterator())


def test_same_seed_gives_identical_batches(make_records):
  frames = hand_like(make_records, 6, "synthetic", 3)
  for frame, subject in zip(frames, range(6)):
    frame["subject"] = np.int32(subject)
  first, again, other = batches(frames, 1), batches(frames, 1), batches(frames, 2)
  for a, b in zip(first, again):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=key)
  assert any(not np.array_equal(a["depth_input"], c["depth_input"])
             for a, c in zip(first, other))


def test_sources_from_lists_dicts_and_generators(make_records):
  frames = make_records(3)
  stacked = pipeline.stack_records(frames)
  from_dict = list(pipeline.from_records(stacked).as_numpy_iterator())
  from_generator = list(pipeline.from_records(lambda: iter(frames)).as_numpy_iterator())
  for want, a, b in zip(frames, from_dict, from_generator):
    for key in records.RECORD_SPEC:
      np.testing.assert_array_equal(a[key], want[key])
      np.testing.assert_array_equal(b[key], want[key])
  assert len(list(pipeline.from_records(frames, worker_index=1, num_workers=2))) == 1
  bad = make_records(1)[0]
  bad["uv"][0, 0] = np.nan
  with pytest.raises(records.FrameError, match="record 0"):
    pipeline.from_records([bad])


def test_evaluation_dataset_keeps_order_and_skips_augmentation(make_records):
  frames = hand_like(make_records, 5, "nyu", 4)
  config = pipeline.PipelineConfig(batch_size=2, max_gaussians=quadtree.MAX_GAUSSIANS)
  out = list(pipeline.evaluation_dataset(pipeline.from_records(frames), config))
  assert [len(b["subject"]) for b in out] == [2, 2, 1]
  first = out[0]
  np.testing.assert_allclose(first["xyz"][0].numpy(), frames[0]["xyz"], atol=1e-4)


def test_self_overlap_skips_only_padding():
  rng = np.random.default_rng(5)
  gaussians = rng.uniform(0, 20, (3, 12, 4)).astype(np.float32)
  counts = [12, 5, 0]
  mask = (np.arange(12)[None] < np.array(counts)[:, None]).astype(np.float32)
  gaussians *= mask[..., None]
  np.testing.assert_allclose(pipeline.self_overlap(gaussians, mask).numpy(),
                             ops.image_self_overlap(gaussians, mask).numpy(), rtol=1e-5)
