"""The standalone CUDA harness compiles with nvcc alone and, on a machine with a GPU, matches the
CPU op. Without a GPU the run is skipped, and says so: the harness's check needs a device."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
NO_DEVICE_EXIT_CODE = 3

pytestmark = pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc on PATH")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
  """(run_harness module, a compiled harness binary, a case file of the CPU op's results)."""
  sys.path.insert(0, str(REPO_ROOT / "custom_ops" / "harness"))
  try:
    import run_harness  # pylint: disable=import-outside-toplevel
  finally:
    sys.path.pop(0)
  folder = tmp_path_factory.mktemp("harness")
  case, binary = folder / "case.bin", folder / "overlap_harness"
  run_harness.write_case(case, batch=2, n_i=300, n_m=12)
  run_harness.compile_harness(binary, archs=run_harness.NVCC_ARCHS[:1])
  return run_harness, binary, case


def test_harness_compiles_without_tensorflow(harness):
  _, binary, case = harness
  assert binary.is_file() and case.stat().st_size > 0
  result = subprocess.run([str(binary), str(case), "1"], capture_output=True, text=True)
  assert result.returncode in (0, NO_DEVICE_EXIT_CODE), result.stderr
  if result.returncode == NO_DEVICE_EXIT_CODE:
    assert "no CUDA device" in result.stderr


def test_harness_matches_the_cpu_op_on_the_gpu(harness):
  _, binary, case = harness
  result = subprocess.run([str(binary), str(case), "3"], capture_output=True, text=True)
  if result.returncode == NO_DEVICE_EXIT_CODE:
    pytest.skip("no CUDA device on this machine: the kernel's values are checked only on a GPU "
                "(docs/overlap_op.md, 'CUDA harness')")
  assert result.returncode == 0, result.stderr
  report = json.loads(result.stdout)
  assert report["max_rel_err"] <= 1e-5 and report["max_grad_rel_err"] <= 1e-5
