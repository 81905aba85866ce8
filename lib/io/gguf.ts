/**
 * GGUF (llama.cpp / ggml), versions 3 and 2: magic "GGUF", version, tensor and metadata counts,
 * the metadata key–values (every value type, arrays of arrays), tensor infos (name, dims in ggml's
 * ne order, ggml type, offset), padding to `general.alignment` (default 32), then the data.
 *
 * Every count is checked against the bytes left before anything is allocated for it (a tensor
 * info takes at least 24 bytes, a key–value 13, an array element its type's size), nesting is
 * bounded, strings must be UTF-8 and at most 16 MiB, names and keys unique, dims' product exact,
 * tensor data aligned, inside the file and not overlapping. Failures are RangeErrors naming the
 * field and its byte offset.
 */
import { closeSync, openSync } from 'node:fs';
import { Cursor, type ByteSource } from './bytes';
import { product, shapeElements, tensorBytes, writeAll, type TensorData, type TensorInfo } from './tensor';
import { GGML_TYPE_IDS, GGML_TYPES_BY_ID, TYPE_INFO, typeBytes, type TensorType } from './types';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
export const GGUF_MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME: tensor names must be shorter (llama.cpp refuses longer ones). */
export const GGUF_MAX_NAME = 64;
const MAX_STRING = 16 << 20;
const MAX_DEPTH = 8;

export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
export type GgufValueType = GgufScalarType | 'array';
/** Value type ids as GGUF stores them (enum gguf_type). */
const VALUE_TYPES: readonly GgufValueType[] = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'];
const VALUE_SIZE: Record<GgufValueType, number> = { u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, bool: 1, string: 8, array: 12, u64: 8, i64: 8, f64: 8 };

/** Numeric arrays are typed arrays; bool, string and array items are JS arrays. */
export type GgufArrayItems =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array
  | BigUint64Array | BigInt64Array | boolean[] | string[] | GgufArray[];
