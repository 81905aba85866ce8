/** sparq/reference: the pure-TypeScript reference of every kernel family. */
export * from './gemm';
export * from './quant';
export * from './sparse';
export * from './dense';
export { roundHalfAway, roundHalfEven } from './round';
export * from './ops';
export * from './cluster';
export { dequantizeKQuant, K_BLOCK, K_BLOCK_BYTES, scaleMinK4, scalesQ3K, type KQuantType } from './kquant';
export { nearestInt, quantizeKQuant, type KQuantizable } from './kquant-quantize';
