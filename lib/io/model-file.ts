/**
 * openModel: a safetensors or GGUF file mapped read-only. The header is parsed in TS with every
 * count and offset checked against the file (./safetensors.ts, ./gguf.ts); tensors are read by
 * copy, decoded to f32, or adopted by native-owned matrices that keep the mapping alive, so
 * `close()` (or garbage collection) never pulls memory from under a matrix still in use.
 */
import { extname } from 'node:path';
import { PackedF32Matrix } from '../dense';
import { disposeSymbol } from '../handle';
import { native, type MappedFileHandle } from '../native';
import { Linear } from '../nn/linear';
import { defaultBlockSize } from '../formats';
import { QuantizedMatrix } from '../quant';
import { bufferSource, type ByteSource } from './bytes';
import { decodeTensor, TS_DECODABLE } from './decode';
import { GGUF_MAGIC, parseGguf, type GgufValue } from './gguf';
import { parseSafetensors } from './safetensors';
import type { TensorInfo } from './tensor';
import type { TensorType } from './types';

export type ModelFormat = 'safetensors' | 'gguf';

/** Type codes of the native decoder (native/binding/files.cc). */
const NATIVE_DECODE: Partial<Record<TensorType, number>> = { f32: 0, f16: 1, bf16: 2, q8_0: 3, q4_0: 4, q4_1: 5 };
const ADOPTABLE = new Set<TensorType>(['q8_0', 'q4_0', 'q4_1', 'q4_K', 'q5_K', 'q6_K']);

export interface ModelHeader {
  format: ModelFormat;
  /** GGUF key–values; safetensors' __metadata__ as string values. */
  metadata: Map<string, GgufValue>;
  tensors: TensorInfo[];
  /** GGUF only: version and data alignment. */
  version?: number;
  alignment?: number;
}

/** The format a file name asks for by its extension (.gguf, .safetensors), or null. */
export function formatOfName(path: string): ModelFormat | null {
  const ext = extname(path).toLowerCase();
  return ext === '.gguf' ? 'gguf' : ext === '.safetensors' ? 'safetensors' : null;
}

/** The format from the first bytes: "GGUF", or a safetensors header length followed by '{'. */
export function sniffFormat(source: ByteSource): ModelFormat {
  const head = source.read(0, Math.min(source.size, 9));
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 4 && view.getUint32(0, true) === GGUF_MAGIC) return 'gguf';
  if (head.length >= 9 && head[8] === 0x7b && view.getBigUint64(0, true) < BigInt(source.size)) return 'safetensors';
  const hex = [...head.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new RangeError(`${source.name}: magic at byte 0: is neither GGUF nor a safetensors header (${hex || 'empty file'})`);
}

/** Parses a model file's header from any byte source (an in-memory buffer for tests and fuzzing). */
export function parseModelHeader(source: ByteSource): ModelHeader {
  const format = sniffFormat(source);
  if (format === 'gguf') {
    const { metadata, tensors, version, alignment } = parseGguf(source);
    return { format, metadata, tensors, version, alignment };
  }
  const { metadata, tensors } = parseSafetensors(source);
  return { format, metadata: new Map(Object.entries(metadata).map(([k, value]) => [k, { type: 'string', value }])), tensors };
}

export class ModelFile {
  readonly path: string;
  readonly format: ModelFormat;
  /** File size in bytes. */
  readonly size: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** In file order for safetensors, tensor-info order for GGUF. */
  readonly tensors: readonly TensorInfo[];
  /** GGUF version (2 or 3); undefined for safetensors. */
  readonly version?: number;
  /** GGUF data alignment; undefined for safetensors. */
  readonly alignment?: number;
  #handle: MappedFileHandle;
  #byName: Map<string, TensorInfo>;

