"""The compiled Gaussian overlap ops: lazy loading, the gradient, and the dispatch to the
pure-TF fallbacks.

On first use the library is built for the running TensorFlow into a cache (`handvol.ops.build`;
about a minute, once per TensorFlow and compiler) and loaded. When it cannot be built (no
compiler, say) or loaded, `gaussian_overlap` warns once, in one line that says why, and runs
`gaussian_overlap_reference` instead; `HANDVOL_FORCE_PURE_TF=1` selects the fallback on purpose
(read at each call, so tests can switch it).
"""

import os
import warnings

import tensorflow as tf

from handvol import numerics
from handvol.ops import reference

FORCE_PURE_TF_ENV = "HANDVOL_FORCE_PURE_TF"
OP_NAME = "Handvol>GaussianOverlap"
SELF_OVERLAP_OP_NAME = "Handvol>ImageSelfOverlap"

_state = {"attempted": False, "library": None, "path": None, "problem": None, "warned": False}


def _open_library():
  """(library module, its path, None) or (None, None, why it cannot be used)."""
  # Imported here, not at the top, so that `python -m handvol.ops.build` runs a fresh module.
  from handvol.ops import build  # pylint: disable=import-outside-toplevel
  try:
    path = build.ensure_library()
  except build.BuildError as error:
    return None, None, str(error)
  info = build.read_build_info(path.parent)
  if info is None or info.get("tensorflow_version") != tf.__version__:
    return None, None, (f"{path} was built for TensorFlow "
                        f"{(info or {}).get('tensorflow_version')}, this is TensorFlow "
                        f"{tf.__version__}: delete {path.parent} to rebuild it")
  try:
    return tf.load_op_library(str(path)), path, None
  except (tf.errors.NotFoundError, OSError) as error:
    return None, None, f"{path} does not load ({error}): delete {path.parent} to rebuild it"


@tf.autograph.experimental.do_not_convert
def load_library():
  """The op library module, or None when the fallback must run (with a warning, once).

  Not converted by AutoGraph: the first call often comes from inside a `tf.function` (a fit's
  step), and converting the file checks of the build would only print warnings.

  Returns:
    The module `tf.load_op_library` returns (ops `handvol_gaussian_overlap`,
    `handvol_gaussian_overlap_grad`, `handvol_image_self_overlap` and `handvol_cpu_isa`), or
    None when `HANDVOL_FORCE_PURE_TF=1` or the library cannot be built or used.
  """
  if os.environ.get(FORCE_PURE_TF_ENV) == "1":
    return None
  if not _state["attempted"]:
    _state["attempted"] = True
    _state["library"], _state["path"], _state["problem"] = _open_library()
  if _state["problem"] and not _state["warned"]:
    _state["warned"] = True
    warnings.warn(f"handvol.ops: {_state['problem']}. Using the pure-TF gaussian_overlap "
                  "meanwhile (slower; it holds [B, N_i, N_m] tensors).", RuntimeWarning,
                  stacklevel=3)
  return _state["library"]


def compiled_op_in_use():
  """True when `gaussian_overlap` runs the compiled op now, False when it runs the fallback."""
  return load_library() is not None


def build_info():
  """The build record of the loaded library (a dict), or None when none is loaded."""
  if load_library() is None:
    return None
  from handvol.ops import build  # pylint: disable=import-outside-toplevel
  return build.read_build_info(_state["path"].parent)


def cpu_isa():
  """The instruction set of the compiled CPU kernels in this process, or None without them.

  Returns:
    "avx512" (x86-64-v4), "avx2" (x86-64-v3) or "baseline": the widest the CPU has, capped by
    the environment variable `HANDVOL_CPU_ISA` when it is set before the op's first use.
  """
  library = load_library()
  return None if library is None else library.handvol_cpu_isa().numpy().decode()


