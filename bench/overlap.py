"""Benchmark: the compiled overlap op against the pure-TF reference, forward + backward.

For B = 16, N_m = 48 and N_i ∈ {256, 1024, 4096}, on realistic inputs
(`handvol.ops.testing.overlap_inputs`: tiled synthetic depth crops, model Gaussians on the
hand), it prints per size the median wall-clock and CPU time (all threads; less sensitive to
other jobs on a shared machine) of one forward + backward step (a `tf.function`
returning the sum and its gradients with respect to the model inputs) for both, their
agreement, and the peak memory each adds. The last line is one JSON object with
`speedup_ni1024` (reference time / op time) and `max_rel_err`. It also times the image
self-overlap of one crop, op against pure TF, and the op's CPU variants (baseline, AVX2,
AVX-512, those the CPU has) against each other (`avx2_over_baseline`, ...). The JSON line
names the machine (`machine`: CPU model, vector extensions, load average).

Peak memory on CPU: `tf.config.experimental.get_memory_info` serves GPUs only, so each
(implementation, N_i) runs in a subprocess of its own, which resets the kernel's high-water mark
of its resident set (writing 5 to /proc/self/clear_refs) after TF is imported and the inputs and
the traced step exist, runs the step, and reports VmHWM − VmRSS in MiB: the peak that the step
adds, allocator caching included.

  python bench/overlap.py [--repeats 20]
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import machine_info  # bench/machine_info.py, beside this script

BATCH = 16
N_M = 48
N_I = (256, 1024, 4096)
SPLIT_DEPTH_RANGE_MM = {256: 20.0, 1024: 2.0, 4096: 0.0}
"""The tiling threshold per N_i: fine enough that the crops have at least N_i leaves."""
SEED = 0
SELF_OVERLAP_SIZES = (256, 1024, 4096)
ISAS = ("baseline", "avx2", "avx512")
ISA_N_I = 1024


def _inputs(n_i):
  from handvol.ops import testing  # pylint: disable=import-outside-toplevel
  return testing.overlap_inputs(np.random.default_rng(SEED), BATCH, n_i, N_M,
                                split_depth_range_mm=SPLIT_DEPTH_RANGE_MM[n_i])


def _step(fn):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  @tf.function(jit_compile=False)
  def step(image, mask, model, sigma_3d):
    with tf.GradientTape() as tape:
      tape.watch([model, sigma_3d])
      value = fn(image, mask, model, sigma_3d)
      total = tf.reduce_sum(value)
    return (value, *tape.gradient(total, [model, sigma_3d]))

  return step


def _functions():
  from handvol import ops  # pylint: disable=import-outside-toplevel
  if not ops.compiled_op_in_use():
    raise SystemExit("the compiled op is not in use: build it first (README, Install)")
  return {"op": ops.gaussian_overlap, "pure_tf": ops.gaussian_overlap_reference}


def _status_kib(field):
  with open("/proc/self/status") as status:
    return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def _peak_memory(implementation, n_i):
  """Runs in a subprocess: MiB that two forward + backward steps add at their peak."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  inputs = [tf.constant(x) for x in _inputs(n_i).values()]
  step = _step(_functions()[implementation])
  step.get_concrete_function(*inputs)
  with open("/proc/self/clear_refs", "w") as clear_refs:
    clear_refs.write("5")
  before = _status_kib("VmRSS")
  for _ in range(2):
    [x.numpy() for x in step(*inputs)]
  return (_status_kib("VmHWM") - before) / 1024


