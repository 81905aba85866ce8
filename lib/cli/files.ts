/**
 * `sparq inspect FILE`, `sparq convert IN OUT` and `sparq quantize IN OUT`: model files (GGUF,
 * safetensors) summarized, rewritten in the other format, and re-encoded tensor by tensor. One
 * tensor is in memory at a time; the input stays mapped. Which tensors a type change applies to:
 * those of two or more dimensions whose rows are whole blocks (weights); 1-D tensors (biases,
 * norms) and anything else keep their type, as llama.cpp's quantizer keeps them.
 */
import { encodeTensor, ENCODABLE } from '../io/encode';
import { saveGguf, type GgufArray, type GgufValue } from '../io/gguf';
import { formatOfName, openModel, type ModelFile, type ModelFormat } from '../io/model-file';
import { saveSafetensors } from '../io/safetensors';
import type { TensorData, TensorInfo } from '../io/tensor';
import { SAFETENSORS_NAMES, TYPE_INFO, type TensorType } from '../io/types';
import { Progress } from './progress';

const MB = 1e6;

function describeValue(v: GgufValue): string {
  if (v.type === 'array') {
    const { itemType, items } = v.value;
    const first = Array.from(items as ArrayLike<unknown>).slice(0, 4).map((x) => (typeof x === 'string' ? JSON.stringify(x) : typeof x === 'object' ? '[…]' : String(x)));
    return `[${itemType} × ${items.length}] ${first.join(', ')}${items.length > 4 ? ', …' : ''}`;
  }
  const text = v.type === 'string' ? JSON.stringify(v.value) : String(v.value);
  return `${v.type} ${text.length > 70 ? text.slice(0, 70) + '…' : text}`;
}

export interface InspectSummary {
  path: string;
  format: ModelFormat;
  version?: number;
  alignment?: number;
  bytes: number;
  metadata: Record<string, string>;
  tensors: { name: string; type: TensorType; shape: readonly number[]; bytes: number; offset: number }[];
  byType: Record<string, { tensors: number; elements: number; bytes: number }>;
}

export function inspectModel(path: string): InspectSummary {
  using file = openModel(path);
  const byType: InspectSummary['byType'] = {};
  for (const t of file.tensors) {
    const entry = (byType[t.type] ??= { tensors: 0, elements: 0, bytes: 0 });
    entry.tensors++;
    entry.elements += t.elements;
    entry.bytes += t.byteLength;
  }
  return {
    path,
    format: file.format,
    version: file.version,
    alignment: file.alignment,
    bytes: file.size,
    metadata: Object.fromEntries([...file.metadata].map(([k, v]) => [k, describeValue(v)])),
    tensors: file.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, bytes: t.byteLength, offset: t.offset })),
    byType,
  };
}

export function printInspect(path: string, opts: { json: boolean; all: boolean }): void {
  const s = inspectModel(path);
  if (opts.json) {
    console.log(JSON.stringify(s, null, 2));
    return;
  }
  const format = s.format === 'gguf' ? `GGUF v${s.version}, alignment ${s.alignment}` : 'safetensors';
  console.log(`${s.path}: ${format}, ${(s.bytes / MB).toFixed(2)} MB, ${s.tensors.length} tensors, ${Object.keys(s.metadata).length} metadata keys`);
  const keys = Object.entries(s.metadata);
  const shownKeys = opts.all ? keys : keys.slice(0, 20);
  if (keys.length) console.log('\nmetadata:');
  for (const [k, v] of shownKeys) console.log(`  ${k.padEnd(40)} ${v}`);
  if (shownKeys.length < keys.length) console.log(`  … ${keys.length - shownKeys.length} more (--all)`);
  const width = Math.min(48, Math.max(4, ...s.tensors.map((t) => t.name.length)));
  const shown = opts.all ? s.tensors : s.tensors.slice(0, 40);
  console.log(`\n  ${'name'.padEnd(width)} ${'type'.padEnd(8)} ${'shape'.padEnd(16)} ${'bytes'.padStart(12)}`);
  for (const t of shown) console.log(`  ${t.name.padEnd(width)} ${t.type.padEnd(8)} ${JSON.stringify(t.shape).padEnd(16)} ${String(t.bytes).padStart(12)}`);
  if (shown.length < s.tensors.length) console.log(`  … ${s.tensors.length - shown.length} more (--all)`);
  console.log(`\n  ${'type'.padEnd(8)} ${'tensors'.padStart(8)} ${'elements'.padStart(14)} ${'MB'.padStart(10)} ${'bits/elem'.padStart(10)}`);
  for (const [type, e] of Object.entries(s.byType))
    console.log(`  ${type.padEnd(8)} ${String(e.tensors).padStart(8)} ${String(e.elements).padStart(14)} ${(e.bytes / MB).toFixed(3).padStart(10)} ${(e.elements ? (8 * e.bytes) / e.elements : 0).toFixed(2).padStart(10)}`);
}

