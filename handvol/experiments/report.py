"""The study's numbers and its report.

`analyze` turns the test sets and each model's predictions into every number of the study
(through `handvol.evaluation`); `write` saves `reproduction.json`, `reproduction.md` (built
section by section) and the figures. The targets are checked in `handvol.experiments.targets`.
"""

import json
import pathlib

import numpy as np

from handvol.evaluation import evaluate
from handvol.evaluation import metrics
from handvol.evaluation import plots
from handvol.experiments import configurations as configurations_lib
from handvol.hand import skeleton

FILE_PREFIX = "reproduction_"
"""Prefix of the report's folders and figures (`reproduction_e1/`, ...), so that they sit
beside `reproduction.md` in `docs/results/` without mixing with other results."""

QUALITATIVE_FRAMES = 3
"""Frames of the Fig. 6-like figure: evenly spaced over the HIM-like test set, not chosen."""

def _evaluate_models(predictions, test_set):
  """`evaluate_keypoints` against the true joints, per model (MDPC and F1 included), and the
  percentage of frames whose predicted palm faces the other way (`palm_flipped_percent`)."""
  results = {}
  for key, outputs in predictions.items():
    results[key] = evaluate.evaluate_keypoints(
        outputs["keypoints"], test_set["truth_xyz"], "hand21", subjects=test_set["subject"],
        depth=test_set["crop_depth"], intrinsics=test_set["crop_intrinsics"],
        bone_length_vectors=outputs["bone_lengths"])
    results[key]["palm_flipped_percent"] = metrics.palm_flipped_percent(
        outputs["keypoints"], test_set["truth_xyz"])
  return results


def _error_to_labels(keypoints, test_set):
  """Mean error (mm) of keypoints `[F, 21, 3]` to the test set's labels (the wrong ones of the
  HIM-like set)."""
  return metrics.mean_error(metrics.joint_errors(keypoints, test_set["xyz"]))


def _label_statistics(keypoints, test_set):
  """Error to the true joints and MDPC of keypoints that are not a model's (labels, truth)."""
  errors = metrics.joint_errors(keypoints, test_set["truth_xyz"])
  return {"error_to_truth_mean_mm": metrics.mean_error(errors),
          "palm_flipped_percent": metrics.palm_flipped_percent(keypoints, test_set["truth_xyz"]),
          **metrics.summarize_mdpc(metrics.mdpc(keypoints, test_set["crop_depth"],
                                                test_set["crop_intrinsics"]))}


def _add_mdpc_ratios(experiment):
  """Each method's median MDPC over the true joints' on the same frames ("mdpc_ratio_to_truth")."""
  truth_median = experiment["true_joints"]["mdpc_median_mm"]
  for result in experiment["methods"].values():
    result["mdpc_ratio_to_truth"] = result["mdpc_median_mm"] / truth_median


def analyze(configurations, test_sets, predictions):
  """Every number of the study.

  Args:
    configurations: The `configurations.Configuration`s that ran.
    test_sets: A dict test-set name → arrays (`study.prepare_test_set`): "truth_xyz",
      "xyz" (the labels), "subject", "crop_depth", "crop_intrinsics".
    predictions: A dict (configuration key, test-set name) → {"keypoints" `[F, 21, 3]`,
      "bone_lengths" `[F, 20]`} in mm.

  Returns:
    A JSON-ready dict with "e1", "e2", "e3": each "methods" (configuration key →
    `evaluate_keypoints` result, MDPC and bone-length F1 included); E1 and E2 add per method
    "mdpc_ratio_to_truth" (median MDPC over the true joints') and "true_joints" (their MDPC;
    for E1 also the F1 of the true bone lengths); E2 adds per method
    "error_to_labels_mean_mm", and "wrong_labels" (their error to the truth and their MDPC).
  """
  clean = test_sets[configurations_lib.CLEAN_TEST]
  him = test_sets[configurations_lib.HIM_TEST]

  def models(experiment, test_name):
    return {c.key: predictions[(c.key, test_name)] for c in configurations
            if c.experiment == experiment}

  e1 = {"methods": _evaluate_models(models("e1", configurations_lib.CLEAN_TEST), clean)}
  true_f1 = true_distance = None
  if np.unique(clean["subject"]).size == 2:
    true_lengths = metrics.bone_lengths(clean["truth_xyz"])
    true_f1 = {str(s): f1 for s, f1 in metrics.kmeans_f1(true_lengths,
                                                          clean["subject"]).items()}
    true_distance = metrics.subject_mean_distance(true_lengths, clean["subject"])
  e1["true_joints"] = {"bone_length_f1": true_f1,
                       "bone_length_subject_distance_mm": true_distance,
                       **_label_statistics(clean["truth_xyz"], clean)}
  _add_mdpc_ratios(e1)

  him_predictions = models("e2", configurations_lib.HIM_TEST)
  e2 = {"methods": _evaluate_models(him_predictions, him)}
  e2["true_joints"] = _label_statistics(him["truth_xyz"], him)
  e2["wrong_labels"] = _label_statistics(him["xyz"], him)
  _add_mdpc_ratios(e2)
  for key, result in e2["methods"].items():
    result["error_to_labels_mean_mm"] = _error_to_labels(him_predictions[key]["keypoints"], him)

  e3 = {"methods": _evaluate_models(models("e2", configurations_lib.CLEAN_TEST), clean)}
  return {"e1": e1, "e2": e2, "e3": e3}


