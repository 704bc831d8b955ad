// npm run test:stack: the stack tests under node --test, trusting the
// gateway's self-signed certificate that `scripts/dev up` made
// (.run/tls/gateway.crt, pinned by the tests) unless SDK_STACK_CERT says which.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cert = fileURLToPath(new URL('../../.run/tls/gateway.crt', import.meta.url));
const env = { ...process.env };
if (!env.SDK_STACK_CERT && existsSync(cert)) env.SDK_STACK_CERT = cert;
const test = fileURLToPath(new URL('./stack.test.mjs', import.meta.url));
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', test], { stdio: 'inherit', env });
process.exit(res.status ?? 1);
