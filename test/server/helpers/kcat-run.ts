// Test helper: runs kcat (librdkafka) once against a broker with stdin input and a time limit, and
// resolves with its exit code, stdout and stderr (a failure is a result, not a rejection), for tests
// that check both kcat's successes and its refusals.
import { spawn } from 'node:child_process';

export interface KcatResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runKcat(broker: string, args: readonly string[], input = '', timeoutMs = 15_000): Promise<KcatResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-b', broker, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}
