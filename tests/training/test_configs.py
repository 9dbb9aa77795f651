"""Tests of configuration files and command-line overrides."""

import pytest

from handvol import configs
from handvol.training import trainer


def test_variants_override_only_what_differs():
  default = configs.load("default")
  for name in ("paper_nyu_handid", "paper_nyu_him_handid"):
    variant = configs.load(name)
    assert set(variant) == set(default)
    assert variant["model"]["encoder_width"] == 64  # the real ResNet-18
    assert variant["loss"]["use_visibility"]  # 2D clicks of occluded keypoints are guesses
  ratios = [entry["ratio"] for entry in configs.load("paper_nyu_handid")["data"]["train"]]
  assert ratios == [3, 1]
  ratios = [entry["ratio"] for entry in configs.load("paper_nyu_him_handid")["data"]["train"]]
  assert ratios == [3, 3, 2]


def test_override_parses_literals_and_strings():
  config = configs.override(configs.load("default"), [
      "train.epochs=3", "train.learning_rate=1e-4", "train.strategy=mirrored",
      "loss.weights={'dissim': 0.0}", "model.blocks_per_stage=(1, 1, 1, 1)"])
  assert config["train"]["epochs"] == 3
  assert config["train"]["learning_rate"] == pytest.approx(1e-4)
  assert config["train"]["strategy"] == "mirrored"
  assert config["loss"]["weights"] == {"dissim": 0.0}
  assert config["model"]["blocks_per_stage"] == (1, 1, 1, 1)
  assert configs.load("default")["train"]["epochs"] != 3  # the file is untouched


def test_override_rejects_unknown_keys():
  with pytest.raises(KeyError, match="epoch"):
    configs.override(configs.load("default"), ["train.epoch=3"])
  with pytest.raises(KeyError, match="trian"):
    configs.override(configs.load("default"), ["trian.epochs=3"])
  with pytest.raises(ValueError, match="key=value"):
    configs.override(configs.load("default"), ["train.epochs"])


def test_load_from_a_file(tmp_path):
  path = tmp_path / "tiny.py"
  path.write_text("from handvol.configs import default\n\n"
                  "def get_config():\n"
                  "  config = default.get_config()\n"
                  "  config['train']['epochs'] = 1\n"
                  "  return config\n")
  assert configs.load(str(path))["train"]["epochs"] == 1


def test_default_builds_the_configured_model():
  config = configs.load("default")
  model = trainer.build_model(config)
  assert model.encoder.width == config["model"]["encoder_width"]
  assert set(model.enabled_terms) == {t for t, w in config["loss"]["weights"].items() if w}
  with pytest.raises(ValueError, match="strategy"):
    trainer.distribution_strategy("tpu")


def test_sphere_differs_from_default_only_in_views_rotation_and_schedule():
  default, sphere = configs.load("default"), configs.load("sphere")
  assert configs.validate(sphere) is not None
  for split in (sphere["data"]["train"][0], sphere["data"]["validation"],
                sphere["data"]["test"]):
    assert split["views"] == "sphere"
  assert sphere["data"]["augment"]["rotation_deg"] == 180.0
  for entry in (*sphere["data"]["train"], sphere["data"]["validation"], sphere["data"]["test"]):
    entry["views"] = "frontal"
  sphere["data"]["augment"]["rotation_deg"] = default["data"]["augment"]["rotation_deg"]
  assert (sphere["train"]["epochs"], sphere["train"]["learning_rate"]) == (20, 1e-3)
  for key in ("epochs", "learning_rate"):
    sphere["train"][key] = default["train"][key]
  assert sphere == default


def test_cpu_long_is_sphere_with_more_frames_and_steps():
  sphere, long_run = configs.load("sphere"), configs.load("cpu_long")
  assert configs.validate(long_run) is not None
  train = long_run["train"]
  steps = train["epochs"] * train["steps_per_epoch"]
  assert steps == 60_000 and long_run["data"]["train"][0]["num_frames"] == 3072
  # At most two hours at the measured ~66 ms per step on 2 idle cores (docs/results/cpu_long).
  assert steps * 0.066 <= 2 * 3600
  long_run["data"]["train"][0]["num_frames"] = sphere["data"]["train"][0]["num_frames"]
  for key in ("epochs", "steps_per_epoch", "warmup_steps", "images_every_epochs", "verbose"):
    long_run["train"][key] = sphere["train"][key]
  assert long_run == sphere


def test_a_run_from_weights_peaks_at_the_finetune_rate():
  config = configs.load("default")
  train = config["train"]
  assert trainer.peak_learning_rate(train) == train["learning_rate"]
  assert train["finetune_learning_rate"] < train["learning_rate"]
  tuned = configs.override(config, ["train.init=pretrained"])["train"]
  assert trainer.peak_learning_rate(tuned) == train["finetune_learning_rate"]
  schedule = trainer.learning_rate_schedule(tuned)
  assert float(schedule(tuned["warmup_steps"])) == pytest.approx(train["finetune_learning_rate"])
  assert trainer.peak_learning_rate(configs.load("scenes")["train"]) == pytest.approx(5e-4)
  with pytest.raises(configs.ConfigError, match="finetune_learning_rate"):
    configs.validate(configs.override(config, ["train.final_learning_rate=2e-3"]))
