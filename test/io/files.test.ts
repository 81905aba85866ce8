/**
 * Files written by sparq read back identically; openModel maps, tells formats by magic, adopts
 * block tensors zero-copy and keeps the mapping alive past close().
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  f16ToF32,
  f32ToF16,
  matmulQuantized,
  nativeMemory,
  openModel,
  quantize,
  saveGguf,
  saveSafetensors,
  type GgufValue,
  type TensorData,
  type TensorType,
} from '../../lib/index';
import { randomBytes, randomFloats } from '../helpers';
import { ggufBytes, sampleGguf } from './fixtures';

const dir = mkdtempSync(join(tmpdir(), 'sparq-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);

describe('safetensors round trip', () => {
  it('every dtype, bytes identical, metadata kept, each tensor aligned to its element size', () => {
    const types: [TensorType, number][] = [['f64', 8], ['f32', 4], ['f16', 2], ['bf16', 2], ['f8_e4m3', 1], ['f8_e5m2', 1], ['i64', 8], ['i32', 4], ['i16', 2], ['i8', 1], ['u8', 1], ['bool', 1], ['u16', 2], ['u32', 4], ['u64', 8]];
    const tensors: TensorData[] = types.map(([type, size], i) => ({ name: `t${i}.${type}`, type, shape: [3, 5], data: randomBytes(15 * size, i + 1).map((b) => (type === 'bool' ? b & 1 : b)) }));
    saveSafetensors(path('all.safetensors'), tensors, { format: 'pt', note: 'é' });
    using f = openModel(path('all.safetensors'));
    expect(f.format).toBe('safetensors');
    expect(Object.fromEntries([...f.metadata].map(([k, v]) => [k, v.value]))).toEqual({ format: 'pt', note: 'é' });
    const raw = readFileSync(path('all.safetensors'));
    expect((8 + Number(raw.readBigUInt64LE(0))) % 8).toBe(0);
    for (const t of tensors) {
      const info = f.tensor(t.name);
      expect(info.shape).toEqual([3, 5]);
      expect(info.offset % (info.byteLength / 15)).toBe(0);
      expect(f.bytes(t.name)).toEqual(t.data);
    }
  });

  it('values: f32, f16, bf16, f8 and integers decode to what they store', () => {
    const w = randomFloats(40, 3);
    const f16 = f32ToF16(w);
    const b16 = new Uint16Array(new Uint32Array(w.buffer.slice(0)).map((x) => x >>> 16));
    saveSafetensors(path('v.safetensors'), [
      { name: 'w', type: 'f32', shape: [40], data: w },
      { name: 'h', type: 'f16', shape: [40], data: f16 },
      { name: 'b', type: 'bf16', shape: [40], data: b16 },
      { name: 'e4', type: 'f8_e4m3', shape: [6], data: Uint8Array.of(0x38, 0xb8, 0x7e, 0x7f, 0x01, 0x00) },
      { name: 'e5', type: 'f8_e5m2', shape: [5], data: Uint8Array.of(0x3c, 0x7c, 0xfc, 0x7f, 0x01) },
      { name: 'i', type: 'i64', shape: [2], data: BigInt64Array.of(-5n, 1n << 40n) },
    ]);
    using f = openModel(path('v.safetensors'));
    expect(f.toFloat32('w')).toEqual(w);
    expect(f.toFloat32('h')).toEqual(f16ToF32(f16));
    expect(f.toFloat32('b')).toEqual(new Float32Array(new Uint32Array([...b16].map((h) => h << 16)).buffer));
    expect([...f.toFloat32('e4')]).toEqual([1, -1, 448, NaN, 2 ** -9, 0]);
    expect([...f.toFloat32('e5')]).toEqual([1, Infinity, -Infinity, NaN, 2 ** -16]);
    expect([...f.toFloat32('i')]).toEqual([-5, 2 ** 40]);
  });

  it('refuses what it cannot write: block types, duplicate names, wrong byte lengths', () => {
    expect(() => saveSafetensors(path('x.safetensors'), [{ name: 'q', type: 'q4_0', shape: [1, 32], data: new Uint8Array(18) }])).toThrow(/expected tensor 'q' type: a safetensors dtype/);
    const t: TensorData = { name: 'a', type: 'f32', shape: [2], data: new Float32Array(2) };
    expect(() => saveSafetensors(path('x.safetensors'), [t, t])).toThrow(/unique tensor names/);
    expect(() => saveSafetensors(path('x.safetensors'), [{ ...t, data: new Float32Array(3) }])).toThrow(/expected tensor 'a' data: 8 bytes \(f32 \[2\]\), received 12/);
  });
});

describe('GGUF round trip', () => {
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'sparq-test' }],
    ['u8', { type: 'u8', value: 7 }],
    ['i16', { type: 'i16', value: -300 }],
    ['f32', { type: 'f32', value: 0.25 }],
    ['f64', { type: 'f64', value: Math.PI }],
    ['u64', { type: 'u64', value: 2n ** 64n - 1n }],
    ['i64', { type: 'i64', value: -(2n ** 63n) }],
    ['bool', { type: 'bool', value: false }],
    ['tokens', { type: 'array', value: { itemType: 'string', items: ['<s>', 'ü', ''] } }],
    ['scores', { type: 'array', value: { itemType: 'f32', items: Float32Array.of(-1, 0.5) } }],
    ['nested', { type: 'array', value: { itemType: 'array', items: [{ itemType: 'u16', items: Uint16Array.of(1, 2) }, { itemType: 'bool', items: [true] }] } }],
  ]);

  it('metadata of every type and the block formats sparq produces read back identically', () => {
    const w = randomFloats(64 * 96, 9);
    const tensors: TensorData[] = [
      { name: 'f32', type: 'f32', shape: [64, 96], data: w },
      { name: 'f16', type: 'f16', shape: [64, 96], data: f32ToF16(w) },
      ...(['q8_0', 'q4_0', 'q4_1'] as const).map((format): TensorData => ({ name: format, type: format, shape: [64, 96], data: quantize(w, 64, 96, format).toBytes() })),
      { name: 'i8', type: 'i8', shape: [3], data: Int8Array.of(1, -2, 3) },
      { name: 'raw.q4_K', type: 'q4_K', shape: [2, 256], data: randomBytes(288, 4) },
    ];
    for (const alignment of [32, 64]) {
      const file = path(`m${alignment}.gguf`);
      saveGguf(file, tensors, { metadata, alignment });
      using f = openModel(file);
      expect(f.format).toBe('gguf');
      expect(f.version).toBe(3);
      expect(f.alignment).toBe(alignment);
      for (const [key, value] of metadata) expect(f.metadata.get(key)).toEqual(value);
      expect(f.metadata.has('general.alignment')).toBe(alignment !== 32);
      for (const t of tensors) {
        const info = f.tensor(t.name);
        expect(info.offset % alignment).toBe(0);
        expect(info.shape).toEqual(t.shape);
        expect(f.bytes(t.name)).toEqual(new Uint8Array((t.data as ArrayBufferView).buffer, (t.data as ArrayBufferView).byteOffset, (t.data as ArrayBufferView).byteLength));
      }
      expect(f.toFloat32('f32')).toEqual(w);
      for (const format of ['q8_0', 'q4_0', 'q4_1'] as const) expect(f.toFloat32(format)).toEqual(quantize(w, 64, 96, format).dequantize());
    }
  });

  it('writes the layout ggml reads: the hand-built fixture, rewritten, is byte-identical', () => {
    const spec = sampleGguf();
    const bytes = ggufBytes(spec);
    writeFileSync(path('fixture.gguf'), bytes);
    using f = openModel(path('fixture.gguf'));
    saveGguf(path('rewritten.gguf'), f.tensors.map((t) => ({ name: t.name, type: t.type, shape: t.shape, data: f.bytes(t.name) })), { metadata: new Map(f.metadata) });
    // The fixture's data ends unpadded; the writer pads the last tensor as ggml's does.
    const out = readFileSync(path('rewritten.gguf'));
    expect(out.subarray(0, bytes.length)).toEqual(Buffer.from(bytes));
    expect(out.length).toBe(Math.ceil(bytes.length / 32) * 32);
  });

  it('refuses names ggml cannot read, types with no ggml id, rows that are not whole blocks', () => {
    const t = { name: 'x'.repeat(64), type: 'f32' as TensorType, shape: [1], data: new Float32Array(1) };
    expect(() => saveGguf(path('x.gguf'), [t])).toThrow(/tensor name shorter than 64 bytes/);
    expect(() => saveGguf(path('x.gguf'), [{ ...t, name: 'b', type: 'bool' }])).toThrow(/expected tensor 'b' type: a ggml type, received 'bool'/);
    expect(() => saveGguf(path('x.gguf'), [{ name: 'q', type: 'q4_0', shape: [2, 16], data: new Uint8Array(18) }])).toThrow(/rows: a multiple of q4_0's block of 32/);
    expect(() => saveGguf(path('x.gguf'), [], { alignment: 24 })).toThrow(/alignment: a power of two/);
  });
});

describe('openModel', () => {
  it('tells the format by magic, not by name; names the file when it cannot open or parse it', () => {
    saveGguf(path('model.safetensors'), [{ name: 'a', type: 'f32', shape: [1], data: Float32Array.of(2) }]);
    using f = openModel(path('model.safetensors'));
    expect(f.format).toBe('gguf');
    expect(() => openModel(path('missing.gguf'))).toThrow(/openModel: cannot read '.*missing\.gguf': cannot open: No such file or directory/);
    expect(() => openModel(dir)).toThrow(/not a regular file/);
    writeFileSync(path('junk.bin'), 'hello world, not a model');
    expect(() => openModel(path('junk.bin'))).toThrow(/junk\.bin: magic at byte 0: is neither GGUF nor a safetensors header \(68 65 6c/);
    writeFileSync(path('empty.bin'), '');
    expect(() => openModel(path('empty.bin'))).toThrow(/empty file/);
    expect(() => openModel(42 as unknown as string)).toThrow(TypeError);
  });

  it('adopts block tensors without copying; they outlive close() and match a quantized copy bit for bit', () => {
    const n = 256, k = 512;
    const w = randomFloats(n * k, 21);
    const copy = quantize(w, n, k, 'q4_0');
    saveGguf(path('adopt.gguf'), [{ name: 'w', type: 'q4_0', shape: [n, k], data: copy.toBytes() }]);
    const f = openModel(path('adopt.gguf'));
    const before = nativeMemory().objects;
    const adopted = f.quantized('w');
    expect(nativeMemory().objects - before).toBeLessThan(1024);
    f.close();
    expect(f.closed).toBe(true);
    expect(() => f.bytes('w')).toThrow(/ModelFile\.bytes: the file '.*adopt\.gguf' is closed/);
    const x = randomFloats(3 * k, 22);
    expect(matmulQuantized(x, adopted, 3)).toEqual(matmulQuantized(x, copy, 3));
    expect(adopted.dequantize()).toEqual(copy.dequantize());
    expect(adopted.toBytes()).toEqual(copy.toBytes());
    adopted.dispose();
  });

  it('a block tensor at the very end of the file runs (kernels may read past a tail)', () => {
    const w = randomFloats(3 * 32, 5);
    const q = quantize(w, 3, 32, 'q8_0');
    const bytes = ggufBytes({ kvs: [], tensors: [{ name: 'w', dims: [32, 3], type: 8, offset: 0 }], data: q.toBytes() });
    writeFileSync(path('tail.gguf'), bytes);
    using f = openModel(path('tail.gguf'));
    expect(f.tensor('w').offset + f.tensor('w').byteLength).toBe(bytes.length);
    const x = randomFloats(32, 6);
    expect(f.linear('w').forward(x, 1)).toEqual(matmulQuantized(x, q, 1));
  });

  it('packs f32, f16 and bf16 tensors natively and builds Linear layers with a bias tensor', () => {
    const n = 20, k = 33;
    const w = randomFloats(n * k, 8);
    const bias = randomFloats(n, 9);
    saveSafetensors(path('dense.safetensors'), [
      { name: 'w', type: 'f32', shape: [n, k], data: w },
      { name: 'h', type: 'f16', shape: [n, k], data: f32ToF16(w) },
      { name: 'bias', type: 'f32', shape: [n], data: bias },
    ]);
    using f = openModel(path('dense.safetensors'));
    expect(f.packed('w').toArray()).toEqual(w);
    expect(f.packed('h').toArray()).toEqual(f.toFloat32('h'));
    const layer = f.linear('w', { bias: 'bias' });
    expect(layer.format).toBe('f32');
    expect(layer.n).toBe(n);
    const x = randomFloats(2 * k, 10);
    const y = layer.forward(x, 2);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x[p]! * w[j * k + p]!;
      expect(Math.abs(y[j]! - (s + bias[j]!))).toBeLessThan(1e-4);
    }
    expect(() => f.quantized('w')).toThrow(/expected tensor 'w' of '.*': q8_0, q4_0, q4_1, q4_K, q5_K or q6_K, received f32/);
    expect(() => f.packed('bias' + 'x')).toThrow(/has no tensor 'biasx' \(it has 3: 'bias', 'w', 'h'\)/);
    expect(() => f.toFloat32('w', { out: new Float32Array(3) })).toThrow(RangeError);
  });
});

describe('K-quant tensors in files', () => {
  it('q4_K, q5_K and q6_K tensors are adopted zero-copy and multiply like a quantized copy', () => {
    const n = 40, k = 768;
    const w = randomFloats(n * k, 31);
    const formats = ['q4_K', 'q5_K', 'q6_K'] as const;
    const copies = formats.map((format) => quantize(w, n, k, format));
    saveGguf(path('adopt-k.gguf'), formats.map((format, i): TensorData => ({ name: format, type: format, shape: [n, k], data: copies[i]!.toBytes() })));
    const f = openModel(path('adopt-k.gguf'));
    const before = nativeMemory().objects;
    const adopted = formats.map((format) => f.quantized(format));
    expect(nativeMemory().objects - before).toBeLessThan(1024);
    const layer = f.linear('q6_K');
    f.close();
    const x = randomFloats(5 * k, 32);
    formats.forEach((format, i) => {
      expect(adopted[i]!.format).toBe(format);
      expect(adopted[i]!.blockSize).toBe(256);
      expect(matmulQuantized(x, adopted[i]!, 5)).toEqual(matmulQuantized(x, copies[i]!, 5));
      expect(matmulQuantized(x, adopted[i]!, 5, { precision: 'f32' })).toEqual(matmulQuantized(x, copies[i]!, 5, { precision: 'f32' }));
      expect(adopted[i]!.toBytes()).toEqual(copies[i]!.toBytes());
      adopted[i]!.dispose();
    });
    expect(layer.format).toBe('q6_K');
    expect(layer.forward(x, 5)).toEqual(matmulQuantized(x, copies[2]!, 5));
  });

  it('q2_K…q6_K tensors of a GGUF decode to ggml\'s values', () => {
    const golden = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'kquant-ggml.json'), 'utf8')) as { types: Record<string, { bytes: string; bits: number[] }> };
    const tensors: TensorData[] = Object.entries(golden.types).map(([type, { bytes }]) => ({
      name: type,
      type: type as TensorType,
      shape: [2, 512],
      data: Uint8Array.from(bytes.match(/../g)!, (h) => parseInt(h, 16)),
    }));
    saveGguf(path('k.gguf'), tensors);
    using f = openModel(path('k.gguf'));
    for (const [type, { bits }] of Object.entries(golden.types)) {
      const y = new Uint32Array(f.toFloat32(type).buffer);
      const nan = (b: number) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
      for (let i = 0; i < bits.length; i++) if (!nan(bits[i]!)) expect(y[i], `${type}[${i}]`).toBe(bits[i]);
    }
  });
});
