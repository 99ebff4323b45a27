#!/usr/bin/env node
'use strict';
// The CLI is bundled into one file by `npm run build` (tools/build.mjs) so a command
// loads one script instead of resolving hundreds of modules: start-up is the hot path.
// Output files of a fleet batch are fsynced many at a time on libuv's pool; the default
// of 4 threads leaves the disk idle. Must be set before the pool starts.
process.env.UV_THREADPOOL_SIZE = process.env.UV_THREADPOOL_SIZE || '16';
require('../dist/certctl.js');
