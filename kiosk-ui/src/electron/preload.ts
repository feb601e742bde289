/**
 * Preload (sandboxed): hands the renderer the API token and nothing else.
 * The token arrives as a command-line switch from the main process.
 */
import { contextBridge } from 'electron';

const token =
  process.argv.find((arg) => arg.startsWith('--telemed-token='))?.slice('--telemed-token='.length) ?? '';
contextBridge.exposeInMainWorld('telemed', { token });