SUMMARY_KEYS = ("all21_mean_mm", "lab6_mean_mm", "unlab15_mean_mm", "palm_flipped_percent",
                "mdpc_median_mm", "mdpc_mean_mm", "bone_length_f1",
                "bone_length_subject_distance_mm")
"""The numbers `summarize` keeps of each model on each test set."""


def summarize(configurations, test_sets, predictions):
  """The main numbers of any subset of the study's models (a partial or variant run).

  Args:
    configurations: The `configurations.Configuration`s that ran.
    test_sets: As in `analyze`.
    predictions: As in `analyze`, for each configuration's `test_sets`.

  Returns:
    A JSON-ready dict: configuration key → test-set name → `SUMMARY_KEYS` (errors to the true
    joints, mm; percent; the bone-length F1 per subject and subjects apart where the test set
    has two subjects, else None), plus "error_to_labels_mean_mm" on the HIM-like test set.
  """
  summary = {}
  for configuration in configurations:
    for test_name in configuration.test_sets:
      test_set = test_sets[test_name]
      outputs = predictions[(configuration.key, test_name)]
      result = _evaluate_models({configuration.key: outputs}, test_set)[configuration.key]
      numbers = {key: result.get(key) for key in SUMMARY_KEYS}
      if test_name == configurations_lib.HIM_TEST:
        numbers["error_to_labels_mean_mm"] = _error_to_labels(outputs["keypoints"], test_set)
      summary.setdefault(configuration.key, {})[test_name] = numbers
  return summary


VARIANT_TITLE = "Reproduction study: a partial or variant run"
VARIANT_NOTE = "Errors to the true joints in mm; not the study's report (no targets are checked)."


def format_summary(summary, command, title=VARIANT_TITLE, note=VARIANT_NOTE):
  """Markdown of a `summarize` result under the command that made it: a title, the command,
  a note, the table (a row per key of `summary` and test set) and the columns' notes."""
  rows = [[key, test_name, _mm(n["all21_mean_mm"]), _mm(n["lab6_mean_mm"]),
           _mm(n["unlab15_mean_mm"]), _percent(n), _mm(n["mdpc_median_mm"]),
           _mm(n.get("error_to_labels_mean_mm")), _f1_text(n), _subjects_apart(n)]
          for key, by_test in summary.items() for test_name, n in by_test.items()]
  return "\n".join([
      f"# {title}", "", f"    {command}", "", note, "",
      evaluate.markdown_table(
          ["configuration", "test set", "All-21", "Lab-6", "Unlab-15", "palm flipped (%)",
           "MDPC median", "error to wrong labels", "bone-length F1", "subjects apart"], rows),
      "", PALM_FLIPPED_NOTE, "", SUBJECTS_NOTE, ""])


def _mm(value):
  return "–" if value is None else f"{value:.2f}"


PALM_FLIPPED_NOTE = (
    "Palm flipped: the percentage of frames whose predicted palm normal (wrist, index and "
    "little MCP) is more than 90° from the true one, i.e. the model shows the other side of "
    "the hand to the camera (`handvol.evaluation.metrics.palm_normal_angles`).")


def _percent(result):
  value = result.get("palm_flipped_percent")
  return "–" if value is None else f"{value:.1f}"


def _met(met):
  return {True: "met", False: "**missed**", None: "not measured"}[met]


def _subjects_apart(result):
  return _mm((result or {}).get("bone_length_subject_distance_mm"))


SUBJECTS_NOTE = (
    "Bone-length F1: k-means (k = 2) on the predicted bone lengths, per test subject "
    "(`metrics.kmeans_f1`); subjects apart: the distance between the two subjects' mean "
    "predicted bone-length vectors in mm (`metrics.subject_mean_distance`); – where the test "
    "set does not hold two subjects.")


def _f1_text(result):
  f1 = (result or {}).get("bone_length_f1") or {}
  return " / ".join(f"{f1[s]:.2f}" for s in sorted(f1)) or "–"


def _f1_cells(result, subjects):
  f1 = (result or {}).get("bone_length_f1") or {}
  return [f"{f1[s]:.2f}" if s in f1 else "–" for s in subjects]


