/**
 * The only module that loads the addon. node-gyp-build finds a prebuild matching this
 * platform/arch in prebuilds/, or the local build in build/Release. SPARQ_NATIVE=/path/to/sparq.node
 * loads a given file instead (used to test a cross-built addon under qemu).
 */
import * as path from 'node:path';

/** Where the pool's workers run: see setPinning in runtime.ts. */
export type Pinning = 'off' | 'fixed' | 'caller';

/** Opaque handles to native-owned objects; only the addon can make or read them. */
export type PackedInt8Handle = { readonly __brand: 'PackedInt8' };
export type LinearInt8Handle = { readonly __brand: 'LinearInt8' };
export type QuantizedHandle = { readonly __brand: 'QuantizedMatrix' };
export type CsrHandle = { readonly __brand: 'CsrMatrix' };
export type PackedF32Handle = { readonly __brand: 'PackedF32' };
export type ClusteredHandle = { readonly __brand: 'ClusteredMatrix' };
export type MappedFileHandle = { readonly __brand: 'MappedFile' };
export type NativeHandle = PackedInt8Handle | LinearInt8Handle | QuantizedHandle | CsrHandle | PackedF32Handle | ClusteredHandle | MappedFileHandle;

export interface NativeCpuInfo {
  arch: string;
  features: string[];
  built: string[];
  supported: string[];
  envError: string | null;
}

export interface Native {
  cpuInfo(): NativeCpuInfo;
  isa(): string;
  setIsa(tier: string | null): void;
  threads(): number;
  setThreads(n: number): void;
  defaultThreads(): number;
  pinning(): Pinning;
  setPinning(mode: Pinning): void;
  dispose(handle: NativeHandle): void;
  isDisposed(handle: NativeHandle): boolean;
  /** [objects, scratch] in bytes. */
  nativeMemory(): [number, number];

  packInt8(b: Int8Array, n: number, k: number): PackedInt8Handle;
  packedInt8Rows(w: PackedInt8Handle): Int8Array;
  gemmU8S8(a: Uint8Array, w: PackedInt8Handle, m: number, aZeroPoint: number, out: Int32Array): void;
  gemmS8S8(a: Int8Array, w: PackedInt8Handle, m: number, out: Int32Array): void;
  gemmU8S8Async(a: Uint8Array, w: PackedInt8Handle, m: number, aZeroPoint: number): Promise<Int32Array>;
  gemmS8S8Async(a: Int8Array, w: PackedInt8Handle, m: number): Promise<Int32Array>;
  quantizeLinearInt8(w: Float32Array, n: number, k: number, bias: Float32Array | undefined, activationScale?: number, activationZeroPoint?: number): LinearInt8Handle;
  linearInt8FromArrays(weight: Int8Array, scale: Float32Array, n: number, k: number, bias: Float32Array | undefined, activationScale?: number, activationZeroPoint?: number): LinearInt8Handle;
  linearInt8Parts(layer: LinearInt8Handle): [Int8Array, Float32Array, Float32Array | null];
  linearInt8Activations(layer: LinearInt8Handle): [number, number] | null;
  codeActivationsU8(x: Float32Array, m: number, k: number, scale: number, zeroPoint: number, q: Uint8Array): void;
  linearInt8(x: Float32Array, layer: LinearInt8Handle, m: number, out: Float32Array): void;
  linearInt8Async(x: Float32Array, layer: LinearInt8Handle, m: number): Promise<Float32Array>;
  quantizeActivationsU8(
    x: Float32Array,
    m: number,
    k: number,
    q: Uint8Array,
    scale: Float32Array,
    zeroPoint: Int32Array,
  ): void;
  lastInt8GemmKernel(): string | null;
  lastLinearInt8Kernel(): string | null;

  quantize(w: Float32Array, n: number, k: number, format: string, blockSize: number): QuantizedHandle;
  quantizedFromBytes(format: string, n: number, k: number, blockSize: number, bytes: Uint8Array): QuantizedHandle;
  quantizedToBytes(w: QuantizedHandle): Uint8Array;
  quantizedDequantize(w: QuantizedHandle, out: Float32Array): void;
  quantizeRow(x: Float32Array, k: number, format: string, blockSize: number, out: Uint8Array): void;
  dequantizeRow(bytes: Uint8Array, k: number, format: string, blockSize: number, out: Float32Array): void;
  /** precision: 0 = int8, 1 = f32. */
  matmulQuantized(x: Float32Array, w: QuantizedHandle, m: number, bias: Float32Array | undefined, precision: number, out: Float32Array): void;
  matmulQuantizedAsync(x: Float32Array, w: QuantizedHandle, m: number, bias: Float32Array | undefined, precision: number): Promise<Float32Array>;
  f32ToF16(x: Float32Array, out: Uint16Array): void;
  f16ToF32(h: Uint16Array, out: Float32Array): void;
  quantizeActivationsQ8(x: Float32Array, m: number, k: number, q: Int8Array, d: Float32Array, s: Int32Array): void;
  lastQuantKernel(): string | null;

  clusteredFromBytes(n: number, k: number, bits: number, groupRows: number, bytes: Uint8Array): ClusteredHandle;
  clusteredToBytes(w: ClusteredHandle): Uint8Array;
  clusteredDecode(w: ClusteredHandle, out: Float32Array): void;

