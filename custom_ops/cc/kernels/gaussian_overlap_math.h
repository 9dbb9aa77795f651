// The per-pair math of the Gaussian overlap (SPEC §6), shared by the CPU loop, the CUDA kernels
// and the standalone harness. No TensorFlow include: nvcc and plain g++ compile it alone.
//
// For an image Gaussian i (u_i, v_i, σ_i pixels, z_i mm) and a projected model Gaussian p
// (u_p, v_p, σ_p pixels, z_p mm, 3D σ_h mm):
//   S_ip = 2π·σ_i²σ_p²/s · exp(−d²/2s),  s = σ_i² + σ_p²,  d² = ‖μ_i − μ_p‖²
//   Δ(i, p) = max(0, 1 − |z_i − z_p|/2σ_h)
// Denominators are guarded exactly as `handvol.numerics.safe_divide` does in the pure-TF twin
// (|x| < eps becomes ±eps, and a guarded denominator has no gradient), so both agree everywhere.
#ifndef HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_MATH_H_
#define HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_MATH_H_

#include <math.h>
#include <stdint.h>

#if defined(__CUDACC__)
#define HANDVOL_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define HANDVOL_HOST_DEVICE inline
#endif

namespace handvol {

// Number of values per Gaussian in the op's inputs: u, v, σ, z.
constexpr int kGaussianSize = 4;
enum GaussianField { kU = 0, kV = 1, kSigma = 2, kZ = 3 };

constexpr double kTwoPi = 6.283185307179586476925286766559;

// 1 + f/1·(1 + f/2·(… (1 + f/n))): Horner form of the Taylor series of exp(f) to degree n.
template <typename T, int kDegree, int kTerm = 1>
struct TaylorExp {
  static inline T Eval(T f) {
    return T(1) + f * T(1.0 / kTerm) * TaylorExp<T, kDegree, kTerm + 1>::Eval(f);
  }
};

template <typename T, int kDegree>
struct TaylorExp<T, kDegree, kDegree> {
  static inline T Eval(T f) { return T(1) + f * T(1.0 / kDegree); }
};

// Host exp(x) for x in [−kMaxExponent, 0]: 2^k·exp(f) with k = round(x·log2 e) and
// f = x − k·ln 2, |f| ≤ ln(2)/2, from the Taylor series to below the dtype's rounding (float:
// degree 6, relative error ≤ 2e-7; double: degree 12, ≤ 2e-16), and 2^k built from its exponent
// bits. Inlined, the pair loops vectorise with no call (a call to libmvec's vector exp spills
// every vector register). Devices use their own exp.
template <typename T, typename Bits, int kMantissaBits, int kExponentBias, int kDegree>
inline T HostExpNonPositive(T x) {
  constexpr double kLog2e = 1.4426950408889634073599246810019;
  constexpr double kLn2 = 0.69314718055994530941723212145818;
  const T t = x * T(kLog2e);
  const int32_t k = static_cast<int32_t>(t - T(0.5));  // Truncation: rounds t ≤ 0 to nearest.
  const T f = (t - static_cast<T>(k)) * T(kLn2);
  const T series = TaylorExp<T, kDegree>::Eval(f);
  const Bits bits = static_cast<Bits>(k + kExponentBias) << kMantissaBits;
  T scale;
  __builtin_memcpy(&scale, &bits, sizeof(T));
  return series * scale;
}

HANDVOL_HOST_DEVICE float Exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return HostExpNonPositive<float, int32_t, 23, 127, 6>(x);
#endif
}

HANDVOL_HOST_DEVICE double Exp(double x) {
#if defined(__CUDA_ARCH__)
  return exp(x);
#else
  return HostExpNonPositive<double, int64_t, 52, 1023, 12>(x);
#endif
}

// exp(−x) for x ≥ kMaxExponent is taken as 0: such a pair weighs at most exp(−80) ≈ 2e-35 of
// its amplitude. The clamp also keeps vectorised exp on its fast path: lanes that underflow
// would each fall back to a scalar call.
constexpr double kMaxExponent = 80.0;

template <typename T>
HANDVOL_HOST_DEVICE T Abs(T x) { return x < T(0) ? -x : x; }

template <typename T>
HANDVOL_HOST_DEVICE T Sign(T x) { return T(x > T(0)) - T(x < T(0)); }

// exp(−exponent), 0 beyond kMaxExponent.
template <typename T>
HANDVOL_HOST_DEVICE T GaussianFactor(T exponent) {
  // Branch-free (a multiplication by 0 or 1), so the host loops stay vectorisable.
  const T inside = T(exponent < T(kMaxExponent));
  return inside * Exp(-(exponent < T(kMaxExponent) ? exponent : T(kMaxExponent)));
}

// numerics.safe_divide's denominator: |x| < eps becomes eps with the sign of x (+ for 0).
template <typename T>
HANDVOL_HOST_DEVICE T GuardDenominator(T x, T eps) {
  return Abs(x) < eps ? (x < T(0) ? -eps : eps) : x;
}

