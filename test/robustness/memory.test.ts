/**
 * Native memory users and the GC can see (test/fixtures/memory-slope.js, in a child with
 * --expose-gc): no growth per call, create-and-dispose or hot, per family; dispose() gives a large
 * matrix back to the OS without a GC; nativeMemory() tracks it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import * as sparq from '../../lib/index';

it.skipIf(process.platform !== 'linux')('RSS slope ≤ 8 bytes/call over 10⁵ calls per family; dispose() returns RSS at once', () => {
  const script = path.join(__dirname, '..', 'fixtures', 'memory-slope.js');
  const child = spawnSync(process.execPath, ['--expose-gc', script, '100000', '', '50000'], { encoding: 'utf8', timeout: 300_000 });
  const report = `exit ${child.status} signal ${child.signal}\nstdout: ${child.stdout}\nstderr: ${child.stderr}`;
  expect(child.status, report).toBe(0);
  const r = JSON.parse(child.stdout.trim().split('\n').pop()!);
  expect(Object.keys(r.slopes)).toHaveLength(10);
  for (const [family, slope] of Object.entries(r.slopes)) expect(slope as number, `${family}: ${report}`).toBeLessThanOrEqual(8);
  // packF32 of 4096×16384 holds its 256 MiB; nativeMemory reports it within 5%; dispose returns it.
  expect(Math.abs(r.reported - r.byteLength) / r.byteLength, report).toBeLessThanOrEqual(0.05);
  expect(r.held / r.byteLength, report).toBeGreaterThan(0.95);
  expect(r.afterDispose / r.byteLength, report).toBeLessThan(0.05);
}, 320_000);

it('nativeMemory() counts a layout packed later for another tier, and frees it with the matrix', () => {
  const tiers = sparq.cpuInfo().supported;
  if (tiers.length < 2) return expect(tiers).toEqual(['scalar']);
  const before = sparq.nativeMemory().objects;
  const w = sparq.packInt8(new Int8Array(256 * 256).fill(1), 256, 256);
  const first = sparq.nativeMemory().objects - before;
  const other = tiers.find((t) => t !== sparq.isa())!;
  sparq.setIsa(other);
  try {
    sparq.gemmS8S8(new Int8Array(256), w, 1);
  } finally {
    sparq.setIsa(null);
  }
  const grown = sparq.nativeMemory().objects - before;
  // The second layout is at least the 64 KiB of codes again (scalar keeps the rows as they are).
  expect(grown, `${first} → ${grown} after a ${other} call`).toBeGreaterThanOrEqual(first + (other === 'scalar' ? 0 : 65536));
  w.dispose();
  expect(sparq.nativeMemory().objects).toBe(before);
});
