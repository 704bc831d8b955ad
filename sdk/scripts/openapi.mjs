// The SDK's REST types come from the API's OpenAPI document, as the
// coupon-service binary prints it (`coupon-service openapi`).
//
//   node scripts/openapi.mjs write   print the document with the binary into
//                                    openapi.json, generate src/openapi.ts
//   node scripts/openapi.mjs check   fail (exit 1) when openapi.json is not
//                                    what the binary prints, or src/openapi.ts
//                                    not what openapi-typescript makes of it
//
// The binary: $COUPON_SERVICE_BIN, default <repo>/target/debug/coupon-service
// ($CARGO_TARGET_DIR honoured). Missing binary: exit 2 with a message.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const SDK = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPO = resolve(SDK, '..');
const DOC = resolve(SDK, 'openapi.json');
const TYPES = resolve(SDK, 'src/openapi.ts');
const HEADER = `// Generated from sdk/openapi.json by openapi-typescript (npm run generate in
// sdk/); do not edit. The document is what \`coupon-service openapi\` prints.

`;

function binary() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : resolve(REPO, 'target');
  const bin = process.env.COUPON_SERVICE_BIN ? resolve(process.cwd(), process.env.COUPON_SERVICE_BIN) : resolve(target, 'debug/coupon-service');
  if (!existsSync(bin)) {
    console.error(`openapi: no coupon-service binary at ${bin}: build it (cargo build -p coupon-service) or set COUPON_SERVICE_BIN`);
    process.exit(2);
  }
  return bin;
}

/** The document as the binary prints it, in the committed form (2-space JSON, final newline). */
function printed(bin) {
  const out = execFileSync(bin, ['openapi'], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return `${JSON.stringify(JSON.parse(out), null, 2)}\n`;
}

/**
 * The operationIds of the document, which the OpenAPI spec (and
 * openapi-typescript) require to be unique: a repeated one fails here,
 * naming it (the server names each operation in its `utoipa::path`).
 */
function checkUniqueOperationIds(doc) {
  const seen = new Map();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const op of Object.values(item)) {
      if (!op || typeof op !== 'object' || typeof op.operationId !== 'string') continue;
      if (seen.has(op.operationId)) {
        console.error(`openapi: operationId ${op.operationId} is used by ${seen.get(op.operationId)} and ${path}`);
        process.exit(1);
      }
      seen.set(op.operationId, path);
    }
  }
  return doc;
}

async function types(docText) {
  const ast = await openapiTS(checkUniqueOperationIds(JSON.parse(docText)));
  return HEADER + astToString(ast);
}

const mode = process.argv[2];
if (mode === 'write') {
  const bin = binary();
  const doc = printed(bin);
  writeFileSync(DOC, doc);
  writeFileSync(TYPES, await types(doc));
  console.log(`openapi: wrote ${DOC} (from ${bin}) and ${TYPES}`);
} else if (mode === 'check') {
  const bin = binary();
  const committed = readFileSync(DOC, 'utf8');
  const doc = printed(bin);
  let ok = true;
  if (committed !== doc) {
    ok = false;
    const a = committed.split('\n');
    const b = doc.split('\n');
    const at = a.findIndex((line, i) => line !== b[i]);
    console.error(`openapi: sdk/openapi.json differs from what ${bin} prints (first at line ${at + 1}:`);
    console.error(`  committed: ${a[at] ?? '<end>'}`);
    console.error(`  printed:   ${b[at] ?? '<end>'})`);
  }
  if (readFileSync(TYPES, 'utf8') !== (await types(committed))) {
    ok = false;
    console.error('openapi: sdk/src/openapi.ts is not what openapi-typescript makes of sdk/openapi.json');
  }
  if (!ok) {
    console.error('openapi: run `npm run generate` in sdk/ and commit both files');
    process.exit(1);
  }
  console.log(`openapi: sdk/openapi.json and src/openapi.ts match ${bin}`);
} else {
  console.error('usage: node scripts/openapi.mjs write|check');
  process.exit(2);
}