def _measure_memory(implementation, n_i):
  result = subprocess.run(
      [sys.executable, __file__, "--memory-of", implementation, str(n_i)], capture_output=True,
      text=True, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  return float(result.stdout.strip().splitlines()[-1])


def _median_seconds(step, inputs, repeats):
  """Median wall-clock and CPU (all threads of this process) seconds of one step."""
  [x.numpy() for x in step(*inputs)]
  wall, cpu = [], []
  for _ in range(repeats):
    start, start_cpu = time.perf_counter(), time.process_time()
    [x.numpy() for x in step(*inputs)]
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
  return float(np.median(wall)), float(np.median(cpu))


def _self_overlap_ms(fn, n_i, repeats):
  """Median wall-clock ms of a self-overlap function for one crop (as the input pipeline calls
  it)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  inputs = _inputs(n_i)
  image = tf.constant(inputs["image_gaussians"][:1])
  mask = tf.constant(inputs["image_mask"][:1])
  fn = tf.function(fn)
  fn(image, mask).numpy()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn(image, mask).numpy()
    times.append(time.perf_counter() - start)
  return 1000 * float(np.median(times))


def _isa_timing(repeats):
  """Runs in a subprocess (HANDVOL_CPU_ISA set): the op's instruction set and its median ms."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol import ops  # pylint: disable=import-outside-toplevel
  inputs = [tf.constant(x) for x in _inputs(ISA_N_I).values()]
  return {"isa": ops.cpu_isa(),
          "ms": 1000 * _median_seconds(_step(ops.gaussian_overlap), inputs, repeats)[0]}


def _compare_isas(repeats):
  """The op's forward + backward ms at N_i = ISA_N_I with each CPU variant this CPU has, and
  each one's speed-up over the baseline variant, measured in this run."""
  results = {}
  for isa in ISAS:
    run = subprocess.run([sys.executable, __file__, "--time-isa", str(repeats)],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", HANDVOL_CPU_ISA=isa))
    report = json.loads(run.stdout.strip().splitlines()[-1])
    if report["isa"] == isa:
      results[isa] = report["ms"]
  line = ", ".join(f"{isa} {ms:.2f} ms ({results['baseline'] / ms:.2f}x)"
                   for isa, ms in results.items())
  print(f"CPU variants of the op, N_i={ISA_N_I}, forward+backward: {line}")
  summary = {f"op_ms_ni{ISA_N_I}_{isa}": ms for isa, ms in results.items()}
  summary.update({f"{isa}_over_baseline": results["baseline"] / ms
                  for isa, ms in results.items() if isa != "baseline"})
  return summary


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--memory-of", nargs=2, metavar=("IMPLEMENTATION", "N_I"),
                      help=argparse.SUPPRESS)
  parser.add_argument("--time-isa", type=int, metavar="REPEATS", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.memory_of:
    print(_peak_memory(args.memory_of[0], int(args.memory_of[1])))
    return
  if args.time_isa:
    print(json.dumps(_isa_timing(args.time_isa)))
    return
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  functions = _functions()
  print(f"B={BATCH} N_m={N_M}, {os.cpu_count()} CPUs, TensorFlow {tf.__version__}, "
        f"median of {args.repeats} forward+backward steps")
  print(f"{'N_i':>5} {'valid':>6} {'op ms':>8} {'tf ms':>8} {'speedup':>8} {'op cpu':>7} "
        f"{'tf cpu':>7} {'cpu x':>6} {'op MiB':>7} {'tf MiB':>7} {'rel err':>9} {'grad err':>9}")
  summary = {"batch": BATCH, "n_m": N_M, "max_rel_err": 0.0, "max_grad_rel_err": 0.0}
  for n_i in N_I:
    raw = _inputs(n_i)
    inputs = [tf.constant(x) for x in raw.values()]
    steps = {name: _step(fn) for name, fn in functions.items()}
    results = {name: [x.numpy() for x in step(*inputs)] for name, step in steps.items()}
    rel_err = float(np.max(np.abs(results["op"][0] / results["pure_tf"][0] - 1)))
    grad_err = max(float(np.abs(a - b).max() / np.abs(b).max())
                   for a, b in zip(results["op"][1:], results["pure_tf"][1:]))
    timings = {name: _median_seconds(step, inputs, args.repeats) for name, step in steps.items()}
    (op_wall, op_cpu), (tf_wall, tf_cpu) = timings["op"], timings["pure_tf"]
    memory = {name: _measure_memory(name, n_i) for name in functions}
    valid = int(raw["image_mask"].sum() / BATCH)
    print(f"{n_i:>5} {valid:>6} {1000 * op_wall:>8.2f} {1000 * tf_wall:>8.2f} "
          f"{tf_wall / op_wall:>7.1f}x {1000 * op_cpu:>7.1f} {1000 * tf_cpu:>7.1f} "
          f"{tf_cpu / op_cpu:>5.1f}x {memory['op']:>7.1f} {memory['pure_tf']:>7.1f} "
          f"{rel_err:>9.1e} {grad_err:>9.1e}")
    summary.update({f"op_ms_ni{n_i}": 1000 * op_wall, f"pure_tf_ms_ni{n_i}": 1000 * tf_wall,
                    f"speedup_ni{n_i}": tf_wall / op_wall, f"cpu_speedup_ni{n_i}": tf_cpu / op_cpu,
                    f"op_peak_mib_ni{n_i}": memory["op"],
                    f"pure_tf_peak_mib_ni{n_i}": memory["pure_tf"]})
    summary["max_rel_err"] = max(summary["max_rel_err"], rel_err)
    summary["max_grad_rel_err"] = max(summary["max_grad_rel_err"], grad_err)
  from handvol import ops  # pylint: disable=import-outside-toplevel
  for n_i in SELF_OVERLAP_SIZES:
    op_ms = _self_overlap_ms(ops.image_self_overlap, n_i, args.repeats)
    tf_ms = _self_overlap_ms(ops.image_self_overlap_reference, n_i, args.repeats)
    print(f"image_self_overlap, one crop, N_i={n_i}: op {op_ms:.2f} ms, pure TF {tf_ms:.2f} ms "
          f"({tf_ms / op_ms:.0f}x)")
    summary[f"self_overlap_op_ms_ni{n_i}"] = op_ms
    summary[f"self_overlap_pure_tf_ms_ni{n_i}"] = tf_ms
  summary.update(_compare_isas(args.repeats))
  summary["machine"] = machine_info.describe()
  print(machine_info.line())
  print(json.dumps(summary))


if __name__ == "__main__":
  main()
