"""What machine a benchmark ran on, for the JSON line every benchmark ends with.

Figures from different CPUs differ several-fold (the overlap op's vector width, oneDNN's
kernels), so every result carries the CPU's model name, its vector extensions, the load average
when it ran, and the instruction set the overlap op's CPU loops used.
"""

import os
import platform

VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "amx_tile", "neon", "asimd", "sve")


def _cpuinfo():
  try:
    with open("/proc/cpuinfo") as f:
      return f.read()
  except OSError:
    return ""


def describe():
  """A dict: cpu_model, cpus, vector_extensions, load_average_1min, op_cpu_isa."""
  model, flags = platform.processor() or platform.machine(), set()
  for line in _cpuinfo().splitlines():
    key, _, value = line.partition(":")
    if key.strip() == "model name" and value.strip():
      model = value.strip()
    elif key.strip() in ("flags", "Features"):
      flags.update(value.split())
  try:
    from handvol import ops  # pylint: disable=import-outside-toplevel
    op_isa = ops.cpu_isa()
  except ImportError:
    op_isa = None
  return {"cpu_model": model, "cpus": os.cpu_count(),
          "vector_extensions": [f for f in VECTOR_FLAGS if f in flags],
          "load_average_1min": round(os.getloadavg()[0], 2), "op_cpu_isa": op_isa}


def line():
  """One human line of `describe()`."""
  info = describe()
  return (f"machine: {info['cpu_model']}, {info['cpus']} CPUs, "
          f"{' '.join(info['vector_extensions'])}, load {info['load_average_1min']}, "
          f"overlap op CPU loops: {info['op_cpu_isa']}")
