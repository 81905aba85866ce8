// Cross-checks every quantization kernel built for this architecture (and runnable on this CPU)
// against quant__scalar: quantized bytes, dequantized floats, activation codes and f16
// conversions bit for bit; fused matmuls within the DESIGN.md §3 bound, with nothing written
// outside the output range a kernel was given. Run natively, under sanitizers and under qemu.
// `--quick` shrinks the grid. Exit code = number of failures (capped at 255).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "sparq/quant.h"
#include "sparq/quant_common.h"
#include "sparq/runtime.h"

#include "check.h"

using namespace sparq;
using namespace sparq::check;

namespace {

std::mt19937 rng(20261123);

std::vector<int> blockSizes(QFormat f) {
  if (isGgml(f)) return {32};
  if (f == QFormat::nf4) return quick ? std::vector<int>{32, 64} : std::vector<int>{32, 64, 128, 256, 4096};
  return quick ? std::vector<int>{64, 128} : std::vector<int>{64, 128, 256, 4096};
}

// Rows of test data for a block size: random scales and shapes plus the edge cases the
// formulas branch on. Rows of 32-element blocks are 19 blocks long (kernels that work on 8
// blocks at a time see two full groups and a tail); other rows are 2·max(blockSize, 64).
std::vector<std::vector<float>> inputs(QFormat f, int bs) {
  const size_t k = bs == 32 ? 32 * 19 : size_t(2 * std::max(bs, 64));
  std::vector<std::vector<float>> rows;
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> expo(-30.0f, 12.0f);
  for (int r = 0; r < (quick ? 6 : 24); r++) {
    std::vector<float> v(k);
    const float scale = std::exp2(std::floor(expo(rng)));
    for (auto& x : v) x = normal(rng) * scale;
    rows.push_back(v);
  }
  // Zeros, a constant, all negative, a ±tie on the largest magnitude, tiny (subnormal) values.
  rows.push_back(std::vector<float>(k, 0.0f));
  rows.push_back(std::vector<float>(k, 0.75f));
  rows.push_back(std::vector<float>(k, -3.0f));
  std::vector<float> tie(k, 0.5f);
  for (size_t i = 0; i < k; i += 7) tie[i] = (i / 7) % 2 ? -2.0f : 2.0f;
  rows.push_back(tie);
  std::vector<float> tiny(k);
  for (size_t i = 0; i < k; i++) tiny[i] = float(int(i % 13) - 6) * 1e-39f;
  rows.push_back(tiny);
  // Values on rounding boundaries: small integers and halves times a power of two, so that
  // x·id lands on .5 (q8_0, int8) or on integers (q4: x·id + 8.5), and their neighbours.
  std::vector<float> halves(k);
  for (size_t i = 0; i < k; i++) halves[i] = float(int(i % 255) - 127) * 0.5f;
  rows.push_back(halves);
  std::vector<float> nudged = halves;
  for (size_t i = 0; i < k; i++) nudged[i] = std::nextafter(nudged[i], i % 2 ? 1e9f : -1e9f);
  rows.push_back(nudged);
  std::vector<float> sixteenths(k);
  for (size_t i = 0; i < k; i++) sixteenths[i] = float(int(i % 33) - 16) * 0.0625f;
  rows.push_back(sixteenths);
  // Exact .5 ties of x·id: every 32-block has amax 127 (id = 1) and holds n + 0.5.
  std::vector<float> actTies(k);
  for (size_t i = 0; i < k; i++) actTies[i] = i % 32 == 0 ? 127.0f : float(int(i % 253) - 126) + 0.5f;
  rows.push_back(actTies);
  // Near-ties of (x/absmax)·127 for the int8 format: absmax 1, values (2n+1)/254.
  std::vector<float> int8Ties(k);
  for (size_t i = 0; i < k; i++) int8Ties[i] = i % 64 == 0 ? 1.0f : float(2 * int(i % 127) - 125) / 254.0f;
  rows.push_back(int8Ties);
  // Signed zeros as the minimum (q4_1 keeps the first one it meets) and as the whole block.
  std::vector<float> zeros(k);
  for (size_t i = 0; i < k; i++) zeros[i] = i % 5 == 0 ? 0.25f * float(i % 7) : (i % 3 ? -0.0f : 0.0f);
  rows.push_back(zeros);
  std::vector<float> negZeros(k, -0.0f);
  rows.push_back(negZeros);
  // NF4 thresholds times a power of two, exactly and one ulp either side.
  std::vector<float> thresholds(k);
  for (size_t i = 0; i < k; i++) {
    const float t = i % 16 == 15 ? 1.0f : kNf4Thresholds[i % 16 == 15 ? 0 : i % 15];
    thresholds[i] = i % 3 == 0 ? t : std::nextafter(t, i % 3 == 1 ? 2.0f : -2.0f);
  }
  rows.push_back(thresholds);
  // Failures: NaN and Inf late in the row; a scale that overflows f16 (not for nf4/int8).
  std::vector<float> nan = rows[0];
  nan[k - 3] = std::nanf("");
  rows.push_back(nan);
  std::vector<float> inf = rows[0];
  inf[k / 2 + 1] = -INFINITY;
  rows.push_back(inf);
  std::vector<float> huge = rows[0];
  huge[k - 5] = f == QFormat::q4_1 ? -7e4f : 1e10f;
  rows.push_back(huge);
  return rows;
}

void checkQuantize(const QuantKernels& t, QFormat f) {
  if (!t.quantize[int(f)] && !t.dequantize[int(f)]) return;
  for (int bs : blockSizes(f)) {
    for (const auto& row : inputs(f, bs)) {
      const size_t k = row.size(), bytes = k / size_t(bs) * blockBytes(f, bs);
      std::vector<float> shifted(1);  // odd offset: the kernel sees an unaligned pointer
      shifted.insert(shifted.end(), row.begin(), row.end());
      std::vector<uint8_t> want(bytes + 1), got(bytes + 1);
      const QStatus ws = quant__scalar.quantize[int(f)](row.data(), k, bs, want.data());
      std::string where = std::string(t.tier) + " " + formatName(f) + " bs=" + std::to_string(bs);
      if (t.quantize[int(f)]) {
        const QStatus gs = t.quantize[int(f)](shifted.data() + 1, k, bs, got.data() + 1);
        if (gs != ws) fail("quantize status " + where);
        else if (ws == QStatus::ok && std::memcmp(want.data(), got.data() + 1, bytes) != 0)
          fail("quantize bytes " + where);
      }
      if (ws != QStatus::ok || !t.dequantize[int(f)]) continue;
      std::vector<float> a(k), b(k + 1);
      quant__scalar.dequantize[int(f)](want.data(), k, bs, a.data());
      std::memcpy(got.data() + 1, want.data(), bytes);
      t.dequantize[int(f)](got.data() + 1, k, bs, b.data() + 1);
      for (size_t i = 0; i < k; i++)
        if (!sameFloat(a[i], b[i + 1])) {
          fail("dequantize " + where + " at " + std::to_string(i));
          break;
        }
    }
    // Dequantize arbitrary bytes too: every byte string is valid, NaN/Inf scales included.
    if (t.dequantize[int(f)]) {
      const size_t k = size_t(4 * bs), bytes = k / size_t(bs) * blockBytes(f, bs);
      for (int r = 0; r < (quick ? 4 : 32); r++) {
        std::vector<uint8_t> in(bytes);
        for (auto& x : in) x = uint8_t(rng());
        std::vector<float> a(k), b(k);
        quant__scalar.dequantize[int(f)](in.data(), k, bs, a.data());
        t.dequantize[int(f)](in.data(), k, bs, b.data());
        for (size_t i = 0; i < k; i++)
          if (!sameFloat(a[i], b[i])) {
            fail(std::string("dequantize random bytes ") + t.tier + " " + formatName(f));
            break;
          }
      }
    }
  }
}

struct Acts {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> s;
  size_t k;
  ActRows view() const { return {q.data(), d.data(), s.data(), k}; }
};

Acts quantizeActs(const QuantKernels& t, const std::vector<float>& x, int m, size_t k) {
  Acts a{std::vector<int8_t>(size_t(m) * k), std::vector<float>(size_t(m) * k / 32), std::vector<int32_t>(size_t(m) * k / 32), k};
  for (int i = 0; i < m; i++)
    t.quantizeAct(x.data() + size_t(i) * k, k, {a.q.data() + size_t(i) * k, a.d.data() + size_t(i) * k / 32, a.s.data() + size_t(i) * k / 32});
  return a;
}

void checkActivations(const QuantKernels& t) {
  if (!t.quantizeAct) return;
  for (const auto& row : inputs(QFormat::q8_0, 32)) {
    const size_t k = row.size();
    std::vector<float> shifted(1);
    shifted.insert(shifted.end(), row.begin(), row.end());
    Acts want{std::vector<int8_t>(k), std::vector<float>(k / 32), std::vector<int32_t>(k / 32), k};
    Acts got = want;
    const bool wok = quant__scalar.quantizeAct(row.data(), k, {want.q.data(), want.d.data(), want.s.data()});
    const bool gok = t.quantizeAct(shifted.data() + 1, k, {got.q.data(), got.d.data(), got.s.data()});
    if (wok != gok) fail(std::string("quantizeAct status ") + t.tier);
    else if (wok && (want.q != got.q || want.s != got.s ||
                     std::memcmp(want.d.data(), got.d.data(), want.d.size() * 4) != 0))
      fail(std::string("quantizeAct codes ") + t.tier);
  }
}

// Σ|term| per output, from the scalar kernels' own pieces, for the §3 bound.
double absTermsInt8(QFormat f, const uint8_t* row, const QWeights& w, const Acts& a, int i, int* count) {
  const size_t blocks = w.k / 32;
  std::vector<float> deq(w.k);
  quant__scalar.dequantize[int(f)](row, w.k, w.blockSize, deq.data());
  double sum = 0;
  *count = int(blocks) * (f == QFormat::q4_1 ? 2 : 1);
  for (size_t b = 0; b < blocks; b++) {
    double dot = 0;
    for (int j = 0; j < 32; j++) dot += std::fabs(double(deq[b * 32 + j]) * double(a.q[size_t(i) * w.k + b * 32 + j]));
    sum += dot * double(a.d[size_t(i) * blocks + b]);
  }
  return sum * 1.01 + 1e-30;  // deq·q is within one rounding of the integer term; slack for it
}

void checkMatmul(const QuantKernels& t, QFormat f) {
  if (!t.matmul) return;
  const QuantMatmulKernels& mk = *t.matmul;
  const bool int8 = f != QFormat::nf4 && mk.int8[int(f)];
  const bool f32 = mk.f32[int(f)] != nullptr;
  if (!int8 && !f32) return;
  const std::vector<int> ms = quick ? std::vector<int>{1, 3, 8, 17} : std::vector<int>{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64};
  const std::vector<int> ns = quick ? std::vector<int>{1, 17, 33} : std::vector<int>{1, 3, 15, 16, 17, 33, 65};
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int bs : blockSizes(f)) {
    std::vector<size_t> ks = {size_t(bs), size_t(2 * bs)};
    if (!quick && bs <= 128) ks.push_back(4096);
    if (!quick && bs == 32) ks.push_back(11008);
    if (bs == 32) ks.push_back(1184);  // 37 blocks: a short tail after full 256-element spans
    for (size_t k : ks) {
      for (int n : ns) {
        const int nMax = n, mMax = ms.back();
        std::vector<float> wf(size_t(nMax) * k), x(size_t(mMax) * k);
        for (auto& v : wf) v = normal(rng);
        for (auto& v : x) v = normal(rng);
        QWeights w{nullptr, k / size_t(bs) * blockBytes(f, bs), bs, k};
        std::vector<uint8_t> data(size_t(nMax) * w.rowBytes + 64);
        for (int j = 0; j < nMax; j++)
          quant__scalar.quantize[int(f)](wf.data() + size_t(j) * k, k, bs, data.data() + size_t(j) * w.rowBytes);
        w.data = data.data();
        const Acts acts = quantizeActs(quant__scalar, x, mMax, k);
        for (int m : ms) {
          if (!quick && k > 4096 && m > 9) continue;
          // Output range [n0, n): kernels must write only there.
          const int n0 = n > 16 ? 16 : 0;
          const size_t ldy = size_t(n) + 3;
          const std::string where = std::string(t.tier) + " " + formatName(f) + " bs=" + std::to_string(bs) +
                                    " m=" + std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k);
          for (int precision = 0; precision < 2; precision++) {
            if (precision == 0 && !int8) continue;
            if (precision == 1 && !f32) continue;
            std::vector<float> want(size_t(m) * ldy, -7.0f), got(size_t(m) * ldy, -7.0f);
            if (precision == 0) {
              quantMatmul__scalar.int8[int(f)](acts.view(), m, w, n0, n, want.data(), ldy);
              mk.int8[int(f)](acts.view(), m, w, n0, n, got.data(), ldy);
            } else {
              quantMatmul__scalar.f32[int(f)](x.data(), k, m, w, n0, n, want.data(), ldy);
              mk.f32[int(f)](x.data(), k, m, w, n0, n, got.data(), ldy);
            }
            std::vector<float> deq(k);
            for (int i = 0; i < m; i++) {
              for (size_t j = 0; j < ldy; j++) {
                const float a = want[size_t(i) * ldy + j], b = got[size_t(i) * ldy + j];
                const uint8_t* row = w.data + j * w.rowBytes;
                if (int(j) < n0 || int(j) >= n) {
                  if (b != -7.0f) fail("matmul wrote outside its range " + where);
                  continue;
                }
                double bound;
                int terms;
                if (precision == 0) {
                  bound = absTermsInt8(f, row, w, acts, i, &terms);
                } else {
                  quant__scalar.dequantize[int(f)](row, k, bs, deq.data());
                  bound = 0;
                  for (size_t p = 0; p < k; p++) bound += std::fabs(double(deq[p]) * double(x[size_t(i) * k + p]));
                  terms = int(k);
                }
                const double tol = 2.0 * terms * std::ldexp(1.0, -24) * bound;
                if (!(std::fabs(double(a) - double(b)) <= tol)) {
                  fail((precision ? "matmulF32 " : "matmulInt8 ") + where + " i=" + std::to_string(i) +
                       " j=" + std::to_string(j) + " want " + std::to_string(a) + " got " + std::to_string(b));
                  i = m;
                  break;
                }
              }
            }
          }
        }
      }
    }
  }
}

