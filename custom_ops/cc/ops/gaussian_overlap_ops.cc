// Registration of Handvol>GaussianOverlap and its gradient op: inputs, attributes, shape
// functions and documentation. The kernels are in ../kernels/.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace handvol {
namespace {

using ::tensorflow::shape_inference::DimensionHandle;
using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

constexpr int kGaussianSize = 4;

// Checks the four overlap inputs starting at input `first`; sets *batch, *model (the [B, N_m, 4]
// shape) and *sigma_3d.
absl::Status OverlapInputShapes(InferenceContext* c, int first, DimensionHandle* batch,
                                ShapeHandle* model, ShapeHandle* sigma_3d) {
  ShapeHandle image, mask;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(first), 3, &image));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(first + 1), 2, &mask));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(first + 2), 3, model));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(first + 3), 2, sigma_3d));
  DimensionHandle unused;
  TF_RETURN_IF_ERROR(c->WithValue(c->Dim(image, 2), kGaussianSize, &unused));
  TF_RETURN_IF_ERROR(c->WithValue(c->Dim(*model, 2), kGaussianSize, &unused));
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(image, 1), c->Dim(mask, 1), &unused));
  DimensionHandle n_m;
  TF_RETURN_IF_ERROR(c->Merge(c->Dim(*model, 1), c->Dim(*sigma_3d, 1), &n_m));
  *batch = c->Dim(image, 0);
  for (ShapeHandle shape : {mask, *model, *sigma_3d}) {
    TF_RETURN_IF_ERROR(c->Merge(*batch, c->Dim(shape, 0), batch));
  }
  *model = c->MakeShape({*batch, n_m, c->MakeDim(kGaussianSize)});
  *sigma_3d = c->MakeShape({*batch, n_m});
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("Handvol>GaussianOverlap")
    .Input("image_gaussians: T")
    .Input("image_mask: T")
    .Input("model_gaussians: T")
    .Input("model_sigma_3d: T")
    .Output("overlap: T")
    .Attr("T: {float, double}")
    .Attr("eps: float = 1e-8")
    .SetShapeFn([](InferenceContext* c) {
      DimensionHandle batch;
      ShapeHandle model, sigma_3d;
      TF_RETURN_IF_ERROR(OverlapInputShapes(c, 0, &batch, &model, &sigma_3d));
      c->set_output(0, c->Vector(batch));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Σ_i Σ_p mask_i·Δ(i, p)·S_ip per batch element, without a [B, N_i, N_m] tensor (SPEC §6).

S_ip = 2π·σ_i²σ_p²/(σ_i² + σ_p²)·exp(−‖μ_i − μ_p‖²/2(σ_i² + σ_p²)) and
Δ(i, p) = max(0, 1 − |z_i − z_p|/2σ_h). Denominators smaller than eps in magnitude are replaced
by ±eps, as handvol.numerics.safe_divide does.

image_gaussians: [B, N_i, 4] image Gaussians (u, v, σ_i) in pixels, z_i in mm.
image_mask: [B, N_i] 1 for valid image Gaussians, 0 for padding (other values weigh).
model_gaussians: [B, N_m, 4] projected model Gaussians (u, v, σ_p) in pixels, z_p in mm.
model_sigma_3d: [B, N_m] σ_h of the model Gaussians in mm.
overlap: [B] the sum, in pixels².
eps: the smallest denominator magnitude (handvol.numerics.EPS).
)doc");

REGISTER_OP("Handvol>GaussianOverlapGrad")
    .Input("grad: T")
    .Input("image_gaussians: T")
    .Input("image_mask: T")
    .Input("model_gaussians: T")
    .Input("model_sigma_3d: T")
    .Output("grad_model_gaussians: T")
    .Output("grad_model_sigma_3d: T")
    .Attr("T: {float, double}")
    .Attr("eps: float = 1e-8")
    .SetShapeFn([](InferenceContext* c) {
      DimensionHandle batch;
      ShapeHandle model, sigma_3d, grad;
      TF_RETURN_IF_ERROR(OverlapInputShapes(c, 1, &batch, &model, &sigma_3d));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 1, &grad));
      DimensionHandle unused;
      TF_RETURN_IF_ERROR(c->Merge(c->Dim(grad, 0), batch, &unused));
      c->set_output(0, model);
      c->set_output(1, sigma_3d);
      return absl::OkStatus();
    })
    .Doc(R"doc(
Gradient of Handvol>GaussianOverlap with respect to the model inputs.

grad: [B] the gradient with respect to the op's output.
grad_model_gaussians: [B, N_m, 4] grad·∂overlap/∂(u_p, v_p, σ_p, z_p).
grad_model_sigma_3d: [B, N_m] grad·∂overlap/∂σ_h.
At Δ = 0 and at z_i = z_p the pair's one-sided gradient is zero (as tf.nn.relu and tf.abs).
The image inputs get no gradient: they are data.
)doc");

REGISTER_OP("Handvol>ImageSelfOverlap")
    .Input("image_gaussians: T")
    .Input("image_mask: T")
    .Output("self_overlap: T")
    .Attr("T: {float, double}")
    .Attr("eps: float = 1e-8")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle image, mask;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &image));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 2, &mask));
      DimensionHandle unused, batch;
      TF_RETURN_IF_ERROR(c->WithValue(c->Dim(image, 2), kGaussianSize, &unused));
      TF_RETURN_IF_ERROR(c->Merge(c->Dim(image, 1), c->Dim(mask, 1), &unused));
      TF_RETURN_IF_ERROR(c->Merge(c->Dim(image, 0), c->Dim(mask, 0), &batch));
      c->set_output(0, c->Vector(batch));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Σ_i Σ_k mask_i·mask_k·S_ik over all pairs of image Gaussians (both orders, i = k included):
the denominator of S_sim. CPU only; it has no gradient (the image is data).

image_gaussians: [B, N_i, 4] image Gaussians (u, v, σ_i) in pixels, z_i in mm (unused).
image_mask: [B, N_i] 1 for valid image Gaussians, 0 for padding (other values weigh).
self_overlap: [B] the sum, in pixels².
eps: the smallest denominator magnitude (handvol.numerics.EPS).
)doc");

REGISTER_OP("Handvol>CpuIsa")
    .Output("isa: string")
    .SetIsStateful()
    .SetShapeFn(::tensorflow::shape_inference::ScalarShape)
    .Doc(R"doc(
The instruction set the CPU kernels' pair loops run with in this process: "baseline",
"avx2" (x86-64-v3) or "avx512" (x86-64-v4); the widest the CPU has, capped by the environment
variable HANDVOL_CPU_ISA when set before the first use.
)doc");

}  // namespace handvol
