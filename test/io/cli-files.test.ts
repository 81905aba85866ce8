/** sparq inspect, convert and quantize on real files: what they print, what they write, how they fail. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, openModel, quantize, saveGguf, type GgufValue } from '../../lib/index';
import { dequantizeKQuant, quantizeKQuant } from '../../lib/reference/index';
import { randomFloats } from '../helpers';
import { ggufBytes, sampleGguf } from './fixtures';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
const dir = mkdtempSync(join(tmpdir(), 'sparq-cli-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);

const n = 48, k = 64;
const w = randomFloats(n * k, 31);
const bias = randomFloats(n, 32);
const metadata = new Map<string, GgufValue>([
  ['general.architecture', { type: 'string', value: 'cli-test' }],
  ['layers', { type: 'u32', value: 2 }],
  ['vocab', { type: 'array', value: { itemType: 'string', items: ['a', 'b'] } }],
]);
saveGguf(path('in.gguf'), [
  { name: 'w', type: 'f16', shape: [n, k], data: f32ToF16(w) },
  { name: 'b', type: 'f32', shape: [n], data: bias },
  { name: 'q', type: 'q4_0', shape: [n, k], data: quantize(w, n, k, 'q4_0').toBytes() },
], { metadata });

describe('sparq inspect', () => {
  it('prints the format, metadata, a tensor table and totals per type', () => {
    const r = run('inspect', path('in.gguf'));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/in\.gguf: GGUF v3, alignment 32, [\d.]+ MB, 3 tensors, 3 metadata keys/);
    expect(r.stdout).toMatch(/general\.architecture\s+string "cli-test"/);
    expect(r.stdout).toMatch(/vocab\s+\[string × 2\] "a", "b"/);
    expect(r.stdout).toMatch(/ q\s+q4_0\s+\[48,64\]\s+1728\n/);
    expect(r.stdout).toMatch(/ f16\s+1\s+3072\s+0\.006\s+16\.00/);
    const json = JSON.parse(run('inspect', path('in.gguf'), '--json').stdout);
    expect(json.byType.q4_0).toEqual({ tensors: 1, elements: 3072, bytes: 1728 });
  });

  it('names the file and the field when the file is malformed; exit 1', () => {
    const bytes = ggufBytes({ ...sampleGguf(), version: 7 });
    writeFileSync(path('bad.gguf'), bytes);
    const r = run('inspect', path('bad.gguf'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/sparq: .*bad\.gguf: version at byte 4: is 7, not 2 or 3/);
    expect(run('inspect', path('none.gguf')).stderr).toMatch(/cannot read '.*none\.gguf': cannot open: No such file/);
    expect(run('inspect').status).toBe(2);
    expect(run('inspect', 'a', 'b').stderr).toMatch(/inspect: expected a file, received 2 arguments/);
  });
});

describe('sparq convert and quantize', () => {
  it('GGUF → safetensors → GGUF is lossless: block tensors travel as their bytes and come back typed', () => {
    const r0 = run('convert', path('in.gguf'), path('back.safetensors'));
    expect(r0.status, r0.stderr).toBe(0);
    expect(r0.stdout).toMatch(/1 tensors q4_0 → i8/);
    const back = run('convert', path('back.safetensors'), path('back.gguf'));
    expect(back.status, back.stderr).toBe(0);
    using original = openModel(path('in.gguf'));
    using restored = openModel(path('back.gguf'));
    expect(restored.tensor('q')).toMatchObject({ type: 'q4_0', shape: [n, k] });
    expect(restored.bytes('q')).toEqual(original.bytes('q'));
    expect([...restored.metadata.keys()].some((key) => key.startsWith('sparq.ggml_type.'))).toBe(false);
  });

  it('GGUF → safetensors (--type f32) → GGUF keeps values', () => {
    const r1 = run('convert', path('in.gguf'), path('mid.safetensors'), '--type', 'f32');
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/1 tensors q4_0 → f32/);
    const r2 = run('convert', path('mid.safetensors'), path('out.gguf'), '--type', 'f16');
    expect(r2.status, r2.stderr).toBe(0);
    using a = openModel(path('in.gguf'));
    using mid = openModel(path('mid.safetensors'));
    using b = openModel(path('out.gguf'));
    expect(mid.metadata.get('general.architecture')).toEqual({ type: 'string', value: 'cli-test' });
    expect(mid.metadata.get('vocab')).toEqual({ type: 'string', value: '["a","b"]' });
    expect(mid.toFloat32('q')).toEqual(a.toFloat32('q'));
    expect(b.tensor('w').type).toBe('f16');
    expect(b.tensor('b').type).toBe('f32'); // 1-D: kept
    expect(b.toFloat32('w')).toEqual(a.toFloat32('w'));
    expect(b.toFloat32('q')).toEqual(f16ToF32(f32ToF16(a.toFloat32('q'))));
    expect(mid.tensor('w').type).toBe('f32'); // f16 weights re-encoded too by --type f32
  });

  it('quantize writes ggml blocks equal to sparq.quantize of the values', () => {
    const r = run('quantize', path('in.gguf'), path('q8.gguf'), '--format', 'q8_0');
    expect(r.status, r.stderr).toBe(0);
    using f = openModel(path('q8.gguf'));
    expect(f.tensor('w').type).toBe('q8_0');
    expect(f.tensor('b').type).toBe('f32');
    expect(f.bytes('w')).toEqual(quantize(f16ToF32(f32ToF16(w)), n, k, 'q8_0').toBytes());
    expect(f.metadata.get('layers')).toEqual({ type: 'u32', value: 2 });
  });

  it('usage errors: exit 2 naming the flag; safetensors cannot take block types', () => {
    expect(run('quantize', path('in.gguf'), path('x.gguf')).stderr).toMatch(/quantize: expected --format q8_0, q4_0, q4_1, q4_K, q5_K or q6_K, received none/);
    expect(run("quantize", path("in.gguf"), path("x.gguf"), "--format", "q2_K").status).toBe(2);
    const s = run('convert', path('in.gguf'), path('x.safetensors'), '--type', 'q8_0');
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/safetensors has no block types/);
    expect(run('convert', path('in.gguf'), path('x.bin')).stderr).toMatch(/cannot tell the output format from '.*x\.bin'/);
  });
});

describe('sparq quantize to K-quants', () => {
  it('q4_K weights (rows of 256) are the reference quantizer\'s bytes; narrower rows keep their type', () => {
    const w2 = randomFloats(8 * 512, 41);
    saveGguf(path('wide.gguf'), [
      { name: 'wide', type: 'f32', shape: [8, 512], data: w2 },
      { name: 'narrow', type: 'f32', shape: [n, k], data: w },
    ]);
    const r = run('quantize', path('wide.gguf'), path('wide-q4_K.gguf'), '--format', 'q4_K');
    expect(r.status, r.stderr).toBe(0);
    using f = openModel(path('wide-q4_K.gguf'));
    expect(f.tensor('wide').type).toBe('q4_K');
    expect(f.tensor('narrow').type).toBe('f32');
    expect(f.bytes('wide')).toEqual(quantizeKQuant('q4_K', w2));
    expect(f.toFloat32('wide')).toEqual(dequantizeKQuant('q4_K', quantizeKQuant('q4_K', w2), w2.length));
  });
});
