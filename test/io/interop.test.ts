/**
 * GGUF files sparq writes, read by an independent parser (@huggingface/gguf, a devDependency):
 * the same metadata, tensor names, ggml type ids, ggml dims and data offsets.
 */
import { gguf } from '@huggingface/gguf';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { f32ToF16, GGML_TYPE_IDS, openModel, quantize, saveGguf, type GgufValue, type TensorData } from '../../lib/index';
import { quantizeKQuant } from '../../lib/reference/index';
import { randomFloats } from '../helpers';

const dir = mkdtempSync(join(tmpdir(), 'sparq-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('@huggingface/gguf reads sparq GGUF files as sparq does', async () => {
  const w = randomFloats(4 * 512, 51);
  const tensors: TensorData[] = [
    { name: 'token_embd.weight', type: 'f16', shape: [4, 512], data: f32ToF16(w) },
    { name: 'blk.0.attn_q.weight', type: 'q4_0', shape: [4, 512], data: quantize(w, 4, 512, 'q4_0').toBytes() },
    { name: 'blk.0.ffn_up.weight', type: 'q8_0', shape: [4, 512], data: quantize(w, 4, 512, 'q8_0').toBytes() },
    { name: 'blk.0.ffn_down.weight', type: 'q4_K', shape: [4, 512], data: quantizeKQuant('q4_K', w) },
    { name: 'blk.0.attn_v.weight', type: 'q6_K', shape: [4, 512], data: quantizeKQuant('q6_K', w) },
    { name: 'output_norm.weight', type: 'f32', shape: [512], data: w.subarray(0, 512) },
  ];
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', { type: 'string', value: 'llama' }],
    ['general.name', { type: 'string', value: 'sparq interop' }],
    ['llama.block_count', { type: 'u32', value: 1 }],
    ['llama.rope.freq_base', { type: 'f32', value: 10000 }],
    ['tokenizer.ggml.tokens', { type: 'array', value: { itemType: 'string', items: ['<s>', '</s>', 'ü'] } }],
    ['tokenizer.ggml.scores', { type: 'array', value: { itemType: 'f32', items: Float32Array.of(0, -1, -2.5) } }],
    ['general.file_type', { type: 'u32', value: 2 }],
  ]);
  const file = join(dir, 'interop.gguf');
  saveGguf(file, tensors, { metadata, alignment: 64 });
  const theirs = await gguf(file, { allowLocalFile: true });
  using ours = openModel(file);
  const meta = theirs.metadata as Record<string, unknown>;
  expect(meta['general.architecture']).toBe('llama');
  expect(meta['general.name']).toBe('sparq interop');
  expect(meta['llama.block_count']).toBe(1);
  expect(meta['llama.rope.freq_base']).toBe(10000);
  expect(meta['tokenizer.ggml.tokens']).toEqual(['<s>', '</s>', 'ü']);
  expect(meta['tokenizer.ggml.scores']).toEqual([0, -1, -2.5]);
  expect(meta['general.alignment']).toBe(64);
  expect(theirs.tensorInfos.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
  for (const info of theirs.tensorInfos) {
    const mine = ours.tensor(info.name);
    expect(info.dtype, info.name).toBe(GGML_TYPE_IDS[mine.type]);
    expect(info.shape.map(Number), info.name).toEqual([...mine.shape].reverse());
    expect(Number(info.offset) + (ours.tensors[0]!.offset), info.name).toBe(mine.offset);
  }
});
