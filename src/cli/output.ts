// How the command line speaks: one JSON object per line under --json, plain lines otherwise, colour
// only when the stream is a TTY, and the exit codes every command shares. It knows no command.
import { isOnelogError, type OnelogErrorCode } from '../errors.ts';

export const EXIT = { OK: 0, USAGE: 1, DATA: 2, BUSY: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in how the command was called: exit 1 with the message and a hint to --help. */
export class UsageError extends Error {}

const DATA_CODES: ReadonlySet<OnelogErrorCode> = new Set<OnelogErrorCode>([
  'CORRUPT_FILE',
  'CORRUPT_BATCH',
  'NOT_A_ONELOG_FILE',
  'NEWER_FORMAT_VERSION',
  'FILE_NOT_FOUND',
  'FAILED',
]);

/** The exit code for an error that ended a command. */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (isOnelogError(error)) {
    if (error.code === 'BUSY') return EXIT.BUSY;
    if (DATA_CODES.has(error.code)) return EXIT.DATA;
    if (error.code === 'INVALID_ARGUMENT') return EXIT.USAGE;
    return EXIT.DATA;
  }
  return EXIT.DATA;
}

export interface Output {
  readonly json: boolean;
  /** A result: the object as one JSON line under --json, else the text. */
  result(text: string, json: Record<string, unknown>): void;
  /** A diagnostic line on stderr (never on stdout, which may be piped). */
  info(text: string): void;
  error(error: unknown, debug: boolean): void;
}

function paint(stream: NodeJS.WriteStream, code: string, text: string): string {
  return stream.isTTY ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(text, object): void {
      process.stdout.write(json ? `${JSON.stringify(object)}\n` : `${text}\n`);
    },
    info(text): void {
      process.stderr.write(`${text}\n`);
    },
    error(error, debug): void {
      const message = error instanceof Error ? error.message : String(error);
      if (json) {
        const code = isOnelogError(error) ? error.code : error instanceof UsageError ? 'USAGE' : 'ERROR';
        process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
      } else {
        process.stderr.write(`${paint(process.stderr, '31', 'error:')} ${message}\n`);
      }
      if (debug && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
    },
  };
}

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow';
const STYLE_CODES: Readonly<Record<Style, string>> = { bold: '1', dim: '2', red: '31', green: '32', yellow: '33' };

/** `text` in a style when `stream` (stdout by default) is a TTY, else unchanged. */
export function styled(text: string, style: Style, stream: NodeJS.WriteStream = process.stdout): string {
  return paint(stream, STYLE_CODES[style], text);
}
