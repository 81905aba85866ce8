// Blockwise quantization: formats, the kernel contract every tier implements, and the
// QuantizedMatrix the binding hands to JS. Plain C++, no Node-API.
//
// A matrix W[n×k] (PyTorch Linear layout, out × in) is stored row after row; each row is
// k / blockSize blocks and a block is `blockBytes(format, blockSize)` bytes:
//
//   q8_0  32 elems, 34 B: f16 d | 32 × s8 q                        x = q·d           (ggml)
//   q4_0  32 elems, 18 B: f16 d | 16 B, byte j = q[j] | q[j+16]<<4  x = (q − 8)·d     (ggml)
//   q4_1  32 elems, 20 B: f16 d | f16 m | 16 B as q4_0              x = q·d + m       (ggml)
//   nf4   B elems, 4 + B/2: f32 absmax | B/2 B, byte i = c[2i]<<4 | c[2i+1]
//                                                                    x = NF4[c]·absmax (bitsandbytes codes)
//   int8  B elems, 4 + B: f32 absmax | B × s8 q                     x = q·(absmax/127) (sparq's own)
//
// Little-endian throughout. The exact quantizer formulas live in lib/reference/quant.ts and in
// the scalar kernels; every SIMD kernel reproduces them bit for bit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sparq {

enum class QFormat : int { q8_0 = 0, q4_0, q4_1, nf4, int8, q4_K, q5_K, q6_K };  // K-quants: kquant.h
constexpr int kQFormats = 8;
constexpr int kActBlock = 32;  // activation block of the int8 precision

const char* formatName(QFormat f);
bool formatFromName(const std::string& name, QFormat* out);
size_t blockBytes(QFormat f, int blockSize);
// f32 division of one weight value by 127 etc. lives in the kernels; these are the plain facts.
bool isGgml(QFormat f);
// The one block size a ggml format has (32, or 256 for the K-quants); 0 for nf4 and int8.
int fixedBlockSize(QFormat f);

extern const float kNf4Codes[16];       // bitsandbytes NF4 codebook, ascending
extern const float kNf4Thresholds[15];  // midpoints: code = number of thresholds t with x > t

// Outcome of quantizing a row. Anything but ok leaves the output bytes unspecified.
enum class QStatus : int { ok = 0, nonFinite = 1, scaleOverflow = 2 };

// f16 ↔ f32: round to nearest even, overflow to ±Inf, NaN stays NaN (quiet bit set, the top
// payload bits kept). Scalar forms are shared by every kernel for per-block scales.
uint16_t f32ToF16(float x);
float f16ToF32(uint16_t h);

// Activations of the int8 precision, one row: k/32 blocks, each q[32] = roundHalfAway(x·id) with
// d = amax/127 (f32, not rounded to f16), id = 1/d (0 when d = 0 or 1/d overflows), and the
// integer sum s = Σq that q4_0 (−8·s) and q4_1 (m·d·s) need. Returns false on NaN/±Inf.
struct ActRow {
  int8_t* q;   // k codes
  float* d;    // k/32 scales
  int32_t* s;  // k/32 sums
};

// Read-only view of quantized activations: row i's codes at q + i·k, scales/sums at d/s + i·(k/32).
struct ActRows {
  const int8_t* q;
  const float* d;
  const int32_t* s;
  size_t k;
};

// The weight operand of a matmul kernel: all n rows of one QuantizedMatrix.
struct QWeights {
  const uint8_t* data;
  size_t rowBytes;
  int blockSize;
  size_t k;
};

using QuantizeRowFn = QStatus (*)(const float* x, size_t k, int blockSize, uint8_t* out);
using DequantizeRowFn = void (*)(const uint8_t* in, size_t k, int blockSize, float* out);
using QuantizeActFn = bool (*)(const float* x, size_t k, ActRow out);
// int8 precision: y[i·ldy + j] = Σ_b scale terms of activation row i and weight row j, for i in
// [0, m) and j in [n0, n1). No bias. m may be anything ≥ 1; a kernel reuses each weight block for
// as many rows as it can keep in registers and may use thread-local scratch.
using MatmulInt8Fn = void (*)(const ActRows& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy);
// f32 precision: y[i·ldy + j] = Σ_p deq(w[j][p])·x[i·ldx + p], same ranges.
using MatmulF32Fn = void (*)(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y,
                             size_t ldy);

// One tier's matmul kernels, in their own table so they can live in their own source file.
// matmulInt8[nf4] is always null (NF4 codes are not linear).
struct QuantMatmulKernels {
  MatmulInt8Fn int8[kQFormats];
  MatmulF32Fn f32[kQFormats];
};

