"""Runs the standalone CUDA harness against the CPU op's results, and times it.

It computes the overlap and its gradient with the compiled CPU op for fixed realistic inputs
(`handvol.ops.testing.overlap_inputs`, seeded), saves inputs and results to a case file,
compiles `overlap_harness.cu` with nvcc (no TensorFlow involved) and runs it on the case. The
harness prints one JSON line: its errors against the CPU op and the kernels' median times.

  python custom_ops/harness/run_harness.py [--n-i 1024] [--compile-only]

`--compile-only` builds the case file and the binary and stops (a machine without a GPU).
"""

import argparse
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
SOURCE = HERE / "overlap_harness.cu"
CASE_VERSION = 1
CASE_MAGIC = b"HVOL"
NVCC_ARCHS = ("75", "80", "90")
SEED = 0


def write_case(path, batch, n_i, n_m):
  """Saves inputs and the compiled CPU op's results (forward, gradient for grad = 1)."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from handvol import numerics  # pylint: disable=import-outside-toplevel
  from handvol.ops import overlap, testing  # pylint: disable=import-outside-toplevel
  library = overlap.load_library()
  if library is None:
    raise SystemExit("the compiled op is not available: build it first (README, Install)")
  inputs = testing.overlap_inputs(np.random.default_rng(SEED), batch, n_i, n_m)
  with tf.device("/cpu:0"):
    values = library.handvol_gaussian_overlap(**inputs, eps=numerics.EPS)
    grad = tf.ones([batch])
    grad_model, grad_sigma_3d = library.handvol_gaussian_overlap_grad(
        grad, *inputs.values(), eps=numerics.EPS)
  arrays = [*inputs.values(), grad, values, grad_model, grad_sigma_3d]
  with open(path, "wb") as case:
    case.write(CASE_MAGIC + struct.pack("<4if", CASE_VERSION, batch, n_i, n_m, numerics.EPS))
    for array in arrays:
      case.write(np.asarray(array, dtype="<f4").tobytes())


def compile_harness(binary, archs=NVCC_ARCHS):
  """Compiles overlap_harness.cu to `binary` for the compute capabilities `archs`."""
  nvcc = shutil.which("nvcc")
  if nvcc is None:
    raise SystemExit("nvcc is not on PATH")
  gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in archs]
  subprocess.run([nvcc, "-std=c++17", "-O3", "--expt-relaxed-constexpr", *gencode, str(SOURCE),
                  "-o", str(binary)], check=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--n-i", type=int, default=1024)
  parser.add_argument("--n-m", type=int, default=48)
  parser.add_argument("--repeats", type=int, default=100)
  parser.add_argument("--workdir", default="build/harness", help="case file and binary")
  parser.add_argument("--compile-only", action="store_true")
  args = parser.parse_args()
  workdir = pathlib.Path(args.workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  case, binary = workdir / f"case_ni{args.n_i}.bin", workdir / "overlap_harness"
  write_case(case, args.batch, args.n_i, args.n_m)
  compile_harness(binary)
  print(f"case {case}, harness {binary}", flush=True)
  if not args.compile_only:
    sys.exit(subprocess.run([str(binary), str(case), str(args.repeats)]).returncode)


if __name__ == "__main__":
  main()
