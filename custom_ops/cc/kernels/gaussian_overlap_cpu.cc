#include "gaussian_overlap_cpu.h"

#include <algorithm>

#include "gaussian_overlap_math.h"

// The pair loops are compiled for AVX-512 and AVX2 too, picked at load time by the CPU, so one
// binary runs everywhere and uses the widest vectors (and libmvec's exp) the machine has.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HANDVOL_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HANDVOL_VECTOR_CLONES
#endif

namespace handvol {
namespace {

// Slack on the depth window, so that rounding in z_p ± 2σ_h never drops a pair with Δ > 0;
// pairs let in by the slack get Δ = 0 from DepthWeight.
constexpr double kWindowRelativeSlack = 1e-3;
constexpr double kWindowDepthSlack = 1e-5;

// Bucket of depth z, clamped to [−1, num_buckets]: −1 and num_buckets mean below and above all.
template <typename T>
int DepthBucket(const SortedImage<T>& image, T z) {
  const T position = (z - image.z_min) * image.inv_bucket_width;
  if (!(position >= T(0))) return -1;
  return position < T(image.num_buckets) ? static_cast<int>(position) : image.num_buckets;
}

// DepthBucket for a member of the image: z_max belongs to the last bucket.
template <typename T>
int MemberBucket(const SortedImage<T>& image, T z) {
  const int bucket = DepthBucket(image, z);
  return bucket < image.num_buckets ? bucket : image.num_buckets - 1;
}

// The run of image Gaussians whose buckets overlap [z_p − 2σ_h, z_p + 2σ_h] (plus slack).
// The bucket of a depth is monotone in the depth, so the run holds every Gaussian in range.
template <typename T>
void DepthWindow(const SortedImage<T>& image, const ModelGaussian<T>& m, int* begin, int* end) {
  *begin = *end = 0;
  if (image.count == 0) return;
  if (m.width <= T(0)) {  // A negative σ_h weighs every pair (Δ ≥ 1): no window.
    *end = image.count;
    return;
  }
  const T reach = m.width * T(1 + kWindowRelativeSlack) + Abs(m.z) * T(kWindowDepthSlack);
  const int first = DepthBucket(image, m.z - reach);
  const int last = DepthBucket(image, m.z + reach);
  if (last < 0 || first >= image.num_buckets) return;
  *begin = image.bucket_start[first < 0 ? 0 : first];
  *end = image.bucket_start[last >= image.num_buckets ? image.num_buckets : last + 1];
}

}  // namespace

template <typename T>
SortedImage<T> BucketImageByDepth(const T* image, const T* mask, int n_i, T* storage,
                                  int* bucket_storage) {
  int* order = bucket_storage;
  int* bucket_start = bucket_storage + n_i;
  int count = 0;
  T z_min = 0, z_max = 0;
  for (int i = 0; i < n_i; ++i) {
    if (mask[i] == T(0)) continue;
    const T z = image[i * kGaussianSize + kZ];
    z_min = count == 0 || z < z_min ? z : z_min;
    z_max = count == 0 || z > z_max ? z : z_max;
    order[count++] = i;
  }
  SortedImage<T> sorted;
  sorted.count = count;
  sorted.bucket_start = bucket_start;
  sorted.num_buckets = count > 0 ? count : 1;
  sorted.z_min = z_min;
  sorted.inv_bucket_width = z_max > z_min ? T(sorted.num_buckets) / (z_max - z_min) : T(0);
  // Counting sort: bucket_start[k] counts bucket k, the prefix sum turns it into the end of
  // bucket k, and placing the members of bucket k below that end moves it down to their start.
  std::fill(bucket_start, bucket_start + sorted.num_buckets + 1, 0);
  for (int k = 0; k < count; ++k) {
    ++bucket_start[MemberBucket(sorted, image[order[k] * kGaussianSize + kZ])];
  }
  for (int k = 1; k < sorted.num_buckets; ++k) bucket_start[k] += bucket_start[k - 1];
  bucket_start[sorted.num_buckets] = count;
  T* u = storage;
  T* v = storage + n_i;
  T* variance = storage + 2 * n_i;
  T* z = storage + 3 * n_i;
  T* weight = storage + 4 * n_i;
  for (int k = count - 1; k >= 0; --k) {
    const T* g = image + order[k] * kGaussianSize;
    const int slot = --bucket_start[MemberBucket(sorted, g[kZ])];
    u[slot] = g[kU];
    v[slot] = g[kV];
    variance[slot] = g[kSigma] * g[kSigma];
    z[slot] = g[kZ];
    weight[slot] = mask[order[k]];
  }
  sorted.u = u;
  sorted.v = v;
  sorted.variance = variance;
  sorted.z = z;
  sorted.weight = weight;
  return sorted;
}

template <typename T>
HANDVOL_VECTOR_CLONES T OverlapWithImage(const SortedImage<T>& image, const T* model_gaussian,
                                         T sigma_3d, T eps) {
  const ModelGaussian<T> m = MakeModelGaussian(model_gaussian, sigma_3d, eps);
  int begin, end;
  DepthWindow(image, m, &begin, &end);
  T sum = 0;
  for (int k = begin; k < end; ++k) {
    sum += image.weight[k] * DepthWeight(image.z[k], m) *
           Overlap2d(image.u[k], image.v[k], image.variance[k], m, eps);
  }
  return sum;
}

template <typename T>
HANDVOL_VECTOR_CLONES void OverlapGradWithImage(const SortedImage<T>& image,
                                                const T* model_gaussian, T sigma_3d, T eps,
                                                T scale, T* grad_gaussian, T* grad_sigma_3d) {
  const ModelGaussian<T> m = MakeModelGaussian(model_gaussian, sigma_3d, eps);
  int begin, end;
  DepthWindow(image, m, &begin, &end);
  T g_u = 0, g_v = 0, g_sigma = 0, g_z = 0, g_sigma_3d = 0;
  for (int k = begin; k < end; ++k) {
    const PairGradient<T> g =
        PairGrad(image.u[k], image.v[k], image.variance[k], image.z[k], m, eps);
    g_u += image.weight[k] * g.u;
    g_v += image.weight[k] * g.v;
    g_sigma += image.weight[k] * g.sigma;
    g_z += image.weight[k] * g.z;
    g_sigma_3d += image.weight[k] * g.sigma_3d;
  }
  grad_gaussian[kU] += scale * g_u;
  grad_gaussian[kV] += scale * g_v;
  grad_gaussian[kSigma] += scale * g_sigma;
  grad_gaussian[kZ] += scale * g_z;
  *grad_sigma_3d += scale * g_sigma_3d;
}

template <typename T>
HANDVOL_VECTOR_CLONES T SelfOverlapRow(const SortedImage<T>& image, int i, T eps) {
  const T u_i = image.u[i], v_i = image.v[i], variance_i = image.variance[i];
  T sum = 0;
  for (int k = i + 1; k < image.count; ++k) {
    const PairOverlap<T> o = MakePairOverlap(u_i - image.u[k], v_i - image.v[k], variance_i,
                                             image.variance[k], eps);
    sum += image.weight[k] * o.amplitude * o.gauss;
  }
  return sum;
}

#define HANDVOL_INSTANTIATE(T)                                                                   \
  template SortedImage<T> BucketImageByDepth<T>(const T*, const T*, int, T*, int*);             \
  template T OverlapWithImage<T>(const SortedImage<T>&, const T*, T, T);                         \
  template void OverlapGradWithImage<T>(const SortedImage<T>&, const T*, T, T, T, T*, T*);  \
  template T SelfOverlapRow<T>(const SortedImage<T>&, int, T);
HANDVOL_INSTANTIATE(float)
HANDVOL_INSTANTIATE(double)
#undef HANDVOL_INSTANTIATE
#undef HANDVOL_VECTOR_CLONES

}  // namespace handvol
