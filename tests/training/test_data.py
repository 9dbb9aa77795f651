"""Tests of the config's sources → datasets: mixing ratios and held-out splits."""

import numpy as np
import pytest

from handvol import configs
from handvol.data import records
from handvol.training import data


def test_mixture_holds_the_configured_ratio():
  config = configs.load("default")["data"]
  synthetic = {"source": "synthetic", "subjects": "nyu_like", "num_frames": 4}
  config["train"] = [dict(synthetic, label_mode="lab6_3d", seed=0, ratio=3),
                     dict(synthetic, label_mode="lab6_2d", seed=1, ratio=1)]
  config["validation"] = dict(synthetic, label_mode="all21_3d", seed=2, num_frames=3)
  config["test"] = dict(synthetic, label_mode="all21_3d", seed=3, num_frames=5)
  config["augment"] = None
  datasets = data.build_datasets(config, batch_size=8, seed=0)
  batch = next(iter(datasets.train))
  kinds = np.max(batch["kind"].numpy(), axis=1)  # the label kind of each frame
  np.testing.assert_array_equal(kinds, [records.KIND_3D] * 6 + [records.KIND_2D] * 2)
  assert batch["image_gaussians"].shape[:2] == (8, config["max_gaussians"])
  assert sum(len(b["kind"]) for b in datasets.validation) == 3
  assert sum(len(b["kind"]) for b in datasets.test) == 5


def test_unknown_source_fails():
  with pytest.raises(ValueError, match="unknown source"):
    data.frame_source({"source": "kinect"})
