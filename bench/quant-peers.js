'use strict';
// Peers for sparq's block-quantized kernels: q4_0 weights as ORT com.microsoft MatMulNBits,
// ORT DynamicQuantizeLinear (both built in memory with onnx-model.js), and a plain memory
// read in WebAssembly SIMD, the bandwidth baseline of the cold q4_0 GEMV.
//
//   node quant-peers.js --check      self-check against plain JS references
//
// ggml q4_0 (the operand format): k/32 blocks of 18 bytes per row; f16 d (little-endian),
// then 16 bytes where byte j holds element j in the low nibble and element j+16 in the
// high nibble; w = (q − 8)·d.
// MatMulNBits (bits 4, block_size 32): B [n][k/32][16], byte i of a block holds element 2i
// in the low nibble and 2i+1 in the high nibble; scales f32 [n][k/32]; no zero_points
// input means zero point 8. So the conversion only re-pairs nibbles and widens d to f32:
// every dequantized weight is the same f32 value in both formats (|q − 8| ≤ 8 and d an f16
// need 11 + 4 significant bits, well inside f32's 24).

const onnx = require('./onnx-model');
const { WASM_PAGE, readableMemory, memoryReadModuleBytes, MemoryReader, sumWordsJs } = require('./memory-read');

const Q4_0_BLOCK = 32;
const Q4_0_BLOCK_BYTES = 18;
const Q4_ZERO_POINT = 8;

// ---------------------------------------------------------------------------
// f16

/** IEEE binary16 bits → number (exact). */
function f16ToF32(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (0x400 + mantissa) * 2 ** (exponent - 25);
}

/** Nearest integer, ties to even. */
function roundHalfEven(v) {
  const r = Math.round(v); // ties toward +∞
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** number → IEEE binary16 bits, round to nearest even (overflow → ±∞, NaN → quiet NaN). */
function f32ToF16(value) {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= 65520) return sign | 0x7c00; // 65520 is halfway to 2^16: ties to even go up
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal; 1024 is the smallest normal
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can land one too high just below a power of two
  if (2 ** (e + 1) <= a) e++;
  const significand = roundHalfEven(a * 2 ** (10 - e)); // 1024…2048; 2048 carries into the exponent
  return sign | (((e + 15) << 10) + significand - 0x400);
}

// ---------------------------------------------------------------------------
// q4_0

function checkQ4_0(bytes, n, k) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`expected a Uint8Array for q4_0 bytes, received ${bytes?.constructor?.name}`);
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`expected a positive integer for n, received ${n}`);
  if (!(Number.isInteger(k) && k > 0 && k % Q4_0_BLOCK === 0)) throw new RangeError(`expected a positive multiple of 32 for k, received ${k}`);
  const expected = n * (k / Q4_0_BLOCK) * Q4_0_BLOCK_BYTES;
  if (bytes.length !== expected) throw new RangeError(`expected ${expected} q4_0 bytes for ${n}×${k}, received ${bytes.length}`);
}

/** Dequantized q4_0 weights, f32 [n×k] row-major: w = (q − 8)·d (exact). */
function dequantQ4_0(bytes, n, k) {
  checkQ4_0(bytes, n, k);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const w = new Float32Array(n * k);
  for (let block = 0; block < (n * k) / Q4_0_BLOCK; block++) {
    const at = block * Q4_0_BLOCK_BYTES;
    const d = f16ToF32(view.getUint16(at, true));
    const out = block * Q4_0_BLOCK;
    for (let j = 0; j < 16; j++) {
      const byte = bytes[at + 2 + j];
      w[out + j] = ((byte & 0x0f) - Q4_ZERO_POINT) * d;
      w[out + j + 16] = ((byte >> 4) - Q4_ZERO_POINT) * d;
    }
  }
  return w;
}

/**
 * q4_0 → MatMulNBits operands: b uint8 [n][k/32][16] (element 2i low, 2i+1 high nibble of
 * byte i) and scales f32 [n][k/32] = d. The codes keep their offset of 8, which is
 * MatMulNBits' default zero point.
 */
