/**
 * The grids GPTQ rounds onto, one per weight form it writes: how a group's scale fields follow from
 * its values, the code (and the weight it stands for) of one value against stored fields, and the
 * bytes of a block. Each is the form's own quantizer with the scale fixed from outside:
 *
 *   q8_0  q4_0  q4_1   ggml's formulas, blocks of 32, scales rounded to f16 before any code
 *   int8-block         absmax per block (f32), code = roundHalfEven(x/absmax·127) in −127…127
 *   nf4                absmax per block (f32), code by bitsandbytes' thresholds on x/absmax
 *   int8               per output row (the group is the whole row): s = max|w|/127 (1 for 0),
 *                      code = roundHalfEven(x/s) in −127…127, as quantizeLinearInt8 (LinearInt8)
 *
 * Codes saturate at the grid's ends: GPTQ's updates can push a weight past the scale fixed earlier.
 */
import { f16ToF32, f32ToF16 } from '../reference/f16';
import { NF4_CODES, NF4_THRESHOLDS } from '../reference/quant';
import { clamp, roundHalfEven } from '../reference/round';

export type GridFormat = 'q8_0' | 'q4_0' | 'q4_1' | 'int8-block' | 'nf4' | 'int8';
export const GRID_FORMATS: readonly GridFormat[] = ['q8_0', 'q4_0', 'q4_1', 'int8-block', 'nf4', 'int8'];

export interface Scales {
  d: number;
  m: number;
}

export interface Grid {
  /** Values per scale group along k. */
  group: number;
  scales(x: ArrayLike<number>): Scales;
  /** The code of v against stored scales, and the weight it stands for (as the kernels compute it). */
  code(v: number, s: Scales): [code: number, value: number];
  /** Bytes per group in the stored form (block formats). */
  bytes: number;
  /** Writes one group's fields and codes at `at`. */
  write(view: DataView, at: number, s: Scales, codes: Int32Array): void;
}

const f32 = Math.fround;
/** f32 → f16 → f32: a scale as ggml stores it. */
export const asF16 = (v: number) => f16ToF32(f32ToF16(v)) as number;

function absMax(x: ArrayLike<number>): { amax: number; extreme: number } {
  let amax = 0, extreme = 0;
  for (let t = 0; t < x.length; t++) if (Math.abs(x[t]!) > amax) (amax = Math.abs(x[t]!)), (extreme = x[t]!);
  return { amax: f32(amax), extreme: f32(extreme) };
}

/** Codes as ggml packs q4 nibbles: byte t holds codes t (low) and t + 16 (high). */
function writeNibbles(view: DataView, at: number, codes: Int32Array): void {
  for (let t = 0; t < 16; t++) view.setUint8(at + t, codes[t]! | (codes[t + 16]! << 4));
}

/** The grid of a form; `blockSize` for int8-block and nf4 (default 64), `k` the row length (int8). */
export function gridOf(format: GridFormat, k: number, blockSize = 64): Grid {
  switch (format) {
    case 'q8_0':
      return {
        group: 32,
        bytes: 34,
        scales: (x) => ({ d: asF16(f32(absMax(x).amax / 127)), m: 0 }),
        code: (v, s) => {
          if (s.d === 0) return [0, 0];
          const q = clamp(Math.round(v / s.d), -127, 127) + 0; // + 0: a −0 code is stored as 0
          return [q, f32(q * s.d)];
        },
        write: (view, at, s, codes) => {
          view.setUint16(at, f32ToF16(s.d) as number, true);
          for (let t = 0; t < 32; t++) view.setInt8(at + 2 + t, codes[t]!);
        },
      };
    case 'q4_0':
      return {
        group: 32,
        bytes: 18,
        scales: (x) => ({ d: asF16(f32(absMax(x).extreme / -8)), m: 0 }),
        code: (v, s) => {
          if (s.d === 0) return [8, 0];
          const q = clamp(Math.round(v / s.d) + 8, 0, 15);
          return [q, f32((q - 8) * s.d)];
        },
        write: (view, at, s, codes) => {
          view.setUint16(at, f32ToF16(s.d) as number, true);
          writeNibbles(view, at + 2, codes);
        },
      };
    case 'q4_1':
      return {
        group: 32,
        bytes: 20,
        scales: (x) => {
          let lo = Infinity, hi = -Infinity;
          for (let t = 0; t < x.length; t++) (lo = Math.min(lo, x[t]!)), (hi = Math.max(hi, x[t]!));
          return { d: asF16(f32(f32(hi - lo) / 15)), m: asF16(f32(lo)) };
        },
        code: (v, s) => {
          if (s.d === 0) return [0, s.m];
          const q = clamp(Math.round((v - s.m) / s.d), 0, 15);
          return [q, f32(f32(q * s.d) + s.m)];
        },
        write: (view, at, s, codes) => {
          view.setUint16(at, f32ToF16(s.d) as number, true);
          view.setUint16(at + 2, f32ToF16(s.m) as number, true);
          writeNibbles(view, at + 4, codes);
        },
      };
    case 'int8-block':
      return {
        group: blockSize,
        bytes: 4 + blockSize,
        scales: (x) => ({ d: absMax(x).amax, m: 0 }),
        code: (v, s) => {
          if (s.d === 0) return [0, 0];
          const q = clamp(roundHalfEven(f32(f32(v / s.d) * 127)), -127, 127) + 0;
          return [q, f32(q * f32(s.d / 127))];
        },
        write: (view, at, s, codes) => {
          view.setFloat32(at, s.d, true);
          for (let t = 0; t < blockSize; t++) view.setInt8(at + 4 + t, codes[t]!);
        },
      };
    case 'nf4':
      return {
        group: blockSize,
        bytes: 4 + blockSize / 2,
        scales: (x) => ({ d: absMax(x).amax, m: 0 }),
        code: (v, s) => {
          const x = f32(v * f32(1 / s.d)); // NaN for an all-zero block: code 0 … then 0·absmax
          let q = 0;
          for (const threshold of NF4_THRESHOLDS) if (x > threshold) q++;
          if (s.d === 0) q = 7; // NF4's exact zero
          return [q, f32(NF4_CODES[q]! * s.d)];
        },
        write: (view, at, s, codes) => {
          view.setFloat32(at, s.d, true);
          for (let t = 0; t < blockSize / 2; t++) view.setUint8(at + 4 + t, (codes[2 * t]! << 4) | codes[2 * t + 1]!);
        },
      };
    case 'int8':
      return {
        group: k,
        bytes: k,
        scales: (x) => {
          const s = f32(absMax(x).amax / 127);
          return { d: s === 0 ? 1 : s, m: 0 };
        },
        code: (v, s) => {
          const q = clamp(roundHalfEven(f32(v / s.d)), -127, 127) + 0;
          return [q, f32(q * s.d)];
        },
        write: (view, at, _, codes) => {
          for (let t = 0; t < k; t++) view.setInt8(at + t, codes[t]!);
        },
      };
  }
}
