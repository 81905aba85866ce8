/**
 * The header parsers against hand-built bytes: every feature of each format read as written, and
 * every malformed case refused with a RangeError naming the field and its byte offset.
 */
import { describe, expect, it } from 'vitest';
import { bufferSource, parseGguf, parseModelHeader, parseSafetensors } from '../../lib/index';
import { Bytes, ggufBytes, safetensorsBytes, sampleGguf, sampleSafetensors, type GgufSpec } from './fixtures';

const gguf = (spec: GgufSpec) => parseGguf(bufferSource(ggufBytes(spec), 'f.gguf'));
const st = (header: unknown, data: Uint8Array, length?: number | bigint) => parseSafetensors(bufferSource(safetensorsBytes(header, data, length), 'f.safetensors'));

describe('GGUF header, hand-built', () => {
  it('reads metadata of every kind, tensor infos in ne order reversed, and the aligned data offset', () => {
    const h = gguf(sampleGguf());
    expect(h.version).toBe(3);
    expect(h.alignment).toBe(32);
    expect(h.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'fixture' });
    expect(h.metadata.get('fixture.count')).toEqual({ type: 'u32', value: 7 });
    const nested = h.metadata.get('fixture.nested');
    expect(nested?.type).toBe('array');
    const outer = nested!.value as { itemType: string; items: { itemType: string; items: unknown }[] };
    expect(outer.itemType).toBe('array');
    expect(outer.items[0]!.itemType).toBe('i32');
    expect([...(outer.items[0]!.items as Int32Array)]).toEqual([1, -2]);
    expect(outer.items[1]!.items).toEqual(['é']);
    expect(h.tensors.map((t) => [t.name, t.type, t.shape, t.elements, t.byteLength])).toEqual([
      ['a.weight', 'f32', [2, 32], 64, 256],
      ['b.weight', 'q8_0', [1, 32], 32, 34],
    ]);
    expect(h.tensors[0]!.offset % 32).toBe(0);
    expect(h.tensors[1]!.offset - h.tensors[0]!.offset).toBe(256);
  });

  it('reads every scalar value type with its type kept, v2 files, and general.alignment', () => {
    const kvs: GgufSpec['kvs'] = [
      { key: 'u8', type: 0, write: (b) => b.u8(200) },
      { key: 'i8', type: 1, write: (b) => b.u8(0xff) },
      { key: 'u16', type: 2, write: (b) => b.u8(0x34).u8(0x12) },
      { key: 'i16', type: 3, write: (b) => b.u8(0xfe).u8(0xff) },
      { key: 'i32', type: 5, write: (b) => b.u32(-5) },
      { key: 'f32', type: 6, write: (b) => b.raw(new Uint8Array(new Float32Array([1.5]).buffer)) },
      { key: 'bool', type: 7, write: (b) => b.u8(1) },
      { key: 'u64', type: 10, write: (b) => b.u64(2n ** 63n + 5n) },
      { key: 'i64', type: 11, write: (b) => b.u64(-3n) },
      { key: 'f64', type: 12, write: (b) => b.raw(new Uint8Array(new Float64Array([0.1]).buffer)) },
      { key: 'general.alignment', type: 4, write: (b) => b.u32(64) },
      { key: 'bools', type: 9, write: (b) => b.u32(7).u64(2).u8(0).u8(1) },
      { key: 'empty', type: 9, write: (b) => b.u32(8).u64(0) },
    ];
    const h = gguf({ version: 2, kvs, tensors: [{ name: 't', dims: [4], type: 0, offset: 0 }], alignment: 64, data: new Uint8Array(16) });
    expect(h.version).toBe(2);
    expect(h.alignment).toBe(64);
    expect(h.tensors[0]!.offset % 64).toBe(0);
    const m = Object.fromEntries([...h.metadata].map(([k, v]) => [k, v.value]));
    expect(m).toMatchObject({ u8: 200, i8: -1, u16: 0x1234, i16: -2, i32: -5, f32: 1.5, bool: true, u64: 2n ** 63n + 5n, i64: -3n, f64: 0.1, 'general.alignment': 64 });
    expect(m.bools).toEqual({ itemType: 'bool', items: [false, true] });
    expect(m.empty).toEqual({ itemType: 'string', items: [] });
  });

  it('reads a file with no tensors and a 0-d tensor', () => {
    expect(gguf({ kvs: [], tensors: [], data: new Uint8Array(0) }).tensors).toEqual([]);
    const h = gguf({ kvs: [], tensors: [{ name: 's', dims: [], type: 0, offset: 0 }], data: new Uint8Array(4) });
    expect(h.tensors[0]).toMatchObject({ shape: [], elements: 1, byteLength: 4 });
  });
});