function q4_0ToMatMulNBits(bytes, n, k) {
  checkQ4_0(bytes, n, k);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks = (n * k) / Q4_0_BLOCK;
  const b = new Uint8Array(blocks * 16);
  const scales = new Float32Array(blocks);
  const codes = new Uint8Array(Q4_0_BLOCK);
  for (let block = 0; block < blocks; block++) {
    const at = block * Q4_0_BLOCK_BYTES;
    scales[block] = f16ToF32(view.getUint16(at, true));
    for (let j = 0; j < 16; j++) {
      codes[j] = bytes[at + 2 + j] & 0x0f;
      codes[j + 16] = bytes[at + 2 + j] >> 4;
    }
    for (let i = 0; i < 16; i++) b[block * 16 + i] = codes[2 * i] | (codes[2 * i + 1] << 4);
  }
  return { b, scales };
}

/** Packed MatMulNBits zero points of 4 bits, all equal to 8: uint8 [n][ceil(kBlocks/2)]. */
function uniformZeroPoints4(n, kBlocks) {
  return new Uint8Array(n * Math.ceil(kBlocks / 2)).fill(Q4_ZERO_POINT | (Q4_ZERO_POINT << 4));
}

// ---------------------------------------------------------------------------
// ORT sessions

/**
 * One thread, CPU provider, all graph optimizations. A fresh object per session: ORT wraps
 * the options in a Proxy that fails on frozen properties.
 */
function defaultSessionOptions() {
  return {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    logSeverityLevel: 3,
  };
}

/**
 * MatMulNBits model bytes (input A f32 [M×k], output Y f32 [M×n], M dynamic) whose weights
 * are the q4_0 matrix q4_0Bytes (n rows × k). explicitZeroPoints writes a zero_points
 * initializer of 8s instead of relying on the default (same result; for checking).
 */
function matMulNBitsModelFromQ4_0({ n, k, accuracyLevel = 0, q4_0Bytes, explicitZeroPoints = false }) {
  const { b, scales } = q4_0ToMatMulNBits(q4_0Bytes, n, k);
  const zeroPoints = explicitZeroPoints ? uniformZeroPoints4(n, k / Q4_0_BLOCK) : undefined;
  return onnx.matMulNBitsModel({ k, n, bits: 4, blockSize: Q4_0_BLOCK, accuracyLevel, b, scales, zeroPoints });
}

/**
 * An ORT session computing Y[m×n] = A[m×k] · dequant(q4_0)ᵀ with com.microsoft MatMulNBits.
 * Feed { A: new ort.Tensor('float32', a, [m, k]) }; read Y.
 */
function ortMatMulNBits(ort, { n, k, accuracyLevel = 0, q4_0Bytes, explicitZeroPoints = false, sessionOptions = defaultSessionOptions() }) {
  const bytes = matMulNBitsModelFromQ4_0({ n, k, accuracyLevel, q4_0Bytes, explicitZeroPoints });
  return ort.InferenceSession.create(bytes, sessionOptions);
}

/** An ORT session for DynamicQuantizeLinear on x f32 [length]; outputs y, y_scale, y_zero_point. */
function ortDynamicQuantizeLinear(ort, length, sessionOptions = defaultSessionOptions()) {
  return ort.InferenceSession.create(onnx.dynamicQuantizeLinearModel({ length }), sessionOptions);
}

// ---------------------------------------------------------------------------
// Self-check: node quant-peers.js --check

