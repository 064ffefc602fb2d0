import { TransportTimeoutError } from '../transport/transport';
import type { PcscBackend, PcscContext, ReaderWatch } from './backend';
import { cardPresent, ReaderState } from './backend';
import { pcscliteBackend } from './binding';
import type { ReaderInfo } from './monitor';

/**
 * One look at the readers and their cards, then everything is released (for `chifa readers` and
 * for applications that poll). Rejects at once with PcscNoServiceError when pcscd is absent, and
 * with a timeout error rather than hanging if a driver never answers.
 */
export async function listReaders(options: { backend?: PcscBackend; timeoutMs?: number } = {}): Promise<ReaderInfo[]> {
  const backend = options.backend ?? pcscliteBackend();
  const timeoutMs = options.timeoutMs ?? 5000;
  const ctx: PcscContext = backend.establish();
  const watches: ReaderWatch[] = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<ReaderInfo[]>((resolve, reject) => {
      timer = setTimeout(() => reject(new TransportTimeoutError(`PC/SC did not list its readers within ${timeoutMs} ms`)), timeoutMs);
      let done = false;
      ctx.watchReaders(
        (names) => {
          if (done) return;
          done = true;
          const out = new Map<string, ReaderInfo>();
          if (names.length === 0) return resolve([]);
          const finish = (): void => {
            if (out.size === names.length) resolve(names.map((n) => out.get(n)!));
          };
          for (const name of names) {
            let first = true;
            watches.push(
              ctx.watchReader(
                name,
                (s) => {
                  if (!first) return;
                  first = false;
                  const present = cardPresent(s.state) && (s.state & ReaderState.MUTE) === 0;
                  out.set(name, { name, cardPresent: present, atr: present ? s.atr : undefined, state: s.state });
                  finish();
                },
                () => {
                  if (!first) return;
                  first = false;
                  out.set(name, { name, cardPresent: false, atr: undefined, state: ReaderState.UNKNOWN });
                  finish();
                },
              ),
            );
          }
        },
        (err) => reject(err),
      );
    });
  } finally {
    if (timer) clearTimeout(timer);
    for (const w of watches) w.close();
    ctx.close();
    await new Promise<void>((r) => setImmediate(r));
  }
}
