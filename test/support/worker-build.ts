import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformFile, type Options } from '@swc/core';

/**
 * Compiles the worker and the libraries it uses into `.cache/e2e-worker/` (not dist/,
 * which others use) with the same SWC settings as `nest build`, so that a test can run
 * the worker as a child process and kill it. Returns the path of its main.js.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
export const WORKER_BUILD_DIR = join(root, '.cache', 'e2e-worker');

async function* sources(folder: string): AsyncGenerator<string> {
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'testing' && entry.name !== 'node_modules') yield* sources(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

export async function buildWorker(): Promise<string> {
  const { compilerOptions } = (await import('../../tsconfig.json', { with: { type: 'json' } })).default as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const options: Options = {
    sourceMaps: false,
    module: { type: 'es6', resolveFully: true },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      baseUrl: root,
      paths: compilerOptions.paths,
      experimental: { keepImportAttributes: true },
    },
    swcrc: false,
  };
  const files: string[] = [];
  for (const folder of ['apps/worker/src', 'libs'])
    for await (const file of sources(join(root, folder))) files.push(file);
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transformFile(file, { ...options, filename: file });
      const target = join(WORKER_BUILD_DIR, relative(root, file)).replace(/\.ts$/, '.js');
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, code);
    }),
  );
  return join(WORKER_BUILD_DIR, 'apps/worker/src/main.js');
}
