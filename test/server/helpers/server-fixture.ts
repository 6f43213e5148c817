// Test fixture: a fresh onelog file in a temp directory served on a free loopback port, with the log
// lines it printed kept for assertions, and one close() that stops the server, closes the database and
// removes the directory. Tests of every server API start from it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open, type Database, type OpenOptions } from '../../../src/client/database.ts';
import { serve, type Server, type ServeOptions } from '../../../src/server/server.ts';

export interface ServedDatabase {
  readonly db: Database;
  readonly server: Server;
  readonly file: string;
  /** `127.0.0.1:port`, for a client's bootstrap list. */
  readonly broker: string;
  readonly logLines: string[];
  close(): Promise<void>;
}

export async function startServer(options: { readonly open?: OpenOptions; readonly serve?: ServeOptions } = {}): Promise<ServedDatabase> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onelog-server-'));
  const file = path.join(dir, 'test.onelog');
  const db = await open(file, options.open);
  const logLines: string[] = [];
  const server = await serve(db, { port: 0, log: (line) => logLines.push(line), ...options.serve });
  return {
    db,
    server,
    file,
    broker: `127.0.0.1:${String(server.port)}`,
    logLines,
    async close(): Promise<void> {
      await server.close();
      await db.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
