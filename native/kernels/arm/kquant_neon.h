// The K-quant matmul on NEON (kquant__neon.cc, kquant__neondot.cc). Contract: sparq/kquant.h.
//
// A weight super-block is unpacked once into 16 vectors of 16 codes (0…63, so they are also valid
// s8) with one scale per vector, and serves every activation row of the task. Per 16 elements the
// integer dot is a policy: SMULL/SMLAL2 (two products per s16 lane, at most 2·63·127, no overflow)
// then SADDLP, or one SDOT. Each is scaled by its group's scale with MLA into s32 lanes, and the
// lanes are added (exactly) once per super-block. The min term is 16 s16 × s16 products of the
// activation sums and the mins. The f32 terms are the scalar kernel's own operations in its
// order, so the results equal it bit for bit.
//
// Unnamed namespace on purpose: compiled once per tier with different -march flags.
#pragma once
#include <arm_neon.h>

#include <cstring>

#include "sparq/kquant.h"
#include "sparq/quant_common.h"
#include "sparq/scratch.h"

namespace sparq::kquant_neon {
namespace {

struct Block {
  uint8x16_t q[16];
  int32_t sc[16];
  int16x8_t mn[2];
  float dA, dB;
};

inline void scaleMin(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

template <QFormat F>
inline void unpack(const uint8_t* p, Block& b) {
  const uint8x16_t low4 = vdupq_n_u8(0x0f);
  int16_t mn[16];
  if constexpr (F == QFormat::q6_K) {
    const uint8x16_t high2 = vdupq_n_u8(0x30);
    for (int h = 0; h < 2; h++) {
      const uint8_t* ql = p + 64 * h;
      const uint8_t* qh = p + 128 + 32 * h;
      for (int half = 0; half < 2; half++) {
        const uint8x16_t l0 = vld1q_u8(ql + 16 * half), l1 = vld1q_u8(ql + 32 + 16 * half);
        const uint8x16_t hb = vld1q_u8(qh + 16 * half);
        uint8x16_t* q = b.q + 8 * h + half;
        q[0] = vorrq_u8(vandq_u8(l0, low4), vandq_u8(vshlq_n_u8(hb, 4), high2));
        q[2] = vorrq_u8(vandq_u8(l1, low4), vandq_u8(vshlq_n_u8(hb, 2), high2));
        q[4] = vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, high2));
        q[6] = vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), high2));
      }
    }
    for (int g = 0; g < 16; g++) b.sc[g] = int8_t(p[192 + g]), mn[g] = int16_t(32 * b.sc[g]);
    uint16_t h;
    std::memcpy(&h, p + 208, 2);
    b.dA = b.dB = f16ToF32(h);
  } else {
    const bool five = F == QFormat::q5_K;
    const uint8_t* qs = p + (five ? 48 : 16);
    const uint8x16_t one = vdupq_n_u8(1);
    for (int g = 0; g < 4; g++) {
      for (int half = 0; half < 2; half++) {
        const uint8x16_t raw = vld1q_u8(qs + 32 * g + 16 * half);
        uint8x16_t lo = vandq_u8(raw, low4), hi = vshrq_n_u8(raw, 4);
        if (five) {
          const uint8x16_t qh = vld1q_u8(p + 16 + 16 * half);
          lo = vorrq_u8(lo, vshlq_n_u8(vandq_u8(vshlq_u8(qh, vdupq_n_s8(int8_t(-2 * g))), one), 4));
          hi = vorrq_u8(hi, vshlq_n_u8(vandq_u8(vshlq_u8(qh, vdupq_n_s8(int8_t(-2 * g - 1))), one), 4));
        }
        b.q[4 * g + half] = lo;
        b.q[4 * g + 2 + half] = hi;
      }
    }
    for (int j = 0; j < 8; j++) {
      int s, m;
      scaleMin(p + 4, j, &s, &m);
      b.sc[2 * j] = b.sc[2 * j + 1] = s;
      mn[2 * j] = mn[2 * j + 1] = int16_t(m);
    }
    uint16_t d, dm;
    std::memcpy(&d, p, 2);
    std::memcpy(&dm, p + 2, 2);
    b.dA = f16ToF32(d);
    b.dB = f16ToF32(dm);
  }
  b.mn[0] = vld1q_s16(mn);
  b.mn[1] = vld1q_s16(mn + 8);
}

