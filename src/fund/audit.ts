import Database from 'better-sqlite3';
import { X509Certificate, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GENESIS_HASH } from '../sync/invoice';
import { jwsHash, parseCompact, verifySignature, type JwsType } from '../sync/jws';
import { checkManifest } from '../sync/manifest';
import { certificateThumbprint } from '../sync/signer';

/**
 * `chifa fund verify --data DIR`: proves the fund's store is complete. For every pharmacy: the
 * invoice numbers run from 1 without a gap or a repeat, each links to the previous one's hash,
 * each stored hash is the hash of the stored JWS and each signature verifies; the batches are
 * numbered from 1 and their ranges tile the chain exactly; every manifest verifies and lists
 * exactly the stored invoices; no dispensing was accepted twice. Read-only.
 */

export interface PharmacyAudit {
  pharmacyId: string;
  invoices: number;
  accepted: number;
  rejected: number;
  batches: number;
  lastNumber: number;
  lastHash: string;
  chainComplete: boolean;
  problems: string[];
}

/** What auditFundStore found. */
export interface FundAudit {
  ok: boolean;
  file: string;
  pharmacies: PharmacyAudit[];
  problems: string[];
}

const MAX = 50;

/**
 * Audits the fund's store in `dataDir` (read-only): per pharmacy, invoice numbers from 1 without
 * gap or repeat, each linked to the previous hash, every signature and manifest verified, batches
 * tiling the chain, no dispensing accepted twice. `ok` when nothing is wrong.
 */
export function auditFundStore(dataDir: string): FundAudit {
  const file = path.join(dataDir, 'fund.sqlite');
  const audit: FundAudit = { ok: false, file, pharmacies: [], problems: [] };
  if (!fs.existsSync(file)) {
    audit.problems.push(`${file} does not exist`);
    return audit;
  }
  const db = new Database(file, { fileMustExist: true, readonly: true });
  try {
    db.pragma('busy_timeout = 10000');
    const qc = db.pragma('quick_check', { simple: true }) as string;
    if (qc !== 'ok') audit.problems.push(`SQLite quick_check: ${qc}`);
    const keys = new Map<string, KeyObject>();
    for (const c of db.prepare('SELECT key_id, der FROM certificates').all() as { key_id: string; der: Buffer }[]) {
      if (certificateThumbprint(c.der) !== c.key_id) audit.problems.push(`certificate ${c.key_id}: thumbprint mismatch`);
      else keys.set(c.key_id, new X509Certificate(c.der).publicKey);
    }
    const ids = db
      .prepare(
        'SELECT id FROM pharmacies UNION SELECT DISTINCT pharmacy_id FROM invoices UNION SELECT DISTINCT pharmacy_id FROM batches ORDER BY 1',
      )
      .pluck()
      .all() as string[];
    for (const id of ids) audit.pharmacies.push(auditPharmacy(db, id, keys));
  } catch (err) {
    audit.problems.push(`reading the store failed: ${(err as Error).message}`);
  } finally {
    db.close();
  }
  audit.ok = audit.problems.length === 0 && audit.pharmacies.every((p) => p.problems.length === 0);
  return audit;
}