def gaussian_overlap(image_gaussians, image_mask, model_gaussians, model_sigma_3d, name=None):
  """Σ_i Σ_p mask_i·Δ(i, p)·S_ip per batch element, fused (SPEC §6).

  The same function as `gaussian_overlap_reference` (see there for S and Δ), computed by the
  compiled op in O(B·(N_i + N_m)) memory when it is available, else by the reference. Keras
  layers that call it must keep XLA off (`supports_jit = False`).

  Gradients flow to `model_gaussians` and `model_sigma_3d`. The image inputs are data: they get
  no gradient (None, i.e. zero), on both paths. At Δ = 0 and at z_i = z_p a pair contributes a
  zero gradient (the one-sided choice of tf.nn.relu and tf.abs).

  Args:
    image_gaussians: A tensor of shape `[B, N_i, 4]`: (u, v, σ_i) in crop pixels, z_i in mm.
    image_mask: A tensor of shape `[B, N_i]`: 1 valid, 0 padding.
    model_gaussians: A tensor of shape `[B, N_m, 4]`: projected (u, v, σ_p) in crop pixels, the
      surface depth z_p in mm.
    model_sigma_3d: A tensor of shape `[B, N_m]`: σ_h in mm.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]` in pixels², float32 (float64 when `model_gaussians` is float64);
    NaN for an element with a non-finite input, on both paths (`reference`'s docstring).

  Raises:
    ValueError: when the static shapes disagree (the argument is named).
  """
  with tf.name_scope(name or "gaussian_overlap"):
    image, mask, model, sigma_3d = reference.check_overlap_inputs(
        image_gaussians, image_mask, model_gaussians, model_sigma_3d)
    image, mask = tf.stop_gradient(image), tf.stop_gradient(mask)
    library = load_library()
    if library is None:
      return reference.gaussian_overlap_reference(image, mask, model, sigma_3d)
    # The kernels' comparisons drop a NaN pair silently: the rule is applied here instead.
    image, mask, model, sigma_3d, bad = reference.guard_overlap_inputs(image, mask, model,
                                                                       sigma_3d)
    return reference.nan_where(bad, library.handvol_gaussian_overlap(image, mask, model, sigma_3d,
                                                                     eps=numerics.EPS))


def image_self_overlap(image_gaussians, image_mask, name=None):
  """Σ_i Σ_k S_ik over all pairs of valid image Gaussians: the denominator of S_sim.

  The same function as `image_self_overlap_reference`, computed by the compiled CPU op (half
  the pairs, by symmetry, in O(B·N_i) memory; CPU only) when it is available. It has no
  gradient, on either path: the input pipeline computes it once per crop.

  Args:
    image_gaussians: A tensor of shape `[B, N_i, 4]`: (u, v, σ_i) in pixels, z_i in mm (unused).
    image_mask: A tensor of shape `[B, N_i]`: 1 valid, 0 padding.
    name: Optional name scope.

  Returns:
    A tensor of shape `[B]` in pixels².
  """
  with tf.name_scope(name or "image_self_overlap"):
    image_gaussians, image_mask = (tf.stop_gradient(x) for x in reference.check_image_inputs(
        image_gaussians, image_mask))
    library = load_library()
    if library is None:
      return reference.image_self_overlap_reference(image_gaussians, image_mask)
    image_gaussians, image_mask, bad = reference.guard_image_inputs(image_gaussians, image_mask)
    with tf.device("/cpu:0"):
      sums = library.handvol_image_self_overlap(image_gaussians, image_mask, eps=numerics.EPS)
    return reference.nan_where(bad, sums)


tf.no_gradient(SELF_OVERLAP_OP_NAME)


@tf.RegisterGradient(OP_NAME)
def _gaussian_overlap_grad(op, grad):
  # The op is in a graph only if the library loaded, whatever HANDVOL_FORCE_PURE_TF says now.
  grad_model, grad_sigma_3d = _state["library"].handvol_gaussian_overlap_grad(
      grad, *op.inputs, eps=op.get_attr("eps"))
  return [None, None, grad_model, grad_sigma_3d]
