/**
 * Facts about the quantized formats shared by the native path and the reference: names,
 * block sizes, bytes per block, and the checks on them (docs/quantization.md).
 */
import { fail } from './validate';

export type QuantFormat = 'q8_0' | 'q4_0' | 'q4_1' | 'nf4' | 'int8' | KQuantFormat;

/** ggml's K-quants that sparq quantizes and multiplies: super-blocks of 256 (docs/quantization.md). */
export type KQuantFormat = 'q4_K' | 'q5_K' | 'q6_K';

/** Every format, in the order the native layer numbers them. */
export const QUANT_FORMATS: readonly QuantFormat[] = Object.freeze(['q8_0', 'q4_0', 'q4_1', 'nf4', 'int8', 'q4_K', 'q5_K', 'q6_K']);

export function isKQuant(format: QuantFormat): format is KQuantFormat {
  return format === 'q4_K' || format === 'q5_K' || format === 'q6_K';
}

/** How `matmulQuantized` multiplies: integer block dots on quantized activations, or dequantized f32. */
export type Precision = 'int8' | 'f32';

/** A format name, checked. */
export function quantFormat(fn: string, value: unknown): QuantFormat {
  const expected = `one of ${QUANT_FORMATS.map((f) => `'${f}'`).join(', ')}`;
  if (typeof value !== 'string') fail('type', fn, 'format', expected, value);
  if (!(QUANT_FORMATS as readonly string[]).includes(value)) fail('range', fn, 'format', expected, value);
  return value as QuantFormat;
}

/** The formats whose blocks are ggml's own (fixed block size, the bytes of ggml's block structs). */
export function isGgml(format: QuantFormat): boolean {
  return format !== 'nf4' && format !== 'int8';
}

/** 32 for q8_0/q4_0/q4_1, 256 for the K-quants, 64 for nf4 and int8. */
export function defaultBlockSize(format: QuantFormat): number {
  return isKQuant(format) ? 256 : isGgml(format) ? 32 : 64;
}

/** Legal block sizes: the ggml formats' own (32 or 256); powers of two 32…4096 (nf4) or 64…4096 (int8). */
export function blockSizeRange(format: QuantFormat): [number, number] {
  if (isGgml(format)) return [defaultBlockSize(format), defaultBlockSize(format)];
  return format === 'nf4' ? [32, 4096] : [64, 4096];
}

/**
 * The block size (the format's default when undefined), checked against the format and, when
 * given, against k, which it must divide.
 */
export function blockSize(fn: string, format: QuantFormat, value: unknown, k?: number): number {
  const size = value === undefined ? defaultBlockSize(format) : value;
  if (typeof size !== 'number' || !Number.isInteger(size)) fail('type', fn, 'blockSize', 'an integer', size);
  const [lo, hi] = blockSizeRange(format);
  if (size < lo || size > hi || (size & (size - 1)) !== 0) {
    fail('range', fn, 'blockSize', lo === hi ? `${lo} for ${format}` : `a power of two in [${lo}, ${hi}] for ${format}`, size);
  }
  if (k !== undefined && k % size !== 0) fail('range', fn, 'k', `a multiple of the block size ${size}`, k);
  return size;
}

/** Bytes one block occupies: q8_0 34, q4_0 18, q4_1 20, nf4 4 + B/2, int8 4 + B, q4_K 144, q5_K 176, q6_K 210. */
export function blockBytes(format: QuantFormat, blockSize = defaultBlockSize(format)): number {
  switch (format) {
    case 'q8_0':
      return 34;
    case 'q4_0':
      return 18;
    case 'q4_1':
      return 20;
    case 'nf4':
      return 4 + blockSize / 2;
    case 'int8':
      return 4 + blockSize;
    case 'q4_K':
      return 144;
    case 'q5_K':
      return 176;
    case 'q6_K':
      return 210;
  }
}

/** The precision to use: the given one, checked, or 'int8' (ggml formats, int8) / 'f32' (nf4). */
export function precision(fn: string, format: QuantFormat, value: unknown): Precision {
  if (value === undefined) return format === 'nf4' ? 'f32' : 'int8';
  if (value !== 'int8' && value !== 'f32') {
    fail(typeof value === 'string' ? 'range' : 'type', fn, 'precision', "'int8' or 'f32'", value);
  }
  if (value === 'int8' && format === 'nf4') fail('range', fn, 'precision', "'f32' for nf4 (its codes are not linear)", value);
  return value;
}
