#!/bin/bash
# The default run before and after the restructure (issue 21), same seed, deterministic TF ops.
#
#   bash scripts/restructure_same_numbers.sh [OUT]     # OUT defaults to /tmp/restructure
#
# before = a211261 (the commit before the restructure), after = d1506d7 (the restructure and
# shapes.check_static; the commits after it change the op's build, tests and docs). Both build
# the overlap op from the same sources with the setup.py of the time (the first-use builder came
# later), in git worktrees, and train with the current virtual environment's TensorFlow.
# Results: docs/results/restructure_same_numbers/.
set -euo pipefail
out=${1:-/tmp/restructure}
repo=$(git rev-parse --show-toplevel)
mkdir -p "$out"
for pair in before:a211261 after:d1506d7; do
  name=${pair%%:*}; commit=${pair##*:}
  [ -d "$out/$name" ] || git -C "$repo" worktree add -f "$out/$name" "$commit"
done
(cd "$out/before" && python setup.py build_ext --inplace > "$out/build.log" 2>&1)
cp "$out"/before/handvol/ops/_handvol_ops*.so "$out"/before/handvol/ops/_handvol_ops.build.json \
  "$out/after/handvol/ops/"
export TF_DETERMINISTIC_OPS=1
for run in before:1 after:1 after:2; do
  name=${run%%:*}; k=${run##*:}
  (cd "$out/$name" && python train.py --workdir="$out/run_${name}_$k" > "$out/log_${name}_$k.txt" 2>&1)
  ! grep -q "pure-TF gaussian_overlap" "$out/log_${name}_$k.txt"  # the compiled op ran
done
python - "$out" <<'PY'
import json, sys
out = sys.argv[1]
runs = {name: json.load(open(f"{out}/run_{name}/summary.json")) for name in
        ("before_1", "after_1", "after_2")}
keys = [k for k in runs["before_1"] if k.endswith("_mm") or k.endswith("_mm_untrained")]
for name, summary in runs.items():
  print(name, {k: summary[k] for k in keys})
print("after equal to before, bit for bit:",
      [name for name in ("after_1", "after_2") if all(runs[name][k] == runs["before_1"][k] for k in keys)])
PY
