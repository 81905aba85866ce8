'use strict';
// ONNX models built in memory, for onnxruntime-node's InferenceSession.create(bytes).
//
// A protobuf encoder for the few messages a one-node model needs, written from
// onnx/onnx.proto (proto2). Field numbers used:
//   ModelProto          ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8
//   OperatorSetIdProto  domain 1, version 2
//   GraphProto          node 1, name 2, initializer 5, input 11, output 12
//   NodeProto           input 1, output 2, name 3, op_type 4, attribute 5, domain 7
//   AttributeProto      name 1, f 2, i 3, s 4, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7)
//   TensorProto         dims 1, data_type 2, name 8, raw_data 9 (fixed-width little-endian)
//   ValueInfoProto      name 1, type 2
//   TypeProto           tensor_type 1 → Tensor { elem_type 1, shape 2 }
//   TensorShapeProto    dim 1 → Dimension { dim_value 1 | dim_param 2 }
// Wire types: 0 varint, 2 length-delimited, 5 fixed32. Repeated scalars are written
// unpacked, as proto2 declares them (parsers accept either form).

const os = require('node:os');

/** TensorProto.DataType values. */
const DataType = Object.freeze({ FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 });

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

/**
 * Accumulates the encoding of one message as a list of byte chunks. A nested
 * message is appended by reference (its chunks, after a length prefix), so large
 * raw_data payloads are copied once, by finish().
 */
