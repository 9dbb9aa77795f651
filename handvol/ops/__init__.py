"""The fused Gaussian overlap of the generative loss (SPEC §6) and its pure-TF twin.

`gaussian_overlap` runs the compiled `Handvol>GaussianOverlap` op when its library is built
and loads, and the pure-TF `gaussian_overlap_reference` otherwise (or when the environment
variable `HANDVOL_FORCE_PURE_TF=1`); `compiled_op_in_use()` tells which.
"""

from handvol.ops.reference import gaussian_overlap_reference
from handvol.ops.reference import image_self_overlap
