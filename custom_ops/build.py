"""Compiles handvol's custom-op library `_handvol_ops` (CPU kernels, and CUDA when nvcc is found).

The compile and link flags of TensorFlow come from `tf.sysconfig` alone, so the library matches
the TensorFlow that runs it (C++17 and TF's C++ ABI). The CUDA kernels are compiled whenever
`nvcc` is on PATH (or under $CUDA_HOME/bin), unless `HANDVOL_BUILD_CUDA=0`; the CUDA runtime is
linked statically, so a library built with CUDA still loads, and runs its CPU kernels, under
tensorflow-cpu. Next to the library goes `_handvol_ops.build.json` (TF version, whether CUDA was
compiled, the nvcc version), which the loader checks and the tests read.

`setup.py`'s build_ext calls `build_library`; by hand:

  python custom_ops/build.py                 # into handvol/ops/, as `pip install -e` does
  python custom_ops/build.py --output PATH   # the library file to write
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent
CC_DIR = ROOT / "cc"
LIBRARY_STEM = "_handvol_ops"
BUILD_INFO_NAME = LIBRARY_STEM + ".build.json"

TF_SOURCES = ("ops/gaussian_overlap_ops.cc", "kernels/gaussian_overlap_kernels.cc")
"""Sources that include TensorFlow: compiled with TF's flags."""
CPU_LOOP_SOURCES = ("kernels/gaussian_overlap_cpu.cc",)
"""TF-free CPU loops: compiled with vectorising flags of their own."""
CUDA_SOURCES = ("kernels/gaussian_overlap_cuda.cu.cc",)
HEADERS = ("kernels/gaussian_overlap_math.h", "kernels/gaussian_overlap_cpu.h",
           "kernels/gaussian_overlap_cuda.h", "kernels/gaussian_overlap_cuda.cuh")
ALL_SOURCES = TF_SOURCES + CPU_LOOP_SOURCES + CUDA_SOURCES + HEADERS

CXX_FLAGS = ("-O3", "-fPIC", "-Wno-deprecated-declarations")
# -ffast-math lets the compiler vectorise the sums and call libmvec's vector exp; reciprocal
# math stays off so Δ = 1 − |z_i − z_p|/2σ_h is a true division, exactly 0 where the pure-TF
# twin's is.
CPU_LOOP_FLAGS = ("-std=c++17", "-O3", "-fPIC", "-ffast-math", "-fno-reciprocal-math")
CUDA_ARCHS = ("75", "80", "90")
"""Compute capabilities compiled (nvcc 13's oldest target is 75); PTX for the newest too."""
CUDA_LINK_FLAGS = ("-l:libcudart_static.a", "-ldl", "-lrt", "-lpthread")


def default_library_path():
  """handvol/ops/_handvol_ops<EXT_SUFFIX>, the place an editable install uses."""
  return ROOT.parent / "handvol" / "ops" / (LIBRARY_STEM + sysconfig.get_config_var("EXT_SUFFIX"))


def find_nvcc():
  """The nvcc to use, or None when CUDA is switched off (HANDVOL_BUILD_CUDA=0) or not found."""
  if os.environ.get("HANDVOL_BUILD_CUDA", "1") == "0":
    return None
  nvcc = shutil.which("nvcc")
  cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
  if nvcc is None and cuda_home and (pathlib.Path(cuda_home) / "bin" / "nvcc").is_file():
    nvcc = str(pathlib.Path(cuda_home) / "bin" / "nvcc")
  return nvcc


def cuda_toolkit(nvcc):
  """(toolkit root, nvcc version) of `nvcc`, asked from nvcc itself (it may be a wrapper)."""
  dryrun = subprocess.run([nvcc, "--dryrun", "-x", "cu", "-c", os.devnull, "-o", os.devnull],
                          capture_output=True, text=True, check=True)
  top = re.search(r"^#\$ TOP=(.*)$", dryrun.stdout + dryrun.stderr, flags=re.M)
  version = re.search(r"release ([\d.]+)", subprocess.run(
      [nvcc, "--version"], capture_output=True, text=True, check=True).stdout)
  root = pathlib.Path(top.group(1)).resolve() if top else pathlib.Path(nvcc).resolve().parents[1]
  return root, version.group(1) if version else None


