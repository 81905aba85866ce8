// Dispatch for the quantization family: format facts, f16 conversion, the per-tier kernel
// tables, row conversion split across the pool, QuantizedMatrix and the fused matmul driver.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "sparq/kquant.h"
#include "sparq/quant.h"
#include "sparq/quant_common.h"
#include "sparq/runtime.h"

namespace sparq {

const float kNf4Codes[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f,
};

const float kNf4Thresholds[15] = {
    -0.8480964004993439f,  -0.6106329262256622f, -0.4599952697753906f, -0.33967943489551544f,
    -0.23460740596055984f, -0.13791173323988914f, -0.045525018125772476f, 0.03979014977812767f,
    0.1202552504837513f,   0.2035212516784668f,  0.2920137718319893f,  0.3893125355243683f,
    0.5016634166240692f,   0.6427869200706482f,  0.8614784181118011f,
};

namespace {

const char* const kFormatNames[kQFormats] = {"q8_0", "q4_0", "q4_1", "nf4", "int8", "q4_K", "q5_K", "q6_K"};

// What ran last, for lastQuantKernel(): tests read it to prove a tier really ran.
std::atomic<const char*> gLastOp{nullptr};
std::atomic<int> gLastFormat{-1};
std::atomic<const char*> gLastTier{nullptr};

void record(const char* op, int format, const char* tier) {
  gLastOp.store(op, std::memory_order_relaxed);
  gLastFormat.store(format, std::memory_order_relaxed);
  gLastTier.store(tier, std::memory_order_relaxed);
}

// The tier's kernel when it has one, else the scalar one; records which ran.
template <typename Fn>
Fn choose(Fn tierFn, Fn scalarFn, const char* tier, const char* op, int format) {
  record(op, format, tierFn ? tier : quant__scalar.tier);
  return tierFn ? tierFn : scalarFn;
}

template <typename Fn>
Fn pick(Fn QuantKernels::*entry, const char* op) {
  const QuantKernels& k = quantKernels();
  return choose(k.*entry, quant__scalar.*entry, k.tier, op, -1);
}

template <typename Fn>
Fn pickFormat(Fn (QuantKernels::*table)[kQFormats], QFormat f, const char* op) {
  const QuantKernels& k = quantKernels();
  return choose((k.*table)[int(f)], (quant__scalar.*table)[int(f)], k.tier, op, int(f));
}

template <typename Fn>
Fn pickMatmul(Fn (QuantMatmulKernels::*table)[kQFormats], QFormat f, const char* op) {
  const QuantKernels& k = quantKernels();
  return choose(k.matmul ? (k.matmul->*table)[int(f)] : nullptr, (quantMatmul__scalar.*table)[int(f)], k.tier, op,
                int(f));
}

// Below this many elements (or multiply-adds) waking the pool costs more than it saves.
constexpr size_t kSerialWork = size_t(1) << 18;
constexpr int kTasksPerThread = 4;

// Calls fn(begin, end) over [0, count) in chunks, on the pool when `work` is large enough.
template <typename Fn>
void forChunks(size_t count, size_t work, Fn fn) {
  const int pool = work < kSerialWork ? 1 : threads();
  if (pool == 1 || count < 2) {
    fn(size_t(0), count);
    return;
  }
  const size_t tasks = std::min(count, size_t(pool) * kTasksPerThread);
  const size_t step = (count + tasks - 1) / tasks;
  parallelFor(int((count + step - 1) / step), [&](int t) {
    const size_t begin = size_t(t) * step;
    fn(begin, std::min(count, begin + step));
  });
}

}  // namespace

const char* formatName(QFormat f) { return kFormatNames[int(f)]; }

bool formatFromName(const std::string& name, QFormat* out) {
  for (int i = 0; i < kQFormats; i++) {
    if (name == kFormatNames[i]) {
      *out = QFormat(i);
      return true;
    }
  }
  return false;
}

bool isGgml(QFormat f) { return f != QFormat::nf4 && f != QFormat::int8; }

int fixedBlockSize(QFormat f) { return !isGgml(f) ? 0 : int(f) >= int(QFormat::q4_K) ? 256 : 32; }

size_t blockBytes(QFormat f, int blockSize) {
  switch (f) {
    case QFormat::q8_0: return 34;
    case QFormat::q4_0: return 18;
    case QFormat::q4_1: return 20;
    case QFormat::nf4: return 4 + size_t(blockSize) / 2;
    case QFormat::int8: return 4 + size_t(blockSize);
    case QFormat::q4_K: return 144;
    case QFormat::q5_K: return 176;
    case QFormat::q6_K: return 210;
  }
  return 0;
}

uint16_t f32ToF16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint16_t sign = uint16_t((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // ≥ 65520 rounds to ±Inf
  if (abs >= 0x38800000u) {                                   // normal f16: rebias, round half even
    const uint32_t h = abs - (112u << 23);
    return uint16_t(sign | ((h + 0xfffu + ((h >> 13) & 1u)) >> 13));
  }
  if (abs <= 0x33000000u) return sign;  // ≤ 2⁻²⁵: 0 (2⁻²⁵ itself ties to the even 0)
  // Subnormal f16: the significand in units of 2⁻²⁴, rounded half even.
  const uint32_t significand = (abs & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - (abs >> 23);
  uint32_t q = significand >> shift;
  const uint32_t rest = significand & ((1u << shift) - 1u), half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (q & 1u))) q++;
  return uint16_t(sign | q);
}

float f16ToF32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    const float v = float(mantissa) * 5.9604644775390625e-8f;  // m·2⁻²⁴, exact
    std::memcpy(&bits, &v, 4);
    bits |= sign;
  } else if (exponent == 31) {
    bits = sign | (mantissa ? 0x7fc00000u | (mantissa << 13) : 0x7f800000u);
  } else {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  }
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

