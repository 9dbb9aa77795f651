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

HANDVOL_HOST_DEVICE float Exp(float x) { return expf(x); }
HANDVOL_HOST_DEVICE double Exp(double x) { return exp(x); }

template <typename T>
HANDVOL_HOST_DEVICE T Abs(T x) { return x < T(0) ? -x : x; }

template <typename T>
HANDVOL_HOST_DEVICE T Sign(T x) { return T(x > T(0)) - T(x < T(0)); }

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
  m.width_active = T(m.width == width);
  return m;
}

// Δ(i, p); exactly 0 at and beyond the boundary |z_i − z_p| = 2σ_h (a true division, so the
// boundary is where the pure-TF twin puts it).
template <typename T>
HANDVOL_HOST_DEVICE T DepthWeight(T z, const ModelGaussian<T>& m) {
  const T weight = T(1) - Abs(z - m.z) / m.width;
  return weight > T(0) ? weight : T(0);
}

// S_ip for an image Gaussian (u, v, variance = σ_i²) and model Gaussian m.
template <typename T>
HANDVOL_HOST_DEVICE T Overlap2d(T u, T v, T variance, const ModelGaussian<T>& m, T eps) {
  const T du = u - m.u;
  const T dv = v - m.v;
  const T s = variance + m.variance;
  const T amplitude = T(kTwoPi) * variance * m.variance / GuardDenominator(s, eps);
  return amplitude * Exp(-(du * du + dv * dv) / GuardDenominator(T(2) * s, eps));
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
  const T du = u - m.u;
  const T dv = v - m.v;
  const T d2 = du * du + dv * dv;
  const T s = variance + m.variance;
  const T s_guarded = GuardDenominator(s, eps);
  const T two_s = T(2) * s;
  const T two_s_guarded = GuardDenominator(two_s, eps);
  const T amplitude = T(kTwoPi) * variance * m.variance / s_guarded;
  const T gauss = Exp(-d2 / two_s_guarded);
  const T overlap = amplitude * gauss;
  // ∂S/∂(σ_p²): through the amplitude (its numerator, then its denominator s) and the exponent.
  const T d_amplitude = T(kTwoPi) * variance / s_guarded - T(s_guarded == s) * amplitude / s_guarded;
  const T d_exponent = T(two_s_guarded == two_s) * T(2) * d2 / (two_s_guarded * two_s_guarded);
  const T d_variance = gauss * d_amplitude + overlap * d_exponent;
  const T dz = z - m.z;
  const T weighted = active * depth_weight * overlap;
  PairGradient<T> g;
  g.u = weighted * T(2) * du / two_s_guarded;
  g.v = weighted * T(2) * dv / two_s_guarded;
  g.sigma = active * depth_weight * d_variance * T(2) * m.sigma;
  g.z = active * overlap * Sign(dz) / m.width;
  g.sigma_3d = active * m.width_active * overlap * T(2) * Abs(dz) / (m.width * m.width);
  return g;
}

}  // namespace handvol

#endif  // HANDVOL_CUSTOM_OPS_KERNELS_GAUSSIAN_OVERLAP_MATH_H_