export interface ConvertOptions {
  /** Output format; default from OUT's extension (.gguf, .safetensors). */
  to?: ModelFormat;
  /** Type for weight tensors (2-D or more, rows of whole blocks). */
  type?: TensorType;
  progress: boolean;
}

export function outputFormat(path: string, to?: string): ModelFormat {
  if (to === 'gguf' || to === 'safetensors') return to;
  if (to !== undefined) throw new RangeError(`--to: expected gguf or safetensors, received '${to}'`);
  const format = formatOfName(path);
  if (format) return format;
  throw new RangeError(`cannot tell the output format from '${path}': name it .gguf or .safetensors, or pass --to`);
}

// An array's items as JSON can hold them: typed arrays as arrays, 64-bit integers as strings.
function plain(a: GgufArray): unknown[] {
  return Array.from(a.items as ArrayLike<unknown>, (x) => (typeof x === 'bigint' ? String(x) : typeof x === 'object' && x !== null ? plain(x as GgufArray) : x));
}

function metadataFor(file: ModelFile, format: ModelFormat): Map<string, GgufValue> | Record<string, string> {
  if (format === 'gguf') {
    const m = new Map(file.metadata);
    m.delete('general.alignment');
    return m;
  }
  // safetensors metadata holds strings: GGUF values are written as text (arrays as JSON).
  const out: Record<string, string> = {};
  for (const [k, v] of file.metadata) {
    if (k === 'general.alignment') continue;
    out[k] = v.type === 'string' ? v.value : v.type === 'array' ? JSON.stringify(plain(v.value)) : String(v.value);
  }
  return out;
}

export interface ConvertReport {
  format: ModelFormat;
  tensors: { name: string; from: TensorType; to: TensorType; bytes: number }[];
  inBytes: number;
  outBytes: number;
  seconds: number;
}

/** Metadata key under which a ggml block tensor stored as raw bytes in safetensors keeps its type. */
export const GGML_TYPE_KEY = 'sparq.ggml_type.';

interface Plan {
  t: TensorInfo;
  /** The type written. */
  to: TensorType;
  /** The shape written ([…, rowBytes] for block bytes in safetensors; the real shape when they come back). */
  shape: readonly number[];
  /** Copy the bytes as they are (same type, or block bytes moved between formats). */
  raw: boolean;
}

/**
 * What `t` becomes: weights (2+ dims, rows of whole blocks) re-encoded to `type`; ggml block types
 * into safetensors as their raw bytes (i8 [rows, rowBytes], the type kept in metadata, so nothing is
 * lost and converting back restores them); otherwise the type itself when the format holds it, else f32.
 */
