import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultBlacklistJson, defaultCatalogueCsv, defaultRulesDir } from '../common/paths';
import { blacklistedOn, blacklistSchema, type DownlinkName } from '../sync/downlink/format';
import { SyncError } from '../sync/errors';

/**
 * The fund's downlink documents, read from files so integrators can edit them while the server
 * runs: `DATA/downlink/blacklist.json` (default: the shipped test blacklist,
 * fixtures/blacklist.json), `DATA/downlink/catalogue.csv` (default: the shipped sample catalogue) and the rules directory the fund itself prices with (served as one JSON
 * document). A file is re-read when its modification time or size changes; a file that does not
 * validate is not served (the previous good version stays) and the error is logged by the caller.
 */
export interface DownlinkDocument {
  etag: string;
  body: Buffer;
}

interface Cached extends DownlinkDocument {
  stamp: string;
}

export class DownlinkFiles {
  private readonly dir: string;
  private readonly rulesDir: string;
  private readonly cache = new Map<DownlinkName, Cached>();
  private blacklistMap: Map<string, { since?: string; until?: string }> = new Map();
  private blacklistStamp = '';
  /** The files are stat'ed at most this often (the fund asks for every invoice it checks). */
  private readonly recheckMs: number;
  private readonly checkedAt = new Map<DownlinkName, number>();

  /** Serve fixtures/blacklist.json when DATA/downlink/blacklist.json is absent. */
  private readonly shippedBlacklist: boolean;

  constructor(dataDir: string, rulesDir: string = defaultRulesDir(), recheckMs = 1000, shippedBlacklist = true) {
    this.dir = path.join(dataDir, 'downlink');
    this.shippedBlacklist = shippedBlacklist;
    this.rulesDir = rulesDir;
    this.recheckMs = recheckMs;
  }

  private files(name: DownlinkName): string[] {
    switch (name) {
      case 'blacklist': {
        const f = path.join(this.dir, 'blacklist.json');
        return [fs.existsSync(f) || !this.shippedBlacklist ? f : defaultBlacklistJson()];
      }
      case 'catalogue': {
        const f = path.join(this.dir, 'catalogue.csv');
        return [fs.existsSync(f) ? f : defaultCatalogueCsv()];
      }
      case 'rules':
        return fs
          .readdirSync(this.rulesDir)
          .filter((n) => n.endsWith('.json'))
          .sort()
          .map((n) => path.join(this.rulesDir, n));
    }
  }

  private stamp(files: string[]): string | null {
    const parts: string[] = [];
    for (const f of files) {
      try {
        const s = fs.statSync(f);
        parts.push(`${f}:${s.mtimeMs}:${s.size}`);
      } catch {
        return null;
      }
    }
    return parts.join('|');
  }

  /** The current document, or null when there is none (no blacklist file yet: an empty list). */
  get(name: DownlinkName): DownlinkDocument | null {
    const now = Date.now();
    const hit0 = this.cache.get(name);
    if (hit0 && now - (this.checkedAt.get(name) ?? 0) < this.recheckMs) return hit0;
    this.checkedAt.set(name, now);
    const files = this.files(name);
    const stamp = this.stamp(files);
    if (stamp === null) {
      if (name !== 'blacklist') return null;
      return this.remember(name, 'none', Buffer.from('{"cards":[]}'));
    }
    const hit = this.cache.get(name);
    if (hit && hit.stamp === stamp) return hit;
    let body: Buffer;
    if (name === 'rules') {
      const versions = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as unknown);
      body = Buffer.from(JSON.stringify({ versions }));
    } else {
      body = fs.readFileSync(files[0]!);
      if (name === 'blacklist') {
        const r = blacklistSchema.safeParse(safeJson(body));
        if (!r.success) {
          if (hit) return hit;
          throw new SyncError('bad-downlink-file', `${files[0]}: not a valid blacklist: ${r.error.issues[0]?.message ?? ''}`);
        }
      }
    }
    return this.remember(name, stamp, body);
  }

  private remember(name: DownlinkName, stamp: string, body: Buffer): Cached {
    const c: Cached = { stamp, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"` };
    this.cache.set(name, c);
    return c;
  }

  /**
   * Is `cardSerial` blacklisted on dispensing date `date`? The fund's own check when it
   * recomputes a split.
   */
  isBlacklisted(cardSerial: string, date: string): boolean {
    const doc = this.get('blacklist')!;
    if (doc.etag !== this.blacklistStamp) {
      const parsed = blacklistSchema.parse(JSON.parse(doc.body.toString('utf8')));
      this.blacklistMap = new Map(parsed.cards.map((c) => [c.cardSerial, c]));
      this.blacklistStamp = doc.etag;
    }
    const entry = this.blacklistMap.get(cardSerial);
    return entry !== undefined && blacklistedOn(entry, date);
  }
}

function safeJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'));
  } catch {
    return undefined;
  }
}
