"""Evaluates hand pose predictions and writes metrics.json, metrics.md and plots.

A trained model, from its training work directory (the best checkpoint on the run's held-out
test frames, every 21-keypoint protocol, MDPC, bone-length F1, a qualitative figure):

  python eval.py --workdir=workdir --out=workdir/eval [--set data.test.subjects=unseen_test]

Without --workdir, --labels or --predictions: the pretrained model that ships with handvol
(`handvol.pretrained`, a work directory in miniature) on its own run's test frames:

  python eval.py --out=pretrained_eval

Prediction files in the community's format (one frame a line, u v d per joint) against a label
file, several methods side by side:

  python eval.py --dataset=nyu --labels=nyu_test_groundtruth_label.txt
      --predictions=V2V-PoseNet=CVPR18_NYU_V2V_PoseNet.txt,DeepPrior=CVWW15_NYU_Prior.txt
      --out=results/nyu

docs/evaluation.md describes the outputs. Frames that cannot be read are reported one by one
and left out of the metrics; the exit code is then 1 (2 for a bad argument, file or config,
which ends in one line on stderr).
"""

import sys

from absl import app
from absl import flags

from handvol.evaluation import evaluate

_OUT = flags.DEFINE_string("out", None, "Output folder.")
_WORKDIR = flags.DEFINE_string("workdir", None,
                               "A training work directory: evaluate its model.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "With --workdir: a .keras checkpoint other than "
                                  "checkpoints/best.keras.")
_SPLIT = flags.DEFINE_enum("split", "test", ["test", "validation"],
                           "With --workdir: the config's data split.")
_SET = flags.DEFINE_multi_string("set", [], "With --workdir: config override key.sub=value.")
_DATASET = flags.DEFINE_enum("dataset", "nyu", sorted(evaluate.DATASETS),
                             "Dataset whose camera and joints the files use.")
_LABELS = flags.DEFINE_string("labels", None, "Label file, one frame a line, u v d per joint.")
_PREDICTIONS = flags.DEFINE_list("predictions", None,
                                 "NAME=FILE[,NAME=FILE...]: prediction files in the label "
                                 "file's format, one per method.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  if _WORKDIR.value:
    if _LABELS.value or _PREDICTIONS.value:
      raise app.UsageError("--workdir evaluates a model; --labels/--predictions are for files")
    _evaluate_workdir()
    return
  if not (_LABELS.value or _PREDICTIONS.value):
    _evaluate_workdir(pretrained=True)
    return
  if not (_LABELS.value and _PREDICTIONS.value):
    raise app.UsageError("give --workdir, or --labels and --predictions, or none of them "
                         "(the shipped pretrained model)")
  try:
    evaluate.evaluate_prediction_files(_DATASET.value, _LABELS.value,
                                       evaluate.parse_named_paths(_PREDICTIONS.value), _OUT.value)
  except (ValueError, OSError) as error:
    _fail(error)


def _fail(error):
  print(f"eval.py: error: {error}", file=sys.stderr, flush=True)
  raise SystemExit(2)


def _evaluate_workdir(pretrained=False):
  # The model stack, only when needed.
  from handvol import pretrained as shipped  # pylint: disable=import-outside-toplevel
  from handvol.training import evaluate as run_eval  # pylint: disable=import-outside-toplevel
  from handvol.training import faults  # pylint: disable=import-outside-toplevel
  workdir = shipped.WORKDIR if pretrained else _WORKDIR.value
  if pretrained:
    print(f"eval.py: no --workdir: evaluating the shipped pretrained model ({workdir})",
          flush=True)
  try:
    result = run_eval.evaluate_run(workdir, _OUT.value, checkpoint=_CHECKPOINT.value,
                                   split=_SPLIT.value, settings=_SET.value,
                                   name="pretrained" if pretrained else "handvol")
  except faults.USER_ERRORS as error:
    _fail(error)
  if result["failed_frames"]:
    print(f"eval.py: {len(result['failed_frames'])} frame(s) failed (listed above and in "
          f"{_OUT.value}/failed_frames.txt); the other frames were scored", file=sys.stderr)
    raise SystemExit(1)


if __name__ == "__main__":
  flags.mark_flags_as_required(["out"])
  app.run(main)