void checkF16(const QuantKernels& t) {
  if (t.f16ToF32) {
    std::vector<uint16_t> all(65536);
    for (size_t i = 0; i < all.size(); i++) all[i] = uint16_t(i);
    std::vector<float> a(65536), b(65537);
    quant__scalar.f16ToF32(all.data(), all.size(), a.data());
    t.f16ToF32(all.data(), all.size(), b.data() + 1);
    if (std::memcmp(a.data(), b.data() + 1, a.size() * 4) != 0) fail(std::string("f16ToF32 ") + t.tier);
  }
  if (t.f32ToF16) {
    std::vector<uint32_t> bits;
    for (uint32_t e = 0; e < 256; e++)
      for (uint32_t m : {0u, 1u, 0xfffu, 0x1000u, 0x1001u, 0x2000u, 0x3000u, 0x7fffffu, 0x400000u})
        for (uint32_t s : {0u, 0x80000000u}) bits.push_back(s | e << 23 | m);
    for (int i = 0; i < (quick ? 10000 : 1000000); i++) bits.push_back(uint32_t(rng()));
    const size_t n = bits.size();
    std::vector<float> x(n + 1);  // from index 1: an odd offset
    for (size_t i = 0; i < n; i++) std::memcpy(&x[i + 1], &bits[i], 4);
    std::vector<uint16_t> a(n), b(n + 1);
    quant__scalar.f32ToF16(x.data() + 1, n, a.data());
    t.f32ToF16(x.data() + 1, n, b.data() + 1);
    if (std::memcmp(a.data(), b.data() + 1, n * 2) != 0) fail(std::string("f32ToF16 ") + t.tier);
  }
}

}  // namespace

