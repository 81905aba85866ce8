/**
 * Linear: Y[m×n] = X[m×k]·Wᵀ + b over any of sparq's weight forms, the seam of DESIGN.md §8.
 * Models hold Linears and never ask which form a weight has; a compression step turns one Linear
 * into another. A form is one class here (what forward runs, what effectiveWeights returns) and
 * one entry in FORMATS (how it is built from f32 weights); nothing else in the tree changes.
 *
 *   format        weight                                    forward runs
 *   'f32'         PackedF32Matrix                           linearF32
 *   'int8'        LinearInt8 (per output channel)           linearInt8 (activations u8 per row, or a static range)
 *   'q8_0' 'q4_0' 'q4_1' 'q4_K' 'q5_K' 'q6_K' 'nf4' 'int8-block'
 *                 QuantizedMatrix (blocks along k)          matmulQuantized ('int8' or 'f32' precision)
 *   'csr'         CsrMatrix, f32 values                     linearSparse
 *   'csr-int8'    CsrMatrix, int8 values, a scale per row   linearSparse
 *   'clustered'   ClusteredMatrix, b-bit codebook indices    matmulClustered (lookup table; via Linear.wrap)
 *   'lowrank'     two Linears A [r×k], B [n×r] (any forms)   A then B (lib/nn/lowrank.ts, not built by fromWeights)
 */
import { LinearInt8, linearInt8, linearInt8Async, quantizeLinearInt8, type ActivationRange } from '../gemm';
import { linearF32, linearF32Async, packF32, PackedF32Matrix } from '../dense';
import { matmulQuantized, matmulQuantizedAsync, quantize, QuantizedMatrix } from '../quant';
import { CsrMatrix, linearSparse, linearSparseAsync } from '../sparse';
import { ClusteredMatrix, matmulClustered, matmulClusteredAsync } from '../cluster';
import type { Precision, QuantFormat } from '../formats';
import { count, fail, int, options, typed } from '../validate';

export type LinearFormat = 'f32' | 'int8' | 'q8_0' | 'q4_0' | 'q4_1' | 'q4_K' | 'q5_K' | 'q6_K' | 'nf4' | 'int8-block' | 'csr' | 'csr-int8';
/** What a Linear's `format` says: a single-matrix form above, or two layers in one (lib/nn/lowrank.ts). */
export type LinearForm = LinearFormat | 'lowrank' | 'clustered';

export interface FromWeightsOptions {
  /** Added to every output row: n values (copied). */
  bias?: Float32Array;
  /** The weight form; 'f32' when omitted. */
  format?: LinearFormat;
  /** Block formats: elements per block (the format's default when omitted). */
  blockSize?: number;
  /** Block formats: 'int8' (activations quantized per 32-block, the default but for nf4) or 'f32'. */
  precision?: Precision;
  /** CSR formats: keep the weights with |w| > threshold (default 0: every nonzero). */
  threshold?: number;
  /** CSR formats: 16- or 32-bit column indices (default 32). */
  indexBits?: 16 | 32;
  /** 'int8': a static activation range (calibrated) instead of each row's own; see quantizeLinearInt8. */
  activations?: ActivationRange;
}

export interface WrapOptions {
  /** Added to every output row: n values (copied). Not for a LinearInt8, which holds its own. */
  bias?: Float32Array;
  /** For a QuantizedMatrix: the matmul precision (its format's default when omitted). */
  precision?: Precision;
}

export interface ForwardOptions {
  /** Where to write Y [m×n]; at least m·n long. */
  out?: Float32Array;
}

/** One layer Y = X·Wᵀ + b. Made by {@link Linear.fromWeights} or {@link Linear.wrap}. */
export abstract class Linear {
  /** Output features (rows of W). */
  readonly n: number;
  /** Input features (columns of W). */
  readonly k: number;
  /** The weight form. */
  abstract readonly format: LinearForm;
  /** Bytes of the stored weight (codes, scales, indices), without the bias. */
  abstract readonly weightBytes: number;
  readonly #bias: Float32Array | null;