  mapFile(path: string, fn: string): [MappedFileHandle, number];
  mappedRead(file: MappedFileHandle, offset: number, length: number): Uint8Array;
  mappedQuantized(file: MappedFileHandle, offset: number, format: 'q8_0' | 'q4_0' | 'q4_1' | 'q4_K' | 'q5_K' | 'q6_K', n: number, k: number): QuantizedHandle;
  /** type: 0 f32, 1 f16, 2 bf16, 3 q8_0, 4 q4_0, 5 q4_1 */
  mappedDecode(file: MappedFileHandle, offset: number, type: number, count: number, out: Float32Array): void;
  mappedPackF32(file: MappedFileHandle, offset: number, type: number, n: number, k: number): PackedF32Handle;
  matmulClustered(x: Float32Array, w: ClusteredHandle, m: number, bias: Float32Array | undefined, out: Float32Array): void;
  matmulClusteredAsync(x: Float32Array, w: ClusteredHandle, m: number, bias: Float32Array | undefined): Promise<Float32Array>;
  clusterAssign(values: Float32Array, centroids: Float32Array, codes: Uint8Array): void;
  lastClusterKernel(): string | null;

  csrFromDense(values: Float32Array, rows: number, cols: number, threshold: number, indexBits: number): CsrHandle;
  csrFromCoo(rows: number, cols: number, rowIdx: Int32Array, colIdx: Int32Array, values: Float32Array, indexBits: number): CsrHandle;
  csrFromArrays(
    rows: number,
    cols: number,
    indptr: Int32Array,
    indices: Int32Array,
    values: Float32Array | Int8Array,
    scales: Float32Array | undefined,
    indexBits: number,
  ): CsrHandle;
  /** [rows, cols, nnz, valueType (0 = f32, 1 = int8), indexBits, byteLength]. */
  csrInfo(a: CsrHandle): [number, number, number, number, number, number];
  csrToArrays(a: CsrHandle): [Int32Array, Int32Array, Float32Array | Int8Array, Float32Array | null];
  csrToDense(a: CsrHandle, out: Float32Array): void;
  csrQuantizeValues(a: CsrHandle): CsrHandle;
  csrWithIndexBits(a: CsrHandle, indexBits: number): CsrHandle;
  spmv(a: CsrHandle, x: Float32Array, out: Float32Array): void;
  spmvAsync(a: CsrHandle, x: Float32Array): Promise<Float32Array>;
  spmm(a: CsrHandle, b: Float32Array, n: number, out: Float32Array): void;
  spmmAsync(a: CsrHandle, b: Float32Array, n: number): Promise<Float32Array>;
  linearSparse(x: Float32Array, w: CsrHandle, m: number, bias: Float32Array | undefined, out: Float32Array): void;
  linearSparseAsync(x: Float32Array, w: CsrHandle, m: number, bias: Float32Array | undefined): Promise<Float32Array>;
  lastSparseKernel(): string | null;

  packF32(w: Float32Array, n: number, k: number): PackedF32Handle;
  packedF32Rows(w: PackedF32Handle): Float32Array;
  linearF32(x: Float32Array, w: PackedF32Handle, m: number, bias: Float32Array | undefined, out: Float32Array): void;
  linearF32Async(x: Float32Array, w: PackedF32Handle, m: number, bias: Float32Array | undefined): Promise<Float32Array>;
  gemmF32(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transB: boolean, transA: boolean, out: Float32Array): void;
  gemmF32Async(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transB: boolean, transA: boolean): Promise<Float32Array>;
  lastF32GemmKernel(): string | null;

  /** op: the index in OPS_UNARY (lib/nn/ops.ts). */
  opsUnary(op: number, x: Float32Array, n: number, out: Float32Array): void;
  opsAdd(a: Float32Array, b: Float32Array, n: number, out: Float32Array): void;
  opsAddBias(x: Float32Array, rows: number, n: number, bias: Float32Array, out: Float32Array): void;
  opsLayerNorm(x: Float32Array, rows: number, d: number, gamma: Float32Array, beta: Float32Array, eps: number, out: Float32Array): void;
  opsSoftmax(x: Float32Array, rows: number, n: number, mask: Float32Array | null, maskRows: boolean, out: Float32Array): void;
  opsGather(table: Float32Array, vocab: number, d: number, ids: Int32Array, out: Float32Array): void;
  opsMeanPool(x: Float32Array, d: number, lengths: Int32Array, segments: number, keep: Uint8Array | null, out: Float32Array): void;
  opsAttention(
    qkv: Float32Array,
    d: number,
    heads: number,
    scale: number,
    lengths: Int32Array,
    segments: number,
    keep: Uint8Array | null,
    out: Float32Array,
  ): void;
  lastOpsKernel(): string | null;
}

const root = path.join(__dirname, '..');

function load(): Native {
  const explicit = process.env['SPARQ_NATIVE'];
  try {
    if (explicit) return require(path.resolve(explicit)) as Native;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    return nodeGypBuild(root) as Native;
  } catch (cause) {
    const where = explicit
      ? `the file named by SPARQ_NATIVE (${path.resolve(explicit)})`
      : `a prebuild in ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} ` +
        `or a local build in ${path.join(root, 'build', 'Release')}`;
    const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new Error(
      `sparq: could not load its native addon for ${process.platform}-${process.arch} ` +
        `(Node ${process.version}, Node-API ${process.versions.napi}).\n` +
        `  Looked for ${where}.\n` +
        `  Reason: ${reason}\n` +
        `  To build it from source you need CMake ≥ 3.15 and a C++17 compiler; then run ` +
        `\`npm rebuild sparq\` (or \`npx cmake-js compile\` inside ${root}).`,
      { cause },
    );
  }
}

export const native: Native = load();
