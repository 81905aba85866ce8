// ggml's K-quants q4_K, q5_K and q6_K as members of the quantization family: super-blocks of 256
// (layouts in lib/reference/kquant.ts and docs/quantization.md), ggml's reference quantizers,
// exact dequantization, and the fused matmul.
//
// The 'int8' precision quantizes activations as ggml's q8_K does, per 256 elements:
//   iscale = −127/max (max: the signed value of largest |x|), q = min(127, nearest_int(iscale·x)),
//   d = 1/iscale (0 and all-zero codes when the block is all zero), and the 16 sums of 16 codes.
// A weight super-block then contributes, with integer dots that are exact:
//   q4_K, q5_K: (d·da)·Σ_s sc_s·Σ_{t∈s} q_t·a_t − (dmin·da)·Σ_s m_s·(bsum_2s + bsum_2s+1)   (8 × 32)
//   q6_K:       (d·da)·Σ_g sc_g·Σ_{t∈g} (q_t − 32)·a_t                                  (16 × 16)
// and the super-blocks of a row are added in f32 (reordered by SIMD within DESIGN §3's bound).
#pragma once
#include <cstddef>
#include <cstdint>

#include "sparq/quant.h"

namespace sparq {

constexpr int kSuperBlock = 256;
constexpr int kKGroups = 16;  // activation sums per super-block (16 codes each)

inline bool isKQuant(QFormat f) { return f == QFormat::q4_K || f == QFormat::q5_K || f == QFormat::q6_K; }
inline int kIndex(QFormat f) { return int(f) - int(QFormat::q4_K); }  // 0 q4_K, 1 q5_K, 2 q6_K

// q8_K activations, read-only: row i's codes at q + i·k, its scales at d + i·(k/256), its sums
// at bsums + i·(k/16).
struct ActRowsK {
  const int8_t* q;
  const float* d;
  const int16_t* bsums;
  size_t k;
};

// y[i·ldy + j] for i in [0, m), j in [n0, n1), as quant.h's MatmulInt8Fn.
using MatmulInt8KFn = void (*)(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy);

// One tier's K-quant matmuls, indexed by kIndex. A null entry falls back to the scalar one.
struct KQuantKernels {
  const char* tier;
  MatmulInt8KFn int8[3];
  MatmulF32Fn f32[3];
};

extern const KQuantKernels kquant__scalar;
extern const KQuantKernels kquant__avx2;
extern const KQuantKernels kquant__avx512;
extern const KQuantKernels kquant__avx512vnni;
extern const KQuantKernels kquant__neon;
extern const KQuantKernels kquant__neondot;

namespace kq {
// Row kernels of the scalar tier, for quant__scalar's tables (blockSize is always 256).
QStatus quantizeQ4K(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeQ5K(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeQ6K(const float* x, size_t k, int blockSize, uint8_t* out);
void dequantizeQ4K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ5K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ6K(const uint8_t* in, size_t k, int blockSize, float* out);
// One row of q8_K activations (k a multiple of 256). Returns false on NaN/±Inf.
bool quantizeActRow(const float* x, size_t k, int8_t* q, float* d, int16_t* bsums);
}  // namespace kq

// The x86 tiers' exact row dequantizers (kquant__avx2.cc, kquant__avx512.cc), for their quant
// tables; avx512vnni shares avx512's. ARM tiers use the scalar ones.
namespace kq_avx2 {
void dequantizeQ4K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ5K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ6K(const uint8_t* in, size_t k, int blockSize, float* out);
}  // namespace kq_avx2
namespace kq_avx512 {
void dequantizeQ4K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ5K(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ6K(const uint8_t* in, size_t k, int blockSize, float* out);
}  // namespace kq_avx512

// The int8 precision for K-quant weights: quantizes X as q8_K (false on NaN/±Inf), then runs the
// active tier's kernel over the pool. Called by matmulQuantized.
bool matmulKQuant(const float* x, int m, const QuantizedMatrix& w, Precision precision, float* y);

}  // namespace sparq
