"""Issue 9's acceptance targets of the reproduction study, each checked against the numbers of
`handvol.experiments.report.analyze` and stated with the numbers it rests on."""


F1_MIN = 0.8
"""E1: Full's bone-length F1 on each test subject must reach this..."""
F1_MARGIN_OVER_NO_HANDID = 0.2
"""... and exceed the run without the HandID-like data by this much on each subject."""
MDPC_RATIO_FULL_MAX = 1.2
"""E2: Full's median MDPC at most this multiple of the true joints' ..."""
MDPC_RATIO_NO_DISSIM_MIN = 1.6
"""... while without the dissimilarity it is at least this multiple."""
CPU_BUDGET_SECONDS = 2 * 3600
"""`--preset cpu` must finish within 2 hours on 2 cores."""
REFERENCE = "supervised21"
"""The E1 configuration that is a reference, not an ablation of Full."""


def _target(experiment, text, met, values, detail):
  return {"experiment": experiment, "target": text, "met": met, "values": values,
          "detail": detail}


def _f1_targets(e1):
  full = e1["methods"].get("e1/full", {}).get("bone_length_f1")
  without = e1["methods"].get("e1/no_handid", {}).get("bone_length_f1")
  if full is None or without is None:
    missing = ("F1 needs exactly two subjects in the clean test set and the runs e1/full and "
               "e1/no_handid")
    return [_target("e1", f"Full's F1 ≥ {F1_MIN} on both test subjects", None, {}, missing),
            _target("e1", f"Full's F1 ≥ {F1_MARGIN_OVER_NO_HANDID} above w/o HandID-like",
                    None, {}, missing)]
  margins = {s: full[s] - without[s] for s in full}
  return [
      _target("e1", f"Full's F1 ≥ {F1_MIN} on both test subjects",
              all(f1 >= F1_MIN for f1 in full.values()), {"full_f1": full},
              ", ".join(f"subject {s}: {f1:.2f} ({f1 - F1_MIN:+.2f})"
                        for s, f1 in full.items())),
      _target("e1", f"Full's F1 ≥ {F1_MARGIN_OVER_NO_HANDID} above w/o HandID-like on each "
              "test subject", all(m >= F1_MARGIN_OVER_NO_HANDID for m in margins.values()),
              {"full_f1": full, "no_handid_f1": without},
              ", ".join(f"subject {s}: {full[s]:.2f} vs {without[s]:.2f} "
                        f"(difference {m:+.2f})" for s, m in margins.items())),
  ]


def check_targets(results, configurations, total_seconds, preset_name):
  """Issue 9's acceptance targets, each with the numbers it rests on.

  Args:
    results: The dict of `report.analyze`.
    configurations: The `configurations.Configuration`s that ran.
    total_seconds: The trainings' recorded seconds summed (`study.run`).
    preset_name: The preset's name; the time budget applies to "cpu".

  Returns:
    A list of dicts: "experiment", "target" (text), "met" (bool, or None when a number is
    missing), "values" (the numbers), "detail" (the numbers and margins as text).
  """
  titles = {c.key: c.title for c in configurations}
  targets = [_e1_ablation_target(results["e1"]["methods"], titles)]
  targets += _f1_targets(results["e1"])
  targets += _e2_targets(results["e2"])
  targets.append(_e3_target(results["e3"]["methods"]))
  if preset_name == "cpu":
    targets.append(_target(
        "all", "--preset cpu finishes within 2 hours on 2 cores",
        total_seconds <= CPU_BUDGET_SECONDS, {"total_seconds": total_seconds},
        f"{total_seconds / 60:.1f} min of {CPU_BUDGET_SECONDS / 60:.0f}"))
  return targets


def _e1_ablation_target(e1, titles):
  full = e1["e1/full"]["unlab15_mean_mm"]
  ablations = {k: r["unlab15_mean_mm"] for k, r in e1.items()
               if k not in ("e1/full", f"e1/{REFERENCE}")}
  return _target(
      "e1", "Full beats every ablation on Unlab-15",
      all(full < error for error in ablations.values()),
      {"full_unlab15_mm": full, "ablations_unlab15_mm": ablations},
      f"Full {full:.2f} mm; " + ", ".join(f"{titles[k]} {e:.2f} ({e - full:+.2f})"
                                          for k, e in ablations.items()))


def _e2_targets(e2):
  truth_median = e2["true_joints"]["mdpc_median_mm"]
  with_dissim, without = e2["methods"]["e2/full"], e2["methods"]["e2/no_dissim"]
  labels_error = e2["wrong_labels"]["error_to_truth_mean_mm"]
  return [
      _target("e2", f"Full's median MDPC ≤ {MDPC_RATIO_FULL_MAX} × the true joints'",
              with_dissim["mdpc_ratio_to_truth"] <= MDPC_RATIO_FULL_MAX,
              {"full_mdpc_median_mm": with_dissim["mdpc_median_mm"],
               "true_joints_mdpc_median_mm": truth_median},
              f"{with_dissim['mdpc_median_mm']:.2f} / {truth_median:.2f} mm = "
              f"{with_dissim['mdpc_ratio_to_truth']:.2f}×"),
      _target("e2", f"w/o Dissim.'s median MDPC ≥ {MDPC_RATIO_NO_DISSIM_MIN} × the true "
              "joints'", without["mdpc_ratio_to_truth"] >= MDPC_RATIO_NO_DISSIM_MIN,
              {"no_dissim_mdpc_median_mm": without["mdpc_median_mm"],
               "true_joints_mdpc_median_mm": truth_median},
              f"{without['mdpc_median_mm']:.2f} / {truth_median:.2f} mm = "
              f"{without['mdpc_ratio_to_truth']:.2f}×"),
      _target("e2", "Full's mean error to the true joints < the wrong labels' own",
              with_dissim["all21_mean_mm"] < labels_error,
              {"full_error_to_truth_mm": with_dissim["all21_mean_mm"],
               "wrong_labels_error_to_truth_mm": labels_error},
              f"{with_dissim['all21_mean_mm']:.2f} vs {labels_error:.2f} mm "
              f"({with_dissim['all21_mean_mm'] - labels_error:+.2f})"),
  ]


def _e3_target(e3):
  with_all21, without_all21 = e3["e2/full"]["all21_mean_mm"], e3["e2/no_dissim"]["all21_mean_mm"]
  return _target(
      "e3", "with Dissim. beats w/o Dissim. on All-21 (clean frames)",
      with_all21 < without_all21,
      {"with_dissim_all21_mm": with_all21, "without_dissim_all21_mm": without_all21},
      f"{with_all21:.2f} vs {without_all21:.2f} mm ({with_all21 - without_all21:+.2f})")
