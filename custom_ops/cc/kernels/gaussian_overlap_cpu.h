// CPU loops of the Gaussian overlap for one batch element. No TensorFlow include: this file's
// .cc is compiled with vectorising flags of its own (custom_ops/build.py), and the TF kernel in
// gaussian_overlap_kernels.cc shards these calls over TF's CPU thread pool.
//
// The image Gaussians of a batch element are compacted (mask ≠ 0) and sorted by depth once;
// a model Gaussian then only visits the contiguous run of image Gaussians whose depth is within
// its reach 2σ_h, because Δ(i, p) is exactly 0 for every other pair. The inner loops over that
// run are branch-free so the compiler vectorises them (exp included, through libmvec).
#ifndef HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_
#define HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_

namespace handvol {

// Number of per-Gaussian arrays of a SortedImage: u, v, σ², z, mask weight.
constexpr int kSortedImageArrays = 5;

// Valid image Gaussians of one batch element sorted by depth, as a structure of arrays that
// lives in caller-owned storage of kSortedImageArrays·n_i values.
template <typename T>
struct SortedImage {
  const T* u;
  const T* v;
  const T* variance;
  const T* z;
  const T* weight;
  int count;
};

// Compacts and sorts image [n_i, 4] (u, v, σ, z) with mask [n_i] into `storage`;
// `order` is scratch space for n_i ints.
template <typename T>
SortedImage<T> SortImageByDepth(const T* image, const T* mask, int n_i, T* storage, int* order);

// Σ_i mask_i·Δ(i, p)·S_ip for the model Gaussian `model_gaussian` (4 values) and its σ_h.
template <typename T>
T OverlapWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps);

// Adds scale·∂/∂(u_p, v_p, σ_p, z_p) of that sum to grad_gaussian[0:4], and scale·∂/∂σ_h to
// *grad_sigma_3d.
template <typename T>
void OverlapGradWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps,
                          T scale, T* grad_gaussian, T* grad_sigma_3d);

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_
