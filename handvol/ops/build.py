"""Builds the overlap op's library against the running TensorFlow, on first use, into a cache.

The library `_handvol_ops.so` holds the CPU kernels (and the CUDA kernels when `nvcc` is found)
of `Handvol>GaussianOverlap`, its gradient, `Handvol>ImageSelfOverlap` and `Handvol>CpuIsa`. It
is compiled with the flags of `tf.sysconfig` alone, so it matches the TensorFlow that loads it,
into a folder of the cache whose name holds everything the binary depends on:

  $HANDVOL_OPS_CACHE (default ~/.cache/handvol/ops) /
      tf<TF version>-<machine>-<cpu|cuda<nvcc version>>-<hash of sources, compiler, flags>/
          _handvol_ops.so  _handvol_ops.build.json

Another TensorFlow, compiler, source tree or CUDA choice gets another folder; a folder is
complete or absent (it is built under a temporary name and renamed). A lock file beside it makes
a second process wait for the first one's build instead of building too. The CPU pair loops are
compiled for AVX-512, AVX2 and the x86-64 baseline in one binary and pick one at run time
(`Handvol>CpuIsa` says which), so one build serves every CPU of the machine type.

The sources are `custom_ops/cc` of a source tree, or their copy `handvol/ops/_sources` in an
installed wheel. `python -m handvol.ops.build [--output PATH]` (or `python custom_ops/build.py`, the same
command) builds ahead of time and prints the build record.
"""

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile

CACHE_ENV = "HANDVOL_OPS_CACHE"
BUILD_CUDA_ENV = "HANDVOL_BUILD_CUDA"
LIBRARY_NAME = "_handvol_ops.so"
BUILD_INFO_NAME = "_handvol_ops.build.json"
PACKAGED_SOURCES = pathlib.Path(__file__).resolve().parent / "_sources"
TREE_SOURCES = pathlib.Path(__file__).resolve().parents[2] / "custom_ops" / "cc"

TF_SOURCES = ("ops/gaussian_overlap_ops.cc", "kernels/gaussian_overlap_kernels.cc")
"""Sources that include TensorFlow: compiled with TF's flags."""
CPU_LOOP_SOURCES = ("kernels/gaussian_overlap_cpu.cc",)
"""TF-free CPU loops: compiled with vectorising flags of their own."""
CUDA_SOURCES = ("kernels/gaussian_overlap_cuda.cu.cc",)
HEADERS = ("kernels/gaussian_overlap_math.h", "kernels/gaussian_overlap_cpu.h",
           "kernels/gaussian_overlap_cuda.h", "kernels/gaussian_overlap_cuda.cuh")
ALL_SOURCES = TF_SOURCES + CPU_LOOP_SOURCES + CUDA_SOURCES + HEADERS

CXX_FLAGS = ("-O3", "-fPIC", "-Wno-deprecated-declarations")
# -ffast-math lets the compiler vectorise the sums; reciprocal math stays off so
# Δ = 1 − |z_i − z_p|/2σ_h is a true division, exactly 0 where the pure-TF twin's is. No -march:
# the loops carry their own target attributes and dispatch at run time.
CPU_LOOP_FLAGS = ("-std=c++17", "-O3", "-fPIC", "-ffast-math", "-fno-reciprocal-math")
CUDA_ARCHS = ("75", "80", "90")
"""Compute capabilities compiled (nvcc 13's oldest target is 75); PTX for the newest too."""
CUDA_LINK_FLAGS = ("-l:libcudart_static.a", "-ldl", "-lrt", "-lpthread")


class BuildError(RuntimeError):
  """The library cannot be built here; the message is one line that says what to do."""


def sources_dir():
  """The folder of the op's C++/CUDA sources: the installed copy, else the source tree's."""
  for candidate in (PACKAGED_SOURCES, TREE_SOURCES):
    if all((candidate / name).is_file() for name in ALL_SOURCES):
      return candidate
  raise BuildError(f"the op's sources are neither in {PACKAGED_SOURCES} nor in {TREE_SOURCES}: "
                   "reinstall handvol")


def cache_root():
  """$HANDVOL_OPS_CACHE, else ~/.cache/handvol/ops (XDG_CACHE_HOME honoured)."""
  if os.environ.get(CACHE_ENV):
    return pathlib.Path(os.environ[CACHE_ENV]).expanduser()
  base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
  return pathlib.Path(base) / "handvol" / "ops"