// One tier's kernels. A null entry (or a null `matmul`) falls back to the scalar kernel, and
// the name reported is then the scalar one.
struct QuantKernels {
  const char* tier;  // "scalar", "avx2", ...
  QuantizeRowFn quantize[kQFormats];
  DequantizeRowFn dequantize[kQFormats];
  QuantizeActFn quantizeAct;
  void (*f32ToF16)(const float* x, size_t n, uint16_t* out);
  void (*f16ToF32)(const uint16_t* h, size_t n, float* out);
  const QuantMatmulKernels* matmul;
};

extern const QuantKernels quant__scalar;
extern const QuantKernels quant__avx2;
extern const QuantKernels quant__avx512;
extern const QuantKernels quant__avx512vnni;
extern const QuantKernels quant__neon;
extern const QuantKernels quant__neondot;
extern const QuantMatmulKernels quantMatmul__scalar;
extern const QuantMatmulKernels quantMatmul__avx2;
extern const QuantMatmulKernels quantMatmul__avx512;
extern const QuantMatmulKernels quantMatmul__avx512vnni;
extern const QuantMatmulKernels quantMatmul__neon;
extern const QuantMatmulKernels quantMatmul__neondot;

// The kernels of the active tier (tiers without their own table use the one below them).
const QuantKernels& quantKernels();
// "<op>.<format>.<tier>" of the last quantized kernel run, e.g. "matmulInt8.q4_0.avx512vnni".
std::string lastQuantKernel();
// Sets what lastQuantKernel() reports (format −1: none), for drivers outside quant.cc.
void recordQuantKernel(const char* op, int format, const char* tier);

// Bulk conversions on the active tier.
void convertF32ToF16(const float* x, size_t n, uint16_t* out);
void convertF16ToF32(const uint16_t* h, size_t n, float* out);

// Row-level conversion on the active tier; rows are split across the pool.
// On failure, *badIndex is the first offending element (nonFinite) or block start (scaleOverflow).
QStatus quantizeRows(QFormat f, const float* x, size_t n, size_t k, int blockSize, uint8_t* out, size_t* badIndex);
void dequantizeRows(QFormat f, const uint8_t* in, size_t n, size_t k, int blockSize, float* out);

// The int8 precision's activation quantizer over m rows of k (k a multiple of 32), on the active
// tier, split across the pool. Returns false on NaN/±Inf.
bool quantizeActivations(const float* x, size_t m, size_t k, int8_t* q, float* d, int32_t* s);

enum class Precision : int { int8 = 0, f32 = 1 };

class QuantizedMatrix {
 public:
  // Owned blocks, zero-initialized; fill them through mutableData().
  QuantizedMatrix(QFormat format, int n, size_t k, int blockSize);
  // Adopted blocks: `bytes` (n·rowBytes of them, plus at least 64 readable bytes after them) stay
  // owned by `owner` (a MappedFile), which this matrix keeps alive. They are read-only.
  QuantizedMatrix(QFormat format, int n, size_t k, int blockSize, std::shared_ptr<const void> owner,
                  const uint8_t* bytes);
  QFormat format() const { return format_; }
  int n() const { return n_; }
  size_t k() const { return k_; }
  int blockSize() const { return blockSize_; }
  size_t rowBytes() const { return rowBytes_; }
  size_t bytes() const { return size_t(n_) * rowBytes_; }
  // The owned blocks to fill, right after construction; null for an adopted matrix.
  uint8_t* mutableData() { return data_.get(); }
  const uint8_t* data() const { return view_; }
  // Whether the blocks live in someone else's memory (a mapped file) rather than this object's.
  bool adopted() const { return owner_ != nullptr; }
  // Heap bytes this object owns (0 when adopted), what is reported to V8.
  size_t ownedBytes() const { return adopted() ? 0 : bytes(); }
  QWeights weights() const { return {view_, rowBytes_, blockSize_, k_}; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  QFormat format_;
  int n_;
  size_t k_;
  int blockSize_;
  size_t rowBytes_;
  std::unique_ptr<uint8_t, Free> data_;  // 64-byte aligned, one spare line for tail over-reads
  std::shared_ptr<const void> owner_;    // keeps adopted bytes alive
  const uint8_t* view_;                  // the blocks: data_ or adopted bytes
};

// Runs task(i0, rows, n0, n1) over tiles of up to 64 activation rows × ranges of weight rows
// (multiples of 16) covering [0, m) × [0, n), on the pool when m·n·k is large enough. Each tile
// owns its outputs, so the split never changes Y.
void forMatmulTiles(int m, int n, size_t k, const std::function<void(int, int, int, int)>& task);

// Y[m×n] = X[m×k]·Wᵀ (+ bias). Returns false when precision is int8 and X holds NaN/±Inf.
bool matmulQuantized(const float* x, int m, const QuantizedMatrix& w, const float* bias, Precision precision,
                     float* y);

}  // namespace sparq
