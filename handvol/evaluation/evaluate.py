"""Evaluation drivers: keypoint arrays → a metrics dict → `metrics.json`, `metrics.md`, plots.

`evaluate_keypoints` is the one place where predictions meet the metrics: prediction files go
through it (`evaluate_prediction_files`), and so do a trained model's predictions, with the
depth crops (MDPC) and subjects (bone-length F1) that only a model evaluation has.
`write_report` then writes any set of methods' results side by side.
"""

import dataclasses
import json
import pathlib

import numpy as np

from handvol.data import nyu
from handvol.data import records
from handvol.evaluation import community_format
from handvol.evaluation import metrics
from handvol.evaluation import plots
from handvol.evaluation import protocols

REPORT_THRESHOLDS_MM = (10, 20, 30, 40, 50)
"""Thresholds (mm) whose fraction of frames the markdown table prints."""


@dataclasses.dataclass(frozen=True)
class CommunityDataset:
  """How to read a dataset's community label and prediction files.

  Attributes:
    title: Name printed in reports.
    intrinsics: (fx, fy, cx, cy) of the full images the files' pixels refer to.
    layout: The `protocols.LAYOUTS` key of the files' joints.
    num_frames: Frames of the full test set.
    subject_first_frames: First frame of each subject in the full test set (subject ids are
      positions in this tuple); used only when a label file holds exactly `num_frames` frames.
  """
  title: str
  intrinsics: tuple
  layout: str
  num_frames: int
  subject_first_frames: tuple

  def subjects(self, num_frames):
    """Subject id per frame `[num_frames]`, or None for a file that is not the full test set."""
    if num_frames != self.num_frames:
      return None
    return np.searchsorted(self.subject_first_frames, np.arange(num_frames), side="right") - 1


DATASETS = {
    "nyu": CommunityDataset(title="NYU test set", intrinsics=nyu.INTRINSICS, layout="nyu14",
                            num_frames=8252,
                            subject_first_frames=(0, nyu.TEST_SUBJECT_SPLIT)),
}
"""Datasets whose community files `evaluate_prediction_files` reads, by `--dataset` name."""


def _frac_key(protocol, index):
  """The result key of a protocol's curve: the layout's all-keypoint protocol (index 0) has
  the plain name that the community's tables use."""
  return "frac_max_le_mm" if index == 0 else f"{protocol.name}_frac_max_le_mm"


def _protocol_means(errors, layout):
  return {f"{p.name}_mean_mm": metrics.mean_error(errors, p.indices)
          for p in protocols.protocols_for_layout(layout)}


def _breakdown(errors, groups, layout, arg_name, names=None):
  """Frames and protocol means per group id, keyed by `names[id]` or by the id as a string."""
  groups = np.asarray(groups)
  if groups.shape != errors.shape[:1]:
    raise ValueError(f"{arg_name} must have shape [{errors.shape[0]}] (one id per frame), got "
                     f"shape {groups.shape}")
  return {(names[g] if names else str(g)): {"num_frames": int(np.sum(groups == g)),
                                            **_protocol_means(errors[groups == g], layout)}
          for g in np.unique(groups).tolist()}