function planFor(t: TensorInfo, format: ModelFormat, type: TensorType | undefined, stored: TensorType | undefined): Plan {
  const inner = t.shape.length ? t.shape[t.shape.length - 1]! : 1;
  const isFloat = ['f32', 'f16', 'bf16', 'f64'].includes(t.type) || TYPE_INFO[t.type].block > 1;
  if (stored !== undefined && format === 'gguf' && (t.type === 'i8' || t.type === 'u8') && TYPE_INFO[stored] && type === undefined) {
    const { block, bytes } = TYPE_INFO[stored];
    if (inner % bytes === 0) return { t, to: stored, shape: [...t.shape.slice(0, -1), (inner / bytes) * block], raw: true };
  }
  if (type !== undefined && isFloat && t.shape.length >= 2 && inner % TYPE_INFO[type].block === 0 && t.elements > 0) return { t, to: type, shape: t.shape, raw: type === t.type };
  if (format === 'safetensors' && TYPE_INFO[t.type].block > 1) {
    const rowBytes = (inner / TYPE_INFO[t.type].block) * TYPE_INFO[t.type].bytes;
    return { t, to: 'i8', shape: [...t.shape.slice(0, -1), rowBytes], raw: true };
  }
  const keeps = format === 'safetensors' ? SAFETENSORS_NAMES.has(t.type) : !['bool', 'u8', 'u16', 'u32', 'u64', 'f8_e4m3', 'f8_e5m2'].includes(t.type);
  return keeps ? { t, to: t.type, shape: t.shape, raw: true } : { t, to: 'f32', shape: t.shape, raw: false };
}

export function convertModel(input: string, output: string, opts: ConvertOptions): ConvertReport {
  const format = outputFormat(output, opts.to);
  if (opts.type !== undefined && !ENCODABLE.includes(opts.type)) throw new RangeError(`--type: expected one of ${ENCODABLE.join(', ')}, received '${opts.type}'`);
  if (opts.type !== undefined && format === 'safetensors' && !SAFETENSORS_NAMES.has(opts.type))
    throw new RangeError(`--type ${opts.type}: safetensors has no block types; write GGUF for it`);
  const started = performance.now();
  const progress = new Progress(opts.progress);
  using file = openModel(input);
  const storedType = (name: string): TensorType | undefined => {
    const v = file.metadata.get(GGML_TYPE_KEY + name);
    return v?.type === 'string' && v.value in TYPE_INFO ? (v.value as TensorType) : undefined;
  };
  const plan = file.tensors.map((t) => planFor(t, format, opts.type, storedType(t.name)));
  const metadata = metadataFor(file, format);
  for (const p of plan) {
    const key = GGML_TYPE_KEY + p.t.name;
    if (format === 'gguf') (metadata as Map<string, GgufValue>).delete(key);
    else if (p.to === 'i8' && TYPE_INFO[p.t.type].block > 1) (metadata as Record<string, string>)[key] = p.t.type;
  }
  let done = 0;
  const tensors: TensorData[] = plan.map(({ t, to, shape, raw }) => ({
    name: t.name,
    type: to,
    shape,
    data: () => {
      progress.update(`${format === 'gguf' ? 'GGUF' : 'safetensors'}: tensors`, ++done, plan.length);
      if (raw) return file.bytes(t.name);
      try {
        return encodeTensor('convert', t.name, file.toFloat32(t.name), t.shape, to);
      } catch (e) {
        throw new Error(`${input}: tensor '${t.name}' (${t.type} ${JSON.stringify(t.shape)} → ${to}): ${(e as Error).message}`);
      }
    },
  }));
  if (format === 'gguf') saveGguf(output, tensors, { metadata: metadata as Map<string, GgufValue> });
  else saveSafetensors(output, tensors, metadata as Record<string, string>);
  progress.done();
  using written = openModel(output);
  return {
    format,
    tensors: written.tensors.map((t) => ({ name: t.name, from: file.tensor(t.name).type, to: t.type, bytes: t.byteLength })),
    inBytes: file.size,
    outBytes: written.size,
    seconds: (performance.now() - started) / 1000,
  };
}

export function printConvert(input: string, output: string, opts: ConvertOptions & { json: boolean }): void {
  const r = convertModel(input, output, opts);
  if (opts.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  const changes = new Map<string, number>();
  for (const t of r.tensors) changes.set(`${t.from} → ${t.to}`, (changes.get(`${t.from} → ${t.to}`) ?? 0) + 1);
  console.log(`${input} (${(r.inBytes / MB).toFixed(2)} MB) → ${output} (${r.format}, ${(r.outBytes / MB).toFixed(2)} MB) in ${r.seconds.toFixed(1)} s`);
  for (const [change, n] of changes) console.log(`  ${String(n).padStart(5)} tensors ${change}`);
}
