// K-quants, scalar: ggml's reference quantizers for q4_K/q5_K/q6_K written in the same f32 steps
// as lib/reference/kquant-quantize.ts (this file builds with -ffp-contract=off, so every step
// rounds once, as Math.fround does), exact dequantization, q8_K activations and both matmul
// precisions in the reference's order.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "sparq/kquant.h"
#include "sparq/quant_common.h"
#include "sparq/scratch.h"

namespace sparq {
namespace {

using namespace quant;

// ggml's nearest_int (round half even through an f32 add of 1.5·2²³); the subtraction is done
// in double, as the reference does, so magnitudes past 2²² and ±Inf/NaN behave like it too.
inline double nearestInt(float v) {
  const float t = v + 12582912.0f;
  return double(t) - 12582912.0;
}

// JS Math.max(lo, Math.min(hi, v)): NaN stays NaN.
inline double clampJs(double v, double lo, double hi) { return std::isnan(v) ? v : std::max(lo, std::min(hi, v)); }

// What storing v into a JS Uint8Array/Int8Array keeps: NaN → 0, otherwise the value modulo 256.
inline uint8_t byteOf(double v) {
  if (std::isnan(v) || std::isinf(v)) return 0;
  const double r = std::fmod(std::trunc(v), 256.0);
  return uint8_t(int(r < 0 ? r + 256.0 : r));
}

float halfAt(const uint8_t* p) { return f16ToF32(getU16(p)); }

// Scale and min j (0…7) of q4_K/q5_K from the 12 packed bytes.
inline void scaleMin(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// make_qkx2_quants: codes in 0…nmax into L; returns the scale, and −min in *negMin.
float scaleAndMin(const float* x, int nmax, const float* w, uint8_t* L, float rmin, float rdelta, int nstep,
                  float* negMin) {
  constexpr int n = 32;
  float min = x[0], max = x[0];
  float sumW = w[0], sumX = sumW * x[0];
  for (int i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sumW = sumW + w[i];
    sumX = sumX + w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::memset(L, 0, n);
    *negMin = -min;
    return 0;
  }
  float iscale = float(nmax) / (max - min);
  float scale = 1.0f / iscale;
  float bestError = 0;
  for (int i = 0; i < n; i++) {
    const double l = clampJs(nearestInt(iscale * (x[i] - min)), 0, nmax);
    L[i] = byteOf(l);
    const float diff = (scale * float(l) + min) - x[i];
    bestError = bestError + w[i] * (diff * diff);
  }
  double aux[n];
  for (int step = 0; step <= nstep; step++) {
    iscale = ((rmin + rdelta * float(step)) + float(nmax)) / (max - min);
    float sumL = 0, sumL2 = 0, sumXL = 0;
    for (int i = 0; i < n; i++) {
      aux[i] = clampJs(nearestInt(iscale * (x[i] - min)), 0, nmax);
      const float wl = w[i] * float(aux[i]);
      sumL = sumL + wl;
      sumL2 = sumL2 + wl * float(aux[i]);
      sumXL = sumXL + wl * x[i];
    }
    const float D = sumW * sumL2 - sumL * sumL;
    if (!(D > 0)) continue;
    float thisScale = (sumW * sumXL - sumX * sumL) / D;
    float thisMin = (sumL2 * sumX - sumL * sumXL) / D;
    if (thisMin > 0) {
      thisMin = 0;
      thisScale = sumXL / sumL2;
    }
    float error = 0;
    for (int i = 0; i < n; i++) {
      const float diff = (thisScale * float(byteOf(aux[i])) + thisMin) - x[i];
      error = error + w[i] * (diff * diff);
    }
    if (error < bestError) {
      for (int i = 0; i < n; i++) L[i] = byteOf(aux[i]);
      bestError = error;
      scale = thisScale;
      min = thisMin;
    }
  }
  *negMin = -min;
  return scale;
}

bool finiteRow(const float* x, size_t k) {
  for (size_t i = 0; i < k; i++)
    if (!isFinite(x[i])) return false;
  return true;
}

void quantizeQ45KBlock(const float* x, uint8_t* out, bool five) {
  const int nmax = five ? 31 : 15;
  uint8_t L[kSuperBlock];
  float scales[8], mins[8], w[32];
  float maxScale = 0, maxMin = 0;
  for (int j = 0; j < 8; j++) {
    const float* v = x + 32 * j;
    float sumX2 = 0;
    for (int l = 0; l < 32; l++) sumX2 = sumX2 + v[l] * v[l];
    const float av = std::sqrt(sumX2 / 32.0f);
    for (int l = 0; l < 32; l++) w[l] = av + std::fabs(v[l]);
    scales[j] = five ? scaleAndMin(v, nmax, w, L + 32 * j, -0.5f, 0.1f, 15, &mins[j])
                     : scaleAndMin(v, nmax, w, L + 32 * j, -1.0f, 0.1f, 20, &mins[j]);
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const float invScale = maxScale > 0 ? 63.0f / maxScale : 0.0f;
  const float invMin = maxMin > 0 ? 63.0f / maxMin : 0.0f;
  uint8_t* sc = out + 4;
  std::memset(sc, 0, 12);
  for (int j = 0; j < 8; j++) {
    const int ls = std::min(63, int(byteOf(nearestInt(invScale * scales[j]))));
    const int lm = std::min(63, int(byteOf(nearestInt(invMin * mins[j]))));
    if (j < 4) {
      sc[j] = uint8_t(ls);
      sc[j + 4] = uint8_t(lm);
    } else {
      sc[j + 4] = uint8_t((ls & 0xf) | ((lm & 0xf) << 4));
      sc[j - 4] |= uint8_t((ls >> 4) << 6);
      sc[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  const uint16_t dBits = f32ToF16(maxScale / 63.0f), mBits = f32ToF16(maxMin / 63.0f);
  putU16(out, dBits);
  putU16(out + 2, mBits);
  for (int j = 0; j < 8; j++) {
    int s, m;
    scaleMin(sc, j, &s, &m);
    const float d = f16ToF32(dBits) * float(s);
    if (d == 0) continue;
    const float dm = f16ToF32(mBits) * float(m);
    for (int i = 0; i < 32; i++) L[32 * j + i] = byteOf(clampJs(nearestInt((x[32 * j + i] + dm) / d), 0, nmax));
  }
  uint8_t* qh = out + 16;
  uint8_t* qs = out + (five ? 48 : 16);
  if (five) std::memset(qh, 0, 32);
  for (int g = 0; g < 4; g++) {
    for (int l = 0; l < 32; l++) {
      int lo = L[64 * g + l], hi = L[64 * g + l + 32];
      if (five) {
        if (lo > 15) lo -= 16, qh[l] |= uint8_t(1 << (2 * g));
        if (hi > 15) hi -= 16, qh[l] |= uint8_t(2 << (2 * g));
      }
      qs[32 * g + l] = uint8_t(lo | (hi << 4));
    }
  }
}

// make_qx_quants(16, 32, x, L, rmse_type 1): a signed scale; codes −32…31 stored +32 in L.
float signedScale(const float* x, uint8_t* L) {
  constexpr int n = 16, nmax = 32;
  float max = 0, amax = 0;
  for (int i = 0; i < n; i++) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) amax = ax, max = x[i];
  }
  if (amax < 1e-15f) {
    std::memset(L, 0, n);
    return 0;
  }
  auto sums = [&](float iscale, bool store, float* sumLX, float* sumL2) {
    *sumLX = 0, *sumL2 = 0;
    for (int i = 0; i < n; i++) {
      const double l = clampJs(nearestInt(iscale * x[i]), -nmax, nmax - 1);
      if (store) L[i] = byteOf(l + nmax);
      const float w = x[i] * x[i];
      *sumLX = *sumLX + (w * x[i]) * float(l);
      *sumL2 = *sumL2 + (w * float(l)) * float(l);
    }
  };
  float iscale = float(-nmax) / max, sumLX, sumL2;
  sums(iscale, true, &sumLX, &sumL2);
  float scale = sumL2 != 0 ? sumLX / sumL2 : 0;
  float best = scale * sumLX;
  for (int step = -9; step <= 9; step++) {
    if (step == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(step)) / max;
    sums(iscale, false, &sumLX, &sumL2);
    if (sumL2 > 0 && sumLX * sumLX > best * sumL2) {
      sums(iscale, true, &sumLX, &sumL2);
      scale = sumLX / sumL2;
      best = scale * sumLX;
    }
  }
  return scale;
}

void quantizeQ6KBlock(const float* x, uint8_t* out) {
  uint8_t L[kSuperBlock];
  float scales[16];
  float maxScale = 0, maxAbs = 0;
  for (int b = 0; b < 16; b++) {
    scales[b] = signedScale(x + 16 * b, L + 16 * b);
    const float abs = std::fabs(scales[b]);
    if (abs > maxAbs) maxAbs = abs, maxScale = scales[b];
  }
  std::memset(out, 0, 210);
  if (maxAbs < 1e-15f) return;
  const float iscale = -128.0f / maxScale;
  const uint16_t dBits = f32ToF16(1.0f / iscale);
  putU16(out + 208, dBits);
  for (int b = 0; b < 16; b++) out[192 + b] = byteOf(std::min(127.0, nearestInt(iscale * scales[b])));
  for (int j = 0; j < 16; j++) {
    const float d = f16ToF32(dBits) * float(int8_t(out[192 + j]));
    if (d == 0) continue;
    for (int i = 0; i < 16; i++) L[16 * j + i] = byteOf(clampJs(nearestInt(x[16 * j + i] / d), -32, 31) + 32);
  }
  for (int h = 0; h < 2; h++) {
    uint8_t* ql = out + 64 * h;
    uint8_t* qh = out + 128 + 32 * h;
    const uint8_t* q = L + 128 * h;
    for (int l = 0; l < 32; l++) {
      ql[l] = uint8_t((q[l] & 0xf) | ((q[l + 64] & 0xf) << 4));
      ql[l + 32] = uint8_t((q[l + 32] & 0xf) | ((q[l + 96] & 0xf) << 4));
      qh[l] = uint8_t((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
    }
  }
}

// Bytes with an f16 field that overflowed (scales too large for f16): refused like q8_0's.
bool overflowed(const uint8_t* block, QFormat f) {
  if (f == QFormat::q6_K) return (getU16(block + 208) & 0x7fffu) >= 0x7c00u;
  const uint16_t d = getU16(block), m = getU16(block + 2);
  return (d & 0x7fffu) >= 0x7c00u || (m & 0x7fffu) >= 0x7c00u;
}

template <QFormat F>
QStatus quantizeK(const float* x, size_t k, int, uint8_t* out) {
  if (!finiteRow(x, k)) return QStatus::nonFinite;
  const size_t bytes = blockBytes(F, kSuperBlock);
  for (size_t b = 0; b < k / kSuperBlock; b++) {
    uint8_t* o = out + b * bytes;
    if (F == QFormat::q6_K)
      quantizeQ6KBlock(x + b * kSuperBlock, o);
    else
      quantizeQ45KBlock(x + b * kSuperBlock, o, F == QFormat::q5_K);
    if (overflowed(o, F)) return QStatus::scaleOverflow;
  }
  return QStatus::ok;
}

// Codes 0…63 of one super-block, in element order, and the per-16 scale and min terms:
// x_t = dA·sc[t/16]·q_t − dB·mn[t/16] (q4_K/q5_K: dA = d, dB = dmin; q6_K: dA = dB = d, mn = 32·sc).
struct Unpacked {
  uint8_t q[kSuperBlock];
  int sc[16];
  int mn[16];
  float dA, dB;
};

template <QFormat F>
void unpack(const uint8_t* p, Unpacked* u) {
  if (F == QFormat::q6_K) {
    u->dA = u->dB = halfAt(p + 208);
    for (int h = 0; h < 2; h++) {
      const uint8_t* ql = p + 64 * h;
      const uint8_t* qh = p + 128 + 32 * h;
      uint8_t* q = u->q + 128 * h;
      for (int l = 0; l < 32; l++) {
        q[l] = uint8_t((ql[l] & 0xf) | ((qh[l] & 3) << 4));
        q[l + 32] = uint8_t((ql[l + 32] & 0xf) | (((qh[l] >> 2) & 3) << 4));
        q[l + 64] = uint8_t((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
        q[l + 96] = uint8_t((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
      }
    }
    for (int g = 0; g < 16; g++) u->sc[g] = int8_t(p[192 + g]), u->mn[g] = 32 * u->sc[g];
    return;
  }
  const bool five = F == QFormat::q5_K;
  u->dA = halfAt(p);
  u->dB = halfAt(p + 2);
  const uint8_t* qs = p + (five ? 48 : 16);
  for (int g = 0; g < 4; g++) {
    for (int l = 0; l < 32; l++) {
      int lo = qs[32 * g + l] & 0xf, hi = qs[32 * g + l] >> 4;
      if (five) lo |= ((p[16 + l] >> (2 * g)) & 1) << 4, hi |= ((p[16 + l] >> (2 * g + 1)) & 1) << 4;
      u->q[64 * g + l] = uint8_t(lo);
      u->q[64 * g + 32 + l] = uint8_t(hi);
    }
  }
  for (int j = 0; j < 8; j++) {
    int s, m;
    scaleMin(p + 4, j, &s, &m);
    u->sc[2 * j] = u->sc[2 * j + 1] = s;
    u->mn[2 * j] = u->mn[2 * j + 1] = m;
  }
}

template <QFormat F>
void dequantizeK(const uint8_t* in, size_t k, int, float* out) {
  Unpacked u;
  for (size_t b = 0; b < k / kSuperBlock; b++) {
    unpack<F>(in + b * blockBytes(F, kSuperBlock), &u);
    float* y = out + b * kSuperBlock;
    for (int g = 0; g < 16; g++) {
      if (F == QFormat::q6_K) {
        const float ds = u.dA * float(u.sc[g]);
        for (int t = 16 * g; t < 16 * g + 16; t++) y[t] = ds * float(int(u.q[t]) - 32);
      } else {
        const float d1 = u.dA * float(u.sc[g]), m1 = u.dB * float(u.mn[g]);
        for (int t = 16 * g; t < 16 * g + 16; t++) y[t] = d1 * float(u.q[t]) - m1;
      }
    }
  }
}

// One output of the int8 precision: per super-block, (d·da)·isum then −(dmin·da)·msum (q4_K,
// q5_K), added in order; isum and msum exact integers (q6_K folds its −32 into isum).
template <QFormat F>
float dotRowK(const uint8_t* row, const ActRowsK& a, int i) {
  const size_t blocks = a.k / kSuperBlock;
  const int8_t* q = a.q + size_t(i) * a.k;
  const float* da = a.d + size_t(i) * blocks;
  const int16_t* bs = a.bsums + size_t(i) * blocks * kKGroups;
  Unpacked u;
  float acc = 0;
  for (size_t b = 0; b < blocks; b++) {
    unpack<F>(row + b * blockBytes(F, kSuperBlock), &u);
    const int8_t* qb = q + b * kSuperBlock;
    int32_t isum = 0, msum = 0;
    for (int g = 0; g < 16; g++) {
      int32_t dot = 0;
      for (int t = 16 * g; t < 16 * g + 16; t++) dot += int32_t(u.q[t]) * qb[t];
      isum += u.sc[g] * dot;
      msum += u.mn[g] * bs[b * kKGroups + g];
    }
    if (F == QFormat::q6_K) {
      acc += (u.dA * da[b]) * float(isum - msum);
    } else {
      acc += (u.dA * da[b]) * float(isum);
      acc -= (u.dB * da[b]) * float(msum);
    }
  }
  return acc;
}

template <QFormat F>
void matmulInt8K(const ActRowsK& a, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  for (int j = n0; j < n1; j++) {
    const uint8_t* row = w.data + size_t(j) * w.rowBytes;
    for (int i = 0; i < m; i++) y[size_t(i) * ldy + size_t(j)] = dotRowK<F>(row, a, i);
  }
}

template <QFormat F>
void matmulF32K(const float* x, size_t ldx, int m, const QWeights& w, int n0, int n1, float* y, size_t ldy) {
  thread_local Scratch rowScratch;  // counted in nativeMemory().scratch
  auto* row = static_cast<float*>(rowScratch.get(w.k * sizeof(float)));
  for (int j = n0; j < n1; j++) {
    dequantizeK<F>(w.data + size_t(j) * w.rowBytes, w.k, kSuperBlock, row);
    for (int i = 0; i < m; i++) {
      const float* xi = x + size_t(i) * ldx;
      float acc = 0.0f;
      for (size_t p = 0; p < w.k; p++) acc += row[p] * xi[p];
      y[size_t(i) * ldy + size_t(j)] = acc;
    }
  }
}

}  // namespace

namespace kq {
QStatus quantizeQ4K(const float* x, size_t k, int bs, uint8_t* out) { return quantizeK<QFormat::q4_K>(x, k, bs, out); }
QStatus quantizeQ5K(const float* x, size_t k, int bs, uint8_t* out) { return quantizeK<QFormat::q5_K>(x, k, bs, out); }
QStatus quantizeQ6K(const float* x, size_t k, int bs, uint8_t* out) { return quantizeK<QFormat::q6_K>(x, k, bs, out); }
void dequantizeQ4K(const uint8_t* in, size_t k, int bs, float* out) { dequantizeK<QFormat::q4_K>(in, k, bs, out); }
void dequantizeQ5K(const uint8_t* in, size_t k, int bs, float* out) { dequantizeK<QFormat::q5_K>(in, k, bs, out); }
void dequantizeQ6K(const uint8_t* in, size_t k, int bs, float* out) { dequantizeK<QFormat::q6_K>(in, k, bs, out); }

bool quantizeActRow(const float* x, size_t k, int8_t* q, float* d, int16_t* bsums) {
  for (size_t b = 0; b < k / kSuperBlock; b++) {
    const float* v = x + b * kSuperBlock;
    int8_t* qb = q + b * kSuperBlock;
    float amax = 0, max = 0;
    for (int t = 0; t < kSuperBlock; t++) {
      if (!isFinite(v[t])) return false;
      if (std::fabs(v[t]) > amax) amax = std::fabs(v[t]), max = v[t];
    }
    if (amax == 0) {
      d[b] = 0;
      std::memset(qb, 0, kSuperBlock);
      std::memset(bsums + b * kKGroups, 0, kKGroups * sizeof(int16_t));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int t = 0; t < kSuperBlock; t++) qb[t] = int8_t(std::min(127, int(nearestInt(iscale * v[t]))));
    for (int g = 0; g < kKGroups; g++) {
      int sum = 0;
      for (int t = 16 * g; t < 16 * g + 16; t++) sum += qb[t];
      bsums[b * kKGroups + g] = int16_t(sum);
    }
    d[b] = 1.0f / iscale;
  }
  return true;
}
}  // namespace kq

const KQuantKernels kquant__scalar = {
    "scalar",
    {matmulInt8K<QFormat::q4_K>, matmulInt8K<QFormat::q5_K>, matmulInt8K<QFormat::q6_K>},
    {matmulF32K<QFormat::q4_K>, matmulF32K<QFormat::q5_K>, matmulF32K<QFormat::q6_K>},
};

}  // namespace sparq
