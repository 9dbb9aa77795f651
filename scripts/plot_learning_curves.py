"""Learning curves of training runs: training and held-out error and loss terms over steps.

    python scripts/plot_learning_curves.py --runs=NAME=WORKDIR,NAME=WORKDIR,... \
        --out=docs/figures/learning_curves.png

Reads the per-epoch scalars that training writes to `WORKDIR/tensorboard/{train,validation}`
(Keras' TensorBoard callback: `epoch_all21_mm`, `epoch_<term>_loss`) and draws, per run, the
All-21 error on the (augmented) training batches and on the validation split, and each loss term,
against the training step (epoch × `train.steps_per_epoch` of the run's `config.json`). A
training curve that meets the validation curve says the model under-fits (more steps or
capacity help); a gap that widens says it over-fits (more data helps).
"""

import glob
import json
import os

from absl import app
from absl import flags
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from tensorflow.core.util import event_pb2  # pylint: disable=wrong-import-position

_RUNS = flags.DEFINE_list("runs", None, "NAME=WORKDIR pairs.", required=True)
_OUT = flags.DEFINE_string("out", "docs/figures/learning_curves.png", "Output PNG.")
_TERMS = flags.DEFINE_list("terms", ["joint", "dissim", "collision", "bone"],
                           "Loss terms drawn beside the error (those a run logged).")


def read_scalars(folder):
  """`{tag: [(epoch, value), ...]}` of the event files in a TensorBoard folder."""
  scalars = {}
  for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
    for record in tf.data.TFRecordDataset(path):
      event = event_pb2.Event.FromString(record.numpy())
      for value in event.summary.value:
        if value.tag.startswith("epoch_"):
          number = tf.make_ndarray(value.tensor) if value.HasField("tensor") else value.simple_value
          scalars.setdefault(value.tag[len("epoch_"):], []).append((event.step, float(number)))
  return {tag: sorted(points) for tag, points in scalars.items()}


def read_run(workdir):
  """The run's steps per epoch and its train / validation scalars."""
  config_path = os.path.join(workdir, "config.json")
  if not os.path.isfile(config_path):
    raise app.UsageError(f"{workdir}: no config.json (not a training work directory)")
  with open(config_path, encoding="utf-8") as f:
    steps = json.load(f)["train"]["steps_per_epoch"]
  return steps, {split: read_scalars(os.path.join(workdir, "tensorboard", split))
                 for split in ("train", "validation")}


def plot(runs, terms, out):
  """One panel for All-21 and one per loss term; a colour per run, solid held-out, dashed
  training."""
  panels = ["all21_mm"] + [f"{term}_loss" for term in terms]
  figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
  for colour, (name, (steps, scalars)) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"],
                                              runs.items()):
    for axis, tag in zip(axes[0], panels):
      for split, style in (("train", "--"), ("validation", "-")):
        points = scalars[split].get(tag)
        if points:
          axis.plot([(epoch + 1) * steps for epoch, _ in points], [v for _, v in points],
                    style, color=colour, label=f"{name} ({split})")
  for axis, tag in zip(axes[0], panels):
    axis.set_title("All-21 error (mm)" if tag == "all21_mm" else tag.replace("_", " "))
    axis.set_xlabel("training step")
    axis.grid(alpha=0.3)
    if tag == "collision_loss":
      axis.set_yscale("log")
  axes[0][0].legend(fontsize=7)
  figure.tight_layout()
  os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
  figure.savefig(out, dpi=110)
  print(f"wrote {out}")


def main(argv):
  del argv
  runs = {}
  for entry in _RUNS.value:
    name, separator, workdir = entry.partition("=")
    if not separator:
      raise app.UsageError(f"--runs entries read NAME=WORKDIR, got {entry!r}")
    runs[name] = read_run(workdir)
  plot(runs, _TERMS.value, _OUT.value)


if __name__ == "__main__":
  app.run(main)