function auditPharmacy(db: Database.Database, pharmacyId: string, keys: Map<string, KeyObject>): PharmacyAudit {
  const a: PharmacyAudit = {
    pharmacyId,
    invoices: 0,
    accepted: 0,
    rejected: 0,
    batches: 0,
    lastNumber: 0,
    lastHash: GENESIS_HASH,
    chainComplete: false,
    problems: [],
  };
  const problem = (m: string): void => {
    if (a.problems.length < MAX) a.problems.push(m);
  };
  const verify = (jws: string, typ: JwsType, where: string): unknown => {
    const p = parseCompact(jws, where, typ);
    const key = keys.get(p.header['x5t#S256']);
    if (!key) throw new Error(`${where}: signed with a certificate the fund does not hold`);
    if (!verifySignature(p.signingInput, p.signature, key)) throw new Error(`${where}: the signature does not verify`);
    return p.payload;
  };

  type Row = { number: number; hash: string; prev_hash: string; batch_id: number; status: string; jws: string };
  const hashes = new Map<number, string>();
  const perBatch = new Map<number, number>();
  let expected = 1;
  let prev = GENESIS_HASH;
  let gapless = true;
  for (const r of db
    .prepare(
      'SELECT number, lower(hex(hash)) AS hash, lower(hex(prev_hash)) AS prev_hash, batch_id, status, jws FROM invoices WHERE pharmacy_id = ? ORDER BY number',
    )
    .iterate(pharmacyId) as IterableIterator<Row>) {
    a.invoices++;
    if (r.status === 'accepted') a.accepted++;
    else a.rejected++;
    const where = `${pharmacyId} invoice ${r.number}`;
    if (r.number !== expected) {
      gapless = false;
      problem(r.number < expected ? `${where}: stored more than once` : `${where}: invoices ${expected}–${r.number - 1} are missing`);
    }
    expected = r.number + 1;
    const h = jwsHash(r.jws);
    if (h !== r.hash) problem(`${where}: the stored hash is not the hash of the stored JWS`);
    if (r.prev_hash !== prev) {
      gapless = false;
      problem(`${where}: does not link to the previous invoice`);
    }
    prev = h;
    hashes.set(r.number, h);
    perBatch.set(r.batch_id, (perBatch.get(r.batch_id) ?? 0) + 1);
    try {
      const doc = verify(r.jws, 'chifa-invoice+jws', where) as { number?: unknown; prev?: unknown; pharmacyId?: unknown };
      if (doc.number !== r.number || doc.prev !== r.prev_hash || doc.pharmacyId !== pharmacyId)
        problem(`${where}: the signed document disagrees with the stored columns`);
    } catch (err) {
      problem((err as Error).message);
    }
  }
  a.lastNumber = expected - 1;
  a.lastHash = prev;

  const dupHash = db
    .prepare('SELECT COUNT(*) - COUNT(DISTINCT hash) FROM invoices WHERE pharmacy_id = ?')
    .pluck()
    .get(pharmacyId) as number;
  if (dupHash !== 0) problem(`${dupHash} invoice hash(es) stored more than once`);
  const dupFp = db
    .prepare(
      "SELECT fingerprint, COUNT(*) AS n FROM invoices WHERE pharmacy_id = ? AND status = 'accepted' GROUP BY fingerprint HAVING n > 1 LIMIT 1",
    )
    .get(pharmacyId) as { n: number } | undefined;
  if (dupFp) problem(`a dispensing was accepted ${dupFp.n} times`);

  type B = { batch_id: number; from_number: number; to_number: number; count: number; manifest_jws: string };
  let nextBatch = 1;
  let nextFrom = 1;
  for (const b of db
    .prepare('SELECT batch_id, from_number, to_number, count, manifest_jws FROM batches WHERE pharmacy_id = ? ORDER BY batch_id')
    .iterate(pharmacyId) as IterableIterator<B>) {
    a.batches++;
    const where = `${pharmacyId} batch ${b.batch_id}`;
    if (b.batch_id !== nextBatch) problem(`${where}: expected batch ${nextBatch}`);
    nextBatch = b.batch_id + 1;
    if (b.from_number !== nextFrom) problem(`${where}: starts at ${b.from_number}, expected ${nextFrom}`);
    nextFrom = b.to_number + 1;
    if ((perBatch.get(b.batch_id) ?? 0) !== b.count)
      problem(`${where}: holds ${perBatch.get(b.batch_id) ?? 0} stored invoices, its manifest says ${b.count}`);
    try {
      const m = checkManifest(verify(b.manifest_jws, 'chifa-manifest+jws', `${where} manifest`), `${where} manifest`);
      for (let i = 0; i < m.invoices.length; i++) {
        if (hashes.get(m.from + i) !== m.invoices[i]) {
          problem(`${where}: the manifest's hash of invoice ${m.from + i} differs from the stored invoice`);
          break;
        }
      }
    } catch (err) {
      problem((err as Error).message);
    }
  }
  if (a.invoices > 0 && nextFrom !== a.lastNumber + 1) problem(`${pharmacyId}: invoices ${nextFrom}–${a.lastNumber} belong to no batch`);
  const tip = db.prepare('SELECT last_number AS n, last_hash AS h FROM pharmacies WHERE id = ?').get(pharmacyId) as
    { n: number; h: string } | undefined;
  if (!tip || tip.n !== a.lastNumber || tip.h !== a.lastHash)
    problem(`${pharmacyId}: the recorded chain tip disagrees with the stored invoices`);
  a.chainComplete = gapless && a.problems.length === 0;
  return a;
}
