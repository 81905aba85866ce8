#!/usr/bin/env node
// `npm run prebuild`: Node-API prebuilds for linux-x64 and linux-arm64 in prebuilds/<platform>-<arch>/,
// made by prebuildify with cmake-js doing the compiling (scripts/prebuild-cmake.js). Each arch builds
// in its own staging directory so the local build in build/ is never touched.
// arm64 needs the cross compiler: apt-get install g++-aarch64-linux-gnu binutils-aarch64-linux-gnu.
// Usage: node scripts/prebuild.js [x64] [arm64]   (default: both where a compiler exists)
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));
const wanted = process.argv.slice(2);
const arches = wanted.length > 0 ? wanted : [process.arch, ...(process.arch === 'x64' ? ['arm64'] : [])];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

for (const arch of arches) {
  const cross = arch !== process.arch;
  if (cross && !has('aarch64-linux-gnu-g++')) {
    const message = `prebuild: skipping linux-${arch}: aarch64-linux-gnu-g++ is not installed`;
    if (wanted.length > 0) throw new Error(message);
    console.warn(message);
    continue;
  }
  const staging = path.join(root, 'build-prebuild', arch);
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ name: pkg.name, version: pkg.version, binary: pkg.binary }));
  const args = [
    require.resolve('prebuildify/bin.js'),
    '--napi',
    '--strip',
    `--arch=${arch}`,
    `--cwd=${staging}`,
    `--out=${root}`,
    `--node-gyp=${path.join(__dirname, 'prebuild-cmake.js')}`,
  ];
  const env = { ...process.env, PREBUILD_STRIP_BIN: cross ? 'aarch64-linux-gnu-strip' : 'strip' };
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
  const dir = path.join(root, 'prebuilds', `linux-${arch}`);
  console.log(`prebuild: ${dir}: ${fs.readdirSync(dir).join(', ')}`);
}
