// Blockwise quantization, scalar: the formulas of docs/quantization.md written out once, in the
// order the TS reference uses. Every SIMD kernel is checked against these.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "sparq/kquant.h"
#include "sparq/quant_common.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {

using namespace quant;

QStatus quantizeQ8_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 34;
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
      if (!isFinite(v[j])) return QStatus::nonFinite;
      amax = std::max(amax, std::fabs(v[j]));
    }
    const float d = amax / 127.0f;
    const uint16_t h = f32ToF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    const float id = inverse(d);
    putU16(o, h);
    for (int j = 0; j < 32; j++) o[2 + j] = uint8_t(int8_t(std::roundf(v[j] * id)));
  }
  return QStatus::ok;
}

QStatus quantizeQ4_0(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 18;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) {
      if (!isFinite(v[j])) return QStatus::nonFinite;
      if (amax < std::fabs(v[j])) {
        amax = std::fabs(v[j]);
        max = v[j];
      }
    }
    const float d = max / -8.0f;
    const uint16_t h = f32ToF16(d);
    if (f16IsInf(h)) return QStatus::scaleOverflow;
    const float id = inverse(d);
    putU16(o, h);
    for (int j = 0; j < 16; j++) {
      const int lo = std::min(15, int(v[j] * id + 8.5f));
      const int hi = std::min(15, int(v[j + 16] * id + 8.5f));
      o[2 + j] = uint8_t(lo | hi << 4);
    }
  }
  return QStatus::ok;
}

QStatus quantizeQ4_1(const float* x, size_t k, int /*blockSize*/, uint8_t* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const float* v = x + b * 32;
    uint8_t* o = out + b * 20;
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < 32; j++) {
      if (!isFinite(v[j])) return QStatus::nonFinite;
      if (v[j] < min) min = v[j];
      if (v[j] > max) max = v[j];
    }
    const float d = (max - min) / 15.0f;
    const uint16_t hd = f32ToF16(d), hm = f32ToF16(min);
    if (f16IsInf(hd) || f16IsInf(hm)) return QStatus::scaleOverflow;
    const float id = inverse(d);
    putU16(o, hd);
    putU16(o + 2, hm);
    for (int j = 0; j < 16; j++) {
      const int lo = std::min(15, int((v[j] - min) * id + 0.5f));
      const int hi = std::min(15, int((v[j + 16] - min) * id + 0.5f));
      o[4 + j] = uint8_t(lo | hi << 4);
    }
  }
  return QStatus::ok;
}

int nf4Code(float normalized) {
  int c = 0;
  for (float t : kNf4Thresholds) c += normalized > t;  // NaN exceeds none
  return c;
}

QStatus quantizeNf4(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t bytes = blockBytes(QFormat::nf4, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const float* v = x + b * size_t(blockSize);
    uint8_t* o = out + b * bytes;
    float amax = 0.0f;
    for (int j = 0; j < blockSize; j++) {
      if (!isFinite(v[j])) return QStatus::nonFinite;
      amax = std::max(amax, std::fabs(v[j]));
    }
    const float inv = 1.0f / amax;  // +Inf for an all-zero block, as in bitsandbytes
    putF32(o, amax);
    for (int j = 0; j < blockSize / 2; j++)
      o[4 + j] = uint8_t(nf4Code(v[2 * j] * inv) << 4 | nf4Code(v[2 * j + 1] * inv));
  }
  return QStatus::ok;
}

QStatus quantizeInt8(const float* x, size_t k, int blockSize, uint8_t* out) {
  const size_t bytes = blockBytes(QFormat::int8, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const float* v = x + b * size_t(blockSize);
    uint8_t* o = out + b * bytes;
    float amax = 0.0f;
    for (int j = 0; j < blockSize; j++) {
      if (!isFinite(v[j])) return QStatus::nonFinite;
      amax = std::max(amax, std::fabs(v[j]));
    }
    putF32(o, amax);
    for (int j = 0; j < blockSize; j++)
      o[4 + j] = amax == 0.0f ? 0 : uint8_t(int8_t(std::nearbyintf(v[j] / amax * 127.0f)));
  }
  return QStatus::ok;
}

