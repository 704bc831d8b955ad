import { defineConfig } from 'vitest/config';

// Unit tests only (fake socket, fake fetch); test/stack.test.mjs runs under
// node --test against a running stack (npm run test:stack).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
