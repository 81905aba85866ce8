#!/usr/bin/env node
// `npm install` hook: use a prebuild when one matches this platform and loads; otherwise build
// the addon from source with cmake-js. A git clone ships no prebuilds/, so it always builds.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuilds = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

function prebuildLoads() {
  if (!fs.existsSync(prebuilds)) return false;
  const probe = `require(${JSON.stringify(require.resolve('node-gyp-build'))}).path(${JSON.stringify(root)})`;
  const found = spawnSync(process.execPath, ['-e', `const p = ${probe}; require(p); console.log(p)`], { encoding: 'utf8' });
  if (found.status === 0 && found.stdout.includes(prebuilds)) {
    console.log(`sparq: using the prebuild ${found.stdout.trim()}`);
    return true;
  }
  return false;
}

if (process.env.npm_config_build_from_source === 'true' || !prebuildLoads()) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('sparq: building the native addon failed. It needs CMake ≥ 3.15 and a C++17 compiler (g++ or clang++).');
    process.exit(build.status ?? 1);
  }
}