  protected constructor(n: number, k: number, bias: Float32Array | null) {
    this.n = n;
    this.k = k;
    this.#bias = bias;
  }

  /** Weight bytes plus 4 bytes per output when there is a bias. */
  get byteLength(): number {
    return this.weightBytes + (this.#bias ? 4 * this.n : 0);
  }

  /** A copy of the bias [n], or null. */
  get bias(): Float32Array | null {
    return this.#bias && this.#bias.slice();
  }

  /** The bias as the kernels take it (not copied). */
  protected get storedBias(): Float32Array | undefined {
    return this.#bias ?? undefined;
  }

  /** Y [m×n] = X [m×k]·Wᵀ + b. m = 0 gives an empty result without calling a kernel. */
  forward(x: Float32Array, m: number, opts?: ForwardOptions): Float32Array {
    const out = this.check('Linear.forward', x, m, opts);
    return m === 0 ? (out ?? new Float32Array(0)) : this.run(x, m, out);
  }

  /** {@link forward} on the libuv pool; x is copied in before the call returns. */
  async forwardAsync(x: Float32Array, m: number, opts?: ForwardOptions): Promise<Float32Array> {
    const out = this.check('Linear.forwardAsync', x, m, opts);
    return m === 0 ? (out ?? new Float32Array(0)) : this.runAsync(x, m, out);
  }

  /** The dense f32 W [n×k] this layer multiplies by (dequantized, or with the pruned weights 0). */
  abstract effectiveWeights(): Float32Array;

  /** Frees the native weight now (see NativeObject.dispose). */
  abstract dispose(): void;

  protected abstract run(x: Float32Array, m: number, out: Float32Array | undefined): Float32Array;
  protected abstract runAsync(x: Float32Array, m: number, out: Float32Array | undefined): Promise<Float32Array>;

  private check(fn: string, x: unknown, m: unknown, opts: unknown): Float32Array | undefined {
    int(fn, 'm', m);
    const { out } = options<ForwardOptions>(fn, opts);
    typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m as number, this.k), 'm·k');
    if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m as number, this.n), 'm·n');
    return out;
  }

  /** A layer of the given form from f32 weights W [n×k] (row-major, out × in). */
  static fromWeights(w: Float32Array, n: number, k: number, opts?: FromWeightsOptions): Linear {
    const fn = 'Linear.fromWeights';
    const o = options<FromWeightsOptions>(fn, opts);
    const format = o.format ?? 'f32';
    if (typeof format !== 'string') fail('type', fn, 'options.format', 'a string', format);
    const entry = FORMATS[format as LinearFormat];
    if (!Object.hasOwn(FORMATS, format) || !entry) fail('range', fn, 'options.format', `one of ${Object.keys(FORMATS).join(', ')}`, format);
    for (const option of ['blockSize', 'precision', 'threshold', 'indexBits', 'activations'] as const) {
      if (o[option] !== undefined && !entry.options.includes(option)) {
        fail('range', fn, `options.${option}`, `no ${option} for format '${format}' (it takes ${entry.options.join(', ') || 'none of them'})`, o[option]);
      }
    }
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1);
    typed(fn, 'w', w, Float32Array, count(fn, 'n·k', n, k), 'n·k', true);
    const bias = biasOf(fn, o.bias, n);
    return entry.build(w, n, k, bias, o);
  }

  /** A layer over a matrix sparq already holds; the layer uses it (no copy) and dispose() frees it. */
  static wrap(weight: PackedF32Matrix | LinearInt8 | QuantizedMatrix | CsrMatrix | ClusteredMatrix, opts?: WrapOptions): Linear {
    const fn = 'Linear.wrap';
    const o = options<WrapOptions>(fn, opts);
    if (o.precision !== undefined && !(weight instanceof QuantizedMatrix)) fail('range', fn, 'options.precision', 'no precision but for a QuantizedMatrix', o.precision);
    if (weight instanceof LinearInt8) {
      if (o.bias !== undefined) fail('range', fn, 'options.bias', 'no bias for a LinearInt8 (it holds its own)', o.bias);
      return new Int8Linear(weight);
    }
    if (weight instanceof PackedF32Matrix) return new F32Linear(weight, biasOf(fn, o.bias, weight.n));
    if (weight instanceof QuantizedMatrix) return new BlockLinear(weight, biasOf(fn, o.bias, weight.n), o.precision);
    if (weight instanceof CsrMatrix) return new SparseLinear(weight, biasOf(fn, o.bias, weight.rows));
    if (weight instanceof ClusteredMatrix) return new ClusteredLinear(weight, biasOf(fn, o.bias, weight.n));
    return fail('type', fn, 'weight', 'a PackedF32Matrix, LinearInt8, QuantizedMatrix, CsrMatrix or ClusteredMatrix', weight);
  }
}