def evaluate_keypoints(predicted, truth, layout, subjects=None, datasets=None, depth=None,
                       intrinsics=None, bone_length_vectors=None):
  """Every metric of one method's predictions against the truth.

  Args:
    predicted: An array of shape `[F, J, 3]`, camera-frame xyz in mm, in `layout` order.
    truth: An array of shape `[F, J, 3]`, the true keypoints, same frames and order.
    layout: The `protocols.LAYOUTS` key of both arrays ("nyu14" or "hand21").
    subjects: Optional subject id per frame `[F]`: adds "per_subject", and, for exactly two
      subjects with bone lengths available, "bone_length_f1" and
      "bone_length_subject_distance_mm" (`metrics.subject_mean_distance`).
    datasets: Optional dataset id per frame `[F]` (`handvol.data.records.DATASETS` indices):
      adds "per_dataset", keyed by dataset name.
    depth: Optional depth crops `[F, H, W]` in mm (0 invalid) that the predictions were made
      on: adds the MDPC summary.
    intrinsics: The crops' (fx, fy, cx, cy), `[F, 4]` or `[4]`; required with `depth`.
    bone_length_vectors: Optional `[F, NUM_BONES]` predicted bone lengths in mm (a model's
      b = mean + basis·β). Without them, the "hand21" layout measures bones on `predicted`.

  Returns:
    A JSON-ready dict: "num_frames"; "<protocol>_mean_mm" for each protocol of the layout;
    "frac_max_le_mm" (threshold T in `metrics.THRESHOLDS_MM` → percent of frames whose
    maximum error over all of the layout's keypoints is ≤ T) and "<protocol>_frac_max_le_mm"
    for the layout's other protocols; "per_joint_mm" (joint name → mm); and the optional
    entries above.
  """
  layout_protocols = protocols.protocols_for_layout(layout)
  names = protocols.LAYOUTS[layout]
  errors = metrics.joint_errors(predicted, truth)
  if errors.shape[1] != len(names):
    raise ValueError(f"predicted must have the {len(names)} keypoints of layout {layout!r} in "
                     f"axis 1, got shape {np.shape(predicted)}")
  result = {"num_frames": int(errors.shape[0]), **_protocol_means(errors, layout)}
  for index, protocol in enumerate(layout_protocols):
    percent = metrics.fraction_within(errors, protocol.indices)
    result[_frac_key(protocol, index)] = {
        str(t): float(p) for t, p in zip(metrics.THRESHOLDS_MM.tolist(), percent)}
  result["per_joint_mm"] = dict(zip(names, metrics.per_joint_errors(errors).tolist()))
  if subjects is not None:
    result["per_subject"] = _breakdown(errors, subjects, layout, "subjects")
  if datasets is not None:
    result["per_dataset"] = _breakdown(errors, datasets, layout, "datasets", records.DATASETS)
  if depth is not None:
    if intrinsics is None:
      raise ValueError("intrinsics of the depth crops are required with depth")
    result.update(metrics.summarize_mdpc(metrics.mdpc(predicted, depth, intrinsics)))
  if bone_length_vectors is None and layout == "hand21":
    bone_length_vectors = metrics.bone_lengths(predicted)
  if (subjects is not None and bone_length_vectors is not None
      and np.unique(subjects).size == 2):
    result["bone_length_f1"] = {str(s): f1 for s, f1 in
                                metrics.kmeans_f1(bone_length_vectors, subjects).items()}
    result["bone_length_subject_distance_mm"] = metrics.subject_mean_distance(
        bone_length_vectors, subjects)
  return result


def markdown_table(header, rows):
  """A markdown table: `header` a list of column titles, `rows` lists of cell strings."""
  lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
  lines += ["| " + " | ".join(row) + " |" for row in rows]
  return "\n".join(lines)


def _fmt(value):
  return "–" if value is None else f"{value:.3f}"


def format_markdown(results, layout, title):
  """The markdown report of several methods' `evaluate_keypoints` results on one layout.

  Args:
    results: A dict method name → result dict.
    layout: The `protocols.LAYOUTS` key the results were computed on.
    title: The report's heading.

  Returns:
    A string: a summary table (protocol means in mm, fractions of frames in %), per-joint
    errors, and the per-subject, per-dataset, MDPC and F1 tables that the results hold.
  """
  layout_protocols = protocols.protocols_for_layout(layout)
  sections = [f"# {title}"]
  header = (["method"] + [f"{p.title} mean (mm)" for p in layout_protocols]
            + [f"max error ≤ {t} mm (%)" for t in REPORT_THRESHOLDS_MM])
  rows = [[name] + [_fmt(r[f"{p.name}_mean_mm"]) for p in layout_protocols]
          + [f"{r['frac_max_le_mm'][str(t)]:.2f}" for t in REPORT_THRESHOLDS_MM]
          for name, r in results.items()]
  sections.append(markdown_table(header, rows) + "\n\nFractions of frames count a frame when "
                  f"its maximum error over the {layout_protocols[0].title} keypoints is ≤ T.")
  names = protocols.LAYOUTS[layout]
  sections.append("## Mean error per joint (mm)\n\n" + markdown_table(
      ["joint"] + list(results),
      [[joint] + [_fmt(r["per_joint_mm"][joint]) for r in results.values()]
       for joint in names]))
  for key, heading in (("per_subject", "subject"), ("per_dataset", "dataset")):
    if any(key in r for r in results.values()):
      rows = [[name, group, str(g["num_frames"])]
              + [_fmt(g[f"{p.name}_mean_mm"]) for p in layout_protocols]
              for name, r in results.items() for group, g in r.get(key, {}).items()]
      sections.append(f"## Per {heading}\n\n" + markdown_table(
          ["method", heading, "frames"] + [f"{p.title} mean (mm)" for p in layout_protocols],
          rows))
  if any("mdpc_median_mm" in r for r in results.values()):
    sections.append("## Minimum distance to the point cloud (MDPC)\n\n" + markdown_table(
        ["method", "median (mm)", "mean (mm)", "frames without depth"],
        [[name, _fmt(r["mdpc_median_mm"]), _fmt(r["mdpc_mean_mm"]),
          str(r["mdpc_frames_without_depth"])]
         for name, r in results.items() if "mdpc_median_mm" in r]))
  if any("bone_length_f1" in r for r in results.values()):
    sections.append("## Bone-length consistency (k-means F1 per subject)\n\n" + markdown_table(
        ["method", "subject", "F1"],
        [[name, subject, f"{f1:.2f}"] for name, r in results.items()
         for subject, f1 in r.get("bone_length_f1", {}).items()]))
  return "\n\n".join(sections) + "\n"


