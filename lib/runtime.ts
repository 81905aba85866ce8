/** Tiers, CPU information and threads. */
import { native, type Pinning } from './native';

export type { Pinning };
import { fail, int } from './validate';

/** Instruction-set tiers, in order of preference within an architecture. */
export type Tier = 'scalar' | 'avx2' | 'avx512' | 'avx512vnni' | 'neon' | 'neondot' | 'i8mm';

export const TIERS: readonly Tier[] = ['scalar', 'avx2', 'avx512', 'avx512vnni', 'neon', 'neondot', 'i8mm'];

export interface CpuInfo {
  /** 'x64', 'arm64' or 'other'. */
  arch: string;
  /** CPU features detected (and enabled by the OS), e.g. 'avx2', 'avx512vnni', 'asimddp'. */
  features: string[];
  /** Tiers compiled into this binary, best last. */
  built: Tier[];
  /** Built tiers this CPU can run, best last. */
  supported: Tier[];
  /** The tier in use now. */
  isa: Tier;
  /** Threads the pool uses now. */
  threads: number;
}

const envCheck = native.cpuInfo().envError;
if (envCheck) throw new RangeError(`sparq: ${envCheck}; valid tiers here: ${native.cpuInfo().supported.join(', ')}`);

/** What the CPU has, what was built, and what is in use. */
export function cpuInfo(): CpuInfo {
  const info = native.cpuInfo();
  return {
    arch: info.arch,
    features: info.features,
    built: info.built as Tier[],
    supported: info.supported as Tier[],
    isa: native.isa() as Tier,
    threads: native.threads(),
  };
}

/** The tier in use: the best supported tier not above the cap. */
export function isa(): Tier {
  return native.isa() as Tier;
}

/**
 * Cap the tier; `null` returns to the default (the SPARQ_ISA cap if set, else the best supported tier).
 * A tier this CPU cannot run, or that this binary lacks, throws a RangeError: never a SIGILL.
 */
export function setIsa(tier: Tier | null): void {
  if (tier !== null && typeof tier !== 'string') fail('type', 'setIsa', 'tier', 'a tier name or null', tier);
  if (tier !== null && !TIERS.includes(tier)) fail('range', 'setIsa', 'tier', `one of ${TIERS.join(', ')}`, tier);
  if (tier !== null && !native.cpuInfo().supported.includes(tier)) {
    const built = native.cpuInfo().built.includes(tier);
    fail(
      'range',
      'setIsa',
      'tier',
      `a tier this ${built ? 'CPU supports' : 'binary was built with'} (${native.cpuInfo().supported.join(', ')})`,
      tier,
    );
  }
  native.setIsa(tier);
}

/** Threads the pool uses (the caller counts as one). */
export function threads(): number {
  return native.threads();
}

/** Set the pool size; `setThreads()` with no argument restores the default (available parallelism). */
export function setThreads(n?: number): void {
  native.setThreads(n === undefined ? native.defaultThreads() : int('setThreads', 'n', n, 1, 1024));
}

/** Where the pool's workers run: `'off'`, `'fixed'` or `'caller'` (see setPinning). */
export function pinning(): Pinning {
  return native.pinning();
}

export const PINNINGS: readonly Pinning[] = ['off', 'fixed', 'caller'];

/**
 * Choose where the pool's workers run; results never depend on it.
 * - `'off'` (the default): the scheduler places them.
 * - `'fixed'`: worker i on the (i+1)-th CPU of the affinity mask, leaving the first to the caller,
 *   which stays unpinned.
 * - `'caller'`: at each call, the workers on the CPUs other than the one the caller is on.
 * The pinned modes are as fast as `'off'` on an idle machine and up to ~10× slower when another
 * process keeps a worker's CPU busy (bench/pool-suites.js), hence the default.
 * `SPARQ_PIN=off|fixed|caller` in the environment sets it at load (`0`/`1` mean off/fixed).
 */
export function setPinning(mode: Pinning): void {
  if (typeof mode !== 'string') fail('type', 'setPinning', 'mode', "'off', 'fixed' or 'caller'", mode);
  if (!PINNINGS.includes(mode)) fail('range', 'setPinning', 'mode', "'off', 'fixed' or 'caller'", mode);
  native.setPinning(mode);
}
