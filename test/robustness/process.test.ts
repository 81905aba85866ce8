/**
 * The process survives what a worker pool does to it: workers terminated or exiting with sparq
 * calls in flight, and allocations that fail inside pool tasks. Each scenario runs in a child
 * process (test/fixtures/*.js), so an abort shows up as its exit status instead of killing vitest.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const fixtures = path.join(__dirname, '..', 'fixtures');

function run(script: string, args: string[] = []) {
  const child = spawnSync(process.execPath, [path.join(fixtures, script), ...args], { encoding: 'utf8', timeout: 300_000 });
  const report = `exit ${child.status} signal ${child.signal}\nstdout: ${child.stdout}\nstderr: ${child.stderr}`;
  return { child, report };
}

function hasPrlimit(): boolean {
  return spawnSync('prlimit', ['--version'], { encoding: 'utf8' }).status === 0;
}

// Under AddressSanitizer (scripts/test-asan.sh) the process reserves terabytes of address space
// for shadow memory, so no address-space limit can be set on it.
const sanitized = (process.env['LD_PRELOAD'] ?? '').includes('libasan');

describe('worker threads', () => {
  it('survive 100 rounds of workers terminated or exiting mid-call, and the main thread still computes exactly', () => {
    const { child, report } = run('terminate-workers.js', ['100']);
    expect(child.status, report).toBe(0);
    const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
    expect(result, report).toEqual({ rounds: 100, workers: 300, exact: true, asyncLength: 64 * 256 });
  });
});

describe.skipIf(process.platform !== 'linux' || !hasPrlimit() || sanitized)(
  'allocation failure inside a pool task (Linux with prlimit; not under ASan, which needs an unlimited address space)', () => {
  it('is a RangeError naming the call, sync and async, on 1 and 2 threads; results stay exact afterwards', () => {
    const { child, report } = run('alloc-failure.js');
    expect(child.status, report).toBe(0);
    const { results, big, expected } = JSON.parse(child.stdout.trim().split('\n').pop()!);
    expect(results.map((r: { threads: number }) => r.threads)).toEqual([2, 1]);
    for (const r of results) {
      expect(r.errors, report).toEqual([
        'sync: RangeError: gemmF32: out of memory (a native allocation failed; nothing was changed)',
        'async: RangeError: gemmF32Async: out of memory (a native allocation failed; nothing was changed)',
      ]);
      expect(r.exact, report).toBe(true);
    }
    expect(big).toBe(expected);
  });
});