def write_report(out_dir, results, layout, title):
  """Writes `metrics.json`, `metrics.md`, `frame_fractions.png` and `per_joint_errors.png`.

  Args:
    out_dir: The output folder (created if missing).
    results: A dict method name → `evaluate_keypoints` result.
    layout: The `protocols.LAYOUTS` key the results were computed on.
    title: Title of the report and the figures.

  Returns:
    A dict kind ("json", "markdown", "frame_fractions", "per_joint") → the written path.
  """
  out_dir = pathlib.Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  paths = {"json": out_dir / "metrics.json", "markdown": out_dir / "metrics.md",
           "frame_fractions": out_dir / "frame_fractions.png",
           "per_joint": out_dir / "per_joint_errors.png"}
  paths["json"].write_text(json.dumps(results, indent=1, allow_nan=False) + "\n",
                           encoding="utf-8")
  paths["markdown"].write_text(format_markdown(results, layout, title), encoding="utf-8")
  panels = {}
  for index, protocol in enumerate(protocols.protocols_for_layout(layout)):
    key = _frac_key(protocol, index)
    panels[f"{title}: {protocol.title}"] = {
        name: [r[key][str(t)] for t in metrics.THRESHOLDS_MM] for name, r in results.items()}
  plots.plot_frame_fractions(paths["frame_fractions"], panels)
  plots.plot_per_joint_errors(
      paths["per_joint"],
      {name: [r["per_joint_mm"][joint] for joint in protocols.LAYOUTS[layout]]
       for name, r in results.items()},
      protocols.LAYOUTS[layout], title=title)
  return paths


def parse_named_paths(entries):
  """Parses `NAME=FILE` entries (the `--predictions` flag) into an ordered dict name → path."""
  named = {}
  for entry in entries:
    name, separator, path = entry.partition("=")
    if not separator or not name or not path:
      raise ValueError(f"expected NAME=FILE, got {entry!r}")
    if name in named:
      raise ValueError(f"method name {name!r} is given twice")
    named[name] = path
  return named


def evaluate_prediction_files(dataset, labels_path, predictions, out_dir):
  """Evaluates community prediction files against a community label file and writes a report.

  Args:
    dataset: A `DATASETS` key, e.g. "nyu".
    labels_path: The label file (one frame a line, u v d per joint).
    predictions: A dict method name → prediction file, same format and frames.
    out_dir: The output folder of `write_report`.

  Returns:
    A dict method name → `evaluate_keypoints` result (what `metrics.json` holds).
  """
  if dataset not in DATASETS:
    raise ValueError(f"dataset must be one of {sorted(DATASETS)}, got {dataset!r}")
  if not predictions:
    raise ValueError("predictions must name at least one NAME=FILE")
  spec = DATASETS[dataset]
  num_joints = len(protocols.LAYOUTS[spec.layout])
  labels = community_format.read_uvd(labels_path, num_joints)
  predicted = {name: community_format.read_uvd(path, num_joints)
               for name, path in predictions.items()}
  community_format.check_frame_counts(labels, predicted)
  truth = community_format.uvd_to_camera(labels, spec.intrinsics)
  subjects = spec.subjects(len(labels))
  results = {name: evaluate_keypoints(community_format.uvd_to_camera(uvd, spec.intrinsics),
                                      truth, spec.layout, subjects=subjects)
             for name, uvd in predicted.items()}
  write_report(out_dir, results, spec.layout, title=spec.title)
  return results
