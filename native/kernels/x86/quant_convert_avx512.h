// The AVX-512 conversion kernels of quant__avx512.cc, declared for the avx512vnni table, which
// has nothing VNNI-specific to add to conversion and points at the same functions.
#pragma once
#include "sparq/kquant.h"
#include "sparq/quant.h"

namespace sparq::quant_avx512 {

QStatus quantizeQ8_0(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeQ4_0(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeQ4_1(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeNf4(const float* x, size_t k, int blockSize, uint8_t* out);
QStatus quantizeInt8(const float* x, size_t k, int blockSize, uint8_t* out);
void dequantizeQ8_0(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ4_0(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeQ4_1(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeNf4(const uint8_t* in, size_t k, int blockSize, float* out);
void dequantizeInt8(const uint8_t* in, size_t k, int blockSize, float* out);
bool quantizeAct(const float* x, size_t k, ActRow out);
void f32ToF16Bulk(const float* x, size_t n, uint16_t* out);
void f16ToF32Bulk(const uint16_t* h, size_t n, float* out);

namespace {

// The table of a tier that converts with these kernels, computed at compile time (so both tables
// are constant-initialized).
constexpr QuantKernels kernels(const char* tier, const QuantMatmulKernels* matmul) {
  return {
      tier,
      {quantizeQ8_0, quantizeQ4_0, quantizeQ4_1, quantizeNf4, quantizeInt8},
      {dequantizeQ8_0, dequantizeQ4_0, dequantizeQ4_1, dequantizeNf4, dequantizeInt8, kq_avx512::dequantizeQ4K,
       kq_avx512::dequantizeQ5K, kq_avx512::dequantizeQ6K},
      quantizeAct,
      f32ToF16Bulk,
      f16ToF32Bulk,
      matmul,
  };
}

}  // namespace
}  // namespace sparq::quant_avx512
