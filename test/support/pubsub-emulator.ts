import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';

/**
 * Google's Pub/Sub emulator (Java, part of the gcloud SDK: Debian package
 * google-cloud-cli-pubsub-emulator from Google's own apt repository, which no registry this project
 * reaches serves). Used where the machine has it; `undefined` where it does not, and the tests that
 * need it say so and are skipped (the contract tests run everywhere).
 */
const CANDIDATES = [
  process.env['PUBSUB_EMULATOR_BIN'],
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  '/usr/share/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
];

export function pubsubEmulatorBinary(): string | undefined {
  return CANDIDATES.find((path): path is string => path !== undefined && existsSync(path));
}

export interface PubSubEmulator {
  /** host:port, as PubSub's apiEndpoint. */
  host: string;
  stop(): Promise<void>;
}

export async function startPubSubEmulator(binary: string): Promise<PubSubEmulator> {
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['--host=127.0.0.1', `--port=${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => (output += chunk.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const deadline = Date.now() + 60_000;
  while (!output.includes('Server started')) {
    if (child.exitCode !== null) throw new Error(`the Pub/Sub emulator exited: ${output.slice(-500)}`);
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('the Pub/Sub emulator did not start within 60 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    host: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
