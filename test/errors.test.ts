/**
 * Bad input never crashes the process: every public entry point refuses wrong kinds with a
 * TypeError and wrong sizes or values with a RangeError whose message names the argument,
 * what was expected and what came.
 */
import { describe, expect, it } from 'vitest';
import {
  gemmS8S8,
  gemmS8S8Async,
  gemmU8S8,
  gemmU8S8Async,
  linearInt8,
  linearInt8Async,
  packInt8,
  quantizeActivationsU8,
  activationRange,
  quantizeLinearInt8,
  setIsa,
  setThreads,
  type LinearInt8,
  type PackedInt8Matrix,
} from '../lib/index';
import * as reference from '../lib/reference/index';
import { expectThrows } from './helpers';

const w = packInt8(new Int8Array(12), 3, 4); // n = 3, k = 4
const layer = quantizeLinearInt8(new Float32Array(12), 3, 4);

function detached<T extends Uint8Array | Int8Array>(array: T): T {
  structuredClone(array.buffer, { transfer: [array.buffer as ArrayBuffer] });
  return array;
}

type Case = [name: string, call: () => unknown, error: typeof TypeError | typeof RangeError, message: RegExp];

const cases: Case[] = [
  // packInt8
  ['packInt8: b not an Int8Array', () => packInt8(new Uint8Array(12) as unknown as Int8Array, 3, 4), TypeError, /^packInt8: expected b: Int8Array, received Uint8Array of length 12$/],
  ['packInt8: b a plain array', () => packInt8([1, 2] as unknown as Int8Array, 1, 2), TypeError, /expected b: Int8Array, received Array of length 2/],
  ['packInt8: b too short', () => packInt8(new Int8Array(11), 3, 4), RangeError, /^packInt8: expected b: Int8Array of length 12 \(n·k\), received Int8Array of length 11$/],
  ['packInt8: b too long', () => packInt8(new Int8Array(13), 3, 4), RangeError, /length 12 \(n·k\), received Int8Array of length 13/],
  ['packInt8: n not an integer', () => packInt8(new Int8Array(12), 2.5, 4), TypeError, /^packInt8: expected n: an integer, received number 2.5$/],
  ['packInt8: n a string', () => packInt8(new Int8Array(12), '3' as unknown as number, 4), TypeError, /expected n: an integer, received string "3"/],
  ['packInt8: n negative', () => packInt8(new Int8Array(12), -3, 4), RangeError, /expected n: an integer in \[1, 2147483647\], received number -3/],
  ['packInt8: n zero', () => packInt8(new Int8Array(0), 0, 4), RangeError, /expected n: an integer in \[1,/],
  ['packInt8: k NaN', () => packInt8(new Int8Array(12), 3, NaN), TypeError, /expected k: an integer, received number NaN/],
  ['packInt8: k over 65536', () => packInt8(new Int8Array(65537), 1, 65537), RangeError, /expected k: an integer in \[1, 65536\], received number 65537/],
  ['packInt8: n·k overflows', () => packInt8(new Int8Array(1), 2 ** 31 - 1, 65536), RangeError, /expected b: Int8Array of length 140737488289792 \(n·k\)/],
  ['packInt8: detached b', () => packInt8(detached(new Int8Array(1)), 1, 1), RangeError, /expected b: Int8Array of length 1 \(n·k\), received Int8Array with a detached buffer/],
  // gemmU8S8
  ['gemmU8S8: a not a Uint8Array', () => gemmU8S8(new Int8Array(4) as unknown as Uint8Array, w, 1), TypeError, /^gemmU8S8: expected a: Uint8Array, received Int8Array of length 4$/],
  ['gemmU8S8: a short', () => gemmU8S8(new Uint8Array(7), w, 2), RangeError, /^gemmU8S8: expected a: Uint8Array of length ≥ 8 \(m·k\), received Uint8Array of length 7$/],
  ['gemmU8S8: a detached', () => gemmU8S8(detached(new Uint8Array(8)), w, 1), RangeError, /expected a: Uint8Array of length ≥ 4 \(m·k\), received Uint8Array with a detached buffer/],
  ['gemmU8S8: w not packed', () => gemmU8S8(new Uint8Array(4), new Int8Array(12) as unknown as PackedInt8Matrix, 1), TypeError, /^gemmU8S8: expected w: a PackedInt8Matrix \(from packInt8\), received Int8Array of length 12$/],
  ['gemmU8S8: w a look-alike object', () => gemmU8S8(new Uint8Array(4), { n: 3, k: 4, handle: {} } as unknown as PackedInt8Matrix, 1), TypeError, /expected w: a PackedInt8Matrix/],
  ['gemmU8S8: w of another shape', () => gemmU8S8(new Uint8Array(4), packInt8(new Int8Array(10), 2, 5), 1), RangeError, /expected a: Uint8Array of length ≥ 5 \(m·k\), received Uint8Array of length 4/],
  ['gemmU8S8: m negative', () => gemmU8S8(new Uint8Array(4), w, -1), RangeError, /^gemmU8S8: expected m: an integer in \[0, 2147483647\], received number -1$/],
  ['gemmU8S8: m fractional', () => gemmU8S8(new Uint8Array(4), w, 0.5), TypeError, /expected m: an integer, received number 0.5/],
  ['gemmU8S8: m Infinity', () => gemmU8S8(new Uint8Array(4), w, Infinity), TypeError, /expected m: an integer, received number Infinity/],
  ['gemmU8S8: m·k beyond any array', () => gemmU8S8(new Uint8Array(4), packInt8(new Int8Array(65536), 1, 65536), 2 ** 31 - 1), RangeError, /expected a: Uint8Array of length ≥ 140737488289792 \(m·k\)/],
  ['gemmU8S8: zero point 256', () => gemmU8S8(new Uint8Array(4), w, 1, { aZeroPoint: 256 }), RangeError, /expected aZeroPoint: an integer in \[0, 255\], received number 256/],
  ['gemmU8S8: zero point string', () => gemmU8S8(new Uint8Array(4), w, 1, { aZeroPoint: '1' as unknown as number }), TypeError, /expected aZeroPoint: an integer, received string "1"/],
  ['gemmU8S8: out short', () => gemmU8S8(new Uint8Array(8), w, 2, { out: new Int32Array(5) }), RangeError, /expected out: Int32Array of length ≥ 6 \(m·n\), received Int32Array of length 5/],
  ['gemmU8S8: out wrong type', () => gemmU8S8(new Uint8Array(4), w, 1, { out: new Float32Array(3) as unknown as Int32Array }), TypeError, /expected out: Int32Array, received Float32Array of length 3/],
  ['gemmU8S8: options not an object', () => gemmU8S8(new Uint8Array(4), w, 1, 5 as unknown as object), TypeError, /expected options: an object, received number 5/],
  // gemmS8S8
  ['gemmS8S8: a not an Int8Array', () => gemmS8S8(new Uint8Array(4) as unknown as Int8Array, w, 1), TypeError, /^gemmS8S8: expected a: Int8Array, received Uint8Array of length 4$/],
  ['gemmS8S8: a short', () => gemmS8S8(new Int8Array(3), w, 1), RangeError, /^gemmS8S8: expected a: Int8Array of length ≥ 4 \(m·k\), received Int8Array of length 3$/],
  ['gemmS8S8: w missing', () => gemmS8S8(new Int8Array(4), undefined as unknown as PackedInt8Matrix, 1), TypeError, /expected w: a PackedInt8Matrix \(from packInt8\), received undefined/],
  ['gemmS8S8: m missing', () => (gemmS8S8 as (...args: unknown[]) => unknown)(new Int8Array(4), w), TypeError, /expected m: an integer, received undefined/],
  // quantizeLinearInt8
  ['quantizeLinearInt8: w wrong type', () => quantizeLinearInt8(new Float64Array(12) as unknown as Float32Array, 3, 4), TypeError, /^quantizeLinearInt8: expected w: Float32Array, received Float64Array of length 12$/],
  ['quantizeLinearInt8: w short', () => quantizeLinearInt8(new Float32Array(11), 3, 4), RangeError, /expected w: Float32Array of length 12 \(n·k\), received Float32Array of length 11/],
  ['quantizeLinearInt8: bias length', () => quantizeLinearInt8(new Float32Array(12), 3, 4, { bias: new Float32Array(2) }), RangeError, /expected bias: Float32Array of length 3 \(n\), received Float32Array of length 2/],
  ['quantizeLinearInt8: NaN weight', () => quantizeLinearInt8(new Float32Array([1, NaN, 0, 0]), 1, 4), RangeError, /^quantizeLinearInt8: expected w: finite values, received NaN or ±Infinity$/],
  ['quantizeLinearInt8: Infinity weight', () => quantizeLinearInt8(new Float32Array([1, -Infinity, 0, 0]), 1, 4), RangeError, /finite values/],
  ['quantizeLinearInt8: activations not an object', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: 3 as unknown as { scale: number; zeroPoint: number } }), TypeError, /^quantizeLinearInt8: expected options: an object/],
  ['quantizeLinearInt8: activation scale 0', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: { scale: 0, zeroPoint: 0 } }), RangeError, /^quantizeLinearInt8: expected activations.scale: a positive finite f32 number, received number 0$/],
  ['quantizeLinearInt8: activation scale beyond f32', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: { scale: 1e39, zeroPoint: 0 } }), RangeError, /activations.scale: a positive finite f32 number, received number 1e\+39/],
  ['quantizeLinearInt8: activation scale under f32', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: { scale: 1e-50, zeroPoint: 0 } }), RangeError, /activations.scale: a positive finite f32 number/],
  ['quantizeLinearInt8: activation zero point 256', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: { scale: 1, zeroPoint: 256 } }), RangeError, /^quantizeLinearInt8: expected activations.zeroPoint: an integer in \[0, 255\], received number 256$/],
  ['quantizeLinearInt8: activation zero point 1.5', () => quantizeLinearInt8(new Float32Array(4), 1, 4, { activations: { scale: 1, zeroPoint: 1.5 } }), TypeError, /activations.zeroPoint: an integer/],
  ['quantizeLinearInt8: k over 65536', () => quantizeLinearInt8(new Float32Array(65537), 1, 65537), RangeError, /expected k: an integer in \[1, 65536\]/],
  // linearInt8
  ['linearInt8: x wrong type', () => linearInt8(new Uint8Array(4) as unknown as Float32Array, layer, 1), TypeError, /^linearInt8: expected x: Float32Array, received Uint8Array of length 4$/],
  ['linearInt8: x short', () => linearInt8(new Float32Array(7), layer, 2), RangeError, /expected x: Float32Array of length ≥ 8 \(m·k\), received Float32Array of length 7/],
  ['linearInt8: layer wrong', () => linearInt8(new Float32Array(4), w as unknown as LinearInt8, 1), TypeError, /expected layer: a LinearInt8 \(from quantizeLinearInt8\), received PackedInt8Matrix/],
  ['linearInt8: NaN activation', () => linearInt8(new Float32Array([0, 1, NaN, 2]), layer, 1), RangeError, /^linearInt8: expected x: finite values, received NaN or ±Infinity$/],
  ['linearInt8: out short', () => linearInt8(new Float32Array(4), layer, 1, { out: new Float32Array(2) }), RangeError, /expected out: Float32Array of length ≥ 3 \(m·n\), received Float32Array of length 2/],
  // quantizeActivationsU8
  ['quantizeActivationsU8: k zero', () => quantizeActivationsU8(new Float32Array(0), 1, 0), RangeError, /expected k: an integer in \[1, 2147483647\], received number 0/],
  ['quantizeActivationsU8: x short', () => quantizeActivationsU8(new Float32Array(5), 2, 3), RangeError, /expected x: Float32Array of length ≥ 6 \(m·k\)/],
  ['quantizeActivationsU8: static zero point missing', () => quantizeActivationsU8(new Float32Array(1), 1, 1, { activations: { scale: 1 } as { scale: number; zeroPoint: number } }), TypeError, /activations.zeroPoint: an integer/],
  ['quantizeActivationsU8: static NaN', () => quantizeActivationsU8(new Float32Array([NaN]), 1, 1, { activations: { scale: 1, zeroPoint: 0 } }), RangeError, /^quantizeActivationsU8: expected x: finite values/],
  ['activationRange: NaN', () => activationRange(NaN, 1), RangeError, /^activationRange: expected lo: a finite f32 number, received number NaN$/],
  ['activationRange: hi beyond f32', () => activationRange(0, 1e39), RangeError, /expected hi: a finite f32 number/],
  ['quantizeActivationsU8: Infinity', () => quantizeActivationsU8(new Float32Array([Infinity]), 1, 1), RangeError, /finite values/],
  // runtime
  ['setIsa: unknown tier', () => setIsa('sse9' as never), RangeError, /^setIsa: expected tier: one of scalar, avx2, avx512, avx512vnni, neon, neondot, i8mm, received string "sse9"$/],
  ['setIsa: number', () => setIsa(3 as never), TypeError, /expected tier: a tier name or null, received number 3/],
  ['setThreads: zero', () => setThreads(0), RangeError, /^setThreads: expected n: an integer in \[1, 1024\], received number 0$/],
  ['setThreads: fractional', () => setThreads(1.5), TypeError, /expected n: an integer, received number 1.5/],
  // reference
  ['reference.gemmU8S8: b short', () => reference.gemmU8S8(new Uint8Array(4), new Int8Array(3), 1, 1, 4), RangeError, /^reference.gemmU8S8: expected b: Int8Array of length ≥ 4 \(n·k\), received Int8Array of length 3$/],
  ['reference.gemmS8S8: a wrong type', () => reference.gemmS8S8(new Uint8Array(4) as unknown as Int8Array, new Int8Array(4), 1, 1, 4), TypeError, /expected a: Int8Array, received Uint8Array/],
];

describe('bad input', () => {
  it.each(cases)('%s', (_name, call, error, message) => {
    expectThrows(call, error, message);
  });

  it('setIsa refuses a tier of the other architecture', () => {
    const foreign = process.arch === 'arm64' ? 'avx2' : 'neon';
    expect(() => setIsa(foreign)).toThrow(RangeError);
    expect(() => setIsa(foreign)).toThrow(/setIsa: expected tier: a tier this binary was built with/);
  });

  it('async entry points reject (never throw synchronously) with the same errors', async () => {
    await expect(gemmU8S8Async(new Uint8Array(3), w, 1)).rejects.toThrow(RangeError);
    await expect(gemmS8S8Async(new Uint8Array(4) as unknown as Int8Array, w, 1)).rejects.toThrow(TypeError);
    await expect(linearInt8Async(new Float32Array([NaN, 0, 0, 0]), layer, 1)).rejects.toThrow(/^linearInt8Async: expected x: finite values/);
    await expect(linearInt8Async(new Float32Array(4), layer, 1, { out: new Float32Array(1) })).rejects.toThrow(/expected out: Float32Array of length ≥ 3/);
  });
});