  /** @internal */
  constructor(path: string, handle: MappedFileHandle, size: number, header: ModelHeader) {
    this.path = path;
    this.#handle = handle;
    this.size = size;
    this.format = header.format;
    this.metadata = header.metadata;
    this.tensors = Object.freeze(header.tensors);
    this.version = header.version;
    this.alignment = header.alignment;
    this.#byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  /** Whether {@link close} has been called. Matrices made from the file stay usable after it. */
  get closed(): boolean {
    return native.isDisposed(this.#handle);
  }

  /** Unmaps the file once no matrix made from it remains; later reads through this object throw. */
  close(): void {
    native.dispose(this.#handle);
  }

  [disposeSymbol](): void {
    this.close();
  }

  private live(fn: string): MappedFileHandle {
    if (this.closed) throw new TypeError(`${fn}: the file '${this.path}' is closed`);
    return this.#handle;
  }

  /** Whether the file has a tensor called `name`. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The tensor called `name` (a RangeError naming the file when there is none). */
  tensor(name: string): TensorInfo {
    const t = this.#byName.get(name);
    if (t === undefined) {
      const some = this.tensors.slice(0, 5).map((x) => `'${x.name}'`).join(', ');
      throw new RangeError(`ModelFile.tensor: '${this.path}' has no tensor '${name}' (it has ${this.tensors.length}: ${some}${this.tensors.length > 5 ? ', …' : ''})`);
    }
    return t;
  }

  /** A copy of the tensor's bytes exactly as stored. */
  bytes(name: string): Uint8Array {
    const t = this.tensor(name);
    return native.mappedRead(this.live('ModelFile.bytes'), t.offset, t.byteLength);
  }

  /** The tensor's values as f32 (dequantized; integers above 2²⁴ round). */
  toFloat32(name: string, opts: { out?: Float32Array } = {}): Float32Array {
    const fn = 'ModelFile.toFloat32';
    const t = this.tensor(name);
    const out = opts.out ?? new Float32Array(t.elements);
    if (!(out instanceof Float32Array) || out.length < t.elements)
      throw new RangeError(`${fn}: expected out: Float32Array of length ≥ ${t.elements}, received ${out?.constructor?.name} of length ${(out as { length?: number })?.length}`);
    const code = NATIVE_DECODE[t.type];
    if (code !== undefined) native.mappedDecode(this.live(fn), t.offset, code, t.elements, out);
    else if (TS_DECODABLE.has(t.type)) decodeTensor(t.type, this.bytes(name), t.elements, out);
    else throw new RangeError(`${fn}: tensor '${name}' of '${this.path}' is ${t.type}, which sparq cannot dequantize yet`);
    return out;
  }

  /** [n, k] of a weight: a 2-D tensor [n, k], or a 1-D one as one row. */
  private matrixShape(fn: string, t: TensorInfo): [number, number] {
    const dims = t.shape.length === 1 ? [1, t.shape[0]!] : t.shape;
    if (dims.length !== 2 || dims[0]! < 1 || dims[1]! < 1)
      throw new RangeError(`${fn}: expected tensor '${t.name}' of '${this.path}': a matrix [n, k], received shape ${JSON.stringify(t.shape)}`);
    return [dims[0]!, dims[1]!];
  }

  /**
   * The tensor as a QuantizedMatrix whose blocks are the file's bytes, not a copy (q8_0, q4_0,
   * q4_1, q4_K, q5_K, q6_K). The matrix keeps the mapping alive after {@link close}.
   */
  quantized(name: string): QuantizedMatrix {
    const fn = 'ModelFile.quantized';
    const t = this.tensor(name);
    if (!ADOPTABLE.has(t.type)) throw new RangeError(`${fn}: expected tensor '${name}' of '${this.path}': q8_0, q4_0, q4_1, q4_K, q5_K or q6_K, received ${t.type}`);
    const [n, k] = this.matrixShape(fn, t);
    const format = t.type as 'q8_0' | 'q4_0' | 'q4_1' | 'q4_K' | 'q5_K' | 'q6_K';
    return new QuantizedMatrix(native.mappedQuantized(this.live(fn), t.offset, format, n, k), format, n, k, defaultBlockSize(format));
  }

  /** The tensor packed for the f32 kernels, converted natively straight from the mapping. */
  packed(name: string): PackedF32Matrix {
    const fn = 'ModelFile.packed';
    const t = this.tensor(name);
    const [n, k] = this.matrixShape(fn, t);
    const code = NATIVE_DECODE[t.type];
    if (code !== undefined && (code < 3 || k % 32 === 0)) return new PackedF32Matrix(native.mappedPackF32(this.live(fn), t.offset, code, n, k), n, k);
    return new PackedF32Matrix(native.packF32(this.toFloat32(name), n, k), n, k);
  }

  /**
   * A Linear layer over the tensor as stored: the block formats adopted zero-copy, anything else
   * packed as f32. `bias` names a tensor of n values.
   */
  linear(name: string, opts: { bias?: string } = {}): Linear {
    const bias = opts.bias === undefined ? undefined : this.toFloat32(opts.bias);
    const t = this.tensor(name);
    return Linear.wrap(ADOPTABLE.has(t.type) ? this.quantized(name) : this.packed(name), { bias });
  }
}

/** Maps a safetensors or GGUF file (told apart by its first bytes, not its name) and parses its header. */
export function openModel(path: string): ModelFile {
  const fn = 'openModel';
  if (typeof path !== 'string') throw new TypeError(`${fn}: expected path: a string, received ${typeof path}`);
  const [handle, size] = native.mapFile(path, fn);
  try {
    const source: ByteSource = { name: path, size, read: (offset, length) => native.mappedRead(handle, offset, length) };
    return new ModelFile(path, handle, size, parseModelHeader(source));
  } catch (error) {
    native.dispose(handle);
    throw error;
  }
}