def _describe_source(entry):
  subjects = entry["subjects"]
  if not isinstance(subjects, str):
    subjects = f"subjects {min(subjects)}–{max(subjects)}"
  return f"{subjects}, {entry['label_mode']}, {entry['num_frames']} ({entry['ratio']})"


def format_markdown(study, figures):
  """`reproduction.md`: the targets, then each experiment's tables and figures.

  Args:
    study: The `reproduction.json` dict (`study.run`).
    figures: A dict figure name → path relative to the markdown file.

  Returns:
    The markdown text.
  """
  titles = {key: c["title"] for key, c in study["configurations"].items()}
  results = study["results"]
  lines = (_header_section(study) + _e1_section(results["e1"], titles, figures)
           + _e2_section(results["e2"], titles, figures)
           + _e3_section(results["e3"], titles, figures) + _trainings_section(study))
  return "\n".join(lines)


def _header_section(study):
  """The title, the command, the machine and times, and the targets' table."""
  preset = study["preset"]
  lines = [f"# Reproduction study on synthetic data (preset `{preset['name']}`)", "",
           f"    {study['command']}", ""]
  if preset["name"] == "smoke":
    lines += ["A smoke run: a few training steps per configuration. It shows that the study "
              "runs end to end; its numbers are not results.", ""]
  lines += [f"{study['machine']}. The trainings took {study['total_seconds'] / 60:.1f} min "
            "(the trainer's own times: data, training and evaluation, summed); the last "
            f"invocation of the command {study['wall_seconds'] / 60:.1f} min. What each "
            "experiment measures: `docs/reproduction.md`.", "", "## Targets", "",
            evaluate.markdown_table(
                ["experiment", "target", "result", "numbers"],
                [[t["experiment"].upper(), t["target"], _met(t["met"]), t["detail"]]
                 for t in study["targets"]]), ""]
  return lines


def _e1_section(e1, titles, figures):
  """E1's table of every method and its figure."""
  subjects = sorted({s for r in e1["methods"].values() for s in r.get("bone_length_f1", {})})
  return ["## E1: ablation (paper Table Ia, Ic; Fig. 5a)", "",
          "NYU-like (Lab-6, 3D) and HandID-like (Lab-6, 2D clicks) frames mixed 3 : 1; "
          "tested against the true joints of two unseen subjects. Mean errors in mm; "
          "bone-length k-means F1 per test subject; \"subjects apart\": the distance between "
          "the two subjects' mean bone-length vectors (mm; ≈ 0 for a method that predicts "
          "one hand for all); MDPC ratio: the median MDPC over the true joints' (as in E2, "
          "here with correct labels).", "",
          evaluate.markdown_table(
              ["method", "Lab-6", "Unlab-15", "All-21", "palm flipped (%)"]
              + [f"F1 subject {s}" for s in subjects]
              + ["subjects apart", "MDPC median", "MDPC ratio"],
              [[titles[k], _mm(r["lab6_mean_mm"]), _mm(r["unlab15_mean_mm"]),
                _mm(r["all21_mean_mm"]), _percent(r)] + _f1_cells(r, subjects)
               + [_subjects_apart(r), _mm(r["mdpc_median_mm"]),
                  f"{r['mdpc_ratio_to_truth']:.2f}"] for k, r in e1["methods"].items()]
              + [["true joints", "0", "0", "0", "0"]
                 + _f1_cells(e1["true_joints"], subjects)
                 + [_subjects_apart(e1["true_joints"]),
                    _mm(e1["true_joints"]["mdpc_median_mm"]), "1.00"]]),
          "", PALM_FLIPPED_NOTE,
          "", f"![E1 fractions of frames]({figures['e1_frame_fractions']})", "",
          f"More tables (per joint, per subject, MDPC): `{figures['e1_metrics']}`.", ""]


def _e2_section(e2, titles, figures):
  """E2's table (methods, wrong labels, true joints) and its figure."""
  rows = [[titles[k], _mm(r["all21_mean_mm"]), _mm(r["error_to_labels_mean_mm"]),
           _mm(r["mdpc_median_mm"]), _mm(r["mdpc_mean_mm"]), f"{r['mdpc_ratio_to_truth']:.2f}",
           _percent(r)]
          for k, r in e2["methods"].items()]
  truth_median = e2["true_joints"]["mdpc_median_mm"]
  labels_error = e2["wrong_labels"]["error_to_truth_mean_mm"]
  for name, stats, to_labels in (("wrong labels", e2["wrong_labels"], 0.0),
                                 ("true joints", e2["true_joints"], labels_error)):
    rows.append([name, _mm(stats["error_to_truth_mean_mm"]), _mm(to_labels),
                 _mm(stats["mdpc_median_mm"]), _mm(stats["mdpc_mean_mm"]),
                 f"{stats['mdpc_median_mm'] / truth_median:.2f}", _percent(stats)])
  return ["## E2: systematically wrong labels (paper §IV-D, Fig. 6)", "",
          "Trained on the HIM-like set alone (all 21 keypoints with wrong 3D labels, slack "
          f"{configurations_lib.HIM_SLACK_MM:g} mm); tested on held-out HIM-like frames. "
          "Errors and MDPC in mm; the ratio is the median MDPC over the true joints'.", "",
          evaluate.markdown_table(
              ["method", "error to true joints", "error to wrong labels", "MDPC median",
               "MDPC mean", "MDPC ratio", "palm flipped (%)"], rows), "",
          f"![E2 camera and side views]({figures['e2_qualitative']})", "",
          "Wrong labels blue, with the dissimilarity green, without black, true joints "
          "orange; frames evenly spaced over the test set.", "",
          f"More tables: `{figures['e2_metrics']}`.", ""]


