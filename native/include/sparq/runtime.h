// CPU feature detection, the tier cap and the thread pool. Plain C++, no Node-API.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sparq {

// Tiers in order of preference within an architecture; a tier implies every tier below it.
enum class Tier : int { scalar = 0, avx2, avx512, avx512vnni, neon, neondot, i8mm };

const char* tierName(Tier t);
bool tierFromName(const std::string& name, Tier* out);

struct CpuInfo {
  std::string arch;                    // "x64" | "arm64" | other
  std::vector<std::string> features;   // detected features, e.g. "avx2", "avx512vnni", "asimddp"
  std::vector<Tier> built;             // tiers compiled into this binary, best last
  std::vector<Tier> supported;         // built tiers this CPU (and OS) can run, best last
};

const CpuInfo& cpuInfo();

// The tier in use: the best supported tier not above the cap. The cap starts from
// SPARQ_ISA when set (an unknown or unsupported name there is reported by capError()).
Tier activeTier();
// Cap the tier. Returns false (and changes nothing) when `t` is not built or not supported.
bool setTierCap(Tier t);
void clearTierCap();  // back to the SPARQ_ISA cap, or none
const std::string& capError();  // non-empty when SPARQ_ISA could not be honoured

// Thread pool. threads() ≥ 1 counts the caller. parallelFor runs fn(0..tasks-1), the caller
// taking part; concurrent callers are serialised. Work is split only along independent
// outputs, so results never depend on the thread count.
int threads();
void setThreads(int n);
int defaultThreads();
// Where the pool's workers run (SPARQ_PIN=off|fixed|caller, setPinning()):
//   off     the scheduler places them (the default: the only mode that stays fast when a CPU is busy);
//   fixed   worker i on the (i+1)-th CPU of the affinity mask, assuming the caller runs on the first;
//   caller  at each call, the workers on the CPUs of the mask other than the one the caller is on
//           (re-pinned only when the caller has moved).
enum class Pinning { off, fixed, caller };
Pinning pinning();
void setPinning(Pinning mode);
const char* pinningName(Pinning mode);
bool pinningFromName(const std::string& name, Pinning* mode);
void parallelFor(int tasks, const std::function<void(int)>& fn);

// Bytes of thread-local scratch alive in the process (sparq/scratch.h keeps it up to date).
int64_t scratchBytes();
void noteScratchBytes(int64_t delta);

}  // namespace sparq
