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
// Plain memory read: the cold GEMV's bandwidth baseline
//
// A WebAssembly function sum(begin, end) that adds the bytes [begin, end) of a shared memory
// as 64-bit lanes: four 16-byte loads per 64 bytes into four i64x2 accumulators, nothing
// else, so over a buffer far larger than the caches it runs at the speed DRAM delivers to one
// core. A JS loop over an Int32Array reads ~8–10 GB/s, about half of that, so it would
// understate DRAM; this one needs no native build either. The module is encoded below from
// the WebAssembly binary format (core spec §5, SIMD opcodes).
// With T threads, T − 1 workers run the same function on the same memory, sharing the range
// in 256 KiB chunks with the calling thread, which then waits for them.

const WASM_PAGE = 65536;
const READ_ALIGN = 64; // bytes per loop iteration; slices are multiples of it

function uleb128(value) {
  const bytes = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value) byte |= 0x80;
    bytes.push(byte);
  } while (value);
  return bytes;
}

const wasmVector = (items) => [...uleb128(items.length), ...items.flat()];
const wasmName = (text) => wasmVector([...text].map((c) => [c.charCodeAt(0)]));
const wasmSection = (id, content) => [id, ...uleb128(content.length), ...content];

/** Bytes of the module: imports env.memory (shared, 1…65536 pages), exports sum(begin: i32, end: i32) → i64. */
function memoryReadModuleBytes() {
  const I32 = 0x7f;
  const I64 = 0x7e;
  const V128 = 0x7b;
  const op = {
    block: 0x02,
    loop: 0x03,
    end: 0x0b,
    brIf: 0x0d,
    localGet: 0x20,
    localSet: 0x21,
    localTee: 0x22,
    i32Const: 0x41,
    i32LtU: 0x49,
    i32GeU: 0x4f,
    i32Add: 0x6a,
    i64Add: 0x7c,
  };
  const v128Load = (offset) => [0xfd, ...uleb128(0), 4, ...uleb128(offset)]; // align 2^4, offset
  const i64x2Add = [0xfd, ...uleb128(206)];
  const i64x2ExtractLane = (lane) => [0xfd, ...uleb128(29), lane];
  const [begin, end] = [0, 1]; // parameters
  const accumulators = [2, 3, 4, 5]; // v128 locals
  const body = [
    ...wasmVector([[accumulators.length, V128]]),
    op.block, 0x40,
    op.localGet, begin, op.localGet, end, op.i32GeU, op.brIf, 0, // empty range
    op.loop, 0x40,
    ...accumulators.flatMap((acc, i) => [op.localGet, acc, op.localGet, begin, ...v128Load(16 * i), ...i64x2Add, op.localSet, acc]),
    op.localGet, begin, op.i32Const, ...[0xc0, 0x00], op.i32Add, op.localTee, begin, // begin += 64 (signed LEB128)
    op.localGet, end, op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
    op.localGet, 2, op.localGet, 3, ...i64x2Add, op.localGet, 4, ...i64x2Add, op.localGet, 5, ...i64x2Add, op.localTee, 2,
    ...i64x2ExtractLane(0), op.localGet, 2, ...i64x2ExtractLane(1), op.i64Add,
    op.end,
  ];
  const sharedLimits = [0x03, ...uleb128(1), ...uleb128(65536)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...wasmSection(1, wasmVector([[0x60, ...wasmVector([[I32], [I32]]), ...wasmVector([[I64]])]])), // type 0: (i32, i32) → i64
    ...wasmSection(2, wasmVector([[...wasmName('env'), ...wasmName('memory'), 0x02, ...sharedLimits]])), // import memory
    ...wasmSection(3, wasmVector([[0]])), // function 0 has type 0
    ...wasmSection(7, wasmVector([[...wasmName('sum'), 0x00, 0]])), // export function 0 as "sum"
    ...wasmSection(10, wasmVector([[...uleb128(body.length), ...body]])), // its code
  ]);
}

// Control words in a SharedArrayBuffer. Per call the caller writes the range as chunks, bumps
// `generation` and takes chunks itself; each woken worker takes chunks until none are left
// (claimed with Atomics.add on `next`, so a worker the OS runs late leaves its share to the
// others), stores its partial sum and counts itself `done`.
// Threads sleep in Atomics.wait rather than poll: JavaScript cannot yield the CPU, and a
// polling worker that the scheduler put on the caller's CPU takes turns with it at whole time
// slices (measured: 2 threads at 1–5 GB/s instead of ~20 on a busy 2-core machine).
const CONTROL = { generation: 0, done: 1, ready: 2, stop: 3, next: 4, chunks: 5, chunkBytes: 6, offset: 7, end: 8, words: 9 };
const CHUNK_BYTES = 256 * 1024;

