/**
 * Mutation fuzzing of the model-file parsers and everything behind them
 * (test/fixtures/fuzz-model-files.js): FUZZ_FILES mutated files (10⁵ by default, as CI runs them,
 * also under ASan), each parsed or refused with a well-formed RangeError, and each one that parses
 * opened through the native mapping with every tensor read, decoded, adopted and run. The child
 * process catches a crash with the case that caused it.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';

const files = Number(process.env['FUZZ_FILES'] ?? 100_000);

it(`${files} mutated GGUF and safetensors files: parsed or refused with a RangeError naming field and byte, never a crash`, () => {
  const script = path.join(__dirname, '..', 'fixtures', 'fuzz-model-files.js');
  const child = spawnSync(process.execPath, [script, String(files), '20261205'], { encoding: 'utf8', timeout: 900_000, maxBuffer: 64 << 20 });
  const report = `exit ${child.status} signal ${child.signal}; last case: ${child.stderr.trim().split('\n').slice(-2).join(' | ')}\nstdout: ${child.stdout.slice(-4000)}`;
  expect(child.status, report).toBe(0);
  const result = JSON.parse(child.stdout.trim().split('\n').pop()!);
  expect(result.wrong, report).toEqual([]);
  expect(result.files).toBe(files);
  expect(result.parsed + result.refused).toBe(files);
  // The native side must really have been exercised: a fair share of the mutants parse and open.
  expect(result.opened).toBe(result.parsed);
  expect(result.parsed).toBeGreaterThan(files / 50);
  expect(result.tensorsRead).toBeGreaterThan(result.opened);
  console.log(`fuzz-files: ${JSON.stringify(result)}`);
}, 900_000);