void dequantizeQ8_0(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 34;
    const float d = f16ToF32(getU16(p));
    for (int j = 0; j < 32; j++) out[b * 32 + j] = float(int8_t(p[2 + j])) * d;
  }
}

void dequantizeQ4_0(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 18;
    const float d = f16ToF32(getU16(p));
    for (int j = 0; j < 16; j++) {
      out[b * 32 + j] = float((p[2 + j] & 15) - 8) * d;
      out[b * 32 + j + 16] = float((p[2 + j] >> 4) - 8) * d;
    }
  }
}

void dequantizeQ4_1(const uint8_t* in, size_t k, int /*blockSize*/, float* out) {
  for (size_t b = 0; b < k / 32; b++) {
    const uint8_t* p = in + b * 20;
    const float d = f16ToF32(getU16(p)), m = f16ToF32(getU16(p + 2));
    for (int j = 0; j < 16; j++) {
      const float lo = float(p[4 + j] & 15) * d, hi = float(p[4 + j] >> 4) * d;
      out[b * 32 + j] = lo + m;
      out[b * 32 + j + 16] = hi + m;
    }
  }
}

void dequantizeNf4(const uint8_t* in, size_t k, int blockSize, float* out) {
  const size_t bytes = blockBytes(QFormat::nf4, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const uint8_t* p = in + b * bytes;
    const float absmax = getF32(p);
    float* o = out + b * size_t(blockSize);
    for (int j = 0; j < blockSize / 2; j++) {
      o[2 * j] = kNf4Codes[p[4 + j] >> 4] * absmax;
      o[2 * j + 1] = kNf4Codes[p[4 + j] & 15] * absmax;
    }
  }
}

void dequantizeInt8(const uint8_t* in, size_t k, int blockSize, float* out) {
  const size_t bytes = blockBytes(QFormat::int8, blockSize);
  for (size_t b = 0; b < k / size_t(blockSize); b++) {
    const uint8_t* p = in + b * bytes;
    const float s = getF32(p) / 127.0f;
    for (int j = 0; j < blockSize; j++) out[b * size_t(blockSize) + j] = float(int8_t(p[4 + j])) * s;
  }
}

bool quantizeAct(const float* x, size_t k, ActRow out) {
  for (size_t b = 0; b < k / kActBlock; b++) {
    const float* v = x + b * kActBlock;
    float amax = 0.0f;
    for (int j = 0; j < kActBlock; j++) {
      if (!isFinite(v[j])) return false;
      amax = std::max(amax, std::fabs(v[j]));
    }
    const float d = amax / 127.0f, id = inverse(d);
    int32_t s = 0;
    for (int j = 0; j < kActBlock; j++) {
      const int8_t q = int8_t(std::roundf(v[j] * id));
      out.q[b * kActBlock + j] = q;
      s += q;
    }
    out.d[b] = d;
    out.s[b] = s;
  }
  return true;
}

// Integer dot of one 32-element weight block (codes as stored) with activation codes.
int32_t dotQ8(const uint8_t* w, const int8_t* q) {
  int32_t s = 0;
  for (int j = 0; j < 32; j++) s += int32_t(int8_t(w[j])) * q[j];
  return s;
}

int32_t dotNibbles(const uint8_t* w, const int8_t* q, int offset) {
  int32_t s = 0;
  for (int j = 0; j < 16; j++) s += ((w[j] & 15) - offset) * q[j] + ((w[j] >> 4) - offset) * q[j + 16];
  return s;
}

