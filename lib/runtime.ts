/** Tiers, CPU information and threads. */
import { native } from './native';
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

/** Whether the pool's workers are pinned to CPUs (worker i to the (i+1)-th CPU of the affinity mask). */
export function pinning(): boolean {
  return native.pinning();
}

/**
 * Pin the pool's workers (the default) or let the scheduler place them. `SPARQ_PIN=0` in the
 * environment starts with pinning off. Results never depend on it.
 */
export function setPinning(on: boolean): void {
  if (typeof on !== 'boolean') fail('type', 'setPinning', 'on', 'a boolean', on);
  native.setPinning(on);
}