def _cuda_library_dir(root):
  for candidate in ("lib64", "lib", "targets/x86_64-linux/lib"):
    if (root / candidate / "libcudart_static.a").is_file():
      return root / candidate
  raise FileNotFoundError(f"libcudart_static.a not found under {root}")


def _run(command, verbose):
  if verbose:
    print(" ".join(command), flush=True)
  result = subprocess.run(command, capture_output=True, text=True)
  if result.returncode != 0:
    raise RuntimeError(f"command failed ({result.returncode}): {' '.join(command)}\n"
                       f"{result.stdout}{result.stderr}")


def build_library(output=None, verbose=True):
  """Compiles and links the library to `output` and writes the build info beside it.

  Args:
    output: Path of the library file; `default_library_path()` when None.
    verbose: Print each command.

  Returns:
    The dict written to `_handvol_ops.build.json`.
  """
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  output = pathlib.Path(output or default_library_path()).resolve()
  output.parent.mkdir(parents=True, exist_ok=True)
  compile_flags = list(tf.sysconfig.get_compile_flags())
  link_flags = list(tf.sysconfig.get_link_flags())
  cxx = os.environ.get("CXX", "g++")
  nvcc = find_nvcc()
  compiler = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True)
  info = {"tensorflow_version": tf.__version__, "cuda": nvcc is not None, "nvcc_version": None,
          "cuda_archs": [], "compiler": compiler.stdout.splitlines()[0]}
  with tempfile.TemporaryDirectory(prefix="handvol_ops_") as tmp:
    tmp = pathlib.Path(tmp)
    gpu_flags, extra_link, jobs = [], [], []
    if nvcc is not None:
      root, info["nvcc_version"] = cuda_toolkit(nvcc)
      info["cuda_archs"] = list(CUDA_ARCHS)
      gpu_flags = ["-DGOOGLE_CUDA=1", f"-I{root / 'include'}"]
      extra_link = [f"-L{_cuda_library_dir(root)}", *CUDA_LINK_FLAGS]
      gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in CUDA_ARCHS]
      gencode.append(f"-gencode=arch=compute_{CUDA_ARCHS[-1]},code=compute_{CUDA_ARCHS[-1]}")
      for source in CUDA_SOURCES:
        jobs.append([nvcc, "-std=c++17", "-O3", "-c", "-x", "cu", "--expt-relaxed-constexpr",
                     "-Xcompiler", "-fPIC", *gencode, str(CC_DIR / source), "-o",
                     str(tmp / (pathlib.Path(source).name + ".o"))])
    for source in CPU_LOOP_SOURCES:
      jobs.append([cxx, "-c", *CPU_LOOP_FLAGS, str(CC_DIR / source), "-o",
                   str(tmp / (pathlib.Path(source).name + ".o"))])
    for source in TF_SOURCES:
      jobs.append([cxx, "-c", *CXX_FLAGS, *compile_flags, *gpu_flags, str(CC_DIR / source), "-o",
                   str(tmp / (pathlib.Path(source).name + ".o"))])
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
      list(pool.map(lambda command: _run(command, verbose), jobs))
    objects = [command[-1] for command in jobs]
    _run([cxx, "-shared", *objects, "-o", str(output), *link_flags, *extra_link], verbose)
  (output.parent / BUILD_INFO_NAME).write_text(json.dumps(info, indent=2) + "\n")
  return info


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--output", help="library file to write (default: %(default)s)",
                      default=str(default_library_path()))
  parser.add_argument("--quiet", action="store_true", help="do not print the commands")
  args = parser.parse_args(argv)
  print(json.dumps(build_library(args.output, verbose=not args.quiet)))


if __name__ == "__main__":
  sys.exit(main())
