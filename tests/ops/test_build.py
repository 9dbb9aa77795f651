"""The op's build on first use: the cache key, the lock, clear errors, and the CPU dispatch."""

import functools
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from handvol.ops import build

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
ISAS = ("baseline", "avx2", "avx512")


def test_cuda_build_can_be_switched_off(monkeypatch):
  monkeypatch.setenv(build.BUILD_CUDA_ENV, "0")
  assert build.find_nvcc() is None
  monkeypatch.setenv(build.BUILD_CUDA_ENV, "1")
  assert build.find_nvcc() == shutil.which("nvcc")


def test_the_cache_folder_changes_with_tensorflow_compiler_cuda_and_sources(monkeypatch,
                                                                          tmp_path):
  monkeypatch.setenv(build.CACHE_ENV, str(tmp_path / "cache"))
  toolchain = build._toolchain()
  folder = build.library_dir(toolchain)
  assert folder.parent == tmp_path / "cache"
  assert folder.name.startswith(f"tf{toolchain['tensorflow_version']}-")
  others = [dict(toolchain, tensorflow_version="2.99.0"), dict(toolchain, compiler="g++ 99"),
            dict(toolchain, nvcc=None if toolchain["nvcc"] else "nvcc", nvcc_version="12.5")]
  assert len({folder} | {build.library_dir(t) for t in others}) == 4
  sources = tmp_path / "sources"
  shutil.copytree(build.sources_dir(), sources)
  monkeypatch.setattr(build, "sources_dir", lambda: sources)
  assert build.library_dir(toolchain) == folder
  kernel = sources / build.CPU_LOOP_SOURCES[0]
  kernel.write_text(kernel.read_text() + "\n// changed\n")
  assert build.library_dir(toolchain) != folder


def test_missing_sources_say_what_to_do(monkeypatch, tmp_path):
  monkeypatch.setattr(build, "PACKAGED_SOURCES", tmp_path / "a")
  monkeypatch.setattr(build, "TREE_SOURCES", tmp_path / "b")
  with pytest.raises(build.BuildError, match="reinstall handvol"):
    build.sources_dir()


def test_a_missing_compiler_is_one_line_that_says_what_to_install(monkeypatch):
  monkeypatch.setenv("CXX", "no-such-compiler-g++")
  with pytest.raises(build.BuildError) as caught:
    build.find_compiler()
  assert "install g++" in str(caught.value) and "\n" not in str(caught.value)


_FAKE_BUILD = """
import pathlib, sys, time
from handvol.ops import build

def fake_build(output, toolchain=None, verbose=True, log=None):
  with open(sys.argv[1], "a") as counter:
    counter.write("built\\n")
  time.sleep(2)
  pathlib.Path(output).write_text("not a real library")
  pathlib.Path(output).with_name(build.BUILD_INFO_NAME).write_text("{}")
  return {}

build.build_library = fake_build
print(build.ensure_library())
"""


def test_two_processes_build_once_and_share_the_result(tmp_path):
  counter = tmp_path / "builds.txt"
  env = dict(os.environ, **{build.CACHE_ENV: str(tmp_path / "cache"),
                            build.BUILD_CUDA_ENV: "0", "PYTHONPATH": str(REPO_ROOT)})
  processes = [subprocess.Popen([sys.executable, "-c", _FAKE_BUILD, str(counter)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
  outputs = [p.communicate(timeout=120) for p in processes]
  assert all(p.returncode == 0 for p in processes), [err[-2000:] for _, err in outputs]
  assert counter.read_text().splitlines() == ["built"]
  paths = {out.strip().splitlines()[-1] for out, _ in outputs}
  assert len(paths) == 1 and pathlib.Path(paths.pop()).read_text() == "not a real library"
  assert not list((tmp_path / "cache").glob("*.tmp-*"))


_ISA_CHECK = """
import json
import numpy as np
import tensorflow as tf
from handvol import ops
from handvol.ops import testing

inputs = testing.overlap_inputs(np.random.default_rng(3), 2, 900, 48)
model = tf.constant(inputs["model_gaussians"])
sigma = tf.constant(inputs["model_sigma_3d"])
results = []
for fn in (ops.gaussian_overlap, ops.gaussian_overlap_reference):
  with tf.GradientTape() as tape:
    tape.watch([model, sigma])
    value = fn(inputs["image_gaussians"], inputs["image_mask"], model, sigma)
  results.append([value.numpy()] + [g.numpy() for g in tape.gradient(value, [model, sigma])])
errors = [float(np.abs(a - b).max() / np.abs(b).max()) for a, b in zip(*results)]
self_op = ops.image_self_overlap(inputs["image_gaussians"], inputs["image_mask"]).numpy()
self_ref = ops.image_self_overlap_reference(inputs["image_gaussians"], inputs["image_mask"])
errors.append(float(np.abs(self_op - self_ref.numpy()).max() / np.abs(self_ref.numpy()).max()))
print(json.dumps({"isa": ops.cpu_isa(), "errors": errors}))
"""


def _run_with_isa(isa):
  result = subprocess.run([sys.executable, "-c", _ISA_CHECK], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, HANDVOL_CPU_ISA=isa,
                                                PYTHONPATH=str(REPO_ROOT)))
  assert result.returncode == 0, result.stderr[-3000:]
  return json.loads(result.stdout.strip().splitlines()[-1])


@functools.lru_cache(maxsize=None)
def _widest_isa():
  return _run_with_isa("avx512")["isa"]


@pytest.mark.parametrize("isa", ISAS)
def test_every_cpu_variant_the_machine_has_matches_the_reference(isa):
  widest = _widest_isa()
  if ISAS.index(isa) > ISAS.index(widest):
    pytest.skip(f"this CPU runs at most the {widest} variant, not {isa}")
  report = _run_with_isa(isa)
  assert report["isa"] == isa
  assert max(report["errors"]) <= 1e-5, report


def test_an_unknown_isa_request_runs_the_widest_variant_the_cpu_has():
  assert _run_with_isa("sse9")["isa"] == _widest_isa()