class ProtoWriter {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  append(bytes) {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** Base-128 varint; negative values as 64-bit two's complement (10 bytes). */
  varint(value) {
    const bytes = [];
    if (value < 0) {
      let v = BigInt.asUintN(64, BigInt(value));
      while (v >= 0x80n) {
        bytes.push(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      bytes.push(Number(v));
    } else {
      if (!Number.isSafeInteger(value)) throw new RangeError(`varint: expected a safe integer, received ${value}`);
      let v = value;
      while (v >= 0x80) {
        bytes.push((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      bytes.push(v);
    }
    this.append(Uint8Array.from(bytes));
  }

  key(field, wireType) {
    this.varint(field * 8 + wireType);
  }

  int(field, value) {
    this.key(field, WIRE_VARINT);
    this.varint(value);
  }

  float(field, value) {
    this.key(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.append(bytes);
  }

  bytes(field, bytes) {
    this.key(field, WIRE_BYTES);
    this.varint(bytes.length);
    this.append(bytes);
  }

  string(field, text) {
    this.bytes(field, new TextEncoder().encode(text));
  }

  message(field, inner) {
    this.key(field, WIRE_BYTES);
    this.varint(inner.length);
    for (const chunk of inner.chunks) this.append(chunk);
  }

  finish() {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

/** The bytes of a typed array in little-endian element order, as raw_data requires. */
function littleEndianBytes(data) {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (os.endianness() === 'LE' || data.BYTES_PER_ELEMENT === 1) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const size = data.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) swapped[i + j] = bytes[i + size - 1 - j];
  }
  return swapped;
}

const DATA_TYPE_OF_ARRAY = new Map([
  [Float32Array, DataType.FLOAT],
  [Uint8Array, DataType.UINT8],
  [Int8Array, DataType.INT8],
  [Int32Array, DataType.INT32],
  [BigInt64Array, DataType.INT64],
]);

/** TensorProto: a named constant. dims [] makes a scalar. The element type follows the array type. */
function tensor(name, data, dims) {
  const dataType = DATA_TYPE_OF_ARRAY.get(data.constructor);
  if (dataType === undefined) throw new TypeError(`tensor ${name}: unsupported array type ${data.constructor.name}`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`tensor ${name}: dims [${dims}] hold ${count} elements, data has ${data.length}`);
  const w = new ProtoWriter();
  for (const d of dims) w.int(1, d);
  w.int(2, dataType);
  w.string(8, name);
  w.bytes(9, littleEndianBytes(data));
  return w;
}

/** ValueInfoProto of a tensor. A dim given as a string is symbolic (dim_param). */
function valueInfo(name, elemType, dims) {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'string') dim.string(2, d);
    else dim.int(1, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter();
  tensorType.int(1, elemType);
  tensorType.message(2, shape);
  const type = new ProtoWriter();
  type.message(1, tensorType);
  const w = new ProtoWriter();
  w.string(1, name);
  w.message(2, type);
  return w;
}

/**
 * AttributeProto. value: an integer (INT), { float } (FLOAT), a string (STRING)
 * or an array of integers (INTS).
 */
function attribute(name, value) {
  const w = new ProtoWriter();
  w.string(1, name);
  if (Array.isArray(value)) {
    w.int(20, 7);
    for (const v of value) w.int(8, v);
  } else if (typeof value === 'string') {
    w.int(20, 3);
    w.string(4, value);
  } else if (typeof value === 'object' && typeof value.float === 'number') {
    w.int(20, 1);
    w.float(2, value.float);
  } else if (Number.isInteger(value)) {
    w.int(20, 2);
    w.int(3, value);
  } else {
    throw new TypeError(`attribute ${name}: unsupported value ${value}`);
  }
  return w;
}

/** NodeProto. An omitted optional input is the empty string, as ONNX specifies. */
function node({ opType, inputs, outputs, name = opType, domain = '', attributes = {} }) {
  const w = new ProtoWriter();
  for (const input of inputs) w.string(1, input);
  for (const output of outputs) w.string(2, output);
  w.string(3, name);
  w.string(4, opType);
  for (const [attrName, value] of Object.entries(attributes)) w.message(5, attribute(attrName, value));
  if (domain) w.string(7, domain);
  return w;
}

/** GraphProto. inputs/outputs: [name, elemType, dims]; initializers: [name, typedArray, dims]. */
function graph({ name, nodes, initializers = [], inputs, outputs }) {
  const w = new ProtoWriter();
  for (const n of nodes) w.message(1, node(n));
  w.string(2, name);
  for (const [tensorName, data, dims] of initializers) w.message(5, tensor(tensorName, data, dims));
  for (const [valueName, elemType, dims] of inputs) w.message(11, valueInfo(valueName, elemType, dims));
  for (const [valueName, elemType, dims] of outputs) w.message(12, valueInfo(valueName, elemType, dims));
  return w;
}

/** ModelProto bytes. opsets: { '': 17, 'com.microsoft': 1 } (domain → version). */
function model({ graph: graphSpec, opsets = { '': 17 }, irVersion = 8 }) {
  const w = new ProtoWriter();
  w.int(1, irVersion);
  w.string(2, 'sparq-bench');
  w.string(3, '0');
  w.message(7, graph(graphSpec));
  for (const [domain, version] of Object.entries(opsets)) {
    const opset = new ProtoWriter();
    if (domain) opset.string(1, domain);
    opset.int(2, version);
    w.message(8, opset);
  }
  return w.finish();
}

/**
 * MatMulInteger (opset 10): Y[m×n] int32 = (A − a_zero_point) · B.
 * A uint8 [m×k] is an input; B int8 [k×n] an initializer (B's zero point omitted, = 0).
 * aZeroPoint: undefined (no zero point), a number (uint8 scalar initializer), or
 * 'input' (uint8 scalar graph input named a_zero_point, fed per call).
 */
function matMulIntegerModel({ m, k, n, bKxN, aZeroPoint }) {
  const initializers = [['B', bKxN, [k, n]]];
  const inputs = [['A', DataType.UINT8, [m, k]]];
  const nodeInputs = ['A', 'B'];
  if (aZeroPoint === 'input') {
    inputs.push(['a_zero_point', DataType.UINT8, []]);
    nodeInputs.push('a_zero_point');
  } else if (aZeroPoint !== undefined) {
    initializers.push(['a_zero_point', Uint8Array.of(aZeroPoint), []]);
    nodeInputs.push('a_zero_point');
  }
  return model({
    graph: {
      name: `matmulinteger_${m}x${k}x${n}`,
      nodes: [{ opType: 'MatMulInteger', inputs: nodeInputs, outputs: ['Y'] }],
      initializers,
      inputs,
      outputs: [['Y', DataType.INT32, [m, n]]],
    },
  });
}

/**
 * com.microsoft DynamicQuantizeMatMul: Y[m×n] f32 = dequant(quant_u8(A) · B) + bias.
 * A f32 [m×k] is an input; B int8 [k×n], b_scale f32 [n] (per column), and the
 * optional b_zero_point int8 [n] and bias f32 [n] are initializers.
 */
function dynamicQuantizeMatMulModel({ m, k, n, bKxN, bScale, bZeroPoint, bias }) {
  const initializers = [
    ['B', bKxN, [k, n]],
    ['b_scale', bScale, [n]],
  ];
  const nodeInputs = ['A', 'B', 'b_scale', '', ''];
  if (bZeroPoint) {
    initializers.push(['b_zero_point', bZeroPoint, [n]]);
    nodeInputs[3] = 'b_zero_point';
  }
  if (bias) {
    initializers.push(['bias', bias, [n]]);
    nodeInputs[4] = 'bias';
  }
  while (nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();
  return model({
    opsets: { '': 17, 'com.microsoft': 1 },
    graph: {
      name: `dynamicquantizematmul_${m}x${k}x${n}`,
      nodes: [{ opType: 'DynamicQuantizeMatMul', domain: 'com.microsoft', inputs: nodeInputs, outputs: ['Y'] }],
      initializers,
      inputs: [['A', DataType.FLOAT, [m, k]]],
      outputs: [['Y', DataType.FLOAT, [m, n]]],
    },
  });
}

/** Plain MatMul (opset 13): Y[m×n] f32 = A[m×k] · B[k×n], B an initializer. */
function matMulModel({ m, k, n, bKxN }) {
  return model({
    graph: {
      name: `matmul_${m}x${k}x${n}`,
      nodes: [{ opType: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
      initializers: [['B', bKxN, [k, n]]],
      inputs: [['A', DataType.FLOAT, [m, k]]],
      outputs: [['Y', DataType.FLOAT, [m, n]]],
    },
  });
}

/**
 * com.microsoft MatMulNBits (opset 1): Y[m×n] f32 = A[m×k] · dequant(B)ᵀ (+ bias), with
 * B block-quantized along k: w[j][i] = (code − zero_point) · scale, one scale and zero point
 * per block of blockSize consecutive i in row j. m is symbolic ('M') unless given.
 *   b           uint8 [n][kBlocks][blockSize·bits/8], kBlocks = ceil(k / blockSize); codes
 *               packed low bits first along k (4 bits: element 2i in the low nibble of
 *               byte i, 2i+1 in the high nibble)
 *   scales      f32 [n][kBlocks]
 *   zeroPoints  optional uint8 [n][ceil(kBlocks·bits/8)], packed like b; when omitted the
 *               zero point is 2^(bits−1) (8 for 4 bits)
 *   bias        optional f32 [n]
 * accuracyLevel: 0 (unset: A stays f32) … 4 (A may be quantized to int8 per block).
 * The current schema gives scales and zero_points 2-D shapes; ORT also accepts the older
 * flat [n·kBlocks] form. These builders write the 2-D form.
 */
function matMulNBitsModel({ m = 'M', k, n, bits = 4, blockSize = 32, accuracyLevel = 0, b, scales, zeroPoints, bias }) {
  if (![2, 4, 8].includes(bits)) throw new RangeError(`MatMulNBits: expected bits 2, 4 or 8, received ${bits}`);
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) {
    throw new RangeError(`MatMulNBits: expected a power-of-two block_size ≥ 16, received ${blockSize}`);
  }
  const kBlocks = Math.ceil(k / blockSize);
  const blobSize = (blockSize * bits) / 8;
  const initializers = [
    ['B', b, [n, kBlocks, blobSize]],
    ['scales', scales, [n, kBlocks]],
  ];
  const nodeInputs = ['A', 'B', 'scales', '', '', ''];
  if (zeroPoints) {
    initializers.push(['zero_points', zeroPoints, [n, Math.ceil((kBlocks * bits) / 8)]]);
    nodeInputs[3] = 'zero_points';
  }
  if (bias) {
    initializers.push(['bias', bias, [n]]);
    nodeInputs[5] = 'bias';
  }
  while (nodeInputs[nodeInputs.length - 1] === '') nodeInputs.pop();
  return model({
    opsets: { '': 17, 'com.microsoft': 1 },
    graph: {
      name: `matmulnbits_q${bits}b${blockSize}_${k}x${n}`,
      nodes: [
        {
          opType: 'MatMulNBits',
          domain: 'com.microsoft',
          inputs: nodeInputs,
          outputs: ['Y'],
          attributes: { K: k, N: n, bits, block_size: blockSize, accuracy_level: accuracyLevel },
        },
      ],
      initializers,
      inputs: [['A', DataType.FLOAT, [m, k]]],
      outputs: [['Y', DataType.FLOAT, [m, n]]],
    },
  });
}

/**
 * DynamicQuantizeLinear (opset 11): x f32 [length] → y uint8 [length], y_scale f32 scalar,
 * y_zero_point uint8 scalar. The range [min(x, 0), max(x, 0)] maps onto 0…255; the zero
 * point and y round half to even.
 */
function dynamicQuantizeLinearModel({ length }) {
  return model({
    graph: {
      name: `dynamicquantizelinear_${length}`,
      nodes: [{ opType: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['y', 'y_scale', 'y_zero_point'] }],
      inputs: [['x', DataType.FLOAT, [length]]],
      outputs: [
        ['y', DataType.UINT8, [length]],
        ['y_scale', DataType.FLOAT, []],
        ['y_zero_point', DataType.UINT8, []],
      ],
    },
  });
}

module.exports = {
  DataType,
  ProtoWriter,
  tensor,
  valueInfo,
  attribute,
  node,
  graph,
  model,
  matMulIntegerModel,
  dynamicQuantizeMatMulModel,
  matMulModel,
  matMulNBitsModel,
  dynamicQuantizeLinearModel,
};