function biasOf(fn: string, bias: unknown, n: number): Float32Array | null {
  return bias === undefined ? null : typed(fn, 'options.bias', bias, Float32Array, n, 'n', true).slice();
}

class F32Linear extends Linear {
  readonly format = 'f32';
  readonly weightBytes: number;
  constructor(readonly weight: PackedF32Matrix, bias: Float32Array | null) {
    super(weight.n, weight.k, bias);
    this.weightBytes = 4 * weight.n * weight.k;
  }
  protected run(x: Float32Array, m: number, out?: Float32Array) {
    return linearF32(x, this.weight, m, { bias: this.storedBias, out });
  }
  protected runAsync(x: Float32Array, m: number, out?: Float32Array) {
    return linearF32Async(x, this.weight, m, { bias: this.storedBias, out });
  }
  effectiveWeights() {
    return this.weight.toArray();
  }
  dispose() {
    this.weight.dispose();
  }
}

class Int8Linear extends Linear {
  readonly format = 'int8';
  readonly weightBytes: number;
  constructor(readonly weight: LinearInt8) {
    super(weight.n, weight.k, weight.toArrays().bias);
    this.weightBytes = weight.n * weight.k + 4 * weight.n; // codes, one f32 scale per row
  }
  protected run(x: Float32Array, m: number, out?: Float32Array) {
    return linearInt8(x, this.weight, m, { out });
  }
  protected runAsync(x: Float32Array, m: number, out?: Float32Array) {
    return linearInt8Async(x, this.weight, m, { out });
  }
  /** code·scale of each weight, rounded to f32. */
  effectiveWeights() {
    const { weight, scale } = this.weight.toArrays();
    const w = new Float32Array(weight.length);
    for (let j = 0; j < this.n; j++) for (let p = 0; p < this.k; p++) w[j * this.k + p] = weight[j * this.k + p]! * scale[j]!;
    return w;
  }
  dispose() {
    this.weight.dispose();
  }
}

class BlockLinear extends Linear {
  readonly format: LinearFormat;
  readonly weightBytes: number;
  readonly precision: Precision | undefined;
  constructor(readonly weight: QuantizedMatrix, bias: Float32Array | null, precision: Precision | undefined) {
    super(weight.n, weight.k, bias);
    this.format = weight.format === 'int8' ? 'int8-block' : weight.format;
    this.weightBytes = weight.byteLength;
    this.precision = precision;
  }
  protected run(x: Float32Array, m: number, out?: Float32Array) {
    return matmulQuantized(x, this.weight, m, { bias: this.storedBias, out, precision: this.precision });
  }
  protected runAsync(x: Float32Array, m: number, out?: Float32Array) {
    return matmulQuantizedAsync(x, this.weight, m, { bias: this.storedBias, out, precision: this.precision });
  }
  effectiveWeights() {
    return this.weight.dequantize();
  }
  dispose() {
    this.weight.dispose();
  }
}