def find_nvcc():
  """The nvcc to use, or None when CUDA is switched off (HANDVOL_BUILD_CUDA=0) or not found."""
  if os.environ.get(BUILD_CUDA_ENV, "1") == "0":
    return None
  nvcc = shutil.which("nvcc")
  cuda_home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
  if nvcc is None and cuda_home and (pathlib.Path(cuda_home) / "bin" / "nvcc").is_file():
    nvcc = str(pathlib.Path(cuda_home) / "bin" / "nvcc")
  return nvcc


def find_compiler():
  """The C++ compiler ($CXX, else g++), or a BuildError that says what to install."""
  cxx = os.environ.get("CXX", "g++")
  if shutil.which(cxx) is None:
    raise BuildError(f"no C++ compiler ({cxx!r} is not on PATH) to build the compiled overlap "
                     "op: install g++ (Debian/Ubuntu: apt-get install g++; Fedora: dnf install "
                     "gcc-c++) or set CXX")
  return cxx


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
  raise BuildError(f"libcudart_static.a not found under {root}: fix the CUDA toolkit or build "
                   f"without CUDA ({BUILD_CUDA_ENV}=0)")


def _toolchain():
  """What the binary depends on besides the sources: TF, compiler, nvcc, flags."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  cxx = find_compiler()
  nvcc = find_nvcc()
  compiler = subprocess.run([cxx, "--version"], capture_output=True, text=True, check=True)
  cuda_root, nvcc_version = cuda_toolkit(nvcc) if nvcc else (None, None)
  return {"tensorflow_version": tf.__version__, "cxx": cxx,
          "compiler": compiler.stdout.splitlines()[0], "nvcc": nvcc, "cuda_root": cuda_root,
          "nvcc_version": nvcc_version, "compile_flags": list(tf.sysconfig.get_compile_flags()),
          "link_flags": list(tf.sysconfig.get_link_flags())}


def _fingerprint(toolchain, sources):
  digest = hashlib.sha256()
  for name in ALL_SOURCES:
    digest.update(name.encode() + b"\0" + (sources / name).read_bytes() + b"\0")
  for key in ("tensorflow_version", "compiler", "nvcc_version", "compile_flags", "link_flags"):
    digest.update(json.dumps(toolchain[key]).encode())
  digest.update(json.dumps([CXX_FLAGS, CPU_LOOP_FLAGS, CUDA_ARCHS]).encode())
  return digest.hexdigest()[:16]


def library_dir(toolchain=None):
  """The cache folder for the running TensorFlow, toolchain and sources (built or not)."""
  toolchain = toolchain or _toolchain()
  cuda = f"cuda{toolchain['nvcc_version']}" if toolchain["nvcc"] else "cpu"
  name = (f"tf{toolchain['tensorflow_version']}-{platform.machine()}-{cuda}-"
          f"{_fingerprint(toolchain, sources_dir())}")
  return cache_root() / name


def read_build_info(folder):
  """The build record of the library in `folder` (a dict), or None when there is none."""
  try:
    return json.loads((pathlib.Path(folder) / BUILD_INFO_NAME).read_text())
  except (OSError, ValueError):
    return None


def _is_complete(folder):
  return (folder / LIBRARY_NAME).is_file() and read_build_info(folder) is not None


@contextlib.contextmanager
def _exclusive(lock_path):
  lock_path.parent.mkdir(parents=True, exist_ok=True)
  with open(lock_path, "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_library(verbose=False):
  """The path of a library built for the running TensorFlow, building it first if needed.

  Safe to call from several processes at once: one builds, the others wait for it.

  Args:
    verbose: Print each compiler command.

  Returns:
    The `pathlib.Path` of `_handvol_ops.so`, with `_handvol_ops.build.json` beside it.

  Raises:
    BuildError: with one line that says what is missing (a compiler, the sources) or where the
      compiler's output of a failed build is.
  """
  toolchain = _toolchain()
  folder = library_dir(toolchain)
  if not _is_complete(folder):
    with _exclusive(folder.with_name(folder.name + ".lock")):
      if not _is_complete(folder):
        _build_into(folder, toolchain, verbose)
  return folder / LIBRARY_NAME


def _build_into(folder, toolchain, verbose):
  if not verbose:
    print(f"handvol.ops: building the compiled overlap op into {folder} (once per TensorFlow "
          "and compiler; about a minute)", file=sys.stderr, flush=True)
  staging = pathlib.Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
  try:
    info = build_library(staging / LIBRARY_NAME, toolchain, verbose,
                         log=folder.with_name(folder.name + ".log"))
  except BuildError:
    shutil.rmtree(staging, ignore_errors=True)
    raise
  if folder.exists():  # An incomplete folder left by a killed build of an older handvol.
    shutil.rmtree(folder)
  os.replace(staging, folder)
  return info


def _run(command, verbose, log):
  if verbose:
    print(" ".join(command), flush=True)
  result = subprocess.run(command, capture_output=True, text=True)
  if result.returncode != 0:
    log.write_text(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    raise BuildError(f"compiling the overlap op failed ({pathlib.Path(command[0]).name} exited "
                     f"{result.returncode}); the compiler's output is in {log}")


def _compile_jobs(toolchain, sources, tmp):
  """The compiler commands, each ending in its object file; and the extra link flags."""
  jobs, gpu_flags, extra_link = [], [], []
  if toolchain["nvcc"]:
    root = toolchain["cuda_root"]
    gpu_flags = ["-DGOOGLE_CUDA=1", f"-I{root / 'include'}"]
    extra_link = [f"-L{_cuda_library_dir(root)}", *CUDA_LINK_FLAGS]
    gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in CUDA_ARCHS]
    gencode.append(f"-gencode=arch=compute_{CUDA_ARCHS[-1]},code=compute_{CUDA_ARCHS[-1]}")
    jobs += [[toolchain["nvcc"], "-std=c++17", "-O3", "-c", "-x", "cu",
              "--expt-relaxed-constexpr", "-Xcompiler", "-fPIC", *gencode, str(sources / s),
              "-o", str(tmp / (pathlib.Path(s).name + ".o"))] for s in CUDA_SOURCES]
  cxx = toolchain["cxx"]
  jobs += [[cxx, "-c", *CPU_LOOP_FLAGS, str(sources / s), "-o",
            str(tmp / (pathlib.Path(s).name + ".o"))] for s in CPU_LOOP_SOURCES]
  jobs += [[cxx, "-c", *CXX_FLAGS, *toolchain["compile_flags"], *gpu_flags, str(sources / s),
            "-o", str(tmp / (pathlib.Path(s).name + ".o"))] for s in TF_SOURCES]
  return jobs, extra_link


def build_library(output, toolchain=None, verbose=True, log=None):
  """Compiles and links the library to `output` and writes the build record beside it.

  Args:
    output: Path of the library file to write.
    toolchain: What `_toolchain()` returns; asked afresh when None.
    verbose: Print each command.
    log: Where a failed command's output goes; beside `output` when None.

  Returns:
    The dict written to `_handvol_ops.build.json`.
  """
  toolchain = toolchain or _toolchain()
  output = pathlib.Path(output).resolve()
  output.parent.mkdir(parents=True, exist_ok=True)
  log = pathlib.Path(log) if log else output.with_name("_handvol_ops.build.log")
  info = {"tensorflow_version": toolchain["tensorflow_version"], "cuda": bool(toolchain["nvcc"]),
          "nvcc_version": toolchain["nvcc_version"],
          "cuda_archs": list(CUDA_ARCHS) if toolchain["nvcc"] else [],
          "compiler": toolchain["compiler"], "machine": platform.machine()}
  with tempfile.TemporaryDirectory(prefix="handvol_ops_") as tmp:
    jobs, extra_link = _compile_jobs(toolchain, sources_dir(), pathlib.Path(tmp))
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
      list(pool.map(lambda command: _run(command, verbose, log), jobs))
    _run([toolchain["cxx"], "-shared", *(c[-1] for c in jobs), "-o", str(output),
          *toolchain["link_flags"], *extra_link], verbose, log)
  (output.parent / BUILD_INFO_NAME).write_text(json.dumps(info, indent=2) + "\n")
  return info


def main(output=None, verbose=False, prog="python -m handvol.ops.build"):
  """Builds the library (into the cache, or at `output`) and prints where it is and its build
  record as one JSON line; a `BuildError` is one line on stderr. Returns the exit code."""
  try:
    if output:
      path = pathlib.Path(output).resolve()
      build_library(path, verbose=verbose)
    else:
      path = ensure_library(verbose=verbose)
  except BuildError as error:
    print(f"{prog}: {error}", file=sys.stderr)
    return 1
  print(json.dumps({"library": str(path), **read_build_info(path.parent)}))
  return 0


if __name__ == "__main__":
  from absl import app  # pylint: disable=ungrouped-imports
  from absl import flags

  _OUTPUT = flags.DEFINE_string("output", None, "Write the library here instead of the cache.")
  _VERBOSE = flags.DEFINE_bool("verbose", False, "Print each compiler command.")
  app.run(lambda argv: sys.exit(main(_OUTPUT.value, _VERBOSE.value)))
