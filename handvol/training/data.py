"""The datasets a configuration names, built through `handvol.data.pipeline`.

A source entry of the config's "data" section is a dict with "source" and its arguments:
- `{"source": "synthetic", "subjects": ..., "label_mode": ..., "num_frames": N, "seed": s}`:
  N frames of `handvol.data.synthetic.generate`, made once and held in memory; an optional
  "him_offset_mm" sets the HIM-like wrong labels' offset (`synthetic.labels.LabelConfig`);
- `{"source": "tfrecords", "dir": ..., "name": ...}`: shards written by
  `handvol.data.tfrecords.write_shards` (the fast path for the real datasets);
- `{"source": "nyu" | "hands2017" | "capture", "args": {...}}`: frames read from a dataset
  folder by that reader's `read_frames(**args)`, at every pass.
Training sources also carry a mixing "ratio" (`pipeline.training_dataset`).
"""

import collections

import keras

from handvol.data import capture
from handvol.data import hands2017
from handvol.data import nyu
from handvol.data import pipeline
from handvol.data import synthetic
from handvol.data import tfrecords
from handvol.data.synthetic import labels as synthetic_labels
from handvol.image import augment

READERS = {"nyu": nyu.read_frames, "hands2017": hands2017.read_frames,
           "capture": capture.read_frames}
"""Source names → readers of dataset folders."""

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])
"""Batched training examples: `train` endless and augmented; `validation` and `test` finite,
in order, cached after their first pass."""


def synthetic_records(num_frames, subjects, label_mode, seed, config=None):
  """`num_frames` synthetic frame records, stacked (a progress bar shows the rendering)."""
  progress = keras.utils.Progbar(num_frames, unit_name="frame")
  frames = []
  for record in synthetic.generate(num_frames, subjects, label_mode, seed, config):
    frames.append(record)
    progress.add(1)
  return pipeline.stack_records(frames)


def synthetic_config(entry):
  """The `synthetic.SyntheticConfig` of a synthetic source entry: the defaults, with the
  HIM-like wrong labels' offset of an optional "him_offset_mm"."""
  if "him_offset_mm" in entry:
    return synthetic.SyntheticConfig(
        labels=synthetic_labels.LabelConfig(him_offset_mm=entry["him_offset_mm"]))
  return synthetic.SyntheticConfig()


def frame_source(entry):
  """A `tf.data.Dataset` of frame records for one source entry (module docstring)."""
  kind = entry["source"]
  if kind == "synthetic":
    return pipeline.from_records(synthetic_records(entry["num_frames"], entry["subjects"],
                                                   entry["label_mode"], entry["seed"],
                                                   synthetic_config(entry)))
  if kind == "tfrecords":
    return pipeline.from_tfrecords(tfrecords.list_shards(entry["dir"], entry["name"]))
  if kind in READERS:
    reader, args = READERS[kind], dict(entry["args"])
    return pipeline.from_records(lambda: reader(**args))
  raise ValueError(f"unknown source {kind!r}; sources are synthetic, tfrecords, "
                   f"{', '.join(READERS)}")


def pipeline_config(data_config, batch_size, seed):
  """The `pipeline.PipelineConfig` of a config's "data" section."""
  augment_config = data_config["augment"]
  return pipeline.PipelineConfig(
      batch_size=batch_size,
      cube_mm=data_config["cube_mm"],
      max_gaussians=data_config["max_gaussians"],
      augment=None if augment_config is None else augment.AugmentConfig(**augment_config),
      shuffle_buffer=data_config["shuffle_buffer"],
      seed=seed)


def build_datasets(data_config, batch_size, seed):
  """The training mixture and the validation and test sets of a config's "data" section.

  Args:
    data_config: The "data" dict: "train" (a list of source entries with "ratio"),
      "validation" and "test" (one source entry each), "augment", "cube_mm",
      "max_gaussians", "shuffle_buffer".
    batch_size: The global batch size.
    seed: Seed of shuffling and augmentation.

  Returns:
    A `Datasets`.
  """
  config = pipeline_config(data_config, batch_size, seed)
  sources = [frame_source(entry) for entry in data_config["train"]]
  ratios = [entry["ratio"] for entry in data_config["train"]]
  train = pipeline.training_dataset(sources, ratios, config)
  held_out = [pipeline.evaluation_dataset(frame_source(data_config[split]), config).cache()
              for split in ("validation", "test")]
  return Datasets(train, *held_out)
