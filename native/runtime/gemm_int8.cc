// Dispatch for the int8 GEMM family: the kernel table, the packed-weight cache, the signedness
// flip of A, and the split of C into tasks for the pool.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "sparq/gemm.h"

namespace sparq {

namespace {

std::atomic<const char*> gLastKernel{nullptr};

// C is cut into tasks of kRowBlock rows × a slice of whole panels whose packed B stays near
// kSliceBytes, so a slice stays in L2 while consecutive tasks (the row blocks of one slice) reuse
// it. With several threads the slices are cut finer until each thread has about
// kTasksPerThread tasks: the pool hands tasks out dynamically, so a worker that wakes late or a
// short last task then costs little. Below kSerialWork multiply-adds waking the pool costs more
// than it saves. Integer results are exact, so the split never changes C.
constexpr int kRowBlock = 64;  // kernels spread any row count evenly over their register tiles
constexpr size_t kSliceBytes = 256 * 1024;
constexpr int kTasksPerThread = 8;
constexpr size_t kSerialWork = size_t(1) << 20;

// C[i][j] = Σ A'[i][p]·B[j][p] + colOffset[j] over all of C, split across the pool.
void runTiled(const Int8GemmKernel& kernel, const uint8_t* a, int m, PackedInt8& w, const int32_t* colOffset,
              int32_t* c) {
  const int n = w.n(), k = w.k();
  if (m == 0 || n == 0) return;
  const uint8_t* packed = w.packedFor(kernel);
  gLastKernel.store(kernel.name, std::memory_order_relaxed);
  const int panel = kernel.panelRows;
  const int panels = (n + panel - 1) / panel;
  const int rowBlocks = (m + kRowBlock - 1) / kRowBlock;
  const size_t panelBytes = std::max<size_t>(1, kernel.packedBytes(panel, k));
  int slicePanels = int(std::max<size_t>(1, kSliceBytes / panelBytes));
  const size_t work = size_t(m) * size_t(n) * size_t(std::max(k, 1));
  const int pool = work < kSerialWork ? 1 : threads();
  const int want = pool * kTasksPerThread;
  if (pool > 1 && rowBlocks * ((panels + slicePanels - 1) / slicePanels) < want)
    slicePanels = std::max(1, panels * rowBlocks / want);
  const int slices = (panels + slicePanels - 1) / slicePanels;
  auto task = [&](int t) {
    const int slice = t / rowBlocks, rowBlock = t % rowBlocks;
    const int i0 = rowBlock * kRowBlock, rows = std::min(kRowBlock, m - i0);
    const int n0 = slice * slicePanels * panel, n1 = std::min(n, n0 + slicePanels * panel);
    kernel.run(a + size_t(i0) * size_t(k), size_t(k), packed, n, k, rows, n0, n1, colOffset,
               c + size_t(i0) * size_t(n), size_t(n));
  };
  const int tasks = slices * rowBlocks;
  if (pool == 1 || tasks == 1) {
    for (int t = 0; t < tasks; t++) task(t);
  } else {
    parallelFor(tasks, task);
  }
}

// A in the kernel's signedness, and colOffset[j] = −(offset + zeroPoint)·rowSum[j], where
// offset is what the flip added to each element of A (0 when no flip was needed).
void gemmFlipped(const uint8_t* a, bool aIsSigned, int m, PackedInt8& w, int32_t zeroPoint, int32_t* c) {
  const Int8GemmKernel& kernel = int8GemmKernel();
  const bool kernelSigned = kernel.aSign == ASign::s8;
  const size_t count = size_t(m) * size_t(w.k());
  std::vector<uint8_t> flipped;
  int32_t offset = 0;
  if (aIsSigned != kernelSigned) {
    flipped.resize(count);
    for (size_t i = 0; i < count; i++) flipped[i] = a[i] ^ 0x80;
    a = flipped.data();
    offset = aIsSigned ? 128 : -128;
  }
  const int32_t shift = offset + zeroPoint;
  std::vector<int32_t> colOffset;
  if (shift != 0) {
    colOffset.resize(size_t(w.n()));
    for (int j = 0; j < w.n(); j++) colOffset[j] = int32_t(0u - uint32_t(shift) * uint32_t(w.rowSums()[j]));
  }
  runTiled(kernel, a, m, w, shift != 0 ? colOffset.data() : nullptr, c);
}

}  // namespace

void PackedInt8::Aligned::operator()(uint8_t* p) const { std::free(p); }

PackedInt8::PackedInt8(const int8_t* b, int n, int k) : n_(n), k_(k), rows_(b, b + size_t(n) * size_t(k)), rowSums_(n) {
  for (int j = 0; j < n; j++) {
    int32_t s = 0;
    for (int p = 0; p < k; p++) s += rows_[size_t(j) * size_t(k) + size_t(p)];
    rowSums_[j] = s;
  }
}

const uint8_t* PackedInt8::packedFor(const Int8GemmKernel& kernel) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& entry : packed_)
    if (entry.first == kernel.layout) return entry.second.get();
  const size_t bytes = kernel.packedBytes(n_, k_);
  // aligned_alloc wants a multiple of the alignment; one spare line lets kernels over-read a tail safely.
  const size_t rounded = (bytes + 64 + 63) / 64 * 64;
  uint8_t* p = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (!p) throw std::bad_alloc();
  std::fill(p + bytes, p + rounded, uint8_t(0));
  kernel.pack(rows_.data(), n_, k_, p);
  packed_.emplace_back(kernel.layout, std::unique_ptr<uint8_t, Aligned>(p));
  packedBytes_ += rounded;
  return p;
}

size_t PackedInt8::bytes() const { return rows_.size() + rowSums_.size() * 4 + packedBytes_; }

const Int8GemmKernel& int8GemmKernel() {
  switch (activeTier()) {
#ifdef SPARQ_BUILT_AVX2
    case Tier::avx2: return gemm_u8s8s32__avx2;
#endif
#ifdef SPARQ_BUILT_AVX512
    case Tier::avx512: return gemm_u8s8s32__avx512;
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
    case Tier::avx512vnni: return gemm_u8s8s32__avx512vnni;
#endif
#ifdef SPARQ_BUILT_NEON
    case Tier::neon: return gemm_s8s8s32__neon;
#endif
#ifdef SPARQ_BUILT_NEONDOT
    case Tier::neondot: return gemm_s8s8s32__neondot;
#endif
#ifdef SPARQ_BUILT_I8MM
    case Tier::i8mm: return gemm_s8s8s32__i8mm;
#endif
    default: return gemm_int8__scalar;
  }
}

const char* lastInt8GemmKernel() { return gLastKernel.load(std::memory_order_relaxed); }

void gemmU8S8(const uint8_t* a, int m, PackedInt8& w, int32_t aZeroPoint, int32_t* c) {
  gemmFlipped(a, false, m, w, aZeroPoint, c);
}

void gemmS8S8(const int8_t* a, int m, PackedInt8& w, int32_t* c) {
  gemmFlipped(reinterpret_cast<const uint8_t*>(a), true, m, w, 0, c);
}

}  // namespace sparq
