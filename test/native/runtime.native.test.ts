/** Tier detection, the tier cap and the thread pool. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuInfo, isa, setIsa, setThreads, threads } from '../../lib/index';
import { tiersOfThisArch } from '../helpers';

const expected = process.env['SPARQ_EXPECT_ISA'];
const explicitAddon = process.env['SPARQ_NATIVE'];
const sanitized = (process.env['LD_PRELOAD'] ?? '').includes('libasan');

describe('runtime', () => {
  afterAll(() => {
    setIsa(null);
    setThreads();
  });

  it.skipIf(!expected)(
    `picks ${expected ?? 'the expected tier'} as the best tier on this CPU (skipped unless SPARQ_EXPECT_ISA names it)`,
    () => {
      expect(cpuInfo().supported.at(-1)).toBe(expected);
      expect(isa()).toBe(expected);
    },
  );

  // scripts/test-asan.sh and scripts/test-arm64.sh load another build through SPARQ_NATIVE: prove
  // that this process runs that file (and, under ASan, with the sanitizer runtime in it).
  it.skipIf(!explicitAddon || process.platform !== 'linux')(
    `runs the addon named by SPARQ_NATIVE (skipped unless it is set, on Linux): ${explicitAddon ?? ''}`,
    () => {
      cpuInfo(); // the addon is loaded by now
      const maps = readFileSync('/proc/self/maps', 'utf8');
      expect(maps).toContain(path.resolve(explicitAddon!));
      if (sanitized) expect(maps).toMatch(/libasan\.so/);
    },
  );

  it('reports what the CPU has, what was built and what runs', () => {
    const info = cpuInfo();
    expect(info.arch).toBe(process.arch === 'arm64' ? 'arm64' : process.arch === 'x64' ? 'x64' : 'other');
    expect(info.built[0]).toBe('scalar');
    expect(info.supported[0]).toBe('scalar');
    for (const t of info.supported) expect(info.built).toContain(t);
    // Each supported tier is backed by the features it needs.
    const needs: Record<string, string[]> = {
      avx2: ['avx2', 'fma'],
      avx512: ['avx512f', 'avx512bw', 'avx512vl'],
      avx512vnni: ['avx512vnni'],
      neon: ['asimd'],
      neondot: ['asimddp'],
      i8mm: ['i8mm'],
    };
    for (const t of info.supported) for (const f of needs[t] ?? []) expect(info.features).toContain(f);
  });

  it('caps the tier with setIsa and restores the default with setIsa(null)', () => {
    const best = isa();
    for (const { tier, runs } of tiersOfThisArch()) {
      if (!runs) {
        expect(() => setIsa(tier)).toThrow(RangeError);
        continue;
      }
      setIsa(tier);
      expect(isa()).toBe(tier);
      expect(cpuInfo().isa).toBe(tier);
    }
    setIsa(null);
    expect(isa()).toBe(best);
  });

  it('sets and restores the thread count', () => {
    setThreads(1);
    expect(threads()).toBe(1);
    setThreads(3);
    expect(threads()).toBe(3);
    setThreads();
    expect(threads()).toBeGreaterThanOrEqual(1);
  });
});
