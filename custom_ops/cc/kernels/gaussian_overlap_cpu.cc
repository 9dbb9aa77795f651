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

template <typename T>
void DepthWindow(const SortedImage<T>& image, const ModelGaussian<T>& m, int* begin, int* end) {
  if (m.width <= T(0)) {  // A negative σ_h weighs every pair (Δ ≥ 1): no window.
    *begin = 0;
    *end = image.count;
    return;
  }
  const T reach = m.width * T(1 + kWindowRelativeSlack) + Abs(m.z) * T(kWindowDepthSlack);
  const T* z_end = image.z + image.count;
  *begin = std::lower_bound(image.z, z_end, m.z - reach) - image.z;
  *end = std::upper_bound(image.z, z_end, m.z + reach) - image.z;
}

}  // namespace

template <typename T>
SortedImage<T> SortImageByDepth(const T* image, const T* mask, int n_i, T* storage, int* order) {
  int count = 0;
  for (int i = 0; i < n_i; ++i) {
    if (mask[i] != T(0)) order[count++] = i;
  }
  std::sort(order, order + count, [image](int a, int b) {
    return image[a * kGaussianSize + kZ] < image[b * kGaussianSize + kZ];
  });
  T* u = storage;
  T* v = storage + n_i;
  T* variance = storage + 2 * n_i;
  T* z = storage + 3 * n_i;
  T* weight = storage + 4 * n_i;
  for (int k = 0; k < count; ++k) {
    const T* g = image + order[k] * kGaussianSize;
    u[k] = g[kU];
    v[k] = g[kV];
    variance[k] = g[kSigma] * g[kSigma];
    z[k] = g[kZ];
    weight[k] = mask[order[k]];
  }
  return SortedImage<T>{u, v, variance, z, weight, count};
}

template <typename T>
HANDVOL_VECTOR_CLONES T OverlapWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps) {
  const ModelGaussian<T> m = MakeModelGaussian(model_gaussian, sigma_3d, eps);
  int begin, end;
  DepthWindow(image, m, &begin, &end);
  const T* __restrict u = image.u;
  const T* __restrict v = image.v;
  const T* __restrict variance = image.variance;
  const T* __restrict z = image.z;
  const T* __restrict weight = image.weight;
  T sum = 0;
  for (int k = begin; k < end; ++k) {
    sum += weight[k] * DepthWeight(z[k], m) * Overlap2d(u[k], v[k], variance[k], m, eps);
  }
  return sum;
}

template <typename T>
HANDVOL_VECTOR_CLONES void OverlapGradWithImage(const SortedImage<T>& image, const T* model_gaussian, T sigma_3d, T eps,
                          T scale, T* grad_gaussian, T* grad_sigma_3d) {
  const ModelGaussian<T> m = MakeModelGaussian(model_gaussian, sigma_3d, eps);
  int begin, end;
  DepthWindow(image, m, &begin, &end);
  const T* __restrict u = image.u;
  const T* __restrict v = image.v;
  const T* __restrict variance = image.variance;
  const T* __restrict z = image.z;
  const T* __restrict weight = image.weight;
  T g_u = 0, g_v = 0, g_sigma = 0, g_z = 0, g_sigma_3d = 0;
  for (int k = begin; k < end; ++k) {
    const PairGradient<T> g = PairGrad(u[k], v[k], variance[k], z[k], m, eps);
    g_u += weight[k] * g.u;
    g_v += weight[k] * g.v;
    g_sigma += weight[k] * g.sigma;
    g_z += weight[k] * g.z;
    g_sigma_3d += weight[k] * g.sigma_3d;
  }
  grad_gaussian[kU] += scale * g_u;
  grad_gaussian[kV] += scale * g_v;
  grad_gaussian[kSigma] += scale * g_sigma;
  grad_gaussian[kZ] += scale * g_z;
  *grad_sigma_3d += scale * g_sigma_3d;
}

#define HANDVOL_INSTANTIATE(T)                                                                   \
  template SortedImage<T> SortImageByDepth<T>(const T*, const T*, int, T*, int*);               \
  template T OverlapWithImage<T>(const SortedImage<T>&, const T*, T, T);                         \
  template void OverlapGradWithImage<T>(const SortedImage<T>&, const T*, T, T, T, T*, T*);
HANDVOL_INSTANTIATE(float)
HANDVOL_INSTANTIATE(double)
#undef HANDVOL_INSTANTIATE
#undef HANDVOL_VECTOR_CLONES

}  // namespace handvol