/** Seeded xorshift32 in [0, 2^32). */
function xorshift32(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Random q4_0 matrix: random codes, d = ±f16(0.001 … 0.05). */
function randomQ4_0(n, k, seed) {
  const next = xorshift32(seed);
  const bytes = new Uint8Array(n * (k / Q4_0_BLOCK) * Q4_0_BLOCK_BYTES);
  const view = new DataView(bytes.buffer);
  for (let at = 0; at < bytes.length; at += Q4_0_BLOCK_BYTES) {
    const magnitude = 0.001 + (0.049 * next()) / 2 ** 32;
    view.setUint16(at, f32ToF16(next() & 1 ? -magnitude : magnitude), true);
    for (let j = 0; j < 16; j++) bytes[at + 2 + j] = next() & 0xff;
  }
  return bytes;
}

function randomFloats(length, seed, scale = 1) {
  const next = xorshift32(seed);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = ((next() / 2 ** 32) * 2 - 1) * scale;
  return out;
}

/** Y[m×n] = A[m×k] · W[n×k]ᵀ in f64. */
function matMulTransposedF64(a, w, m, n, k) {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[i * k + p] * w[j * k + p];
      y[i * n + j] = sum;
    }
  }
  return y;
}

/**
 * What MatMulNBits computes at accuracy_level 4 (MLAS CompInt8), in f64: each row of A is
 * quantized per block of 32 to int8 with scale amax/127 (f32) and codes
 * round_half_even(a · f32(127/amax)); then Σ_blocks scaleA·d·Σ qa·(q − 8).
 */
function int8ActivationMatMulF64(a, q4_0Bytes, m, n, k) {
  const weights = dequantQ4_0(q4_0Bytes, n, k);
  const blocks = k / Q4_0_BLOCK;
  const qa = new Float64Array(m * k);
  const aScale = new Float64Array(m * blocks);
  for (let i = 0; i < m; i++) {
    for (let blk = 0; blk < blocks; blk++) {
      const base = i * k + blk * Q4_0_BLOCK;
      let amax = 0;
      for (let p = 0; p < Q4_0_BLOCK; p++) amax = Math.max(amax, Math.abs(a[base + p]));
      aScale[i * blocks + blk] = Math.fround(amax / 127);
      const inverse = amax === 0 ? 0 : Math.fround(127 / amax);
      for (let p = 0; p < Q4_0_BLOCK; p++) qa[base + p] = roundHalfEven(Math.fround(a[base + p] * inverse));
    }
  }
  const dequantA = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) dequantA[i * k + p] = qa[i * k + p] * aScale[i * blocks + Math.floor(p / Q4_0_BLOCK)];
  }
  return matMulTransposedF64(dequantA, weights, m, n, k);
}

/** max |x − y| / max |y|, and where the largest difference is. */
function relativeError(x, y, n) {
  let worst = 0;
  let at = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    const diff = Math.abs(x[i] - y[i]);
    if (diff > worst) {
      worst = diff;
      at = i;
    }
    scale = Math.max(scale, Math.abs(y[i]));
  }
  return { value: worst / scale, text: `${(worst / scale).toExponential(2)} (max |Δ| ${worst.toExponential(2)} at [${Math.floor(at / n)}, ${at % n}])` };
}

