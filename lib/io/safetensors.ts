/**
 * safetensors (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON, then the
 * tensors' bytes. The JSON maps each tensor name to {dtype, shape, data_offsets: [begin, end]}
 * (relative to the byte buffer after the header), plus an optional "__metadata__" of string
 * values. The byte buffer must be exactly covered by the tensors, without holes or overlaps.
 * Reading checks all of that before a byte of tensor data is touched; writing pads the header
 * with spaces to a multiple of 8 and orders tensors by element size then name, as the format's own
 * writer does, so every tensor is aligned to its element size.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Cursor, malformed, type ByteSource } from './bytes';
import { product, shapeElements, tensorBytes, writeAll, type TensorData, type TensorInfo } from './tensor';
import { SAFETENSORS_DTYPES, SAFETENSORS_NAMES, typeBytes } from './types';

/** The format's own limit on the header (the reference reader refuses larger ones). */
export const SAFETENSORS_MAX_HEADER = 100_000_000;

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In file order (by data offset). */
  tensors: TensorInfo[];
  /** Where the byte buffer starts: 8 + N. */
  dataOffset: number;
}

// The keys of the JSON text's top-level object in order, with their character positions, so a
// duplicate (which JSON.parse would silently merge) is refused. Assumes text is valid JSON.
function topLevelKeys(text: string): { key: string; at: number }[] {
  const keys: { key: string; at: number }[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1) {
        let j = i + 1;
        while (text[j] === ' ' || text[j] === '\t' || text[j] === '\n' || text[j] === '\r') j++;
        if (text[j] === ':') keys.push({ key: JSON.parse(text.slice(start, i + 1)) as string, at: start });
      }
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
  }
  return keys;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function parseSafetensors(source: ByteSource): SafetensorsHeader {
  const cursor: Cursor = new Cursor(source);
  const length = cursor.u64('header length', SAFETENSORS_MAX_HEADER, 'a header length');
  const dataOffset = 8 + length;
  const text = cursor.utf8('header', length);
  const fail: (field: string, problem: string) => never = (field, problem) => {
    throw malformed(source, field, 8, problem);
  };
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    fail('header', `is not JSON (${(error as Error).message})`);
  }
  if (!isObject(header)) fail('header', 'is not a JSON object');
  const seen = new Set<string>();
  for (const { key, at } of topLevelKeys(text)) {
    if (seen.has(key)) throw malformed(source, `header key ${JSON.stringify(key)}`, 8 + Buffer.byteLength(text.slice(0, at)), 'appears twice');
    seen.add(key);
  }
  const data = source.size - dataOffset;
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isObject(entry)) fail('__metadata__', 'is not an object of strings');
      for (const [key, value] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof value !== 'string') fail(`__metadata__.${key}`, `is ${typeof value}, not a string`);
        metadata[key] = value as string;
      }
      continue;
    }
    const field = `tensor ${JSON.stringify(name)}`;
    if (!isObject(entry)) fail(field, 'is not an object');
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const type = typeof dtype === 'string' ? SAFETENSORS_DTYPES.get(dtype) : undefined;
    if (type === undefined) fail(`${field}.dtype`, `is an unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${field}.shape`, 'is not an array of non-negative integers');
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!)
      fail(`${field}.data_offsets`, 'is not [begin, end] with 0 ≤ begin ≤ end');
    const elements = product(shape as number[]);
    if (elements === null) fail(`${field}.shape`, `${JSON.stringify(shape)} has more than 2⁵³ elements`);
    const byteLength = typeBytes(type!, elements!)!;
    const [begin, end] = offsets as [number, number];
    if (end - begin !== byteLength)
      fail(`${field}.data_offsets`, `span ${end - begin} bytes, but ${dtype} ${JSON.stringify(shape)} is ${byteLength}`);
    if (end > data) fail(`${field}.data_offsets`, `end ${end} is past the file's ${data} data bytes`);
    tensors.push(Object.freeze({ name, type: type!, shape: Object.freeze([...(shape as number[])]), elements: elements!, offset: dataOffset + begin, byteLength }));
  }
  tensors.sort((a, b) => a.offset - b.offset || a.byteLength - b.byteLength);
  let expected = dataOffset;
  for (const t of tensors) {
    if (t.offset !== expected)
      fail(`tensor ${JSON.stringify(t.name)}.data_offsets`, t.offset < expected ? 'overlaps the tensor before it' : `leaves a hole of ${t.offset - expected} bytes before it`);
    expected = t.offset + t.byteLength;
  }
  if (expected !== source.size) fail('data_offsets', `the tensors cover ${expected - dataOffset} of the ${data} data bytes`);
  return { metadata, tensors, dataOffset };
}

/** The order the format's writer uses: larger elements first (so each stays aligned), then by name. */
function writeOrder(tensors: readonly TensorData[]): TensorData[] {
  const size = (t: TensorData) => typeBytes(t.type, 1) ?? 0;
  return [...tensors].sort((a, b) => size(b) - size(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Writes a safetensors file. Types are the safetensors dtypes (f64 … bool, f8_e4m3, f8_e5m2); the
 * block formats have no dtype here (use GGUF, or store their bytes as u8 with a documented name).
 */
export function saveSafetensors(path: string, tensors: readonly TensorData[], metadata: Record<string, string> = {}): void {
  const fn = 'saveSafetensors';
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [key, value] of Object.entries(metadata))
      if (typeof value !== 'string') throw new TypeError(`${fn}: expected metadata.${key}: a string, received ${typeof value}`);
    header.__metadata__ = metadata;
  }
  const ordered = writeOrder(tensors);
  const lengths: number[] = [];
  let offset = 0;
  for (const t of ordered) {
    const dtype = SAFETENSORS_NAMES.get(t.type);
    if (dtype === undefined) throw new RangeError(`${fn}: expected tensor '${t.name}' type: a safetensors dtype (${[...SAFETENSORS_NAMES.keys()].join(', ')}), received '${t.type}'`);
    if (t.name === '__metadata__' || t.name in header) throw new RangeError(`${fn}: expected unique tensor names, received '${t.name}' twice or a reserved name`);
    const elements = shapeElements(t.shape);
    if (elements === null) throw new RangeError(`${fn}: expected tensor '${t.name}' shape: non-negative integers, received ${JSON.stringify(t.shape)}`);
    const length = typeBytes(t.type, elements)!;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    lengths.push(length);
    offset += length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    ordered.forEach((t, i) => writeAll(fd, tensorBytes(fn, t, lengths[i]!)));
  } finally {
    closeSync(fd);
  }
}
