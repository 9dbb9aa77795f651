// CPU loops of the Gaussian overlap for one batch element. No TensorFlow include: this file's
// .cc is compiled with vectorising flags of its own (custom_ops/build.py), and the TF kernel in
// gaussian_overlap_kernels.cc shards these calls over TF's CPU thread pool.
//
// The image Gaussians of a batch element are compacted (mask ≠ 0) and bucketed by depth once,
// by a counting sort (O(N_i), no comparisons: a comparison sort of ~1000 depths costs as much
// as ~100 model Gaussians' loops). A model Gaussian then only visits the contiguous run of
// buckets within its reach 2σ_h, because Δ(i, p) is exactly 0 for every other pair. The inner
// loops over that run are branch-free, so the compiler vectorises them, exp included.
#ifndef HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_
#define HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_

namespace handvol {

// The instruction sets the pair loops are compiled for, narrowest first (x86-64 baseline,
// x86-64-v3 with AVX2 and FMA, x86-64-v4 with AVX-512). Other processors run the baseline.
enum class CpuIsa { kBaseline = 0, kAvx2 = 1, kAvx512 = 2 };

// The environment variable that caps the instruction set (baseline, avx2 or avx512), read once
// per process; the CPU's own support caps it too.
constexpr const char* kCpuIsaEnv = "HANDVOL_CPU_ISA";

// The instruction set the pair loops run with in this process.
CpuIsa ActiveCpuIsa();

// "baseline", "avx2" or "avx512".
const char* CpuIsaName(CpuIsa isa);

// Number of per-Gaussian arrays of a SortedImage: u, v, σ², z, mask weight.
constexpr int kSortedImageArrays = 5;

// Ints of bucket storage that BucketImageByDepth needs for n_i image Gaussians.
inline int BucketStorageSize(int n_i) { return 2 * n_i + 1; }

// Valid image Gaussians of one batch element bucketed by depth, as a structure of arrays that
// lives in caller-owned storage. Bucket k holds the Gaussians [bucket_start[k],
// bucket_start[k + 1]) (in no particular order within it), whose depths z satisfy
// floor((z − z_min)·inv_bucket_width) = k (the last bucket also takes z_max).
template <typename T>
struct SortedImage {
  const T* u;
  const T* v;
  const T* variance;
  const T* z;
  const T* weight;
  int count;
  const int* bucket_start;
  int num_buckets;
  T z_min;
  T inv_bucket_width;
};

// Compacts image [n_i, 4] (u, v, σ, z) with mask [n_i] into `storage` (kSortedImageArrays·n_i
// values) in depth-bucket order, one bucket per valid Gaussian; `bucket_storage` holds
// BucketStorageSize(n_i) ints and must outlive the result.
template <typename T>
SortedImage<T> BucketImageByDepth(const T* image, const T* mask, int n_i, T* storage,
                                  int* bucket_storage);

// Σ_i mask_i·Δ(i, p)·S_ip for the model Gaussian `model_gaussian` (4 values) and its σ_h.
template <typename T>
T OverlapWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps);

// Adds scale·∂/∂(u_p, v_p, σ_p, z_p) of that sum to grad_gaussian[0:4], and scale·∂/∂σ_h to
// *grad_sigma_3d.
template <typename T>
void OverlapGradWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps,
                          T scale, T* grad_gaussian, T* grad_sigma_3d);

// Σ_{k>i} mask_k·S_ik over the image's own Gaussians (its sorted order): one row of the upper
// triangle of the image self-overlap.
template <typename T>
T SelfOverlapRow(const SortedImage<T>& image, int i, T eps);

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_CPU_H_