export interface GgufArray {
  itemType: GgufValueType;
  items: GgufArrayItems;
}
/** A metadata value with its GGUF type, so a file rewritten keeps every type. */
export type GgufValue =
  | { type: 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64'; value: number }
  | { type: 'u64' | 'i64'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; value: GgufArray };

export interface GgufHeader {
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  /** In the order of the tensor infos. */
  tensors: TensorInfo[];
  dataOffset: number;
}

const ARRAYS = {
  u8: Uint8Array, i8: Int8Array, u16: Uint16Array, i16: Int16Array, u32: Uint32Array, i32: Int32Array,
  f32: Float32Array, f64: Float64Array, u64: BigUint64Array, i64: BigInt64Array,
} as const;

function valueType(cursor: Cursor, field: string): GgufValueType {
  const at = cursor.offset;
  const id = cursor.u32(field);
  const type = VALUE_TYPES[id];
  if (type === undefined) cursor.fail(field, `is an unknown value type ${id}`, at);
  return type;
}

function string(cursor: Cursor, field: string): string {
  const at = cursor.offset;
  const length = cursor.u64(`${field} length`, Number.MAX_SAFE_INTEGER, 'a length');
  if (length > MAX_STRING) cursor.fail(`${field} length`, `${length} is more than the ${MAX_STRING}-byte limit`, at);
  return cursor.utf8(field, length);
}

function scalar(cursor: Cursor, type: Exclude<GgufValueType, 'array'>, field: string): GgufValue {
  switch (type) {
    case 'u8': return { type, value: cursor.u8(field) };
    case 'i8': return { type, value: cursor.i8(field) };
    case 'u16': return { type, value: cursor.u16(field) };
    case 'i16': return { type, value: cursor.i16(field) };
    case 'u32': return { type, value: cursor.u32(field) };
    case 'i32': return { type, value: cursor.i32(field) };
    case 'f32': return { type, value: cursor.f32(field) };
    case 'f64': return { type, value: cursor.f64(field) };
    case 'u64': return { type, value: cursor.u64big(field) };
    case 'i64': return { type, value: cursor.i64big(field) };
    case 'string': return { type, value: string(cursor, field) };
    case 'bool': {
      const at = cursor.offset;
      const b = cursor.u8(field);
      if (b > 1) cursor.fail(field, `is a bool of ${b}, not 0 or 1`, at);
      return { type, value: b === 1 };
    }
  }
}

function array(cursor: Cursor, field: string, depth: number): GgufArray {
  if (depth > MAX_DEPTH) cursor.fail(field, `nests arrays more than ${MAX_DEPTH} deep`);
  const itemType = valueType(cursor, `${field} item type`);
  const at = cursor.offset;
  const count = cursor.u64(`${field} count`);
  // Each item takes at least its type's size, so a count the file cannot hold is refused unallocated.
  if (count * VALUE_SIZE[itemType] > cursor.remaining)
    cursor.fail(`${field} count`, `${count} items of ${itemType} need at least ${count * VALUE_SIZE[itemType]} bytes, ${cursor.remaining} are left`, at);
  if (itemType === 'array') {
    const items: GgufArray[] = [];
    for (let i = 0; i < count; i++) items.push(array(cursor, `${field}[${i}]`, depth + 1));
    return { itemType, items };
  }
  if (itemType === 'string') {
    const items: string[] = [];
    for (let i = 0; i < count; i++) items.push(string(cursor, `${field}[${i}]`));
    return { itemType, items };
  }
  if (itemType === 'bool') {
    const items: boolean[] = [];
    for (let i = 0; i < count; i++) items.push(scalar(cursor, 'bool', `${field}[${i}]`).value as boolean);
    return { itemType, items };
  }
  const Ctor = ARRAYS[itemType];
  const raw = cursor.bytes(field, count * Ctor.BYTES_PER_ELEMENT); // a fresh buffer at offset 0: aligned
  return { itemType, items: new Ctor(raw.buffer as ArrayBuffer, 0, count) };
}

function value(cursor: Cursor, type: GgufValueType, field: string): GgufValue {
  return type === 'array' ? { type, value: array(cursor, field, 1) } : scalar(cursor, type, field);
}

export function parseGguf(source: ByteSource): GgufHeader {
  const cursor: Cursor = new Cursor(source);
  const magic = cursor.u32('magic');
  if (magic !== GGUF_MAGIC) cursor.fail('magic', `is 0x${magic.toString(16)}, not "GGUF"`, 0);
  const version = cursor.u32('version');
  if (version !== 2 && version !== 3)
    cursor.fail('version', version === 1 ? 'is 1 (GGUF v1 is not supported)' : (version & 0xffff) === 0 ? `is ${version} (a big-endian GGUF, not supported)` : `is ${version}, not 2 or 3`, 4);
  const tensorCount = cursor.u64('tensor count', Math.floor(cursor.remaining / 24), 'a tensor count (24 bytes an info at least)');
  const kvCount = cursor.u64('metadata count', Math.floor(cursor.remaining / 13), 'a key–value count (13 bytes each at least)');

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const at = cursor.offset;
    const key = string(cursor, `metadata key ${i}`);
    if (metadata.has(key)) cursor.fail(`metadata key ${JSON.stringify(key)}`, 'appears twice', at);
    const type = valueType(cursor, `metadata ${JSON.stringify(key)} type`);
    metadata.set(key, value(cursor, type, `metadata ${JSON.stringify(key)}`));
  }
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const given = metadata.get('general.alignment');
  if (given !== undefined) {
    if (given.type !== 'u32' || given.value === 0 || (given.value & (given.value - 1)) !== 0)
      cursor.fail('metadata "general.alignment"', `is ${given.type} ${String(given.value)}, not a u32 power of two`, 8);
    alignment = given.value as number;
  }

  const infos: { name: string; type: TensorType; dims: number[]; elements: number; byteLength: number; offset: number; at: number }[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const at = cursor.offset;
    const name = string(cursor, `tensor ${i} name`);
    if (names.has(name)) cursor.fail(`tensor ${JSON.stringify(name)} name`, 'appears twice', at);
    names.add(name);
    const field = `tensor ${JSON.stringify(name)}`;
    const dimsAt = cursor.offset;
    const nDims = cursor.u32(`${field} n_dims`);
    if (nDims > GGUF_MAX_DIMS) cursor.fail(`${field} n_dims`, `is ${nDims}, more than ${GGUF_MAX_DIMS}`, dimsAt);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(cursor.u64(`${field} ne[${d}]`, Number.MAX_SAFE_INTEGER, 'a dimension'));
    const elements = product(dims);
    if (elements === null) cursor.fail(`${field} dims`, `[${dims.join(', ')}] have more than 2⁵³ elements`, dimsAt);
    const typeAt = cursor.offset;
    const id = cursor.u32(`${field} type`);
    const type = GGML_TYPES_BY_ID.get(id);
    if (type === undefined) cursor.fail(`${field} type`, `is an unknown ggml type ${id}`, typeAt);
    const { block } = TYPE_INFO[type];
    if ((dims[0] ?? 1) % block !== 0) cursor.fail(`${field} ne[0]`, `${dims[0] ?? 1} is not a multiple of ${type}'s block of ${block}`, dimsAt + 4);
    const offsetAt = cursor.offset;
    const offset = cursor.u64(`${field} offset`, Number.MAX_SAFE_INTEGER, 'an offset');
    if (offset % alignment !== 0) cursor.fail(`${field} offset`, `${offset} is not a multiple of the alignment ${alignment}`, offsetAt);
    infos.push({ name, type, dims, elements, byteLength: typeBytes(type, elements)!, offset, at: offsetAt });
  }
  const dataOffset = Math.ceil(cursor.offset / alignment) * alignment;
  const data = source.size - dataOffset;
  if (infos.length && data < 0) cursor.fail('data section', `starts at ${dataOffset}, past the end of the file (${source.size} bytes)`, cursor.offset);
  const byOffset = [...infos].sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let end = 0;
  for (const t of byOffset) {
    if (t.offset < end) cursor.fail(`tensor ${JSON.stringify(t.name)} offset`, `${t.offset} overlaps the tensor data before it (which ends at ${end})`, t.at);
    if (t.offset + t.byteLength > data)
      cursor.fail(`tensor ${JSON.stringify(t.name)} offset`, `data ${t.offset}…${t.offset + t.byteLength} is past the end of the ${data}-byte data section`, t.at);
    end = t.offset + t.byteLength;
  }
  const tensors = infos.map((t) =>
    Object.freeze({ name: t.name, type: t.type, shape: Object.freeze([...t.dims].reverse()), elements: t.elements, offset: dataOffset + t.offset, byteLength: t.byteLength }),
  );
  return { version, alignment, metadata, tensors, dataOffset };
}

