// Static export served by the core-extension at `/`; nothing is fetched at
// build or run time (no remote fonts, no CDN), and the repository root holds
// node_modules, so it is the Turbopack root.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
export default {
  output: 'export',
  trailingSlash: true,
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  turbopack: { root: join(here, '..', '..') },
};
