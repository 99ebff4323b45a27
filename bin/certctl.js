#!/usr/bin/env node
'use strict';
// The CLI is bundled into one file by `npm run build` (tools/build.mjs) so a command
// loads one script instead of resolving hundreds of modules: start-up is the hot path.
require('../dist/certctl.js');
