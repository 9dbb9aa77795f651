"""Shared by the benchmarks' tests: a `bench/` script loaded as a module."""

import importlib.util
import pathlib
import sys

import pytest

BENCH = pathlib.Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_script():
  """A function name → the module of `bench/<name>.py` (with `bench/` on the path, for its
  `machine_info` import)."""

  def load(name):
    if str(BENCH) not in sys.path:
      sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"{name}_bench", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

  return load
