import type Database from 'better-sqlite3';
import { parseRuleFile, RuleBook } from '../../billing/rules/load';
import { SyncError } from '../errors';
import { NetworkError, request, retryAfterMs, type FundEndpoint, type HttpResponse } from '../http';
import { FUND_CERTIFICATE_HEADER, SIGNATURE_HEADER } from '../protocol';
import { BlacklistStore, downlinkDatabasePath, openDownlinkDatabase } from './blacklist';
import { rulesDocumentSchema, type DownlinkName } from './format';

/**
 * Fetches the downlink documents with ETags (If-None-Match; 304 means nothing to do) and applies
 * each atomically: the blacklist and the rules are validated in full and replaced in one SQLite
 * transaction; the catalogue is handed to `applyCatalogue` (the counter's catalogue import, which
 * is all-or-nothing), and its ETag recorded only after that succeeded. A document that does not
 * validate is not applied: the previous version stays in force. Nor is one whose signature does
 * not verify: each document comes with the fund's signature over its name, ETag and SHA-256
 * (headers Chifa-Signature and Chifa-Fund-Certificate), checked against the fund CA first.
 */

/** What refreshDownlink did with one document. */
export interface DownlinkResult {
  name: DownlinkName;
  status: 'updated' | 'unchanged' | 'absent' | 'failed';
  etag?: string;
  detail?: string;
}

/** Options of refreshDownlink. */
export interface DownlinkOptions {
  /** Attempts per document on network errors and 5xx (default 3; short jittered backoff). */
  attempts?: number;
  /**
   * Applies a catalogue CSV, given as the bytes received (UTF-8 by the protocol; e.g. pos
   * `importCatalogue`, which decodes them strictly); without it the catalogue is only stored.
   */
  applyCatalogue?: (csv: Uint8Array) => void;
  names?: readonly DownlinkName[];
}

/** The fund's downlink documents as last applied (SQLite `DATA/downlink.sqlite`), with their ETags. */
export class DownlinkStore {
  /** @internal The SQLite connection. */
  readonly db: Database.Database;
  /** The blacklist, in the same database. */
  readonly blacklist: BlacklistStore;

  /** @internal A store on an open connection; use DownlinkStore.open. */
  constructor(db: Database.Database) {
    this.db = db;
    this.blacklist = new BlacklistStore(db);
  }

  /** Opens (creating) the store in `dataDir`. */
  static open(dataDir: string): DownlinkStore {
    return new DownlinkStore(openDownlinkDatabase(downlinkDatabasePath(dataDir)));
  }

  /** The ETag of the applied version of `name`, or null. */
  etag(name: DownlinkName): string | null {
    return (this.db.prepare('SELECT etag FROM downlink_documents WHERE name = ?').pluck().get(name) as string | undefined) ?? null;
  }

  /** The applied version of `name`, or null. */
  document(name: DownlinkName): Buffer | null {
    return (this.db.prepare('SELECT body FROM downlink_documents WHERE name = ?').pluck().get(name) as Buffer | undefined) ?? null;
  }

  private record(name: DownlinkName, etag: string, body: Buffer): void {
    this.db
      .prepare(
        'INSERT INTO downlink_documents (name, etag, body, applied_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET etag = excluded.etag, body = excluded.body, applied_at = excluded.applied_at',
      )
      .run(name, etag, body, new Date().toISOString());
  }

  /** The rule book last sent down by the fund, or null if none was applied. */
  ruleBook(): RuleBook | null {
    const body = this.document('rules');
    return body ? parseRulesDocument(body) : null;
  }

  /** Validates and applies a new version of `name` in one transaction (or not at all). */
  apply(name: DownlinkName, body: Buffer, etag: string, options: DownlinkOptions = {}): void {
    switch (name) {
      case 'blacklist':
        this.blacklist.apply(body, etag);
        return;
      case 'rules':
        parseRulesDocument(body); // validates every version and their dates before anything is stored
        this.db.transaction(() => this.record('rules', etag, body)).immediate();
        return;
      case 'catalogue': {
        options.applyCatalogue?.(body);
        this.db.transaction(() => this.record('catalogue', etag, body)).immediate();
        return;
      }
    }
  }

  /** Closes the database. */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

export function parseRulesDocument(body: Buffer): RuleBook {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new SyncError('bad-downlink', `rules: not JSON: ${(err as Error).message}`, 'rules');
  }
  const r = rulesDocumentSchema.safeParse(json);
  if (!r.success) throw new SyncError('bad-downlink', 'rules: expected {"versions": [...]}', 'rules');
  return new RuleBook(r.data.versions.map((v, i) => parseRuleFile(JSON.stringify(v), `rules.versions[${i}]`)));
}

/** Fetches and applies each downlink document; one failing does not stop the others. */
export async function refreshDownlink(ep: FundEndpoint, store: DownlinkStore, options: DownlinkOptions = {}): Promise<DownlinkResult[]> {
  const out: DownlinkResult[] = [];
  for (const name of options.names ?? (['blacklist', 'catalogue', 'rules'] as const)) {
    try {
      const etag = store.etag(name);
      const res = await getWithRetries(ep, `v1/downlink/${name}`, etag ? { 'if-none-match': etag } : {}, options.attempts ?? 3);
      if (res.status === 304) {
        out.push({ name, status: 'unchanged', ...(etag ? { etag } : {}) });
        continue;
      }
      if (res.status === 404) {
        out.push({ name, status: 'absent' });
        continue;
      }
      const newTag = res.headers.etag;
      if (res.status !== 200 || typeof newTag !== 'string') {
        out.push({ name, status: 'failed', detail: `HTTP ${res.status}` });
        continue;
      }
      if (!ep.verifier)
        throw new SyncError('no-fund-verifier', "configure the fund CA: the fund's signed documents cannot be checked without it");
      ep.verifier.verifyDownlink(name, res.body, newTag, one(res.headers[SIGNATURE_HEADER]), one(res.headers[FUND_CERTIFICATE_HEADER]));
      store.apply(name, res.body, newTag, options);
      out.push({ name, status: 'updated', etag: newTag });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      out.push({ name, status: 'failed', detail: `${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}` });
    }
  }
  return out;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? undefined : v);

/** A GET retried a few times on network errors and 5xx (the downlink is refreshed every pass anyway). */
async function getWithRetries(ep: FundEndpoint, path: string, headers: Record<string, string>, attempts: number): Promise<HttpResponse> {
  for (let attempt = 1; ; attempt++) {
    let res: HttpResponse | undefined;
    try {
      res = await request(ep, 'GET', path, { headers });
    } catch (err) {
      if (!(err instanceof NetworkError) || attempt >= attempts) throw err;
    }
    if (res !== undefined && (res.status < 500 || attempt >= attempts)) return res;
    const wait = Math.min(5000, (res ? retryAfterMs(res.headers['retry-after']) : undefined) ?? Math.random() * 200 * 2 ** attempt);
    await new Promise((r) => setTimeout(r, wait));
  }
}
