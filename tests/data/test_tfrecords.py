"""Sharded TFRecords: round trip, atomic shards."""

import os

import numpy as np
import pytest
import tensorflow as tf

from handvol.training import input_pipeline
from handvol.data import records
from handvol.data import tfrecords


def test_round_trip_through_shards(tmp_path, make_records):
  written = make_records(5, integer_depth=False)
  written[1]["depth"][0, 0] = 6000.0  # forces a coarser unit for this frame
  paths = tfrecords.write_shards(written, tmp_path, "train", frames_per_shard=2, progress=False)
  assert [os.path.basename(p) for p in paths] == [
      f"train-{i:05d}-of-00003.tfrecord" for i in range(3)]
  assert tfrecords.list_shards(tmp_path, "train") == paths
  assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)
  read = list(input_pipeline.from_tfrecords(paths).as_numpy_iterator())
  assert len(read) == 5
  for want, got in zip(written, read):
    unit = tfrecords.depth_unit_for(want["depth"])
    np.testing.assert_allclose(got["depth"], want["depth"], atol=unit / 2)
    for key in records.RECORD_SPEC:
      assert got[key].dtype == want[key].dtype, key
      if key != "depth":
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
  np.testing.assert_array_equal(read[0]["depth"], written[0]["depth"])  # 1/8 mm fits exactly


def test_a_failed_shard_is_never_visible(tmp_path, make_records):
  written = make_records(3)
  written[2]["kind"][0] = 9
  with pytest.raises(records.FrameError, match="train frame 2"):
    tfrecords.write_shards(written, tmp_path, "train", frames_per_shard=2, progress=False)
  # The first, complete shard is in place; the half-written one and its temporary are gone.
  assert os.listdir(tmp_path) == ["train-00000-of-00002.tfrecord"]


def test_workers_split_shards_by_file(tmp_path, make_records):
  written = make_records(6)
  for index, record in enumerate(written):
    record["subject"] = np.int32(index)
  paths = tfrecords.write_shards(written, tmp_path, "s", frames_per_shard=1, progress=False)
  seen = []
  for worker in range(3):
    subjects = [int(r["subject"]) for r in input_pipeline.from_tfrecords(paths, worker, 3)
                .as_numpy_iterator()]
    assert len(subjects) == 2
    seen += subjects
  assert sorted(seen) == list(range(6))
  with pytest.raises(ValueError, match="cannot be split between 7 workers"):
    input_pipeline.from_tfrecords(paths, 0, 7)


def test_parse_record_has_static_shapes(make_records):
  serialized = tfrecords.serialize_record(make_records(1)[0])
  spec = tf.function(tfrecords.parse_record).get_concrete_function(
      tf.TensorSpec([], tf.string)).structured_outputs
  assert spec["uv"].shape == (21, 2) and spec["depth"].shape.rank == 2
  assert tfrecords.parse_record(serialized)["kind"].dtype == tf.int32


def test_a_wrong_total_is_an_error(tmp_path, make_records):
  with pytest.raises(ValueError, match="total=3 but 2 frame records"):
    tfrecords.write_shards(make_records(2), tmp_path, "t", total=3, progress=False)
