import { fileURLToPath } from 'node:url';
import { type Plugin, defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

// The client SDK (sdk/, an npm workspace beside this one) is bundled from its
// TypeScript sources: its package exports them under this condition, so the
// pages, their type-check and their unit tests need no SDK build first
// (tsconfig.json names the same condition).
const SDK_SOURCE = '@coupon-platform/source';

// Two pages, one bundle graph: the live sale page at / (and /events/{id},
// which nginx falls back to index.html for) and the admin panel at /admin/.
// Everything is bundled: nothing is loaded from a CDN at run time.
// Content-Security-Policy of the built pages: only our own scripts, styles
// and connections (the API and the WebSocket are same-origin), no inline
// script or style, no plugins. Defence in depth for tokens kept in
// sessionStorage (docs/web.md). Build only: the dev server injects styles
// inline. frame-ancestors cannot be set by <meta>; nginx sends it.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

const cspPlugin: Plugin = {
  name: 'content-security-policy',
  apply: 'build',
  transformIndexHtml: {
    order: 'post',
    handler: () => [
      { tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP }, injectTo: 'head-prepend' },
    ],
  },
};

export default defineConfig({
  base: '/',
  plugins: [cspPlugin],
  resolve: { conditions: [SDK_SOURCE, ...defaultClientConditions] },
  ssr: { resolve: { conditions: [SDK_SOURCE, ...defaultServerConditions] } },
  build: {
    outDir: process.env.WEB_OUT_DIR ?? 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        sale: fileURLToPath(new URL('./index.html', import.meta.url)),
        admin: fileURLToPath(new URL('./admin/index.html', import.meta.url)),
      },
    },
  },
  server: {
    // `npm run dev` against a running stack: API and WebSocket through nginx.
    proxy: {
      '/api': { target: 'https://localhost:8443', secure: false, changeOrigin: true },
      '/ws': { target: 'wss://localhost:8443', secure: false, ws: true, changeOrigin: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // A zone with an offset, so local time ≠ UTC in the time tests.
    env: { TZ: 'Asia/Seoul' },
  },
});
