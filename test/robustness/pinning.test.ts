/** Where the pool's workers run (setPinning / SPARQ_PIN): placed as asked, results never depend on it. */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import * as sparq from '../../lib/index';
import { native } from '../../lib/native';
import { expectSameFloats, expectThrows, randomFloats } from '../helpers';

afterAll(() => {
  sparq.setPinning('off');
  sparq.setThreads();
});

/** "0-1,4" → [0, 1, 4]: the kernel's CPU-list format in /proc. */
function cpuList(text: string): number[] {
  return text.split(',').flatMap((range) => {
    const [lo, hi = lo] = range.split('-').map(Number);
    return Array.from({ length: hi! - lo! + 1 }, (_, i) => lo! + i);
  });
}
const allowedOf = (status: string) => cpuList(/^Cpus_allowed_list:\s*(\S+)$/m.exec(status)![1]!);

/** The CPUs each pool worker may run on, read from /proc (the workers are named sparq-pool). */
function workerCpus(): number[][] {
  const tasks = '/proc/self/task';
  return readdirSync(tasks)
    .filter((tid) => readFileSync(path.join(tasks, tid, 'comm'), 'utf8').trim() === 'sparq-pool')
    .map((tid) => allowedOf(readFileSync(path.join(tasks, tid, 'status'), 'utf8')));
}

const processCpus = process.platform === 'linux' ? allowedOf(readFileSync('/proc/self/status', 'utf8')) : [];

it('every mode gives the same bits; pinning() reports the mode; bad modes are refused', () => {
  expect(sparq.PINNINGS).toEqual(['off', 'fixed', 'caller']);
  const w = sparq.packF32(randomFloats(64 * 128, 1), 64, 128);
  const x = randomFloats(32 * 128, 2);
  sparq.setThreads(2);
  sparq.setPinning('fixed');
  expect(sparq.pinning()).toBe('fixed');
  const fixed = sparq.linearF32(x, w, 32);
  for (const mode of ['caller', 'off'] as const) {
    sparq.setPinning(mode);
    expect(sparq.pinning()).toBe(mode);
    expectSameFloats(sparq.linearF32(x, w, 32), fixed, { pinning: mode });
  }
  expectThrows(() => sparq.setPinning(false as never), TypeError, "setPinning: expected mode: 'off', 'fixed' or 'caller', received boolean false");
  expectThrows(() => sparq.setPinning('on' as never), RangeError, `setPinning: expected mode: 'off', 'fixed' or 'caller', received string "on"`);
  // The binding re-checks the mode.
  expectThrows(() => native.setPinning('on' as never), RangeError, "setPinning: expected mode: 'off', 'fixed' or 'caller'");
});

it.skipIf(process.platform !== 'linux' || processCpus.length < 2)(
  'workers are placed as the mode says (Linux, ≥ 2 CPUs in the affinity mask)',
  () => {
    const w = sparq.packF32(randomFloats(64 * 256, 3), 64, 256);
    const x = randomFloats(64 * 256, 4);
    sparq.setThreads(2);

    sparq.setPinning('fixed'); // worker 0 on the second CPU of the mask
    sparq.linearF32(x, w, 64);
    expect(workerCpus()).toEqual([[processCpus[1]]]);

    sparq.setPinning('caller'); // one CPU of the mask, re-chosen as the caller moves
    sparq.linearF32(x, w, 64);
    const [callerPlaced] = workerCpus();
    expect(callerPlaced).toHaveLength(1);
    expect(processCpus).toContain(callerPlaced![0]);

    sparq.setPinning('off'); // anywhere the process may run
    sparq.linearF32(x, w, 64);
    expect(workerCpus()).toEqual([processCpus]);
  },
);

it('SPARQ_PIN sets the mode at load (0/1 mean off/fixed; unset or unknown: off, the default)', () => {
  const index = path.join(__dirname, '..', '..', 'dist', 'index.js');
  for (const [value, mode] of [[undefined, 'off'], ['0', 'off'], ['off', 'off'], ['1', 'fixed'], ['fixed', 'fixed'], ['caller', 'caller'], ['yes', 'off']]) {
    const env = { ...process.env, SPARQ_PIN: value };
    if (value === undefined) delete env['SPARQ_PIN'];
    const child = spawnSync(process.execPath, ['-p', `require(${JSON.stringify(index)}).pinning()`], { encoding: 'utf8', env });
    expect(child.stdout.trim(), `SPARQ_PIN=${value}: ${child.stderr}`).toBe(mode);
  }
});
