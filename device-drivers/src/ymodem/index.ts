export { ByteQueue, ReadTimeout, realTimers, type Timers } from './byte-queue.ts';
export { TIMING } from './consts.ts';
export { checkBlock, encodeBlock, encodeHeaderBlock, parseHeaderBlock } from './frame.ts';
export { type ReceiverEvents, YmodemReceiver } from './receiver.ts';
export { type SendMode, type SendOptions, sendFiles, TransferFailed } from './sender.ts';
export * from './types.ts';
