"""The paper's core claim on a handful of frames: with labels on Lab-6 only, the generative loss
(dissimilarity) and the priors place the 15 unlabelled keypoints; without the dissimilarity
they stay far off."""

import keras
import pytest

from handvol import configs
from handvol.training import evaluate
from handvol.training import input_pipeline
from handvol.training import trainer

FRAMES = 4
STEPS = 800


def _frames():
  config = configs.load("default")
  config["data"]["augment"] = None
  source = {"source": "synthetic", "subjects": "nyu_like", "label_mode": "lab6_3d",
            "num_frames": FRAMES, "seed": 7}
  return input_pipeline.evaluation_split(config["data"], source, FRAMES).cache()


def _overfit(examples, dissim_weight):
  keras.utils.set_random_seed(0)
  config = configs.override(configs.load("default"), [
      "model.encoder_width=8", f"loss.weights.dissim={dissim_weight}",
      "loss.use_visibility=False",  # 3D labels, as NYU's, exist for occluded joints too
      "train.epochs=1", f"train.steps_per_epoch={STEPS}", "train.learning_rate=3e-3",
      "train.final_learning_rate=3e-5", "train.warmup_steps=20"])
  model = trainer.build_model(config)
  model(next(iter(examples)))
  trainer.compile_model(model, config)
  model.fit(examples.repeat(), epochs=1, steps_per_epoch=STEPS, verbose=0)
  return evaluate.evaluate_model(model, examples)


@pytest.mark.slow
def test_lab6_labels_and_the_generative_loss_recover_all_21():
  examples = _frames()
  with_dissim = _overfit(examples, 1.0)
  assert with_dissim["num_frames"] == FRAMES
  assert with_dissim["all21_mean_mm"] < 10.0, with_dissim
  without_dissim = _overfit(examples, 0.0)
  assert without_dissim["unlab15_mean_mm"] > 2.0 * with_dissim["unlab15_mean_mm"], (
      with_dissim, without_dissim)
