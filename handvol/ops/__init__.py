"""The fused Gaussian overlap of the generative loss (SPEC §6) and its pure-TF twin.

`gaussian_overlap` runs the compiled `Handvol>GaussianOverlap` op when its library builds (on
first use, into a cache: `handvol.ops.build`) and loads, and the pure-TF
`gaussian_overlap_reference` otherwise (or when the environment variable
`HANDVOL_FORCE_PURE_TF=1`); `compiled_op_in_use()` tells which, `cpu_isa()` which instruction
set the CPU kernels run with. `image_self_overlap`
(the denominator of S_sim, computed once per crop in the input pipeline) dispatches the same
way, between the CPU op `Handvol>ImageSelfOverlap` and `image_self_overlap_reference`.
"""

from handvol.ops.overlap import build_info
from handvol.ops.overlap import compiled_op_in_use
from handvol.ops.overlap import cpu_isa
from handvol.ops.overlap import gaussian_overlap
from handvol.ops.overlap import image_self_overlap
from handvol.ops.reference import gaussian_overlap_reference
from handvol.ops.reference import image_self_overlap_reference
