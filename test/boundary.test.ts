/**
 * The binding never trusts the JS layer: called directly with wrong kinds, short arrays,
 * forged handles or out-of-range integers, it throws instead of touching memory.
 */
import { describe, expect, it } from 'vitest';
import { native, type LinearInt8Handle, type PackedInt8Handle } from '../lib/native';

const w = native.packInt8(new Int8Array(12), 3, 4);
const layer = native.quantizeLinearInt8(new Float32Array(12), 3, 4, undefined);
const forged = {} as PackedInt8Handle;

type Case = [string, () => unknown, typeof TypeError | typeof RangeError];
const cases: Case[] = [
  ['gemmU8S8 with a short A', () => native.gemmU8S8(new Uint8Array(3), w, 1, 0, new Int32Array(3)), RangeError],
  ['gemmU8S8 with a short C', () => native.gemmU8S8(new Uint8Array(8), w, 2, 0, new Int32Array(5)), RangeError],
  ['gemmU8S8 with C of the wrong type', () => native.gemmU8S8(new Uint8Array(4), w, 1, 0, new Float32Array(3) as unknown as Int32Array), TypeError],
  ['gemmU8S8 with a forged handle', () => native.gemmU8S8(new Uint8Array(4), forged, 1, 0, new Int32Array(3)), TypeError],
  ['gemmU8S8 with a layer handle as weights', () => native.gemmU8S8(new Uint8Array(4), layer as unknown as PackedInt8Handle, 1, 0, new Int32Array(3)), TypeError],
  ['gemmU8S8 with m = 2³¹', () => native.gemmU8S8(new Uint8Array(4), w, 2 ** 31, 0, new Int32Array(3)), RangeError],
  ['gemmU8S8 with a fractional m', () => native.gemmU8S8(new Uint8Array(4), w, 0.5, 0, new Int32Array(3)), TypeError],
  ['gemmU8S8 with zero point −1', () => native.gemmU8S8(new Uint8Array(4), w, 1, -1, new Int32Array(3)), RangeError],
  ['gemmS8S8 with A unsigned', () => native.gemmS8S8(new Uint8Array(4) as unknown as Int8Array, w, 1, new Int32Array(3)), TypeError],
  ['gemmU8S8Async with a short A', () => native.gemmU8S8Async(new Uint8Array(3), w, 1, 0), RangeError],
  ['packInt8 with a short B', () => native.packInt8(new Int8Array(11), 3, 4), RangeError],
  ['packInt8 with k = 65537', () => native.packInt8(new Int8Array(65537), 1, 65537), RangeError],
  ['packInt8 with NaN n', () => native.packInt8(new Int8Array(12), NaN, 4), TypeError],
  ['packedInt8Rows with a forged handle', () => native.packedInt8Rows(forged), TypeError],
  ['linearInt8 with a weight handle', () => native.linearInt8(new Float32Array(4), w as unknown as LinearInt8Handle, 1, new Float32Array(3)), TypeError],
  ['linearInt8 with a short Y', () => native.linearInt8(new Float32Array(4), layer, 1, new Float32Array(2)), RangeError],
  ['quantizeLinearInt8 with a short bias', () => native.quantizeLinearInt8(new Float32Array(12), 3, 4, new Float32Array(2)), RangeError],
  ['quantizeLinearInt8 with a NaN activation scale', () => native.quantizeLinearInt8(new Float32Array(12), 3, 4, undefined, NaN, 0), RangeError],
  ['quantizeLinearInt8 with an activation zero point of 300', () => native.quantizeLinearInt8(new Float32Array(12), 3, 4, undefined, 1, 300), RangeError],
  ['codeActivationsU8 with a short code array', () => native.codeActivationsU8(new Float32Array(4), 2, 2, 1, 0, new Uint8Array(3)), RangeError],
  ['codeActivationsU8 with a negative scale', () => native.codeActivationsU8(new Float32Array(4), 2, 2, -1, 0, new Uint8Array(4)), RangeError],
  ['quantizeActivationsU8 with a short zero-point array', () => native.quantizeActivationsU8(new Float32Array(4), 2, 2, new Uint8Array(4), new Float32Array(2), new Int32Array(1)), RangeError],
  ['setIsa with an unknown tier', () => native.setIsa('mmx'), RangeError],
  ['setThreads with 0', () => native.setThreads(0), RangeError],
];

describe('native boundary re-checks', () => {
  it.each(cases)('%s', (_name, call, error) => {
    expect(call).toThrow(error);
  });
});
