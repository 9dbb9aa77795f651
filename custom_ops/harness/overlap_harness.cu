// Standalone CUDA harness of the Gaussian overlap kernels: no TensorFlow. It reads inputs and
// the CPU op's results from a file written by run_harness.py, runs the very kernels the op
// runs (gaussian_overlap_cuda.cuh), compares, and times them with CUDA events.
//
//   overlap_harness CASE_FILE [REPEATS]
//
// CASE_FILE (little-endian): "HVOL", int32 version, B, N_i, N_m, float32 eps, then float32
// arrays image [B, N_i, 4], mask [B, N_i], model [B, N_m, 4], sigma_3d [B, N_m], grad [B],
// and the CPU op's overlap [B], grad_model [B, N_m, 4], grad_sigma_3d [B, N_m].
// Prints one JSON line: max relative errors against the CPU op, and median milliseconds.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../cc/kernels/gaussian_overlap_cuda.cuh"

namespace {

constexpr int kVersion = 1;

#define HARNESS_CHECK(call)                                                                  \
  do {                                                                                       \
    const cudaError_t status = (call);                                                       \
    if (status != cudaSuccess) {                                                             \
      std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(status));            \
      std::exit(2);                                                                          \
    }                                                                                        \
  } while (0)

struct Case {
  int batch, n_i, n_m;
  float eps;
  std::vector<float> image, mask, model, sigma_3d, grad, overlap, grad_model, grad_sigma_3d;
};

void ReadArray(std::FILE* file, std::vector<float>* values, size_t size) {
  values->resize(size);
  if (std::fread(values->data(), sizeof(float), size, file) != size) {
    std::fprintf(stderr, "case file is truncated\n");
    std::exit(1);
  }
}

Case ReadCase(const char* path) {
  std::FILE* file = std::fopen(path, "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "cannot open %s\n", path);
    std::exit(1);
  }
  char magic[4];
  int header[4];
  Case c;
  if (std::fread(magic, 1, 4, file) != 4 || std::memcmp(magic, "HVOL", 4) != 0 ||
      std::fread(header, sizeof(int), 4, file) != 4 || header[0] != kVersion ||
      std::fread(&c.eps, sizeof(float), 1, file) != 1) {
    std::fprintf(stderr, "%s is not a version-%d case file\n", path, kVersion);
    std::exit(1);
  }
  c.batch = header[1];
  c.n_i = header[2];
  c.n_m = header[3];
  const size_t b = c.batch, n_i = c.n_i, n_m = c.n_m;
  ReadArray(file, &c.image, b * n_i * 4);
  ReadArray(file, &c.mask, b * n_i);
  ReadArray(file, &c.model, b * n_m * 4);
  ReadArray(file, &c.sigma_3d, b * n_m);
  ReadArray(file, &c.grad, b);
  ReadArray(file, &c.overlap, b);
  ReadArray(file, &c.grad_model, b * n_m * 4);
  ReadArray(file, &c.grad_sigma_3d, b * n_m);
  std::fclose(file);
  return c;
}

float* ToDevice(const std::vector<float>& values) {
  float* device = nullptr;
  HARNESS_CHECK(cudaMalloc(&device, sizeof(float) * std::max<size_t>(values.size(), 1)));
  HARNESS_CHECK(cudaMemcpy(device, values.data(), sizeof(float) * values.size(),
                           cudaMemcpyHostToDevice));
  return device;
}

std::vector<float> ToHost(const float* device, size_t size) {
  std::vector<float> values(size);
  HARNESS_CHECK(cudaMemcpy(values.data(), device, sizeof(float) * size, cudaMemcpyDeviceToHost));
  return values;
}

// max |a − b| / max |b|: gradient entries may cancel to ~0, so the scale is the array's.
double RelativeError(const std::vector<float>& actual, const std::vector<float>& expected) {
  double diff = 0, scale = 0;
  for (size_t k = 0; k < expected.size(); ++k) {
    diff = std::max(diff, std::fabs(double(actual[k]) - expected[k]));
    scale = std::max(scale, std::fabs(double(expected[k])));
  }
  return scale > 0 ? diff / scale : diff;
}

template <typename Fn>
double MedianMilliseconds(Fn launch, int repeats) {
  cudaEvent_t start, stop;
  HARNESS_CHECK(cudaEventCreate(&start));
  HARNESS_CHECK(cudaEventCreate(&stop));
  launch();  // Warm-up.
  std::vector<float> times(repeats);
  for (float& time : times) {
    HARNESS_CHECK(cudaEventRecord(start));
    launch();
    HARNESS_CHECK(cudaEventRecord(stop));
    HARNESS_CHECK(cudaEventSynchronize(stop));
    HARNESS_CHECK(cudaEventElapsedTime(&time, start, stop));
  }
  std::sort(times.begin(), times.end());
  return times[repeats / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CASE_FILE [REPEATS]\n", argv[0]);
    return 1;
  }
  const Case c = ReadCase(argv[1]);
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 100;
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::fprintf(stderr, "no CUDA device: the harness needs a GPU to run\n");
    return 3;
  }
  cudaDeviceProp properties;
  HARNESS_CHECK(cudaGetDeviceProperties(&properties, 0));
  float* image = ToDevice(c.image);
  float* mask = ToDevice(c.mask);
  float* model = ToDevice(c.model);
  float* sigma_3d = ToDevice(c.sigma_3d);
  float* grad = ToDevice(c.grad);
  float* overlap = ToDevice(std::vector<float>(c.batch));
  float* grad_model = ToDevice(std::vector<float>(c.grad_model.size()));
  float* grad_sigma_3d = ToDevice(std::vector<float>(c.grad_sigma_3d.size()));
  auto forward = [&] {
    HARNESS_CHECK(handvol::LaunchGaussianOverlap<float>(nullptr, image, mask, model, sigma_3d,
                                                        c.batch, c.n_i, c.n_m, c.eps, overlap));
  };
  auto backward = [&] {
    HARNESS_CHECK(handvol::LaunchGaussianOverlapGrad<float>(
        nullptr, grad, image, mask, model, sigma_3d, c.batch, c.n_i, c.n_m, c.eps, grad_model,
        grad_sigma_3d));
  };
  const double forward_ms = MedianMilliseconds(forward, repeats);
  const double backward_ms = MedianMilliseconds(backward, repeats);
  HARNESS_CHECK(cudaDeviceSynchronize());
  const double overlap_error = RelativeError(ToHost(overlap, c.batch), c.overlap);
  const double grad_error = std::max(
      RelativeError(ToHost(grad_model, c.grad_model.size()), c.grad_model),
      RelativeError(ToHost(grad_sigma_3d, c.grad_sigma_3d.size()), c.grad_sigma_3d));
  std::printf("{\"device\": \"%s\", \"batch\": %d, \"n_i\": %d, \"n_m\": %d, "
              "\"max_rel_err\": %.3g, \"max_grad_rel_err\": %.3g, \"forward_ms\": %.4f, "
              "\"backward_ms\": %.4f, \"repeats\": %d}\n",
              properties.name, c.batch, c.n_i, c.n_m, overlap_error, grad_error, forward_ms,
              backward_ms, repeats);
  return 0;
}
