/**
 * The sparq command: help, subcommands, and usage errors (exit 2 with a message naming the flag).
 * The demo itself is what `npm start` runs in CI; here only its argument handling.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORM_VARIANTS, methodVariants, TOOLKIT_VARIANTS } from '../lib/cli/methods';
import { checkRecipe } from '../lib/compress/compress';

const cli = path.join(__dirname, '..', 'dist', 'cli.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('sparq command', () => {
  it('--help lists the commands; each command has its own help', () => {
    const main = run('--help');
    expect(main.status).toBe(0);
    for (const command of ['demo', 'info', 'bench', 'embed', 'compress']) expect(main.stdout).toContain(`  ${command}`);
    const demo = run('demo', '--help');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toContain('--full');
    expect(demo.stdout).toContain('--methods');
    expect(run('embed', '-h').stdout).toContain('--format <form>');
  });

  it("the demo's rows: unique labels, every recipe valid (the shipped recipes too)", () => {
    for (const rows of [[...FORM_VARIANTS, ...TOOLKIT_VARIANTS], methodVariants()]) {
      expect(new Set(rows.map(([label]) => label)).size).toBe(rows.length);
      for (const [, how] of rows) if (typeof how === 'object' && 'recipe' in how) expect(() => checkRecipe(how.recipe)).not.toThrow();
    }
    expect(methodVariants().length).toBeGreaterThan(40);
    for (const file of readdirSync(path.join(__dirname, '../recipes'))) expect(() => checkRecipe(JSON.parse(readFileSync(path.join(__dirname, '../recipes', file), 'utf8')))).not.toThrow();
  });

  it('compress names a recipe it cannot read, with exit 1', () => {
    const result = run('compress', '--recipe', '/nonexistent/r.json', '--no-progress');
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--recipe \/nonexistent\/r.json: ENOENT/);
    expect(run('compress', '--help').stdout).toContain('--calibration <n>');
  });

  it('info reports the tier in use', () => {
    const info = run('info', '--isa', 'scalar', '--threads', '1');
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/in use: +scalar {2}\(threads: 1\)/);
  });

  it('embed prints 512 unit-length values per text as JSON, in the form asked for', () => {
    const result = run('embed', '--json', '--format', 'int8', 'The cat sat on the mat.', 'Stocks fell.');
    expect(result.status, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as number[][];
    expect(rows.map((r) => r.length)).toEqual([512, 512]);
    for (const row of rows) expect(Math.hypot(...row)).toBeCloseTo(1, 5);
  });

  it.each([
    [['frob'], /unknown command 'frob'/],
    [['demo', '--bogus'], /Unknown option '--bogus'/],
    [['demo', '--seconds', 'abc'], /--seconds: expected a positive number, received 'abc'/],
    [['info', '--threads', '0'], /--threads: expected a positive integer, received '0'/],
    [['info', '--isa', 'sse9'], /--isa: expected one of scalar, avx2/],
    [['embed'], /embed: expected at least one text/],
    [['embed', '--format', 'q3', 'x'], /--format: expected one of f32, int8/],
    [['info', 'extra'], /Unexpected argument 'extra'/],
    [['compress'], /compress: expected --recipe <file.json>/],
    [['compress', '--recipe', 'r.json', '--calibration', '0'], /--calibration: expected a positive integer, received '0'/],
    [['compress', 'in.gguf', 'out.gguf', 'more', '--recipe', 'r.json'], /compress: expected at most an input and an output file, received 3 arguments/],
    [['compress', 'in.gguf', 'out.bin', '--recipe', 'r.json'], /compress: expected the output file to end .gguf or .safetensors, received 'out.bin'/],
  ])('rejects %j with exit 2', (args, message) => {
    const result = run(...args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
