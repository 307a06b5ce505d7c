#!/usr/bin/env node
import { main } from './cli/main.js';

// The only place that touches process streams and exits.
const code = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
});
process.exitCode = code;
