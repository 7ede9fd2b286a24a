#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on load so that the same sources run in
// tests, in local node processes and inside the Docker image without a separate build step.
import { register } from 'tsx/esm/api';

register();
await import('../harness/cli.ts');