const QuantKernels& quantKernels() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return quant__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: return quant__avx512;
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
    case Tier::avx512vnni: return quant__avx512vnni;
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: return quant__neon;
#endif
#ifdef SPARQ_BUILT_NEONDOT
    case Tier::neondot:
    case Tier::i8mm: return quant__neondot;  // no i8mm-specific quantization kernels
#endif
    default: return quant__scalar;
  }
}

void recordQuantKernel(const char* op, int format, const char* tier) { record(op, format, tier); }

std::string lastQuantKernel() {
  const char* op = gLastOp.load(std::memory_order_relaxed);
  if (!op) return "";
  const int f = gLastFormat.load(std::memory_order_relaxed);
  std::string name = op;
  if (f >= 0) name += std::string(".") + kFormatNames[f];
  return name + "." + gLastTier.load(std::memory_order_relaxed);
}

void convertF32ToF16(const float* x, size_t n, uint16_t* out) {
  auto fn = pick(&QuantKernels::f32ToF16, "f32ToF16");
  forChunks(n, n, [&](size_t b, size_t e) { fn(x + b, e - b, out + b); });
}

void convertF16ToF32(const uint16_t* h, size_t n, float* out) {
  auto fn = pick(&QuantKernels::f16ToF32, "f16ToF32");
  forChunks(n, n, [&](size_t b, size_t e) { fn(h + b, e - b, out + b); });
}

QStatus quantizeRows(QFormat f, const float* x, size_t n, size_t k, int blockSize, uint8_t* out, size_t* badIndex) {
  auto fn = pickFormat(&QuantKernels::quantize, f, "quantize");
  const size_t rowBytes = k / size_t(blockSize) * blockBytes(f, blockSize);
  std::atomic<size_t> firstBad{n};
  forChunks(n, n * k, [&](size_t b, size_t e) {
    for (size_t r = b; r < e; r++) {
      if (fn(x + r * k, k, blockSize, out + r * rowBytes) != QStatus::ok) {
        size_t seen = firstBad.load();
        while (r < seen && !firstBad.compare_exchange_weak(seen, r)) {
        }
        return;
      }
    }
  });
  const size_t row = firstBad.load();
  if (row == n) return QStatus::ok;
  // Rare path: find the first offending block of that row with the scalar kernel, block by block.
  const float* v = x + row * k;
  std::vector<uint8_t> scratch(blockBytes(f, blockSize));
  for (size_t start = 0; start < k; start += size_t(blockSize)) {
    for (size_t j = start; j < start + size_t(blockSize); j++) {
      if (!quant::isFinite(v[j])) {
        *badIndex = row * k + j;
        return QStatus::nonFinite;
      }
    }
    if (quant__scalar.quantize[int(f)](v + start, size_t(blockSize), blockSize, scratch.data()) != QStatus::ok) {
      *badIndex = row * k + start;
      return QStatus::scaleOverflow;
    }
  }
  *badIndex = row * k;  // unreachable while the tier agrees with the scalar kernel
  return QStatus::scaleOverflow;
}

void dequantizeRows(QFormat f, const uint8_t* in, size_t n, size_t k, int blockSize, float* out) {
  auto fn = pickFormat(&QuantKernels::dequantize, f, "dequantize");
  const size_t rowBytes = k / size_t(blockSize) * blockBytes(f, blockSize);
  forChunks(n, n * k, [&](size_t b, size_t e) {
    for (size_t r = b; r < e; r++) fn(in + r * rowBytes, k, blockSize, out + r * k);
  });
}

