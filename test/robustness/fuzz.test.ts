/**
 * Property-based fuzzing of every public entry point (test/fixtures/fuzz-entry-points.js) with
 * hostile values: wrong kinds, SharedArrayBuffer, detached and resizable buffers, forged tags,
 * Proxies, throwing getters, valueOf side effects, BigInt, NaN/±Infinity/−0/2³¹/2⁵³ dims,
 * odd-offset views, disposed handles; then with valid calls of random shape, values, views, tier,
 * threads and sync/async, compared with the reference (test/fixtures/fuzz-valid-calls.js). Each
 * runs in a child process so a crash is caught with its input. FUZZ_CALLS and FUZZ_VALID_CALLS set
 * the counts (10⁵ and 10⁴ by default, as CI runs them).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';

const calls = Number(process.env['FUZZ_CALLS'] ?? 100_000);
const validCalls = Number(process.env['FUZZ_VALID_CALLS'] ?? 10_000);

/**
 * Runs a fuzzing fixture in a child with (count, seed). Each input goes to the child's stderr
 * before its call, so a crash's report ends with the input that caused it.
 */
function runFixture(name: string, count: number, seed: string) {
  const script = path.join(__dirname, '..', 'fixtures', name);
  const child = spawnSync(process.execPath, [script, String(count), seed], { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20 });
  const lastInputs = child.stderr.trim().split('\n').slice(-3).join('\n');
  const report = `exit ${child.status} signal ${child.signal}; last inputs:\n${lastInputs}\nstdout: ${child.stdout.slice(-4000)}`;
  expect(child.status, report).toBe(0);
  return { result: JSON.parse(child.stdout.trim().split('\n').pop()!), report };
}

it(`${calls} hostile calls: no crash, and every error is a TypeError or RangeError with a message`, () => {
  const { result, report } = runFixture('fuzz-entry-points.js', calls, '20261202');
  expect(result.wrong, report).toEqual([]);
  expect(result).toEqual({ calls, wrongClass: 0, wrong: [] });
}, 700_000);

it(`${validCalls} valid calls of random shape, values, views, tier, threads and sync/async equal the reference`, () => {
  const { result, report } = runFixture('fuzz-valid-calls.js', validCalls, '20261204');
  expect(result.mismatches, report).toEqual([]);
  expect(result.calls).toBe(validCalls);
}, 700_000);
