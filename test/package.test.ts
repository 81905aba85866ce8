/**
 * The package as users meet it: `require` and `import` of the built dist/ (through the package's
 * own name and exports map), types for both, the error when the addon cannot load, and SPARQ_ISA.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuInfo } from '../lib/index';

const root = path.join(__dirname, '..');

function node(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const program = `
  const w = sparq.packInt8(new Int8Array([1, 2, 3, -4, -5, -6]), 2, 3);
  const c = sparq.gemmU8S8(new Uint8Array([1, 1, 1]), w, 1);
  const r = reference.gemmU8S8(new Uint8Array([1, 1, 1]), new Int8Array([1, 2, 3, -4, -5, -6]), 1, 2, 3);
  console.log(JSON.stringify({ c: [...c], r: [...r], isa: sparq.isa(), same: sparq.PackedInt8Matrix === w.constructor }));
`;

describe('package entry points', () => {
  it('works through require()', () => {
    const run = node(['-e', `const sparq = require('sparq'); const reference = require('sparq/reference'); ${program}`]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ c: [6, -15], r: [6, -15], isa: cpuInfo().isa, same: true });
  });

  it('works through import, sharing one module instance with require()', () => {
    const run = node([
      '--input-type=module',
      '-e',
      `import * as sparq from 'sparq'; import * as reference from 'sparq/reference';
       import { createRequire } from 'node:module';
       const cjs = createRequire(process.cwd() + '/')('sparq');
       if (cjs.packInt8 !== sparq.packInt8) throw new Error('two module instances');
       ${program}`,
    ]);
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ c: [6, -15], r: [6, -15], isa: cpuInfo().isa, same: true });
  });

  it('has types for ESM and CommonJS consumers', () => {
    const tsc = require.resolve('typescript/bin/tsc');
    const run = node([tsc, '-p', path.join('test', 'fixtures', 'tsconfig.json')]);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('says why, where it looked and how to build when the addon cannot load', () => {
    const run = node(['-e', "require('sparq')"], { SPARQ_NATIVE: '/nonexistent/sparq.node' });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`sparq: could not load its native addon for ${process.platform}-${process.arch}`);
    expect(run.stderr).toContain('/nonexistent/sparq.node');
    expect(run.stderr).toContain('npm rebuild sparq');
  });
});

describe('SPARQ_ISA', () => {
  it('caps the tier for the whole process', () => {
    const run = node(['-e', "process.stdout.write(require('sparq').isa())"], { SPARQ_ISA: 'scalar' });
    expect(run.stdout).toBe('scalar');
  });

  it('refuses an unknown tier or one this CPU lacks at load, naming the tiers it has', () => {
    const unknown = node(['-e', "require('sparq')"], { SPARQ_ISA: 'sse9' });
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/RangeError: sparq: SPARQ_ISA: unknown tier 'sse9'; valid tiers here: scalar/);
    const foreign = node(['-e', "require('sparq')"], { SPARQ_ISA: process.arch === 'arm64' ? 'avx2' : 'neon' });
    expect(foreign.status).not.toBe(0);
    expect(foreign.stderr).toMatch(/SPARQ_ISA: tier '\w+' is not built into this binary/);
  });
});
