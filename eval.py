"""Evaluates hand pose predictions and writes metrics.json, metrics.md and plots.

Prediction files in the community's format (one frame a line, u v d per joint) against a label
file, several methods side by side:

  python eval.py --dataset=nyu --labels=nyu_test_groundtruth_label.txt
      --predictions=V2V-PoseNet=CVPR18_NYU_V2V_PoseNet.txt,DeepPrior=CVWW15_NYU_Prior.txt
      --out=results/nyu

writes results/nyu/metrics.json, metrics.md and plots (docs/evaluation.md).
"""

from absl import app
from absl import flags

from handvol.evaluation import evaluate

_DATASET = flags.DEFINE_enum("dataset", "nyu", sorted(evaluate.DATASETS),
                             "Dataset whose camera and joints the files use.")
_LABELS = flags.DEFINE_string("labels", None, "Label file, one frame a line, u v d per joint.")
_PREDICTIONS = flags.DEFINE_list("predictions", None,
                                 "NAME=FILE[,NAME=FILE...]: prediction files in the label "
                                 "file's format, one per method.")
_OUT = flags.DEFINE_string("out", None, "Output folder.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  evaluate.evaluate_prediction_files(_DATASET.value, _LABELS.value,
                                     evaluate.parse_named_paths(_PREDICTIONS.value), _OUT.value)


if __name__ == "__main__":
  flags.mark_flags_as_required(["labels", "predictions", "out"])
  app.run(main)
