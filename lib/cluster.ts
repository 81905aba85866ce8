/**
 * Weight clustering's storage and kernels: W [n×k] as b-bit indices (b = 2…8) into f32 codebooks
 * of 2^b entries, one per group of rows, and the lookup-table matmul on every tier. The byte layout
 * and the numerics: docs/cluster.md. k-means, which finds the codebooks: lib/compress/cluster.ts.
 */
import { NativeObject } from './handle';
import { native, type ClusteredHandle } from './native';
import { clusterRowBytes, packIndices } from './reference/cluster';
import { copyInto, count, fail, int, options, typed } from './validate';

export interface ClusterLayout {
  /** Bits per index, 2…8 (2^bits codebook entries). */
  bits: number;
  /** Rows sharing a codebook, 1…n (default n: one codebook for the tensor). */
  groupRows?: number;
}

export interface MatmulClusteredOptions {
  /** Added to every row of Y: n values. */
  bias?: Float32Array;
  /** Where to write Y [m×n]; at least m·n long. */
  out?: Float32Array;
}

function layoutOf(fn: string, n: number, opts: unknown): { bits: number; groupRows: number } {
  const o = options<ClusterLayout>(fn, opts);
  const bits = int(fn, 'options.bits', o.bits, 2, 8);
  const groupRows = int(fn, 'options.groupRows', o.groupRows ?? n, 1, n);
  return { bits, groupRows };
}

/** A clustered weight [n×k] in native-owned memory that JS cannot mutate. */
export class ClusteredMatrix extends NativeObject {
  /** @internal */
  readonly handle: ClusteredHandle;
  readonly n: number;
  readonly k: number;
  readonly bits: number;
  readonly groupRows: number;
  /** Codebooks: ⌈n/groupRows⌉. */
  readonly groups: number;
  /** Size of {@link toBytes}: the codebooks' f32 values and the packed indices. */
  readonly byteLength: number;

  /** @internal */
  constructor(handle: ClusteredHandle, n: number, k: number, bits: number, groupRows: number) {
    super();
    this.handle = handle;
    this.n = n;
    this.k = k;
    this.bits = bits;
    this.groupRows = groupRows;
    this.groups = Math.ceil(n / groupRows);
    this.byteLength = this.groups * 4 * 2 ** bits + n * clusterRowBytes(k, bits);
    Object.freeze(this);
  }

  /**
   * From codes [n×k] (each < 2^bits) and codebooks [groups × 2^bits] (finite): the indices are
   * packed here and both are copied into native memory.
   */
  static fromArrays(codes: Uint8Array, codebooks: Float32Array, n: number, k: number, layout: ClusterLayout): ClusteredMatrix {
    const fn = 'ClusteredMatrix.fromArrays';
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1);
    const { bits, groupRows } = layoutOf(fn, n, layout);
    typed(fn, 'codes', codes, Uint8Array, count(fn, 'n·k', n, k), 'n·k', true);
    const entries = Math.ceil(n / groupRows) * 2 ** bits;
    typed(fn, 'codebooks', codebooks, Float32Array, entries, `⌈n/groupRows⌉·2^bits`, true);
    const bad = codes.findIndex((c) => c >= 2 ** bits);
    if (bad >= 0) fail('range', fn, `codes[${bad}]`, `a code below 2^bits = ${2 ** bits}`, codes[bad]);
    const bytes = new Uint8Array(entries * 4 + n * clusterRowBytes(k, bits));
    new Float32Array(bytes.buffer, 0, entries).set(codebooks);
    bytes.set(packIndices(codes, n, k, bits), entries * 4);
    return new ClusteredMatrix(native.clusteredFromBytes(n, k, bits, groupRows, bytes), n, k, bits, groupRows);
  }

  /**
   * From the documented layout (docs/cluster.md): the codebooks as little-endian f32, then the
   * packed indices row by row. Copied; the codebooks must be finite and each row's padding bits 0.
   */
  static fromBytes(bytes: Uint8Array, n: number, k: number, layout: ClusterLayout): ClusteredMatrix {
    const fn = 'ClusteredMatrix.fromBytes';
    int(fn, 'n', n, 1);
    int(fn, 'k', k, 1);
    const { bits, groupRows } = layoutOf(fn, n, layout);
    const length = Math.ceil(n / groupRows) * 4 * 2 ** bits + count(fn, 'n·rowBytes', n, clusterRowBytes(k, bits));
    typed(fn, 'bytes', bytes, Uint8Array, length, 'codebooks and packed indices', true);
    return new ClusteredMatrix(native.clusteredFromBytes(n, k, bits, groupRows, bytes), n, k, bits, groupRows);
  }

  /** A copy of the layout: codebooks, then packed indices. */
  toBytes(): Uint8Array {
    return native.clusteredToBytes(this.handle);
  }

  /** The codebooks [groups × 2^bits] (a copy). */
  codebooks(): Float32Array {
    const bytes = this.toBytes();
    return new Float32Array(bytes.buffer, 0, this.groups * 2 ** this.bits).slice();
  }

  /** W [n×k]: each index's codebook value, exactly. */
  dequantize(opts?: { out?: Float32Array }): Float32Array {
    const fn = 'ClusteredMatrix.dequantize';
    const { out } = options<{ out: Float32Array }>(fn, opts);
    const y = out === undefined ? new Float32Array(this.n * this.k) : typed(fn, 'out', out, Float32Array, this.n * this.k, 'n·k');
    native.clusteredDecode(this.handle, y);
    return y;
  }
}

