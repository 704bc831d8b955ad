// npm run test:stack: the stack tests under node --test, trusting the
// gateway's self-signed certificate that `scripts/dev up` made
// (.run/tls/gateway.crt) unless NODE_EXTRA_CA_CERTS already says which.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cert = fileURLToPath(new URL('../../.run/tls/gateway.crt', import.meta.url));
const env = { ...process.env };
if (!env.NODE_EXTRA_CA_CERTS && existsSync(cert)) env.NODE_EXTRA_CA_CERTS = cert;
const test = fileURLToPath(new URL('./stack.test.mjs', import.meta.url));
const res = spawnSync(process.execPath, ['--test', '--test-reporter=spec', test], { stdio: 'inherit', env });
process.exit(res.status ?? 1);