template <class Dot>
inline int32_t blockDot(const Block& b, const int8_t* a) {
  int32x4_t acc = vdupq_n_s32(0);
  for (int g = 0; g < 16; g++) acc = vmlaq_n_s32(acc, Dot::dot16(vreinterpretq_s8_u8(b.q[g]), vld1q_s8(a + 16 * g)), b.sc[g]);
  return vaddvq_s32(acc);
}

inline int32_t minSum(const Block& b, const int16_t* bs) {
  const int16x8_t b0 = vld1q_s16(bs), b1 = vld1q_s16(bs + 8);
  int32x4_t s = vmull_s16(vget_low_s16(b0), vget_low_s16(b.mn[0]));
  s = vmlal_high_s16(s, b0, b.mn[0]);
  s = vmlal_s16(s, vget_low_s16(b1), vget_low_s16(b.mn[1]));
  s = vmlal_high_s16(s, b1, b.mn[1]);
  return vaddvq_s32(s);
}

template <class Dot, QFormat F>
void matmulInt8(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  const size_t blocks = a.k / kSuperBlock, bytes = blockBytes(F, kSuperBlock);
  Block wb;
  for (int j = n0; j < n1; j++) {
    for (int i = 0; i < m; i++) y[size_t(i) * ldy + size_t(j)] = 0.0f;
    for (size_t b = 0; b < blocks; b++) {
      unpack<F>(w.data + size_t(j) * w.rowBytes + b * bytes, wb);
      for (int i = 0; i < m; i++) {
        const int32_t isum = blockDot<Dot>(wb, a.q + size_t(i) * a.k + b * kSuperBlock);
        const int32_t msum = minSum(wb, a.bsums + (size_t(i) * blocks + b) * kKGroups);
        const float da = a.d[size_t(i) * blocks + b];
        float& acc = y[size_t(i) * ldy + size_t(j)];
        if constexpr (F == QFormat::q6_K) {
          acc += (wb.dA * da) * float(isum - msum);
        } else {
          acc += (wb.dA * da) * float(isum);
          acc -= (wb.dB * da) * float(msum);
        }
      }
    }
  }
}

// f32 precision: each weight row dequantized once by the scalar dequantizer (exact), then NEON
// dot products with FMA (reordered within DESIGN §3).
template <QFormat F>
void matmulF32(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  constexpr DequantizeRowFn dequantize =
      F == QFormat::q4_K ? kq::dequantizeQ4K : F == QFormat::q5_K ? kq::dequantizeQ5K : kq::dequantizeQ6K;
  thread_local Scratch rowScratch;  // counted in nativeMemory().scratch
  auto* row = static_cast<float*>(rowScratch.get(w.k * sizeof(float)));
  for (int j = n0; j < n1; j++) {
    dequantize(w.data + size_t(j) * w.rowBytes, w.k, kSuperBlock, row);
    for (int i = 0; i < m; i++) {
      const float* xi = x + size_t(i) * ldx;
      float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
      for (size_t p = 0; p < w.k; p += 16) {
        a0 = vfmaq_f32(a0, vld1q_f32(row + p), vld1q_f32(xi + p));
        a1 = vfmaq_f32(a1, vld1q_f32(row + p + 4), vld1q_f32(xi + p + 4));
        a2 = vfmaq_f32(a2, vld1q_f32(row + p + 8), vld1q_f32(xi + p + 8));
        a3 = vfmaq_f32(a3, vld1q_f32(row + p + 12), vld1q_f32(xi + p + 12));
      }
      y[size_t(i) * ldy + size_t(j)] = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
    }
  }
}

template <class Dot>
constexpr KQuantKernels kernels(const char* tier) {
  return {tier,
          {matmulInt8<Dot, QFormat::q4_K>, matmulInt8<Dot, QFormat::q5_K>, matmulInt8<Dot, QFormat::q6_K>},
          {matmulF32<QFormat::q4_K>, matmulF32<QFormat::q5_K>, matmulF32<QFormat::q6_K>}};
}

}  // namespace
}  // namespace sparq::kquant_neon
