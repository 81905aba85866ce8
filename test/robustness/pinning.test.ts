/** The pinning switch (setPinning / SPARQ_PIN=0): results never depend on it. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as sparq from '../../lib/index';
import { expectSameFloats, expectThrows, randomFloats } from '../helpers';

afterAll(() => sparq.setPinning(true));

it('setPinning(false) re-creates the workers unpinned; results are the same bits either way', () => {
  const w = sparq.packF32(randomFloats(64 * 128, 1), 64, 128);
  const x = randomFloats(32 * 128, 2);
  sparq.setThreads(2);
  sparq.setPinning(true);
  expect(sparq.pinning()).toBe(true);
  const pinned = sparq.linearF32(x, w, 32);
  sparq.setPinning(false);
  expect(sparq.pinning()).toBe(false);
  expectSameFloats(sparq.linearF32(x, w, 32), pinned, { pinning: false });
  expectThrows(() => sparq.setPinning(0 as never), TypeError, 'setPinning: expected on: a boolean, received number 0');
});

it('SPARQ_PIN=0 starts with pinning off', () => {
  const index = path.join(__dirname, '..', '..', 'dist', 'index.js');
  const child = spawnSync(process.execPath, ['-p', `require(${JSON.stringify(index)}).pinning()`], {
    encoding: 'utf8',
    env: { ...process.env, SPARQ_PIN: '0' },
  });
  expect(child.stdout.trim(), child.stderr).toBe('false');
});
