/**
 * A real S3-compatible server for tests: moto in server mode, installed into .venv/ by
 * scripts/s3-server-deps.sh. Never a mock of the SDK.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MOTO_SERVER = join(ROOT, '.venv', 'bin', 'moto_server');
const VENV_PYTHON = join(ROOT, '.venv', 'bin', 'python');
/** moto with conditional PUTs made atomic, as S3's are (see the script). */
const MOTO_ATOMIC = join(ROOT, 'test', 'helpers', 'moto_atomic.py');
const START_TIMEOUT_MS = 30_000;

export interface S3Server {
  endpoint: string;
  client: S3Client;
  stop(): Promise<void>;
}

/** Children still running, killed when this process exits however it does (short of SIGKILL). */
const running = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      // Keep the default behaviour (die of the signal) once the children are gone.
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/** A client for the test server at `endpoint` (moto accepts any credentials). */
export function s3TestClient(endpoint: string, config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...config,
  });
}

/**
 * A client for the test server that notes each GetObject it sends, as `KEY RANGE` (`KEY whole`
 * without a Range): what a reader fetched and when. The requests still go to the server.
 */
export function s3RecordingClient(endpoint: string): { client: S3Client; gets: string[] } {
  const client = s3TestClient(endpoint);
  const gets: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; Range?: string };
      if (context.commandName === 'GetObjectCommand') gets.push(`${input.Key} ${input.Range ?? 'whole'}`);
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, gets };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts moto_server on a free port and waits until it answers. Undefined when moto is not
 * installed (run scripts/s3-server-deps.sh), so that tests can skip; throws when it is
 * installed but does not come up.
 */
export async function startS3Server(): Promise<S3Server | undefined> {
  if (!existsSync(MOTO_SERVER)) return undefined;
  hookExit();
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    try {
      return await startOn(port);
    } catch (e) {
      lastError = e; // most likely the port was taken in between: try another
    }
  }
  throw lastError;
}

async function startOn(port: number): Promise<S3Server> {
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(VENV_PYTHON, [MOTO_ATOMIC, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  running.add(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000); // werkzeug logs every request here: keep the tail
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', () => running.delete(child));
  // The child's pipe must not keep the event loop (and so the test process) alive.
  child.unref();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`moto_server exited (${child.exitCode ?? child.signalCode}) on port ${port}: ${stderr}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      break; // any HTTP answer means it is up
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`moto_server did not answer on ${endpoint} within ${START_TIMEOUT_MS} ms: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const client = s3TestClient(endpoint);
  return {
    endpoint,
    client,
    stop: async () => {
      client.destroy();
      await stop();
    },
  };
}
