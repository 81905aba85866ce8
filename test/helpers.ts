/** Shared test helpers: seeded data, tier lists, and comparisons that say where they differ. */
import { expect } from 'vitest';
import { cpuInfo, type Tier } from '../lib/index';

/** xorshift32: deterministic bytes for a seed. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s >>> 24;
  }
  return out;
}

export function randomInt8(length: number, seed: number): Int8Array {
  const bytes = randomBytes(length, seed);
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** Gaussian-ish floats (sum of uniforms), scaled. */
export function randomFloats(length: number, seed: number, scale = 1): Float32Array {
  const bytes = randomBytes(length * 4, seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u = bytes[4 * i]! + bytes[4 * i + 1]! + bytes[4 * i + 2]! + bytes[4 * i + 3]! - 510;
    out[i] = (u / 147) * scale;
  }
  return out;
}

/** The tiers of this machine's architecture, each with whether it can run here and why not. */
export function tiersOfThisArch(): Array<{ tier: Tier; runs: boolean; why: string }> {
  const info = cpuInfo();
  const arch: Tier[] =
    info.arch === 'arm64' ? ['scalar', 'neon', 'neondot', 'i8mm'] : info.arch === 'x64' ? ['scalar', 'avx2', 'avx512', 'avx512vnni'] : ['scalar'];
  return arch.map((tier) => {
    const runs = info.supported.includes(tier);
    const why = runs ? '' : info.built.includes(tier) ? 'this CPU lacks it' : 'not built into this binary';
    return { tier, runs, why };
  });
}

/** Copy into a view at an odd byte offset, to catch alignment assumptions. */
export function atOddOffset<T extends Uint8Array | Int8Array | Float32Array | Int32Array>(src: T): T {
  const bytes = src.BYTES_PER_ELEMENT;
  const buffer = new ArrayBuffer(src.byteLength + 4 * bytes);
  const ctor = src.constructor as new (b: ArrayBuffer, o: number, l: number) => T;
  // Float32Array/Int32Array need an offset that is a multiple of 4: use one element past a 16-byte line.
  const view = new ctor(buffer, bytes === 1 ? 3 : bytes * 3, src.length);
  view.set(src as never);
  return view;
}

export function expectSameInts(got: ArrayLike<number>, want: ArrayLike<number>, context: object): void {
  expect(got.length, `length (${JSON.stringify(context)})`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      expect.fail(`first difference at [${i}]: got ${got[i]}, want ${want[i]} (${JSON.stringify(context)})`);
    }
  }
}

/** Bit-identical floats (so −0 ≠ +0 and NaN payloads count). */
export function expectSameFloats(got: Float32Array, want: Float32Array, context: object): void {
  expectSameInts(new Int32Array(got.buffer, got.byteOffset, got.length), new Int32Array(want.buffer, want.byteOffset, want.length), {
    ...context,
    floats: true,
  });
}

/** Seeded integers in [0, bound), from the same xorshift32 stream as randomBytes (bound ≤ 2²⁴). */
export function randomInts(length: number, bound: number, seed: number): Int32Array {
  const bytes = randomBytes(length * 3, seed);
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    const u = bytes[3 * i]! | (bytes[3 * i + 1]! << 8) | (bytes[3 * i + 2]! << 16);
    out[i] = Math.floor((u / 16777216) * bound);
  }
  return out;
}

/**
 * Floats within a per-output bound of the reference: |got − want| ≤ tolerance[i]. A NaN must
 * meet a NaN and an infinity the same infinity. Reports the first output outside the bound.
 */
export function expectWithinBound(got: Float32Array, want: Float32Array, tolerance: ArrayLike<number>, context: object): void {
  expect(got.length, `length (${JSON.stringify(context)})`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Number.isFinite(w) ? Math.abs(g - w) <= tolerance[i]! : g === w;
    if (!ok) expect.fail(`[${i}]: got ${g}, want ${w} ± ${tolerance[i]} (${JSON.stringify(context)})`);
  }
}

/** `call` throws an instance of `error` whose message equals `message` (a string) or matches it (a RegExp). */
export function expectThrows(call: () => unknown, error: typeof TypeError | typeof RangeError, message: string | RegExp, context?: string): void {
  let thrown: unknown;
  try {
    call();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, context).toBeInstanceOf(error);
  if (typeof message === 'string') expect((thrown as Error).message, context).toBe(message);
  else expect((thrown as Error).message, context).toMatch(message);
}

/** A number[] copy of an array, for toEqual against a literal list. */
export const list = (a: ArrayLike<number>): number[] => Array.from(a);

/** A Float32Array of `length` filled with `fill`, with some entries set: row(32, { 0: -8, 5: 1 }). */
export function row(length: number, entries: Record<number, number> = {}, fill = 0): Float32Array {
  const x = new Float32Array(length).fill(fill);
  for (const [i, v] of Object.entries(entries)) x[Number(i)] = v;
  return x;
}