// One output: Σ over blocks, in block order, as the reference adds them.
float dotRow(QFormat f, const QWeights& w, const uint8_t* row, const ActRows& a, int i) {
  const size_t blocks = w.k / kActBlock;
  const int8_t* q = a.q + size_t(i) * w.k;
  const float* dx = a.d + size_t(i) * blocks;
  const int32_t* sx = a.s + size_t(i) * blocks;
  float acc = 0.0f;
  for (size_t b = 0; b < blocks; b++) {
    const int8_t* qb = q + b * kActBlock;
    switch (f) {
      case QFormat::q8_0: {
        const uint8_t* p = row + b * 34;
        acc += (f16ToF32(getU16(p)) * dx[b]) * float(dotQ8(p + 2, qb));
        break;
      }
      case QFormat::q4_0: {
        const uint8_t* p = row + b * 18;
        acc += (f16ToF32(getU16(p)) * dx[b]) * float(dotNibbles(p + 2, qb, 8));
        break;
      }
      case QFormat::q4_1: {
        const uint8_t* p = row + b * 20;
        acc += (f16ToF32(getU16(p)) * dx[b]) * float(dotNibbles(p + 4, qb, 0));
        acc += (f16ToF32(getU16(p + 2)) * dx[b]) * float(sx[b]);
        break;
      }
      case QFormat::int8: {
        const size_t per = size_t(w.blockSize) / kActBlock;
        const uint8_t* p = row + (b / per) * blockBytes(f, w.blockSize);
        const float sw = getF32(p) / 127.0f;
        acc += (sw * dx[b]) * float(dotQ8(p + 4 + (b % per) * kActBlock, qb));
        break;
      }
      default:  // nf4 has no int8 precision; the K-quants have kernels of their own (kquant.h)
        break;
    }
  }
  return acc;
}

template <QFormat F>
void matmulInt8(const ActRows& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    for (int i = 0; i < m; i++) y[size_t(i) * ldy + size_t(j)] = dotRow(F, w, row, a, i);
  }
}

template <QFormat F, DequantizeRowFn Dequantize>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  thread_local Scratch rowScratch;  // counted in nativeMemory().scratch
  auto* row = static_cast<float*>(rowScratch.get(w.k * sizeof(float)));
  for (int j = n0; j < n1; j++) {
    Dequantize(w.data + size_t(j) * w.rowBytes, w.k, w.blockSize, row);
    for (int i = 0; i < m; i++) {
      const float* xi = x + size_t(i) * ldx;
      float acc = 0.0f;
      for (size_t p = 0; p < w.k; p++) acc += row[p] * xi[p];
      y[size_t(i) * ldy + size_t(j)] = acc;
    }
  }
}

void f32ToF16Bulk(const float* x, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; i++) out[i] = f32ToF16(x[i]);
}

void f16ToF32Bulk(const uint16_t* h, size_t n, float* out) {
  for (size_t i = 0; i < n; i++) out[i] = f16ToF32(h[i]);
}

}  // namespace

const QuantMatmulKernels quantMatmul__scalar = {
    {matmulInt8<QFormat::q8_0>, matmulInt8<QFormat::q4_0>, matmulInt8<QFormat::q4_1>, nullptr,
     matmulInt8<QFormat::int8>},
    {matmulF32<QFormat::q8_0, dequantizeQ8_0>, matmulF32<QFormat::q4_0, dequantizeQ4_0>,
     matmulF32<QFormat::q4_1, dequantizeQ4_1>, matmulF32<QFormat::nf4, dequantizeNf4>,
     matmulF32<QFormat::int8, dequantizeInt8>},
};

const QuantKernels quant__scalar = {
    "scalar",
    {quantizeQ8_0, quantizeQ4_0, quantizeQ4_1, quantizeNf4, quantizeInt8, kq::quantizeQ4K, kq::quantizeQ5K,
     kq::quantizeQ6K},
    {dequantizeQ8_0, dequantizeQ4_0, dequantizeQ4_1, dequantizeNf4, dequantizeInt8, kq::dequantizeQ4K, kq::dequantizeQ5K,
     kq::dequantizeQ6K},
    quantizeAct,
    f32ToF16Bulk,
    f16ToF32Bulk,
    &quantMatmul__scalar,
};

}  // namespace sparq
