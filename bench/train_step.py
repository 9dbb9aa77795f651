"""Benchmark: one training step with the full generative loss against the encoder alone.

Both models share the encoder (ResNet-18 by default, `--width` to shrink it) and run on the same
batch of synthetic training examples (the default config's pipeline, batch 16):
- full: `HandPoseModel` with every loss term on (dissimilarity through the overlap op,
  collision, bone length, joint limits, keypoint supervision), forward kinematics, decoder;
- encoder: the same encoder regressing the 21 keypoints (63 outputs, relative to the reference
  point, in units of the cube's half side) with a mean squared error.
Each step is `train_on_batch` (forward, backward, Adam update) after `--warmup` untimed steps;
the script prints the median over `--repeats` rounds of `--steps` steps per model, alternating
the models per round so that a noisy shared machine slows both alike. The last line is one JSON
object with `overhead_ratio` = full step time / encoder step time.

  python bench/train_step.py [--width 64] [--batch 16] [--steps 5] [--repeats 5]
"""

import argparse
import json
import platform
import time

import keras
import numpy as np
import tensorflow as tf

from handvol import configs
from handvol import ops
from handvol.hand import skeleton
from handvol.model import encoder as encoder_lib
from handvol.training import input_pipeline
from handvol.training import trainer
import machine_info  # bench/machine_info.py, beside this script


def _batch(batch_size):
  config = configs.load("default")
  examples = input_pipeline.evaluation_split(
      config["data"], dict(config["data"]["test"], num_frames=batch_size), batch_size)
  return {key: tf.constant(value) for key, value in next(iter(examples)).items()}


def _encoder_model(width):
  inputs = keras.Input((128, 128, 1), name="depth_input")
  outputs = encoder_lib.ResNetEncoder(3 * skeleton.NUM_KEYPOINTS, width)(inputs)
  model = keras.Model(inputs, outputs)
  model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
  return model


def _time_steps(step, steps):
  start = time.perf_counter()
  for _ in range(steps):
    step()
  return (time.perf_counter() - start) / steps


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--width", type=int, default=64, help="encoder width (64: ResNet-18)")
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
  parser.add_argument("--repeats", type=int, default=5, help="rounds; the median is reported")
  parser.add_argument("--warmup", type=int, default=3)
  args = parser.parse_args()

  config = configs.load("default")
  config["model"]["encoder_width"] = args.width
  batch = _batch(args.batch)
  half_cube_mm = 0.5 * config["data"]["cube_mm"]

  full = trainer.build_model(config)
  full(batch)
  trainer.compile_model(full, config)

  encoder = _encoder_model(args.width)
  targets = tf.reshape((batch["truth_xyz"] - batch["center_xyz"][:, tf.newaxis]) / half_cube_mm,
                       [args.batch, -1])

  steps = {"full": lambda: full.train_on_batch(batch),
           "encoder": lambda: encoder.train_on_batch(batch["depth_input"], targets)}
  for step in steps.values():
    for _ in range(args.warmup):
      step()
  times = {name: [] for name in steps}
  for _ in range(args.repeats):
    for name, step in steps.items():
      times[name].append(_time_steps(step, args.steps))
  medians = {name: float(np.median(values)) for name, values in times.items()}
  for name, values in times.items():
    print(f"{name:8s} step: median {1e3 * medians[name]:8.1f} ms  "
          f"(rounds: {', '.join(f'{1e3 * v:.1f}' for v in values)})")
  result = {
      "full_step_ms": round(1e3 * medians["full"], 2),
      "encoder_step_ms": round(1e3 * medians["encoder"], 2),
      "overhead_ratio": round(medians["full"] / medians["encoder"], 4),
      "width": args.width,
      "batch": args.batch,
      "compiled_op": bool(ops.compiled_op_in_use()),
      "device": "GPU" if tf.config.list_physical_devices("GPU") else platform.processor() or "CPU",
  }
  result["machine"] = machine_info.describe()
  print(machine_info.line())
  print(json.dumps(result))


if __name__ == "__main__":
  main()