const READER_WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, sums, index, CONTROL } = workerData;
const { sum } = new WebAssembly.Instance(module, { env: { memory } }).exports;
const state = new Int32Array(control);
const partial = new BigInt64Array(sums);
Atomics.add(state, CONTROL.ready, 1);
Atomics.notify(state, CONTROL.ready);
let seen = Atomics.load(state, CONTROL.generation);
for (;;) {
  while (Atomics.load(state, CONTROL.generation) === seen) Atomics.wait(state, CONTROL.generation, seen);
  seen = Atomics.load(state, CONTROL.generation);
  if (Atomics.load(state, CONTROL.stop)) break;
  const chunks = state[CONTROL.chunks], chunkBytes = state[CONTROL.chunkBytes], offset = state[CONTROL.offset], end = state[CONTROL.end];
  let total = 0n;
  for (let chunk = Atomics.add(state, CONTROL.next, 1); chunk < chunks; chunk = Atomics.add(state, CONTROL.next, 1)) {
    const begin = offset + chunk * chunkBytes;
    total += sum(begin, Math.min(end, begin + chunkBytes));
  }
  partial[index] = total;
  Atomics.add(state, CONTROL.done, 1);
  Atomics.notify(state, CONTROL.done);
}
`;

/**
 * byteLength bytes of shared WebAssembly memory (rounded up to whole pages), which
 * MemoryReader reads. Fill `bytes` before reading: untouched pages are all one zero page.
 */
function readableMemory(byteLength) {
  const pages = Math.ceil(byteLength / WASM_PAGE);
  if (pages > 32768) throw new RangeError(`expected at most 2 GiB for the read buffer, received ${byteLength} bytes`);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return { memory, bytes: new Uint8Array(memory.buffer, 0, byteLength) };
}

/** Sums memory on `threads` threads; made by MemoryReader.open, ended by close(). */
class MemoryReader {
  static async open(memory, threads = 1) {
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`expected a positive integer for threads, received ${threads}`);
    const module = new WebAssembly.Module(memoryReadModuleBytes());
    const reader = new MemoryReader(module, memory, threads);
    const { Worker } = require('node:worker_threads');
    for (let index = 0; index < threads - 1; index++) {
      const workerData = { module, memory, control: reader.control.buffer, sums: reader.partial.buffer, index, CONTROL };
      const worker = new Worker(READER_WORKER_SOURCE, { eval: true, workerData });
      worker.on('error', (e) => (reader.failure = e));
      worker.on('exit', () => {
        if (!Atomics.load(reader.control, CONTROL.stop)) reader.failure ??= new Error('a memory-read worker exited');
      });
      reader.workers.push(worker);
    }
    const deadline = Date.now() + 10000;
    while (Atomics.load(reader.control, CONTROL.ready) < threads - 1) {
      if (reader.failure) throw reader.failure;
      if (Date.now() > deadline) throw new Error('memory-read workers did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return reader;
  }

  constructor(module, memory, threads) {
    this.threads = threads;
    this.sum = new WebAssembly.Instance(module, { env: { memory } }).exports.sum;
    this.control = new Int32Array(new SharedArrayBuffer(4 * CONTROL.words));
    this.partial = new BigInt64Array(new SharedArrayBuffer(8 * threads));
    this.workers = [];
    this.failure = null;
  }

  /** Σ of the bytes [offset, offset + length) as little-endian u64 words, mod 2^64. Both multiples of 64. */
  read(offset, length) {
    if (offset % READ_ALIGN || length % READ_ALIGN) throw new RangeError(`expected multiples of ${READ_ALIGN} for offset and length, received ${offset}, ${length}`);
    const end = offset + length;
    if (this.threads === 1) return BigInt.asUintN(64, this.sum(offset, end));
    const control = this.control;
    const chunks = Math.ceil(length / CHUNK_BYTES);
    control[CONTROL.chunks] = chunks;
    control[CONTROL.chunkBytes] = CHUNK_BYTES;
    control[CONTROL.offset] = offset;
    control[CONTROL.end] = end;
    Atomics.store(control, CONTROL.next, 0);
    Atomics.store(control, CONTROL.done, 0);
    Atomics.add(control, CONTROL.generation, 1);
    Atomics.notify(control, CONTROL.generation);
    let total = 0n;
    for (let chunk = Atomics.add(control, CONTROL.next, 1); chunk < chunks; chunk = Atomics.add(control, CONTROL.next, 1)) {
      const begin = offset + chunk * CHUNK_BYTES;
      total += this.sum(begin, Math.min(end, begin + CHUNK_BYTES));
    }
    // Every worker must have finished this call before the next one rewrites the chunks.
    for (let done = Atomics.load(control, CONTROL.done); done < this.threads - 1; done = Atomics.load(control, CONTROL.done)) {
      if (this.failure) throw this.failure;
      Atomics.wait(control, CONTROL.done, done, 100);
    }
    for (let index = 0; index < this.threads - 1; index++) total += this.partial[index];
    return BigInt.asUintN(64, total);
  }

  /** Stop the workers. */
  async close() {
    Atomics.store(this.control, CONTROL.stop, 1);
    Atomics.add(this.control, CONTROL.generation, 1);
    Atomics.notify(this.control, CONTROL.generation);
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Σ of bytes [offset, offset + length) as little-endian u64 words, mod 2^64, in plain JS (for checking). */
function sumWordsJs(bytes, offset, length) {
  const words = new BigUint64Array(bytes.buffer, bytes.byteOffset + offset, length / 8);
  let total = 0n;
  for (const word of words) total += word;
  return BigInt.asUintN(64, total);
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
