#!/usr/bin/env node
// Stands in for node-gyp when prebuildify runs (`--node-gyp scripts/prebuild-cmake.js`): takes
// node-gyp's `rebuild --target=… --arch=… --release` and builds the addon with cmake-js instead.
// prebuildify runs it in a staging directory and collects <staging>/build/Release/*.node.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const arch = flag('arch') ?? process.arch;
const debug = process.argv.includes('--debug');

const args = [require.resolve('cmake-js/bin/cmake-js'), 'rebuild', '--directory', root, '--out', path.resolve('build'), '--arch', arch, '--log-level', 'warn'];
if (debug) args.push('--debug');
if (arch !== process.arch) {
  const toolchains = { arm64: 'aarch64-linux-gnu.cmake' };
  if (!toolchains[arch]) {
    console.error(`prebuild-cmake: no cross toolchain file for ${process.arch} → ${arch}`);
    process.exit(1);
  }
  args.push(`--CDCMAKE_TOOLCHAIN_FILE=${path.join(root, 'cmake', toolchains[arch])}`);
}
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