class SparseLinear extends Linear {
  readonly format: LinearFormat;
  readonly weightBytes: number;
  constructor(readonly weight: CsrMatrix, bias: Float32Array | null) {
    super(weight.rows, weight.cols, bias);
    this.format = weight.valueType === 'int8' ? 'csr-int8' : 'csr';
    this.weightBytes = weight.byteLength;
  }
  protected run(x: Float32Array, m: number, out?: Float32Array) {
    return linearSparse(x, this.weight, m, { bias: this.storedBias, out });
  }
  protected runAsync(x: Float32Array, m: number, out?: Float32Array) {
    return linearSparseAsync(x, this.weight, m, { bias: this.storedBias, out });
  }
  effectiveWeights() {
    return this.weight.toDense();
  }
  dispose() {
    this.weight.dispose();
  }
}

class ClusteredLinear extends Linear {
  readonly format = 'clustered';
  readonly weightBytes: number;
  constructor(readonly weight: ClusteredMatrix, bias: Float32Array | null) {
    super(weight.n, weight.k, bias);
    this.weightBytes = weight.byteLength;
  }
  protected run(x: Float32Array, m: number, out?: Float32Array) {
    return matmulClustered(x, this.weight, m, { bias: this.storedBias, out });
  }
  protected runAsync(x: Float32Array, m: number, out?: Float32Array) {
    return matmulClusteredAsync(x, this.weight, m, { bias: this.storedBias, out });
  }
  effectiveWeights() {
    return this.weight.dequantize();
  }
  dispose() {
    this.weight.dispose();
  }
}

type Option = 'blockSize' | 'precision' | 'threshold' | 'indexBits' | 'activations';
type Builder = (w: Float32Array, n: number, k: number, bias: Float32Array | null, o: Partial<FromWeightsOptions>) => Linear;

const block = (format: QuantFormat) => ({
  options: ['blockSize', 'precision'] as Option[],
  build: ((w, n, k, bias, o) => new BlockLinear(quantize(w, n, k, format, { blockSize: o.blockSize }), bias, o.precision)) as Builder,
});

function sparse(int8: boolean) {
  return {
    options: ['threshold', 'indexBits'] as Option[],
    build: ((w, n, k, bias, o) => {
      const csr = CsrMatrix.fromDense(w, n, k, { threshold: o.threshold, indexBits: o.indexBits });
      if (!int8) return new SparseLinear(csr, bias);
      const codes = csr.quantizeValues();
      csr.dispose();
      return new SparseLinear(codes, bias);
    }) as Builder,
  };
}

/** Every weight form: the options it takes and how it is built from f32 weights. */
const FORMATS: Record<LinearFormat, { options: Option[]; build: Builder }> = {
  f32: { options: [], build: (w, n, k, bias) => new F32Linear(packF32(w, n, k), bias) },
  int8: {
    options: ['activations'],
    build: (w, n, k, bias, o) => new Int8Linear(quantizeLinearInt8(w, n, k, { bias: bias ?? undefined, activations: o.activations })),
  },
  q8_0: block('q8_0'),
  q4_0: block('q4_0'),
  q4_1: block('q4_1'),
  q4_K: block('q4_K'),
  q5_K: block('q5_K'),
  q6_K: block('q6_K'),
  nf4: block('nf4'),
  'int8-block': block('int8'),
  csr: sparse(false),
  'csr-int8': sparse(true),
};

/** The weight forms Linear.fromWeights takes. */
export const LINEAR_FORMATS = Object.keys(FORMATS) as readonly LinearFormat[];

/** Total bytes (weights and biases) of a model's layers. */
export function totalByteLength(layers: Iterable<Linear>): number {
  let bytes = 0;
  for (const layer of layers) bytes += layer.byteLength;
  return bytes;
}