describe('GGUF header, malformed: a RangeError naming the field and the byte offset', () => {
  const bad = (spec: GgufSpec, message: RegExp) => {
    expect(() => gguf(spec)).toThrow(RangeError);
    expect(() => gguf(spec)).toThrow(message);
  };
  const sample = sampleGguf;
  const withTensor = (patch: Partial<GgufSpec['tensors'][0]>, index = 0): GgufSpec => {
    const s = sample();
    s.tensors[index] = { ...s.tensors[index]!, ...patch };
    return s;
  };

  it('truncated anywhere', () => {
    const bytes = ggufBytes(sample());
    for (const cut of [0, 3, 7, 15, 23, 30, 60, 120, 200])
      expect(() => parseGguf(bufferSource(bytes.subarray(0, cut), 'f.gguf'))).toThrow(/^f\.gguf: .* at byte \d+: /);
    expect(() => parseGguf(bufferSource(bytes.subarray(0, bytes.length - 1), 'f.gguf'))).toThrow(/tensor "b\.weight" offset at byte \d+: data 256…290 is past the end/);
  });
  it('bad magic, v1, big-endian, unknown version', () => {
    bad({ ...sample(), magic: 0x12345678 }, /magic at byte 0: is 0x12345678, not "GGUF"/);
    bad({ ...sample(), version: 1 }, /version at byte 4: is 1 \(GGUF v1 is not supported\)/);
    bad({ ...sample(), version: 0x03000000 }, /big-endian/);
    bad({ ...sample(), version: 9 }, /version at byte 4: is 9, not 2 or 3/);
  });
  it('lying counts are refused before anything is allocated for them', () => {
    bad({ ...sample(), tensorCount: 2n ** 40n }, /tensor count at byte 8: a tensor count .* is more than/);
    bad({ ...sample(), kvCount: 2n ** 62n }, /metadata count at byte 16: .* is more than/);
    bad({ ...sample(), kvCount: 5 }, /at byte \d+: /);
    const s = sample();
    s.kvs.push({ key: 'big', type: 9, write: (b) => b.u32(12).u64(2n ** 50n) });
    bad(s, /metadata "big" count at byte \d+: 1125899906842624 items of f64 need at least/);
  });
  it('lying string lengths, non-UTF-8 strings, unknown value types, bad bools, deep nesting', () => {
    const s1 = sample();
    s1.kvs[0] = { key: 'general.architecture', type: 8, write: (b) => b.u64(2n ** 32n).raw([65]) };
    bad(s1, /metadata "general\.architecture" length at byte 56: 4294967296 is more than the 16777216-byte limit/);
    const s2 = sample();
    s2.kvs[0] = { key: Uint8Array.of(0x67, 0xff, 0xfe), type: 8, write: (b) => b.str('x') };
    bad(s2, /metadata key 0 at byte 32: is not valid UTF-8/);
    const s3 = sample();
    s3.kvs[1] = { key: 'fixture.count', type: 13, write: (b) => b.u32(7) };
    bad(s3, /metadata "fixture\.count" type at byte \d+: is an unknown value type 13/);
    const s4 = sample();
    s4.kvs[1] = { key: 'flag', type: 7, write: (b) => b.u8(2) };
    bad(s4, /metadata "flag" at byte \d+: is a bool of 2/);
    const s5 = sample();
    s5.kvs[1] = { key: 'deep', type: 9, write: (b) => { for (let i = 0; i < 12; i++) b.u32(9).u64(1); b.u32(4).u64(0); } };
    bad(s5, /nests arrays more than 8 deep/);
  });
  it('duplicate keys and tensor names', () => {
    const s = sample();
    s.kvs.push({ key: 'fixture.count', type: 4, write: (b) => b.u32(8) });
    bad(s, /metadata key "fixture\.count" at byte \d+: appears twice/);
    bad(withTensor({ name: 'a.weight', offset: 256 }, 1), /tensor "a\.weight" name at byte \d+: appears twice/);
  });
  it('alignment that is not a u32 power of two', () => {
    const s = sample();
    s.kvs.push({ key: 'general.alignment', type: 4, write: (b) => b.u32(48) });
    bad(s, /general\.alignment" at byte 8: is u32 48, not a u32 power of two/);
    const t = sample();
    t.kvs.push({ key: 'general.alignment', type: 10, write: (b) => b.u64(32) });
    bad(t, /is u64 32/);
  });
  it('tensor infos: too many dims, product overflow, unknown type, rows not whole blocks', () => {
    bad(withTensor({ dims: [32, 2, 1, 1, 1] }), /tensor "a\.weight" n_dims at byte \d+: is 5, more than 4/);
    bad(withTensor({ dims: [2n ** 40n, 2n ** 20n] }), /tensor "a\.weight" dims at byte \d+: \[1099511627776, 1048576\] have more than 2⁵³ elements/);
    bad(withTensor({ dims: [2n ** 63n, 1] }), /tensor "a\.weight" ne\[0\] at byte \d+: a dimension of 9223372036854775808 is more than/);
    bad(withTensor({ type: 4 }), /tensor "a\.weight" type at byte \d+: is an unknown ggml type 4/);
    bad(withTensor({ type: 99 }), /unknown ggml type 99/);
    bad(withTensor({ dims: [16, 2] }, 1), /tensor "b\.weight" ne\[0\] at byte \d+: 16 is not a multiple of q8_0's block of 32/);
  });
  it('offsets unaligned, outside the file, overlapping', () => {
    bad(withTensor({ offset: 40 }, 1), /tensor "b\.weight" offset at byte \d+: 40 is not a multiple of the alignment 32/);
    bad(withTensor({ offset: 2n ** 40n }, 1), /tensor "b\.weight" offset at byte \d+: data 1099511627776…1099511627810 is past the end/);
    bad(withTensor({ offset: 2n ** 60n }, 1), /an offset of 1152921504606846976 is more than/);
    bad(withTensor({ offset: 224 }, 1), /tensor "b\.weight" offset at byte \d+: 224 overlaps the tensor data before it \(which ends at 256\)/);
  });
});

describe('safetensors header, hand-built', () => {
  it('reads metadata, tensors in file order and their absolute offsets', () => {
    const { header, data } = sampleSafetensors();
    const bytes = safetensorsBytes(header, data);
    const h = parseSafetensors(bufferSource(bytes, 'f.safetensors'));
    const n = bytes.length - data.length;
    expect(h.metadata).toEqual({ format: 'pt' });
    expect(h.dataOffset).toBe(n);
    expect(h.tensors.map((t) => [t.name, t.type, t.shape, t.offset, t.byteLength])).toEqual([
      ['x', 'f32', [2, 2], n, 16],
      ['y', 'f16', [2], n + 16, 4],
    ]);
    expect(parseModelHeader(bufferSource(bytes, 'f')).format).toBe('safetensors');
  });
  it('reads every dtype, scalars and empty tensors', () => {
    const dtypes: [string, number][] = [['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['F8_E4M3', 1], ['F8_E5M2', 1], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1], ['U8', 1], ['BOOL', 1]];
    const header: Record<string, unknown> = {};
    let at = 0;
    for (const [dtype, size] of dtypes) {
      header[dtype.toLowerCase()] = { dtype, shape: [3], data_offsets: [at, at + 3 * size] };
      at += 3 * size;
    }
    header.scalar = { dtype: 'F32', shape: [], data_offsets: [at, at + 4] };
    header.empty = { dtype: 'F32', shape: [0, 5], data_offsets: [at + 4, at + 4] };
    const h = st(header, new Uint8Array(at + 4));
    expect(h.tensors.map((t) => t.type)).toEqual(['f64', 'f32', 'f16', 'bf16', 'f8_e4m3', 'f8_e5m2', 'i64', 'i32', 'i16', 'i8', 'u8', 'bool', 'f32', 'f32']);
  });
});

describe('safetensors header, malformed', () => {
  const { header, data } = sampleSafetensors();
  const bad = (h: unknown, d: Uint8Array, message: RegExp, length?: number | bigint) => {
    expect(() => st(h, d, length)).toThrow(RangeError);
    expect(() => st(h, d, length)).toThrow(message);
  };
  const patch = (name: string, entry: unknown) => ({ ...header, [name]: entry });

  it('lengths: truncated, lying, over the format limit', () => {
    expect(() => parseSafetensors(bufferSource(new Uint8Array(5), 'f'))).toThrow(/^f: header length at byte 0: needs 8 bytes, the file has 5 left/);
    bad(header, data, /header at byte 8: needs 4000 bytes/, 4000);
    bad(header, data, /header length at byte 0: a header length of 200000000 is more than 100000000/, 200_000_000);
    bad(header, data, /more than/, 2n ** 63n);
  });
  it('not JSON, not an object, not UTF-8, duplicate keys', () => {
    bad('{"x": ', data, /header at byte 8: is not JSON/);
    bad('[1, 2]', data, /header at byte 8: is not a JSON object/);
    expect(() => parseSafetensors(bufferSource(new Bytes().u64(3).raw([0x7b, 0xff, 0x7d]).bytes(), 'f'))).toThrow(/header at byte 8: is not valid UTF-8/);
    const text = '{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}';
    bad(text, new Uint8Array(4), /header key "x" at byte 70: appears twice/);
  });
  it('entries: unknown dtype, bad shape, bad or lying offsets, holes, overlaps, metadata values', () => {
    bad(patch('x', { dtype: 'F33', shape: [2, 2], data_offsets: [0, 16] }), data, /tensor "x"\.dtype at byte 8: is an unknown dtype "F33"/);
    bad(patch('x', { dtype: 'F32', shape: [2, -2], data_offsets: [0, 16] }), data, /tensor "x"\.shape at byte 8: is not an array of non-negative integers/);
    bad(patch('x', { dtype: 'F32', shape: [2 ** 30, 2 ** 30, 2 ** 30], data_offsets: [0, 16] }), data, /has more than 2⁵³ elements/);
    bad(patch('x', { dtype: 'F32', shape: [2, 2], data_offsets: [16, 0] }), data, /data_offsets at byte 8: is not \[begin, end\]/);
    bad(patch('x', { dtype: 'F32', shape: [2, 3], data_offsets: [0, 16] }), data, /span 16 bytes, but F32 \[2,3\] is 24/);
    bad(patch('x', { dtype: 'F32', shape: [2, 2], data_offsets: [2 ** 40, 2 ** 40 + 16] }), data, /end 1099511627792 is past the file's 20 data bytes/);
    bad(patch('x', { dtype: 'F32', shape: [2, 2], data_offsets: [2, 18] }), data, /overlaps the tensor before it|leaves a hole/);
    bad(patch('y', { dtype: 'F16', shape: [1], data_offsets: [16, 18] }), data, /the tensors cover 18 of the 20 data bytes/);
    bad(patch('__metadata__', { format: 5 }), data, /__metadata__\.format at byte 8: is number, not a string/);
  });
});
