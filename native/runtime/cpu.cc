// CPU feature detection and the tier cap. Detection runs once; the cap is process-wide.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>

#include "sparq/runtime.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#define SPARQ_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define SPARQ_ARM64 1
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif
#endif

namespace sparq {

namespace {

struct TierEntry {
  Tier tier;
  const char* name;
};
constexpr TierEntry kTiers[] = {
    {Tier::scalar, "scalar"}, {Tier::avx2, "avx2"}, {Tier::avx512, "avx512"}, {Tier::avx512vnni, "avx512vnni"},
    {Tier::neon, "neon"},     {Tier::neondot, "neondot"}, {Tier::i8mm, "i8mm"},
};

// Tiers compiled into this binary, in order. SPARQ_BUILT_* come from CMake.
std::vector<Tier> builtTiers() {
  std::vector<Tier> t{Tier::scalar};
#ifdef SPARQ_BUILT_AVX2
  t.push_back(Tier::avx2);
#endif
#ifdef SPARQ_BUILT_AVX512
  t.push_back(Tier::avx512);
#endif
#ifdef SPARQ_BUILT_AVX512VNNI
  t.push_back(Tier::avx512vnni);
#endif
#ifdef SPARQ_BUILT_NEON
  t.push_back(Tier::neon);
#endif
#ifdef SPARQ_BUILT_NEONDOT
  t.push_back(Tier::neondot);
#endif
#ifdef SPARQ_BUILT_I8MM
  t.push_back(Tier::i8mm);
#endif
  return t;
}

#if SPARQ_X86
uint64_t readXcr0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

CpuInfo detect() {
  CpuInfo info;
  bool can[7] = {true, false, false, false, false, false, false};
#if SPARQ_X86
  info.arch = "x64";
  unsigned a, b, c, d;
  __cpuid(1, a, b, c, d);
  const bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28),
             f16c = c & (1u << 29);
  const uint64_t xcr0 = osxsave ? readXcr0() : 0;
  const bool osYmm = (xcr0 & 0x6) == 0x6;           // SSE and AVX state saved by the OS
  const bool osZmm = osYmm && (xcr0 & 0xe0) == 0xe0; // opmask, ZMM_Hi256, Hi16_ZMM
  unsigned b7 = 0, c7 = 0;
  if (__get_cpuid_max(0, nullptr) >= 7) {
    unsigned a7, d7;
    __cpuid_count(7, 0, a7, b7, c7, d7);
  }
  const bool avx2 = avx && fma && f16c && (b7 & (1u << 5)) && osYmm;
  const bool f = b7 & (1u << 16), dq = b7 & (1u << 17), bw = b7 & (1u << 30), vl = b7 & (1u << 31);
  const bool vnni = c7 & (1u << 11);
  const bool avx512 = avx2 && f && bw && vl && dq && osZmm;
  if (avx) info.features.push_back("avx");
  if (fma) info.features.push_back("fma");
  if (f16c) info.features.push_back("f16c");
  if (b7 & (1u << 5)) info.features.push_back("avx2");
  if (f) info.features.push_back("avx512f");
  if (dq) info.features.push_back("avx512dq");
  if (bw) info.features.push_back("avx512bw");
  if (vl) info.features.push_back("avx512vl");
  if (vnni) info.features.push_back("avx512vnni");
  if (!osYmm && avx) info.features.push_back("os-disabled-ymm");
  if (!osZmm && f) info.features.push_back("os-disabled-zmm");
  can[int(Tier::avx2)] = avx2;
  can[int(Tier::avx512)] = avx512;
  can[int(Tier::avx512vnni)] = avx512 && vnni;
#elif SPARQ_ARM64
  info.arch = "arm64";
  const unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
  const bool neon = hw & HWCAP_ASIMD, dot = hw & HWCAP_ASIMDDP, i8mm = hw2 & HWCAP2_I8MM;
  if (neon) info.features.push_back("asimd");
  if (dot) info.features.push_back("asimddp");
  if (i8mm) info.features.push_back("i8mm");
  can[int(Tier::neon)] = neon;
  can[int(Tier::neondot)] = neon && dot;
  can[int(Tier::i8mm)] = neon && dot && i8mm;
#else
  info.arch = "other";
#endif
  info.built = builtTiers();
  for (Tier t : info.built)
    if (can[int(t)]) info.supported.push_back(t);
  return info;
}

std::atomic<int> gCap{-1};  // the cap as int(Tier); -1 = no cap
int gEnvCap = -1;            // the cap SPARQ_ISA asked for
std::string gCapError;
std::once_flag gEnvOnce;

bool isSupported(Tier t) {
  for (Tier s : cpuInfo().supported)
    if (s == t) return true;
  return false;
}

void applyEnvironment() {
  const char* env = std::getenv("SPARQ_ISA");
  if (!env || !*env) return;
  Tier t;
  if (!tierFromName(env, &t)) {
    gCapError = std::string("SPARQ_ISA: unknown tier '") + env + "'";
  } else if (!isSupported(t)) {
    gCapError = std::string("SPARQ_ISA: tier '") + env + "' is not " +
                (std::find(cpuInfo().built.begin(), cpuInfo().built.end(), t) == cpuInfo().built.end()
                     ? "built into this binary"
                     : "supported by this CPU");
  } else {
    gEnvCap = int(t);
    gCap = gEnvCap;
  }
}

}  // namespace

const char* tierName(Tier t) { return kTiers[int(t)].name; }

bool tierFromName(const std::string& name, Tier* out) {
  for (const auto& e : kTiers)
    if (name == e.name) {
      *out = e.tier;
      return true;
    }
  return false;
}

const CpuInfo& cpuInfo() {
  static const CpuInfo info = detect();
  return info;
}

Tier activeTier() {
  std::call_once(gEnvOnce, applyEnvironment);
  const int cap = gCap.load(std::memory_order_relaxed);
  const auto& supported = cpuInfo().supported;
  Tier best = Tier::scalar;
  for (Tier t : supported)
    if (cap < 0 || int(t) <= cap) best = t;
  return best;
}

bool setTierCap(Tier t) {
  std::call_once(gEnvOnce, applyEnvironment);
  if (!isSupported(t)) return false;
  gCap = int(t);
  return true;
}

void clearTierCap() {
  std::call_once(gEnvOnce, applyEnvironment);
  gCap = gEnvCap;
}

const std::string& capError() {
  std::call_once(gEnvOnce, applyEnvironment);
  return gCapError;
}

}  // namespace sparq
