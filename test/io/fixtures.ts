/**
 * Model-file bytes built by hand, field by field, independently of sparq's writers: the fixtures
 * the parsers are checked against, and the seeds the fuzzer mutates. Every field can be set to a
 * lie (a count, a length, an offset, a type id) to build a malformed file.
 */

export class Bytes {
  private parts: number[] = [];
  get length(): number {
    return this.parts.length;
  }
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    let b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++, b >>= 8n) this.parts.push(Number(b & 0xffn));
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i]!);
    return this;
  }
  str(s: string | Uint8Array, length?: number): this {
    const bytes = typeof s === 'string' ? new TextEncoder().encode(s) : s;
    return this.u64(length ?? bytes.length).raw(bytes);
  }
  pad(alignment: number): this {
    while (this.parts.length % alignment) this.parts.push(0);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export interface GgufKv {
  key: string | Uint8Array;
  /** Value type id (gguf_type). */
  type: number;
  /** Writes the value's payload. */
  write: (b: Bytes) => void;
}

export interface GgufTensorSpec {
  name: string;
  /** ne order (innermost first). */
  dims: (number | bigint)[];
  type: number;
  offset: number | bigint;
  nDims?: number;
}

export interface GgufSpec {
  magic?: number;
  version?: number;
  tensorCount?: number | bigint;
  kvCount?: number | bigint;
  kvs: GgufKv[];
  tensors: GgufTensorSpec[];
  alignment?: number;
  data: Uint8Array;
}

export function ggufBytes(spec: GgufSpec): Uint8Array {
  const b = new Bytes()
    .u32(spec.magic ?? 0x46554747)
    .u32(spec.version ?? 3)
    .u64(spec.tensorCount ?? spec.tensors.length)
    .u64(spec.kvCount ?? spec.kvs.length);
  for (const kv of spec.kvs) {
    b.str(kv.key).u32(kv.type);
    kv.write(b);
  }
  for (const t of spec.tensors) {
    b.str(t.name).u32(t.nDims ?? t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.type).u64(t.offset);
  }
  b.pad(spec.alignment ?? 32);
  return b.raw(spec.data).bytes();
}

/** A small valid GGUF: three key–values (a string, a u32, an array of arrays) and two tensors, f32 [2×32] and q8_0 [1×32]. */
export function sampleGguf(): GgufSpec {
  const f32 = new Float32Array(64).map((_, i) => i - 32);
  const q8 = new Uint8Array(34);
  q8[0] = 0x00;
  q8[1] = 0x3c; // d = 1.0
  for (let i = 0; i < 32; i++) q8[2 + i] = (i * 7 - 100) & 0xff;
  const data = new Uint8Array(256 + 34);
  data.set(new Uint8Array(f32.buffer), 0);
  data.set(q8, 256);
  return {
    kvs: [
      { key: 'general.architecture', type: 8, write: (b) => b.str('fixture') },
      { key: 'fixture.count', type: 4, write: (b) => b.u32(7) },
      {
        key: 'fixture.nested',
        type: 9,
        write: (b) => b.u32(9).u64(2).u32(5).u64(2).u32(1).u32(-2).u32(8).u64(1).str('é'),
      },
    ],
    tensors: [
      { name: 'a.weight', dims: [32, 2], type: 0, offset: 0 },
      { name: 'b.weight', dims: [32, 1], type: 8, offset: 256 },
    ],
    data,
  };
}

/** safetensors bytes from a header object (or raw header text) and data. */
export function safetensorsBytes(header: unknown, data: Uint8Array, lengthOverride?: number | bigint): Uint8Array {
  const text = typeof header === 'string' ? new TextEncoder().encode(header) : new TextEncoder().encode(JSON.stringify(header));
  return new Bytes()
    .u64(lengthOverride ?? text.length)
    .raw(text)
    .raw(data)
    .bytes();
}

export function sampleSafetensors(): { header: Record<string, unknown>; data: Uint8Array } {
  const data = new Uint8Array(16 + 4);
  new Float32Array(data.buffer, 0, 4).set([1, -2, 0.5, 3]);
  new Uint16Array(data.buffer, 16, 2).set([0x3c00, 0xc000]);
  return {
    header: {
      __metadata__: { format: 'pt' },
      x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
      y: { dtype: 'F16', shape: [2], data_offsets: [16, 20] },
    },
    data,
  };
}
