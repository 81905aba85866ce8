#!/usr/bin/env bash
# The sanitizer leg of CI: builds the addon and the C++ kernel tests with AddressSanitizer and
# UBSan (CMake option SPARQ_SANITIZE: -fsanitize=address,undefined -fno-sanitize-recover=all),
# runs the C++ cross-checks, then runs the vitest suites that drive the native code through the
# public API (the kernel suites on every tier, the bad-input and hostile-input suites) against
# that addon. Any report from either sanitizer fails the run.
#
#   scripts/test-asan.sh                      # C++ cross-checks (quick) + vitest suites
#   SPARQ_ASAN_TESTS="test/native/sparse.native.test.ts" scripts/test-asan.sh
#
# node itself is not instrumented, so libasan must be the first library in the process: it is
# preloaded (LD_PRELOAD) into node and, through the environment, into vitest's workers. Leak
# checking is off: node keeps allocations alive until exit by design, and LeakSanitizer would
# report those; the RSS-slope test (test/robustness/memory.test.ts, not run here: ASan's
# quarantine keeps freed memory resident by design) covers sparq's own leaks.
# The robustness suites run too (workers terminated mid-call, 10⁵ fuzzed calls) in children that
# inherit the preload; the allocation-failure one skips itself, as an address-space limit and
# ASan's shadow memory cannot go together.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-asan"      # git-ignored: never the host's build/
TESTS="${SPARQ_ASAN_TESTS:-test/native test/errors.test.ts test/errors-quant.test.ts test/errors-sparse.test.ts test/errors-ops.test.ts test/boundary.test.ts test/robustness/hostile.test.ts test/robustness/process.test.ts test/robustness/fuzz.test.ts test/robustness/fuzz-files.test.ts test/io test/robustness/pinning.test.ts}"
CXX_TEST_BINARIES=(test_gemm_int8 test_quant test_gemm_f32 test_sparse test_ops)
cd "$ROOT"
started=$SECONDS
log() { printf '\n=== [%4ds] %s\n' "$((SECONDS - started))" "$*"; }

[[ -f node_modules/cmake-js/package.json && -f node_modules/vitest/package.json ]] ||
  { echo "test-asan: run npm install first" >&2; exit 1; }
LIBASAN="$(g++ -print-file-name=libasan.so)"
[[ -f $LIBASAN ]] || { echo "test-asan: g++ has no libasan.so ($LIBASAN)" >&2; exit 1; }

log "build the addon and the C++ tests with ASan + UBSan into $BUILD"
node node_modules/cmake-js/bin/cmake-js configure --log-level warn --out "$BUILD" \
  --CDSPARQ_SANITIZE=ON --CDSPARQ_BUILD_TESTS=ON >/dev/null
cmake --build "$BUILD" -j2 --target sparq "${CXX_TEST_BINARIES[@]}" >/dev/null
ADDON="$BUILD/Release/sparq.node"
[[ -f $ADDON ]] || { echo "test-asan: no addon at $ADDON" >&2; exit 1; }

export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

log "C++ kernel cross-checks (quick) under ASan + UBSan"
for t in "${CXX_TEST_BINARIES[@]}"; do "$BUILD/$t" --quick; done

log "vitest against the sanitized addon: $TESTS"
# The suites confirm which addon they ran: SPARQ_NATIVE is checked by test/native/runtime.native.test.ts.
SPARQ_NATIVE="$ADDON" LD_PRELOAD="$LIBASAN" node node_modules/vitest/vitest.mjs run $TESTS
log "done"
