#include "gaussian_overlap_cpu.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "gaussian_overlap_math.h"

// The pair loops are written once, as always-inlined bodies, and compiled three times in this
// one file: inside functions with target("arch=x86-64-v4") (AVX-512), target("arch=x86-64-v3")
// (AVX2 + FMA) and the baseline. The public functions pick one at run time, once, from what the
// CPU has (or what HANDVOL_CPU_ISA asks for, if the CPU has it), so one binary runs everywhere
// with the widest vectors the machine has, and tests can run every variant the machine supports.
// Everything stays in one translation unit: no template instance compiled for a wider ISA can
// be merged by the linker into a baseline caller.
#if defined(__x86_64__) && defined(__GNUC__)
#define HANDVOL_CPU_DISPATCH 1
#define HANDVOL_TARGET_AVX512 __attribute__((target("arch=x86-64-v4")))
#define HANDVOL_TARGET_AVX2 __attribute__((target("arch=x86-64-v3")))
#else
#define HANDVOL_CPU_DISPATCH 0
#endif
#define HANDVOL_BODY inline __attribute__((always_inline))

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
HANDVOL_BODY T OverlapWithImageBody(const SortedImage<T>& image, const T* model_gaussian,
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
HANDVOL_BODY void OverlapGradWithImageBody(const SortedImage<T>& image, const T* model_gaussian,
                                           T sigma_3d, T eps, T scale, T* grad_gaussian,
                                           T* grad_sigma_3d) {
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
HANDVOL_BODY T SelfOverlapRowBody(const SortedImage<T>& image, int i, T eps) {
  const T u_i = image.u[i], v_i = image.v[i], variance_i = image.variance[i];
  T sum = 0;
  for (int k = i + 1; k < image.count; ++k) {
    const PairOverlap<T> o = MakePairOverlap(u_i - image.u[k], v_i - image.v[k], variance_i,
                                             image.variance[k], eps);
    sum += image.weight[k] * o.amplitude * o.gauss;
  }
  return sum;
}

namespace {

// One set of entry points per instruction set: the bodies inlined into a function of that
// target, where the compiler vectorises them with its registers.
#define HANDVOL_DEFINE_VARIANT(SUFFIX, TARGET)                                                   \
  template <typename T>                                                                         \
  TARGET T OverlapWithImage##SUFFIX(const SortedImage<T>& image, const T* model_gaussian,       \
                                    T sigma_3d, T eps) {                                        \
    return OverlapWithImageBody(image, model_gaussian, sigma_3d, eps);                          \
  }                                                                                             \
  template <typename T>                                                                         \
  TARGET void OverlapGradWithImage##SUFFIX(const SortedImage<T>& image,                         \
                                           const T* model_gaussian, T sigma_3d, T eps,          \
                                           T scale, T* grad_gaussian, T* grad_sigma_3d) {       \
    OverlapGradWithImageBody(image, model_gaussian, sigma_3d, eps, scale, grad_gaussian,        \
                             grad_sigma_3d);                                                    \
  }                                                                                             \
  template <typename T>                                                                         \
  TARGET T SelfOverlapRow##SUFFIX(const SortedImage<T>& image, int i, T eps) {                  \
    return SelfOverlapRowBody(image, i, eps);                                                   \
  }
HANDVOL_DEFINE_VARIANT(Baseline, )
#if HANDVOL_CPU_DISPATCH
HANDVOL_DEFINE_VARIANT(Avx2, HANDVOL_TARGET_AVX2)
HANDVOL_DEFINE_VARIANT(Avx512, HANDVOL_TARGET_AVX512)
#endif
#undef HANDVOL_DEFINE_VARIANT

CpuIsa SupportedCpuIsa() {
#if HANDVOL_CPU_DISPATCH
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4")) return CpuIsa::kAvx512;
  if (__builtin_cpu_supports("x86-64-v3")) return CpuIsa::kAvx2;
#endif
  return CpuIsa::kBaseline;
}

// The instruction set asked for by HANDVOL_CPU_ISA (baseline, avx2, avx512), or the widest one
// when it is unset or names none of those.
CpuIsa RequestedCpuIsa() {
  const char* requested = std::getenv(kCpuIsaEnv);
  if (requested == nullptr) return CpuIsa::kAvx512;
  for (CpuIsa isa : {CpuIsa::kBaseline, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (std::strcmp(requested, CpuIsaName(isa)) == 0) return isa;
  }
  return CpuIsa::kAvx512;
}

}  // namespace

const char* CpuIsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kAvx512:
      return "avx512";
    case CpuIsa::kAvx2:
      return "avx2";
    default:
      return "baseline";
  }
}

CpuIsa ActiveCpuIsa() {
  // Chosen once per process (thread-safe static): the requested set, capped by the CPU's.
  static const CpuIsa active = std::min(RequestedCpuIsa(), SupportedCpuIsa());
  return active;
}

#if HANDVOL_CPU_DISPATCH
#define HANDVOL_DISPATCH(NAME, ...)                       \
  switch (ActiveCpuIsa()) {                               \
    case CpuIsa::kAvx512:                                 \
      return NAME##Avx512(__VA_ARGS__);                   \
    case CpuIsa::kAvx2:                                   \
      return NAME##Avx2(__VA_ARGS__);                     \
    default:                                              \
      return NAME##Baseline(__VA_ARGS__);                 \
  }
#else
#define HANDVOL_DISPATCH(NAME, ...) return NAME##Baseline(__VA_ARGS__);
#endif

template <typename T>
T OverlapWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps) {
  HANDVOL_DISPATCH(OverlapWithImage, image, model_gaussian, sigma_3d, eps)
}

template <typename T>
void OverlapGradWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps,
                          T scale, T* grad_gaussian, T* grad_sigma_3d) {
  HANDVOL_DISPATCH(OverlapGradWithImage, image, model_gaussian, sigma_3d, eps, scale,
                   grad_gaussian, grad_sigma_3d)
}

template <typename T>
T SelfOverlapRow(const SortedImage<T>& image, int i, T eps) {
  HANDVOL_DISPATCH(SelfOverlapRow, image, i, eps)
}
#undef HANDVOL_DISPATCH

#define HANDVOL_INSTANTIATE(T)                                                                   \
  template SortedImage<T> BucketImageByDepth<T>(const T*, const T*, int, T*, int*);             \
  template T OverlapWithImage<T>(const SortedImage<T>&, const T*, T, T);                         \
  template void OverlapGradWithImage<T>(const SortedImage<T>&, const T*, T, T, T, T*, T*);  \
  template T SelfOverlapRow<T>(const SortedImage<T>&, int, T);
HANDVOL_INSTANTIATE(float)
HANDVOL_INSTANTIATE(double)
#undef HANDVOL_INSTANTIATE
#undef HANDVOL_BODY

}  // namespace handvol
