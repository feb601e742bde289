export * from './ecg-cart/ecg-cart.ts';
export { trimXmodemPadding } from './ecg-cart/record-bytes.ts';
export * from './scp-ecg/index.ts';
export { NodeSerialOpener } from './serial/node-serial-link.ts';
export * from './serial/serial-link.ts';
export { Backoff, sleep } from './util/backoff.ts';
export * from './ymodem/index.ts';
