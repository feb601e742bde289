import { parentPort } from 'node:worker_threads';

/** A CPU worker that dies on its first task, as one whose native code crashed would. */
parentPort?.on('message', () => process.exit(3));