// ---- writing ---------------------------------------------------------------------------------

/** Serializes into growing chunks; the header is small next to the data, so it is built in memory. */
class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }
  number(type: keyof typeof ARRAYS, v: number | bigint): void {
    const Ctor = ARRAYS[type];
    const a = new Ctor(1);
    (a as unknown as (number | bigint)[])[0] = v;
    this.push(new Uint8Array(a.buffer));
  }
  u32(v: number): void {
    this.number('u32', v);
  }
  u64(v: number): void {
    this.number('u64', BigInt(v));
  }
  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.push(bytes);
  }
  raw(bytes: Uint8Array): void {
    this.push(bytes);
  }
  value(v: GgufValue): void {
    this.u32(VALUE_TYPES.indexOf(v.type));
    this.payload(v.type, v.value as never);
  }
  private payload(type: GgufValueType, v: number | bigint | boolean | string | GgufArray): void {
    if (type === 'string') this.string(v as string);
    else if (type === 'bool') this.raw(Uint8Array.of(v ? 1 : 0));
    else if (type === 'array') this.array(v as GgufArray);
    else this.number(type, v as number | bigint);
  }
  private array(a: GgufArray): void {
    this.u32(VALUE_TYPES.indexOf(a.itemType));
    this.u64(a.items.length);
    if (ArrayBuffer.isView(a.items)) this.raw(new Uint8Array(a.items.buffer, a.items.byteOffset, a.items.byteLength).slice());
    else for (const item of a.items) this.payload(a.itemType, item);
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks, this.length);
  }
}

