import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import type { NextConfig } from "next";

// The generated client is linked from ../clients/typescript, outside this folder: the bundler's
// root is the repository, so that it may read it.
const repository = dirname(dirname(fileURLToPath(import.meta.url)));

const config: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  turbopack: { root: repository },
  outputFileTracingRoot: repository,
};

export default config;