/** ONNX DynamicQuantizeLinear in f32 arithmetic, with ORT's scale 1 for an all-zero input. */
function dynamicQuantizeLinearReference(x) {
  let min = 0;
  let max = 0;
  for (const v of x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const scale = max === min ? 1 : Math.fround(Math.fround(max - min) / 255);
  const zeroPoint = roundHalfEven(Math.min(255, Math.max(0, Math.fround(0 - Math.fround(min / scale)))));
  const y = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.min(255, Math.max(0, roundHalfEven(Math.fround(x[i] / scale)) + zeroPoint));
  return { y, scale, zeroPoint };
}

async function selfCheck() {
  const ort = require('onnxruntime-node');
  ort.env.logLevel = 'error';
  const failures = [];
  const report = (name, ok, text) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${name}: ${text}`);
    if (!ok) failures.push(name);
  };
  console.log(`onnxruntime-node ${ort.env.versions?.node ?? '?'}`);

  // f16 conversions: every finite f16 survives f16 → number → f16, and ties go to even.
  {
    let bad = -1;
    for (let bits = 0; bits < 0x10000 && bad < 0; bits++) {
      if ((bits & 0x7c00) === 0x7c00) continue;
      if (f32ToF16(f16ToF32(bits)) !== bits) bad = bits;
    }
    const ties = [
      [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1 + 2^-10: even (1)
      [1 + 3 * 2 ** -11, 0x3c02],
      [2 ** -25, 0x0000], // halfway to the smallest subnormal: even (0)
      [3 * 2 ** -25, 0x0002],
      [65519, 0x7bff],
      [65520, 0x7c00],
    ].filter(([v, bits]) => f32ToF16(v) !== bits);
    report('f16 round trip and ties', bad < 0 && ties.length === 0, bad < 0 ? `${ties.length} tie cases wrong` : `0x${bad.toString(16)} does not round-trip`);
  }

  // The memory read against a JS sum, on 1, 2 and 3 threads (uneven slices included).
  {
    const { memory, bytes } = readableMemory(3 * WASM_PAGE);
    const words = new Uint32Array(bytes.buffer, 0, bytes.length / 4);
    const next = xorshift32(0xbead);
    for (let i = 0; i < words.length; i++) words[i] = next();
    const ranges = [
      [0, bytes.length],
      [64, 64 * 5],
      [128, 0],
      [WASM_PAGE - 64, 64 * 1001],
    ];
    const wrong = [];
    for (const threads of [1, 2, 3]) {
      const reader = await MemoryReader.open(memory, threads);
      try {
        for (const [offset, length] of ranges) {
          if (reader.read(offset, length) !== sumWordsJs(bytes, offset, length)) wrong.push(`t${threads} [${offset}, +${length})`);
        }
      } finally {
        await reader.close();
      }
    }
    report('memory read (wasm SIMD) vs JS sum', wrong.length === 0, wrong.length ? `wrong on ${wrong.join(', ')}` : `${ranges.length} ranges × 1, 2, 3 threads`);
  }

  // MatMulNBits on a q4_0 matrix.
  const m = 3;
  const n = 40;
  const k = 96;
  const q4_0Bytes = randomQ4_0(n, k, 0x5eed);
  const a = randomFloats(m * k, 77);
  const weights = dequantQ4_0(q4_0Bytes, n, k);
  const exact = matMulTransposedF64(a, weights, m, n, k);
  // rows: the first rows of A to feed (m = 1 takes MLAS's GEMV path rather than the GEMM one).
  const run = async (options, rows = m) => {
    const session = await ortMatMulNBits(ort, { n, k, q4_0Bytes, ...options });
    try {
      return (await session.run({ A: new ort.Tensor('float32', a.subarray(0, rows * k), [rows, k]) })).Y;
    } finally {
      await session.release();
    }
  };

  // The nibble re-pairing, checked directly: unpack the MatMulNBits layout by its own rule.
  {
    const { b, scales } = q4_0ToMatMulNBits(q4_0Bytes, n, k);
    let mismatches = 0;
    for (let e = 0; e < n * k; e++) {
      const byte = b[e >> 1];
      const code = e & 1 ? byte >> 4 : byte & 0x0f;
      if ((code - Q4_ZERO_POINT) * scales[Math.floor(e / Q4_0_BLOCK)] !== weights[e]) mismatches++;
    }
    report('q4_0 → MatMulNBits layout', mismatches === 0, `${mismatches} of ${n * k} weights differ from dequantQ4_0`);
  }

  const level0 = await run({ accuracyLevel: 0 });
  {
    const shapeOk = level0.dims.join('x') === `${m}x${n}`;
    const error = relativeError(level0.data, exact, n);
    report(`MatMulNBits accuracy_level 0, ${m}x${k}x${n} vs f64 dequant-matmul`, shapeOk && error.value <= 1e-5, `rel ${error.text}, dims [${level0.dims}]`);
  }
  {
    const error = relativeError((await run({ accuracyLevel: 0 }, 1)).data, exact.subarray(0, n), n);
    report(`MatMulNBits accuracy_level 0, 1x${k}x${n}`, error.value <= 1e-5, `rel ${error.text}`);
  }
  {
    const withZeroPoints = await run({ accuracyLevel: 0, explicitZeroPoints: true });
    const error = relativeError(withZeroPoints.data, level0.data, n);
    report('MatMulNBits explicit zero_points = 8 vs default', error.value <= 1e-6, `rel ${error.text}`);
  }

  // accuracy_level 4: a loose bound against the exact product, and whether ORT really took the
  // int8 path (then it matches an emulation of MLAS's activation quantizer, not level 0).
  const emulated = int8ActivationMatMulF64(a, q4_0Bytes, m, n, k);
  for (const rows of [m, 1]) {
    const level4 = await run({ accuracyLevel: 4 }, rows);
    const vsExact = relativeError(level4.data, exact.subarray(0, rows * n), n);
    const vsInt8 = relativeError(level4.data, emulated.subarray(0, rows * n), n);
    const vsLevel0 = relativeError(level4.data, level0.data.subarray(0, rows * n), n);
    report(`MatMulNBits accuracy_level 4, ${rows}x${k}x${n} vs f64 dequant-matmul (loose)`, vsExact.value <= 2e-2, `rel ${vsExact.text}`);
    const honored = vsLevel0.value > 1e-5 && vsInt8.value <= 1e-5;
    console.log(
      `      accuracy_level 4 ${honored ? 'honored' : vsLevel0.value <= 1e-5 ? 'NOT honored (same as level 0)' : 'differs from both models'}: ` +
        `vs level 0 ${vsLevel0.text}; vs int8-activation emulation ${vsInt8.text}`,
    );
  }

  // DynamicQuantizeLinear against the ONNX formula.
  const dqlCases = [
    ['mixed signs', Float32Array.of(-1.5, -0.3, 0, 0.2, 0.7, 2.25, 3.1, -0.9, 1e-3, 1.75)],
    ['all positive', Float32Array.of(0.5, 1, 2.5, 4, 0.125, 3.75)],
    ['all negative', Float32Array.of(-0.5, -1, -2.5, -4, -0.125)],
    ['all zero', new Float32Array(7)],
    ['random 1000', randomFloats(1000, 99, 3)],
  ];
  for (const [name, x] of dqlCases) {
    const session = await ortDynamicQuantizeLinear(ort, x.length);
    try {
      const out = await session.run({ x: new ort.Tensor('float32', x, [x.length]) });
      const ref = dynamicQuantizeLinearReference(x);
      const scale = out.y_scale.data[0];
      const zeroPoint = out.y_zero_point.data[0];
      let mismatches = 0;
      let first = -1;
      for (let i = 0; i < x.length; i++) {
        if (out.y.data[i] !== ref.y[i]) {
          mismatches++;
          if (first < 0) first = i;
        }
      }
      const ok = scale === ref.scale && zeroPoint === ref.zeroPoint && mismatches === 0;
      report(
        `DynamicQuantizeLinear ${name} (length ${x.length})`,
        ok,
        `scale ${scale} (ref ${ref.scale}), zero point ${zeroPoint} (ref ${ref.zeroPoint}), ` +
          `${mismatches} codes differ${first >= 0 ? `, first at ${first}: ${out.y.data[first]} vs ${ref.y[first]}` : ''}`,
      );
    } finally {
      await session.release();
    }
  }

  if (failures.length) {
    console.log(`\n${failures.length} check(s) failed`);
    process.exitCode = 1;
  } else {
    console.log('\nall checks passed');
  }
}

module.exports = {
  ortMatMulNBits,
  ortDynamicQuantizeLinear,
  matMulNBitsModelFromQ4_0,
  q4_0ToMatMulNBits,
  dequantQ4_0,
  f16ToF32,
  f32ToF16,
  readableMemory,
  memoryReadModuleBytes,
  MemoryReader,
  sumWordsJs,
  randomQ4_0,
  randomFloats,
};

if (require.main === module) {
  if (process.argv.includes('--check')) {
    selfCheck().catch((e) => {
      console.error(e);
      process.exit(1);
    });
  } else {
    console.error('usage: node quant-peers.js --check');
    process.exit(2);
  }
}
