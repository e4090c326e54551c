import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

/**
 * moto's server mode on 127.0.0.1 (a local AWS endpoint; its SQS is what the intake's
 * HealthImaging adapter is driven against). scripts/lib/moto.sh installs it from PyPI
 * (scripts/provision.sh does on a new machine); this finds it, installing when missing.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const bin = execFileSync(
    'bash',
    ['-c', 'source scripts/lib/moto.sh && use_moto >&2 && dirname "$(command -v moto_server)"'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  ).trim();
  const port = await freePort();
  const child: ChildProcess = spawn(join(bin, 'moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}`);
    const up = await fetch(`${endpoint}/moto-api/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('moto_server did not answer within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
