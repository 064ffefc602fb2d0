import { UsageError } from './readers';

/**
 * Where a command gets a card's PIN: the first line of stdin (`--pin-stdin`, for scripts and
 * tests) or a terminal prompt that does not echo. Never from the command line, where it would sit
 * in the shell history and the process list.
 */

/** The first line of stdin (which must not be a terminal). */
export async function pinFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('--pin-stdin expects the PIN piped on standard input');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (Buffer.concat(chunks).includes(0x0a)) break;
  }
  const line = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('no PIN on standard input');
  return line.trim();
}

/**
 * Prompts on the terminal without echo. `label`: what is asked for; `otherwise`: what the user
 * can do without a terminal (the command's other options).
 */
export async function pinFromPrompt(options: { label?: string; otherwise?: string } = {}): Promise<string> {
  const label = options.label ?? 'PIN';
  const stdin = process.stdin;
  if (!stdin.isTTY) throw new UsageError(`no terminal to ask for the PIN: ${options.otherwise ?? 'pipe it with --pin-stdin'}`);
  process.stderr.write(`${label}: `);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let pin = '';
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            resolve(pin);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            process.stderr.write('\n');
            reject(new UsageError('cancelled'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') pin = pin.slice(0, -1);
          else pin += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