function matmulArgs(fn: string, x: unknown, w: unknown, m: unknown, opts: unknown) {
  if (!(w instanceof ClusteredMatrix)) fail('type', fn, 'w', 'a ClusteredMatrix', w);
  int(fn, 'm', m, 0);
  const { bias, out } = options<MatmulClusteredOptions>(fn, opts);
  typed(fn, 'x', x, Float32Array, count(fn, 'm·k', m as number, w.k), 'm·k');
  if (bias !== undefined) typed(fn, 'bias', bias, Float32Array, w.n, 'n', true);
  if (out !== undefined) typed(fn, 'out', out, Float32Array, count(fn, 'm·n', m as number, w.n), 'm·n');
  return { w, x: x as Float32Array, m: m as number, bias, out };
}

/** Y [m×n] = X [m×k]·Wᵀ (+ bias), W looked up from its codebooks on the fly. */
export function matmulClustered(x: Float32Array, w: ClusteredMatrix, m: number, opts?: MatmulClusteredOptions): Float32Array {
  const a = matmulArgs('matmulClustered', x, w, m, opts);
  const y = a.out ?? new Float32Array(m * a.w.n);
  native.matmulClustered(a.x, a.w.handle, m, a.bias, y);
  return y;
}

/** {@link matmulClustered} on the libuv pool; X and the bias are copied in before the call returns. */
export async function matmulClusteredAsync(x: Float32Array, w: ClusteredMatrix, m: number, opts?: MatmulClusteredOptions): Promise<Float32Array> {
  const a = matmulArgs('matmulClusteredAsync', x, w, m, opts);
  return copyInto('matmulClusteredAsync', await native.matmulClusteredAsync(a.x, a.w.handle, m, a.bias), a.out);
}

/**
 * The nearest centroid of each value (codes < centroids.length): centroids ascending and finite,
 * 2…256 of them; a value on a midpoint goes to the lower one. k-means' assignment step.
 */
export function clusterAssign(values: Float32Array, centroids: Float32Array): Uint8Array {
  const fn = 'clusterAssign';
  typed(fn, 'values', values, Float32Array, 0, 'any length');
  typed(fn, 'centroids', centroids, Float32Array, 2, '2…256');
  if (centroids.length > 256) fail('range', fn, 'centroids', 'Float32Array of 2…256 values', centroids);
  const codes = new Uint8Array(values.length);
  native.clusterAssign(values, centroids, codes);
  return codes;
}

/** `<op>_clustered__<tier>` of the clustered kernel that ran last, or null. */
export function lastClusterKernel(): string | null {
  return native.lastClusterKernel();
}