export interface SaveGgufOptions {
  /** Key–values; `general.alignment` is added when the alignment is not 32. */
  metadata?: Map<string, GgufValue> | Record<string, GgufValue>;
  /** Data alignment, a power of two (default 32). */
  alignment?: number;
  /** 3 (default) or 2. */
  version?: number;
}

/**
 * Writes a GGUF file: the tensors in the given order, each at the next aligned offset (as ggml's
 * writer lays them out, which ggml's reader requires), padded with zeros.
 */
export function saveGguf(path: string, tensors: readonly TensorData[], opts: SaveGgufOptions = {}): void {
  const fn = 'saveGguf';
  const alignment = opts.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || alignment > 0xffffffff || (alignment & (alignment - 1)) !== 0)
    throw new RangeError(`${fn}: expected alignment: a power of two, received ${alignment}`);
  const version = opts.version ?? 3;
  if (version !== 2 && version !== 3) throw new RangeError(`${fn}: expected version: 2 or 3, received ${version}`);
  const metadata = new Map(opts.metadata instanceof Map ? opts.metadata : Object.entries(opts.metadata ?? {}));
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.set('general.alignment', { type: 'u32', value: alignment });
  else if (metadata.get('general.alignment')?.value === GGUF_DEFAULT_ALIGNMENT) metadata.delete('general.alignment');
  else if (metadata.has('general.alignment')) throw new RangeError(`${fn}: metadata general.alignment disagrees with the alignment ${alignment}`);

  const header = new Writer();
  header.u32(GGUF_MAGIC);
  header.u32(version);
  header.u64(tensors.length);
  header.u64(metadata.size);
  for (const [key, v] of metadata) {
    if (!VALUE_TYPES.includes(v?.type)) throw new TypeError(`${fn}: expected metadata ${JSON.stringify(key)}: a GgufValue {type, value}, received ${JSON.stringify(v)}`);
    header.string(key);
    header.value(v);
  }
  const names = new Set<string>();
  const lengths: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    const id = GGML_TYPE_IDS[t.type];
    if (id === undefined) throw new RangeError(`${fn}: expected tensor '${t.name}' type: a ggml type, received '${t.type}'`);
    if (names.has(t.name)) throw new RangeError(`${fn}: expected unique tensor names, received '${t.name}' twice`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) >= GGUF_MAX_NAME) throw new RangeError(`${fn}: expected tensor name shorter than ${GGUF_MAX_NAME} bytes (ggml's limit), received '${t.name}'`);
    const elements = shapeElements(t.shape);
    if (t.shape.length > GGUF_MAX_DIMS || elements === null)
      throw new RangeError(`${fn}: expected tensor '${t.name}' shape: at most ${GGUF_MAX_DIMS} non-negative integers, received ${JSON.stringify(t.shape)}`);
    const length = typeBytes(t.type, elements);
    const inner = t.shape.length ? t.shape[t.shape.length - 1]! : 1;
    if (length === null || inner % TYPE_INFO[t.type].block !== 0)
      throw new RangeError(`${fn}: expected tensor '${t.name}' rows: a multiple of ${t.type}'s block of ${TYPE_INFO[t.type].block}, received shape ${JSON.stringify(t.shape)}`);
    header.string(t.name);
    header.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) header.u64(d);
    header.u32(id);
    header.u64(offset);
    lengths.push(length);
    offset += Math.ceil(length / alignment) * alignment;
  }
  const head = header.bytes();
  const fd = openSync(path, 'w');
  try {
    writeAll(fd, head);
    writeAll(fd, new Uint8Array(Math.ceil(head.length / alignment) * alignment - head.length));
    tensors.forEach((t, i) => {
      const bytes = tensorBytes(fn, t, lengths[i]!);
      writeAll(fd, bytes);
      writeAll(fd, new Uint8Array(Math.ceil(bytes.length / alignment) * alignment - bytes.length));
    });
  } finally {
    closeSync(fd);
  }
}
