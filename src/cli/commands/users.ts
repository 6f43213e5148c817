// `onelog users FILE add|remove|list`: the SASL users `onelog serve --sasl` accepts, stored in FILE as
// salted SCRAM credentials (never the password). The password comes from stdin or a flag, never from a
// prompt, and is never printed; list shows names and mechanisms only. Credentials are src/client/users.ts'.
import { isScramMechanism, listUsers, removeUser, SCRAM_MECHANISMS, setUser, type ScramMechanism } from '../../client/users.ts';
import { BUSY_OPTION, boolFlag, busyTimeout, listFlag, parse, stringFlag } from '../args.ts';
import { withDatabase } from '../open-database.ts';
import { UsageError, type Output } from '../output.ts';
import { readAll } from '../stdin.ts';
import { renderTable } from '../table.ts';

export const USERS_HELP = `Usage: onelog users FILE add NAME (--password-stdin | --password P) [--mechanism M]...
       onelog users FILE remove NAME
       onelog users FILE [list]

  add      adds user NAME, or replaces its password, for SASL (onelog serve --sasl): stores a random
           salt, 4096 PBKDF2 iterations and the SCRAM StoredKey/ServerKey per mechanism, never the
           password. SASL/PLAIN logins are checked against the same credentials.
  remove   removes user NAME (connections already authenticated stay open)
  list     user names and their mechanisms (the default)

Options:
  --password-stdin    read the password from stdin (one trailing newline is dropped)
  --password P        the password (visible to other local users in the process list: prefer stdin)
  --mechanism M       SCRAM-SHA-256 or SCRAM-SHA-512; repeatable (default: both)
  --busy-timeout MS   how long add/remove wait for another process's writer lock (5000)
  --json              JSON Lines: list prints one object per user, add and remove one object
  --help              this text`;

function mechanismsOf(values: readonly string[]): ScramMechanism[] {
  if (values.length === 0) return [...SCRAM_MECHANISMS];
  const out = new Set<ScramMechanism>();
  for (const value of values.flatMap((v) => v.split(','))) {
    const m = value.trim().toUpperCase();
    if (!isScramMechanism(m)) throw new UsageError(`--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got '${value}'.`);
    out.add(m);
  }
  return [...out];
}

async function passwordOf(fromStdin: boolean, flag: string | undefined): Promise<string> {
  if (fromStdin === (flag !== undefined)) throw new UsageError('add needs exactly one of --password-stdin and --password.');
  const password = flag ?? (await readAll()).toString('utf8').replace(/\r?\n$/, '');
  if (password.length === 0) throw new UsageError('the password is empty.');
  return password;
}

export async function usersCommand(args: readonly string[], out: Output): Promise<void> {
  const p = parse(
    args,
    { 'password-stdin': { type: 'boolean' }, password: { type: 'string' }, mechanism: { type: 'string', multiple: true }, ...BUSY_OPTION },
    ['FILE', 'ACTION', 'NAME'],
    2,
  );
  const [file, action = 'list', name] = p.positionals as [string, string?, string?];
  if (action === 'list') {
    if (name !== undefined) throw new UsageError(`list takes no NAME, got '${name}'.`);
    const users = await withDatabase(file, { write: false }, (db) => listUsers(db.engine));
    const rows = users.map((u) => ({ name: u.name, mechanisms: SCRAM_MECHANISMS.filter((m) => u.credentials[m] !== undefined) }));
    if (out.json) {
      for (const row of rows) out.result('', row);
      return;
    }
    out.result(rows.length === 0 ? 'no users' : renderTable(['user', 'mechanisms'], rows.map((r) => [r.name, r.mechanisms.join(',')])), {});
    return;
  }
  if (action !== 'add' && action !== 'remove') throw new UsageError(`unknown action '${action}': use add, remove or list.`);
  if (name === undefined) throw new UsageError(`${action} needs a user NAME.`);
  const how = { write: true, busyTimeoutMs: busyTimeout(p) };
  if (action === 'add') {
    const mechanisms = mechanismsOf(listFlag(p, 'mechanism'));
    const password = await passwordOf(boolFlag(p, 'password-stdin'), stringFlag(p, 'password'));
    const { replaced } = await withDatabase(file, how, (db) => setUser(db.engine, name, password, mechanisms));
    out.result(`${replaced ? 'updated' : 'added'} user ${name} (${mechanisms.join(', ')})`, { event: replaced ? 'updated' : 'added', user: name, mechanisms });
    return;
  }
  if (p.values.password !== undefined || p.values['password-stdin'] !== undefined || p.values.mechanism !== undefined) {
    throw new UsageError('remove takes no password or mechanism.');
  }
  const existed = await withDatabase(file, how, (db) => removeUser(db.engine, name));
  if (!existed) throw new UsageError(`no user '${name}' in ${file}.`);
  out.result(`removed user ${name}`, { event: 'removed', user: name });
}
