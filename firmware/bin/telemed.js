#!/usr/bin/env node
// The firmware's command line. Runs the TypeScript sources through tsx; the image build
// (yocto-layer) ships the same entry point.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
