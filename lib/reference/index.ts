/** sparq/reference: the pure-TypeScript reference of every kernel family. */
export * from './gemm';
export * from './quant';
export { roundHalfAway, roundHalfEven } from './round';