int main(int argc, char** argv) {
  parseArgs(argc, argv);
  // The scalar f16 conversion against a few hand-checked values first.
  struct {
    float x;
    uint16_t h;
  } cases[] = {{65504.0f, 0x7bff}, {65519.99f, 0x7bff}, {65520.0f, 0x7c00}, {std::ldexp(1.0f, -24), 0x0001},
               {std::ldexp(1.0f, -25), 0x0000}, {std::ldexp(3.0f, -25), 0x0002}, {-0.0f, 0x8000}, {1.0f, 0x3c00}};
  for (auto c : cases)
    if (f32ToF16(c.x) != c.h) fail("f32ToF16 scalar " + std::to_string(c.x));
  int tiers = 0;
  for (Tier tier : cpuInfo().supported) {
    if (tier == Tier::scalar) continue;
    setTierCap(tier);
    const QuantKernels& t = quantKernels();
    std::printf("tier %s: kernels %s\n", tierName(tier), t.tier);
    checkF16(t);
    checkActivations(t);
    for (int f = 0; f < kQFormats; f++) {
      checkQuantize(t, QFormat(f));
      checkMatmul(t, QFormat(f));
    }
    tiers++;
  }
  clearTierCap();
  if (tiers == 0) std::printf("no SIMD tier on this CPU: only the scalar kernels were exercised\n");
  std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "ok", failures);
  return failures > 255 ? 255 : failures;
}
