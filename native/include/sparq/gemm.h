// The int8 GEMM family as the binding sees it: packed weights and the dispatching entry points.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "sparq/gemm_int8.h"
#include "sparq/runtime.h"

namespace sparq {

// B [n×k] s8 in native-owned memory, with its row sums and a lazily filled packed copy per
// layout, so a matrix packed under one tier keeps working after the tier changes.
class PackedInt8 {
 public:
  PackedInt8(const int8_t* b, int n, int k);
  int n() const { return n_; }
  int k() const { return k_; }
  const int8_t* rows() const { return rows_.data(); }
  const int32_t* rowSums() const { return rowSums_.data(); }
  const uint8_t* packedFor(const Int8GemmKernel& kernel);  // thread-safe
  size_t bytes() const;

 private:
  struct Aligned {
    void operator()(uint8_t* p) const;
  };
  int n_, k_;
  std::vector<int8_t> rows_;
  std::vector<int32_t> rowSums_;
  std::mutex mutex_;
  std::vector<std::pair<int, std::unique_ptr<uint8_t, Aligned>>> packed_;
  size_t packedBytes_ = 0;
};

// The kernel the active tier dispatches to.
const Int8GemmKernel& int8GemmKernel();
// Name of the kernel that most recently ran in this family (tests assert the tier really ran).
const char* lastInt8GemmKernel();

// C[m×n] = (A − aZeroPoint)·Bᵀ, A u8 row-major [m×k]. Exact.
void gemmU8S8(const uint8_t* a, int m, PackedInt8& w, int32_t aZeroPoint, int32_t* c);
// C[m×n] = A·Bᵀ, A s8 row-major [m×k]. Exact.
void gemmS8S8(const int8_t* a, int m, PackedInt8& w, int32_t* c);

// Per-row dynamic u8 quantization (ONNX DynamicQuantizeLinear semantics, one row at a time):
// lo = min(0, min x), hi = max(0, max x), scale = (hi − lo)/255 (1 when hi = lo),
// zeroPoint = roundHalfEven(clamp(0 − lo/scale, 0, 255)), q = clamp(roundHalfEven(x/scale) + zeroPoint, 0, 255).
// Returns false when some x is not finite (nothing is guaranteed about q then).
bool quantizeRowsU8(const float* x, int m, int k, uint8_t* q, float* scale, int32_t* zeroPoint);
// Name of the activation-quantizer/epilogue kernel (sparq/linear_int8.h) that most recently ran.
const char* lastLinearInt8Kernel();

// The quantized linear layer: weights s8 per output channel with scales, optional bias.
struct LinearInt8 {
  std::shared_ptr<PackedInt8> weight;
  std::vector<float> scale;  // n
  std::vector<float> bias;   // n or empty
  // A static activation range (calibrated): every row is coded with this scale and zero point,
  // skipping the per-row range search. Dynamic (per row) when false.
  bool staticActivations = false;
  float activationScale = 1.0f;
  int32_t activationZeroPoint = 0;
};
// Symmetric per-row int8: scale = amax/127 (1 when amax = 0), q = clamp(roundHalfEven(w/scale), −127, 127).
// Returns false when some w is not finite.
bool quantizeWeightsS8(const float* w, int n, int k, int8_t* q, float* scale);
// Codes X [m×k] with a given scale and zero point (the static activation quantizer). Returns false
// when some x is not finite.
bool codeRowsU8(const float* x, int m, int k, float scale, int32_t zeroPoint, uint8_t* q);
// y[i][j] = f32(acc[i][j])·f32(sa[i]·sw[j]) + bias[j], each step rounded to f32, acc = (qa − za)·Wqᵀ.
// Returns false when some x is not finite.
bool linearInt8(const float* x, int m, LinearInt8& layer, float* y);

}  // namespace sparq
