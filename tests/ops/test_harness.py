"""The standalone CUDA harness compiles with nvcc alone and runs (or says it has no GPU)."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
NO_DEVICE_EXIT_CODE = 3


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc on PATH")
def test_harness_compiles_without_tensorflow_and_checks_the_cpu_op(tmp_path):
  sys.path.insert(0, str(REPO_ROOT / "custom_ops" / "harness"))
  try:
    import run_harness  # pylint: disable=import-outside-toplevel
  finally:
    sys.path.pop(0)
  case, binary = tmp_path / "case.bin", tmp_path / "overlap_harness"
  run_harness.write_case(case, batch=2, n_i=300, n_m=12)
  run_harness.compile_harness(binary, archs=run_harness.NVCC_ARCHS[:1])
  result = subprocess.run([str(binary), str(case), "3"], capture_output=True, text=True)
  if result.returncode == NO_DEVICE_EXIT_CODE:
    assert "no CUDA device" in result.stderr
    return
  assert result.returncode == 0, result.stderr
  report = json.loads(result.stdout)
  assert report["max_rel_err"] <= 1e-5 and report["max_grad_rel_err"] <= 1e-5
