"""The input pipeline: the training example, exact mixing ratios, determinism, and the
datasets of a config's sources."""

import numpy as np
import pytest
import tensorflow as tf

from handvol import configs
from handvol.data import records
from handvol.data.synthetic import poses as synthetic_poses
from handvol.image import quadtree
from handvol.training import input_pipeline

SMALL = input_pipeline.PipelineConfig(batch_size=8, max_gaussians=256, shuffle_buffer=8)


def hand_like(make_records, count, dataset, seed):
  """Records whose labels sit on a smooth surface, so crops are not pure noise."""
  frames = make_records(count, dataset, seed=seed)
  for frame in frames:
    v, u = np.mgrid[0:48, 0:64]
    frame["depth"] = np.where((u - 32)**2 + (v - 24)**2 < 300, 500.0 + u, 0.0).astype(np.float32)
  return frames


def test_training_example_matches_the_contract(make_records):
  frames = hand_like(make_records, 4, "synthetic", 0)
  dataset = input_pipeline.training_dataset(input_pipeline.from_records(frames), config=SMALL)
  batch = next(iter(dataset))
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
  sources = [input_pipeline.from_records(hand_like(make_records, 3, names[i], seed=i))
             for i in range(len(ratios))]
  config = input_pipeline.PipelineConfig(batch_size=16, max_gaussians=64, shuffle_buffer=4,
                                   augment=None)
  for batch in input_pipeline.training_dataset(sources, ratios, config).take(3):
    counts = np.bincount(batch["dataset"].numpy(), minlength=len(records.DATASETS))
    want = [r * 16 // sum(ratios) for r in ratios]
    assert [counts[records.DATASET_IDS[names[i]]] for i in range(len(ratios))] == want
  with pytest.raises(ValueError, match="multiple of sum"):
    input_pipeline.training_dataset(sources, ratios, input_pipeline.PipelineConfig(batch_size=10))


def batches(frames, seed, count=2):
  config = input_pipeline.PipelineConfig(batch_size=4, max_gaussians=128, shuffle_buffer=6,
                                   seed=seed)
  dataset = input_pipeline.training_dataset(input_pipeline.from_records(frames), config=config)
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


def test_cached_crops_give_the_same_batches(make_records):
  frames = hand_like(make_records, 6, "synthetic", 5)
  for frame, subject in zip(frames, range(6)):
    frame["subject"] = np.int32(subject)
  config = input_pipeline.PipelineConfig(batch_size=4, max_gaussians=128, shuffle_buffer=4,
                                         seed=3)
  outputs = []
  for cache in (False, True):
    recorded = input_pipeline.TrainingFrames([lambda position: f"frame {position}"])
    dataset = input_pipeline.training_dataset(input_pipeline.from_records(frames), config=config,
                                              frames=recorded, cache_crops=[cache])
    # Five batches of four: three passes over the six frames, reshuffled at each.
    outputs.append((list(dataset.take(5).as_numpy_iterator()), recorded))
  (plain, plain_frames), (cached, cached_frames) = outputs
  for index, (a, b) in enumerate(zip(plain, cached)):
    for key in a:
      np.testing.assert_array_equal(a[key], b[key], err_msg=f"batch {index}, {key}")
    assert plain_frames.names(index) == cached_frames.names(index)
  assert len({tuple(batch["subject"]) for batch in plain}) > 1
  with pytest.raises(ValueError, match="cache_crops"):
    input_pipeline.training_dataset(input_pipeline.from_records(frames), config=config,
                                    cache_crops=[True, False])


def test_only_sources_held_in_memory_cache_their_crops():
  config = configs.load("scenes")["data"]
  assert [input_pipeline.held_in_memory(entry) for entry in config["train"]] == [True, True]
  assert not input_pipeline.held_in_memory({"source": "nyu", "args": {}})
  assert not input_pipeline.held_in_memory({"source": "tfrecords", "dir": "x", "name": "y"})


def test_sources_from_lists_dicts_and_generators(make_records):
  frames = make_records(3)
  stacked = input_pipeline.stack_records(frames)
  from_dict = list(input_pipeline.from_records(stacked).as_numpy_iterator())
  from_generator = list(input_pipeline.from_records(lambda: iter(frames)).as_numpy_iterator())
  for want, a, b in zip(frames, from_dict, from_generator):
    for key in records.RECORD_SPEC:
      np.testing.assert_array_equal(a[key], want[key])
      np.testing.assert_array_equal(b[key], want[key])
  assert len(list(input_pipeline.from_records(frames, worker_index=1, num_workers=2))) == 1
  bad = make_records(1)[0]
  bad["uv"][0, 0] = np.nan
  with pytest.raises(records.FrameError, match="record 0"):
    input_pipeline.from_records([bad])


def test_evaluation_dataset_keeps_order_and_skips_augmentation(make_records):
  frames = hand_like(make_records, 5, "nyu", 4)
  config = input_pipeline.PipelineConfig(batch_size=2, max_gaussians=quadtree.MAX_GAUSSIANS)
  out = list(input_pipeline.evaluation_dataset(input_pipeline.from_records(frames), config))
  assert [len(b["subject"]) for b in out] == [2, 2, 1]
  first = out[0]
  np.testing.assert_allclose(first["xyz"][0].numpy(), frames[0]["xyz"], atol=1e-4)


def test_mixture_holds_the_configured_ratio():
  config = configs.load("default")["data"]
  synthetic = {"source": "synthetic", "subjects": "nyu_like", "num_frames": 4}
  config["train"] = [dict(synthetic, label_mode="lab6_3d", seed=0, ratio=3),
                     dict(synthetic, label_mode="lab6_2d", seed=1, ratio=1)]
  config["validation"] = dict(synthetic, label_mode="all21_3d", seed=2, num_frames=3)
  config["test"] = dict(synthetic, label_mode="all21_3d", seed=3, num_frames=5)
  config["augment"] = None
  datasets = input_pipeline.build_datasets(config, batch_size=8, seed=0)
  batch = next(iter(datasets.train))
  kinds = np.max(batch["kind"].numpy(), axis=1)  # the label kind of each frame
  np.testing.assert_array_equal(kinds, [records.KIND_3D] * 6 + [records.KIND_2D] * 2)
  assert batch["image_gaussians"].shape[:2] == (8, config["max_gaussians"])
  assert sum(len(b["kind"]) for b in datasets.validation) == 3
  assert sum(len(b["kind"]) for b in datasets.test) == 5


def test_unknown_source_fails():
  with pytest.raises(ValueError, match="unknown source"):
    input_pipeline.frame_source({"source": "kinect"})


def test_a_synthetic_entry_names_its_views_and_poses():
  entry = {"source": "synthetic", "subjects": "nyu_like", "label_mode": "lab6_3d",
           "num_frames": 2, "seed": 0}
  plain = input_pipeline.synthetic_config(entry)
  assert plain.pose == synthetic_poses.POSE_PRESETS["prototypes"]
  assert plain.view == synthetic_poses.VIEW_PRESETS["frontal"]
  broad = input_pipeline.synthetic_config(dict(entry, views="sphere", poses="broad"))
  assert broad.pose == synthetic_poses.POSE_PRESETS["broad"]
  assert broad.view == synthetic_poses.VIEW_PRESETS["sphere"]
  with pytest.raises(ValueError, match="articulations must be one of"):
    input_pipeline.synthetic_config(dict(entry, poses="wild"))