def _e3_section(e3, titles, figures):
  """E3's table and figure."""
  return ["## E3: across benchmarks (paper Fig. 5c)", "",
          "The E2 models (trained on wrong labels only) tested on the clean test set of E1. "
          "Mean errors in mm.", "",
          evaluate.markdown_table(
              ["method", "Lab-6", "Unlab-15", "All-21", "palm flipped (%)"],
              [[titles[k], _mm(r["lab6_mean_mm"]), _mm(r["unlab15_mean_mm"]),
                _mm(r["all21_mean_mm"]), _percent(r)] for k, r in e3["methods"].items()]),
          "", f"![E3 fractions of frames]({figures['e3_frame_fractions']})", "",
          f"More tables: `{figures['e3_metrics']}`.", ""]


def _trainings_section(study):
  """Each configuration's training data, settings and times."""
  return ["## Trainings", "",
          "Training data as frame set, label mode, frames (batch share); every setting is in "
          "`reproduction.json`.", "", evaluate.markdown_table(
              ["configuration", "training data", "other settings", "steps", "fit (s)",
               "total (s)"],
              [[key, "<br>".join(_describe_source(entry) for entry in c["train_data"]),
                "<br>".join(f"`{s}`" for s in c["settings"] if not s.startswith("data.")),
                str(c["training"]["epochs"] * c["training"]["steps_per_epoch"]),
                f"{c['training']['fit_seconds']:.0f}", f"{c['training']['total_seconds']:.0f}"]
               for key, c in study["configurations"].items()]), ""]


def _experiment_report(out_dir, methods, titles, title):
  results = {titles[key]: result for key, result in methods.items()}
  return evaluate.write_report(out_dir, results, "hand21", title)


def write(out_dir, study, test_sets, predictions):
  """Writes `reproduction.json`, `reproduction.md`, per-experiment reports and figures.

  Args:
    out_dir: The work directory.
    study: The `reproduction.json` dict (`study.run`).
    test_sets, predictions: As in `analyze` (for the qualitative figure).

  Returns:
    A list of the written paths, relative to `out_dir`.
  """
  out_dir = pathlib.Path(out_dir)
  titles = {key: c["title"] for key, c in study["configurations"].items()}
  figures, written = {}, []
  for experiment, title in (("e1", "E1 clean test set"), ("e2", "E2 HIM-like test set"),
                            ("e3", "E3 clean test set")):
    folder = f"{FILE_PREFIX}{experiment}"
    paths = _experiment_report(out_dir / folder, study["results"][experiment]["methods"],
                               titles, title)
    figures[f"{experiment}_frame_fractions"] = f"{folder}/{paths['frame_fractions'].name}"
    figures[f"{experiment}_metrics"] = f"{folder}/{paths['markdown'].name}"
    written += [f"{folder}/{path.name}" for path in paths.values()]

  him = test_sets[configurations_lib.HIM_TEST]
  frames = np.unique(np.linspace(0, len(him["xyz"]) - 1, QUALITATIVE_FRAMES).astype(int))
  shown = {titles[key]: predictions[(key, configurations_lib.HIM_TEST)]["keypoints"][frames]
           for key in ("e2/full", "e2/no_dissim")}
  shown["true joints"] = him["truth_xyz"][frames]
  qualitative = f"{FILE_PREFIX}e2_qualitative.png"
  plots.plot_qualitative(out_dir / qualitative, him["crop_depth"][frames],
                         him["crop_intrinsics"][frames], him["xyz"][frames], shown,
                         parents=skeleton.KEYPOINT_PARENTS, label_name="wrong labels")
  figures["e2_qualitative"] = qualitative
  (out_dir / "reproduction.json").write_text(
      json.dumps(study, indent=1, allow_nan=False) + "\n", encoding="utf-8")
  (out_dir / "reproduction.md").write_text(format_markdown(study, figures), encoding="utf-8")
  return written + [qualitative, "reproduction.json", "reproduction.md"]