void QuantizedMatrix::Free::operator()(uint8_t* p) const { std::free(p); }

QuantizedMatrix::QuantizedMatrix(QFormat format, int n, size_t k, int blockSize)
    : format_(format), n_(n), k_(k), blockSize_(blockSize),
      rowBytes_(k / size_t(blockSize) * blockBytes(format, blockSize)) {
  // aligned_alloc wants a multiple of the alignment; one spare line lets kernels over-read a tail.
  const size_t rounded = (bytes() + 64 + 63) / 64 * 64;
  uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (!p) throw std::bad_alloc();
  std::memset(p + bytes(), 0, rounded - bytes());
  data_.reset(p);
  view_ = p;
}

QuantizedMatrix::QuantizedMatrix(QFormat format, int n, size_t k, int blockSize, std::shared_ptr<const void> owner,
                                 const uint8_t* bytes)
    : format_(format), n_(n), k_(k), blockSize_(blockSize),
      rowBytes_(k / size_t(blockSize) * blockBytes(format, blockSize)), owner_(std::move(owner)), view_(bytes) {}

bool quantizeActivations(const float* x, size_t m, size_t k, int8_t* q, float* d, int32_t* s) {
  auto quantize = pick(&QuantKernels::quantizeAct, "quantizeAct");
  const size_t blocks = k / kActBlock;
  std::atomic<bool> finite{true};
  forChunks(m, m * k, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; i++)
      if (!quantize(x + i * k, k, {q + i * k, d + i * blocks, s + i * blocks})) finite.store(false);
  });
  return finite.load();
}

void forMatmulTiles(int m, int n, size_t k, const std::function<void(int, int, int, int)>& run) {
  const size_t work = size_t(m) * size_t(n) * k;
  const int pool = work < kSerialWork ? 1 : threads();
  constexpr int kRowChunk = 64;
  const int rowChunk = std::min(m, kRowChunk);
  const int rowChunks = (m + rowChunk - 1) / rowChunk;
  int ranges = 1;
  if (pool > 1) ranges = std::max(1, (pool * kTasksPerThread + rowChunks - 1) / rowChunks);
  int step = (n + ranges - 1) / ranges;
  step = std::min(n, (step + 15) / 16 * 16);
  ranges = (n + step - 1) / step;
  auto task = [&](int t) {
    const int i0 = (t % rowChunks) * rowChunk;
    const int n0 = (t / rowChunks) * step;
    run(i0, std::min(rowChunk, m - i0), n0, std::min(n, n0 + step));
  };
  const int tasks = rowChunks * ranges;
  if (pool == 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) task(t);
  } else {
    parallelFor(tasks, task);
  }
}

bool matmulQuantized(const float* x, int m, const QuantizedMatrix& w, const float* bias, Precision precision,
                     float* y) {
  const int n = w.n();
  const size_t k = w.k();
  if (m == 0 || n == 0) return true;
  if (isKQuant(w.format())) {
    if (!matmulKQuant(x, m, w, precision, y)) return false;
  } else {
    const QWeights weights = w.weights();
    // Activation codes for the int8 precision, quantized once per call.
    std::vector<int8_t> q;
    std::vector<float> d;
    std::vector<int32_t> s;
    const size_t blocks = k / kActBlock;
    if (precision == Precision::int8) {
      q.resize(size_t(m) * k);
      d.resize(size_t(m) * blocks);
      s.resize(size_t(m) * blocks);
      if (!quantizeActivations(x, size_t(m), k, q.data(), d.data(), s.data())) return false;
    }
    MatmulInt8Fn int8Fn = nullptr;
    MatmulF32Fn f32Fn = nullptr;
    if (precision == Precision::int8)
      int8Fn = pickMatmul(&QuantMatmulKernels::int8, w.format(), "matmulInt8");
    else
      f32Fn = pickMatmul(&QuantMatmulKernels::f32, w.format(), "matmulF32");
    forMatmulTiles(m, n, k, [&](int i0, int rows, int n0, int n1) {
      float* out = y + size_t(i0) * size_t(n);
      if (int8Fn) {
        const ActRows a{q.data() + size_t(i0) * k, d.data() + size_t(i0) * blocks, s.data() + size_t(i0) * blocks, k};
        int8Fn(a, rows, weights, n0, n1, out, size_t(n));
      } else {
        f32Fn(x + size_t(i0) * k, k, rows, weights, n0, n1, out, size_t(n));
      }
    });
  }
  if (bias) {
    for (int i = 0; i < m; i++)
      for (int j = 0; j < n; j++) y[size_t(i) * size_t(n) + size_t(j)] += bias[j];
  }
  return true;
}

}  // namespace sparq