// What the pair loop needs of one model Gaussian, computed once per model Gaussian.
template <typename T>
struct ModelGaussian {
  T u, v, sigma, variance, z;
  T width;         // 2σ_h after the guard (mm).
  T inv_width;     // 1/width.
  T width_active;  // 1 where 2σ_h was used as is, 0 where the guard replaced it.
};

template <typename T>
HANDVOL_HOST_DEVICE ModelGaussian<T> MakeModelGaussian(const T* gaussian, T sigma_3d, T eps) {
  ModelGaussian<T> m;
  m.u = gaussian[kU];
  m.v = gaussian[kV];
  m.sigma = gaussian[kSigma];
  m.variance = m.sigma * m.sigma;
  m.z = gaussian[kZ];
  const T width = T(2) * sigma_3d;
  m.width = GuardDenominator(width, eps);
  m.inv_width = T(1) / m.width;
  m.width_active = T(m.width == width);
  return m;
}

// Δ(i, p) = (2σ_h − |z_i − z_p|)/2σ_h. Written so, it is exactly 0 at the boundary
// |z_i − z_p| = 2σ_h and positive exactly where the pure-TF twin's relu(1 − |z_i − z_p|/2σ_h)
// is (a correctly rounded quotient of a < b stays below 1), without a division per pair.
template <typename T>
HANDVOL_HOST_DEVICE T DepthWeight(T z, const ModelGaussian<T>& m) {
  const T weight = (m.width - Abs(z - m.z)) * m.inv_width;
  return weight > T(0) ? weight : T(0);
}

// The 2D factors of one pair: S = amplitude·gauss with amplitude = 2π·σ_i²σ_p²/s and
// gauss = exp(−d²/2s), s = σ_i² + σ_p², denominators guarded like safe_divide.
template <typename T>
struct PairOverlap {
  T du, dv, d2;
  T inv_s, inv_two_s;          // 1/guard(s), 1/guard(2s).
  T s_active, two_s_active;    // 1 where s (2s) was not replaced by the guard.
  T amplitude, gauss;
};

// The factors for centre offset (du, dv) = μ_a − μ_b and variances σ_a², σ_b².
template <typename T>
HANDVOL_HOST_DEVICE PairOverlap<T> MakePairOverlap(T du, T dv, T variance_a, T variance_b,
                                                   T eps) {
  PairOverlap<T> o;
  o.du = du;
  o.dv = dv;
  o.d2 = du * du + dv * dv;
  const T s = variance_a + variance_b;  // ≥ 0: only the + side of the guard can apply.
  o.s_active = T(s >= eps);
  o.two_s_active = T(T(2) * s >= eps);
  // One division per pair: where s is unguarded, so is 2s, and 1/s = 2·(1/2s) exactly.
  o.inv_two_s = T(1) / (o.two_s_active != T(0) ? T(2) * s : eps);
  o.inv_s = o.s_active != T(0) ? T(2) * o.inv_two_s : T(1) / eps;
  o.amplitude = T(kTwoPi) * variance_a * variance_b * o.inv_s;
  o.gauss = GaussianFactor(o.d2 * o.inv_two_s);
  return o;
}

// S_ip for an image Gaussian (u, v, variance = σ_i²) and model Gaussian m.
template <typename T>
HANDVOL_HOST_DEVICE T Overlap2d(T u, T v, T variance, const ModelGaussian<T>& m, T eps) {
  const PairOverlap<T> o = MakePairOverlap(u - m.u, v - m.v, variance, m.variance, eps);
  return o.amplitude * o.gauss;
}

// ∂(Δ·S)/∂ of the model inputs u_p, v_p, σ_p, z_p and σ_h for one pair.
template <typename T>
struct PairGradient {
  T u, v, sigma, z, sigma_3d;
};

// The pair's gradient; all zero where Δ = 0 (the kink gets the zero one-sided gradient of
// tf.nn.relu, and z_i = z_p the zero of tf.abs).
template <typename T>
HANDVOL_HOST_DEVICE PairGradient<T> PairGrad(T u, T v, T variance, T z, const ModelGaussian<T>& m,
                                             T eps) {
  const T depth_weight = DepthWeight(z, m);
  const T active = T(depth_weight > T(0));
  const PairOverlap<T> o = MakePairOverlap(u - m.u, v - m.v, variance, m.variance, eps);
  const T overlap = o.amplitude * o.gauss;
  // ∂S/∂(σ_p²): through the amplitude (its numerator, then its denominator s) and the exponent.
  const T d_amplitude = (T(kTwoPi) * variance - o.s_active * o.amplitude) * o.inv_s;
  const T d_exponent = o.two_s_active * T(2) * o.d2 * o.inv_two_s * o.inv_two_s;
  const T d_variance = o.gauss * d_amplitude + overlap * d_exponent;
  const T dz = z - m.z;
  const T weighted = active * depth_weight * overlap * T(2) * o.inv_two_s;
  PairGradient<T> g;
  g.u = weighted * o.du;
  g.v = weighted * o.dv;
  g.sigma = active * depth_weight * d_variance * T(2) * m.sigma;
  g.z = active * overlap * Sign(dz) * m.inv_width;
  g.sigma_3d = active * m.width_active * overlap * T(2) * Abs(dz) * m.inv_width * m.inv_width;
  return g;
}

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_MATH_H_
