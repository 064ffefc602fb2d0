import { clip, quoteClipped } from '../common/display';
import { isLoopbackHost } from '../common/loopback';
import * as http from 'node:http';
import * as https from 'node:https';
import { SyncError } from './errors';
import type { FundVerifier } from './fund-verifier';
import type { RequestAuthenticator } from './request-auth';

/**
 * The uploader's HTTP client (node:http / node:https; no fetch, because fetch cannot be given a
 * private CA without undici). HTTPS is verified against the configured CA (the fund's TLS CA;
 * in tests `fixtures/keys/tls-ca.pem`) or the system store; plain HTTP is allowed only to a
 * loopback address, so invoices never cross a network in clear.
 *
 * The endpoint also holds the pharmacy's side of the fund's security (docs/sync.md,
 * "Authentication"): `auth` signs every request (a fresh token per attempt) with the
 * pharmacist's card, `verifier` checks what the fund signs against the configured fund CA.
 */

export interface FundEndpoint {
  base: URL;
  agent: http.Agent;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Authenticates each request (without it the fund answers 401). */
  auth?: RequestAuthenticator;
  /** Verifies the fund's signed answers (without it the uploader and the downlink refuse them). */
  verifier?: FundVerifier;
}

/** Options of fundEndpoint. */
export interface EndpointOptions {
  /** PEM of the CA of the fund's TLS certificate. */
  ca?: string | Buffer;
  timeoutMs?: number;
  maxResponseBytes?: number;
  auth?: RequestAuthenticator;
  verifier?: FundVerifier;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A failure that retrying may fix (connection refused or dropped, timeout). */
export class NetworkError extends SyncError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('network', message, undefined, options);
  }
}

/**
 * The fund's base URL, checked: https (or plain http to a loopback address only), no credentials
 * in it. Throws SyncError bad-fund-url / insecure-fund-url naming `--fund`.
 */
export function fundBaseUrl(url: string): URL {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new SyncError('bad-fund-url', `--fund: ${quoteClipped(url, 120)} is not a URL`, 'fund');
  }
  if (base.protocol === 'http:') {
    if (!isLoopbackHost(base.hostname)) {
      throw new SyncError(
        'insecure-fund-url',
        `--fund: plain HTTP is only allowed to a loopback address; use https:// for ${clip(base.host, 120)}`,
        'fund',
      );
    }
  } else if (base.protocol !== 'https:') {
    throw new SyncError(
      'bad-fund-url',
      `--fund: unsupported scheme ${clip(base.protocol)} (https://, or http:// to a loopback address)`,
      'fund',
    );
  }
  if (base.username || base.password) throw new SyncError('bad-fund-url', '--fund: credentials in the URL are not allowed', 'fund');
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

/** The fund's endpoint: base URL, HTTP agent (HTTPS with `ca`, plain HTTP to loopback only), timeouts. */
export function fundEndpoint(url: string, options: EndpointOptions = {}): FundEndpoint {
  const base = fundBaseUrl(url);
  const agent =
    base.protocol === 'https:'
      ? new https.Agent({ keepAlive: true, maxSockets: 4, ...(options.ca !== undefined ? { ca: options.ca } : {}), minVersion: 'TLSv1.2' })
      : new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    base,
    agent,
    timeoutMs: options.timeoutMs ?? 60_000,
    maxResponseBytes: options.maxResponseBytes ?? 64 * 1024 * 1024,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.verifier ? { verifier: options.verifier } : {}),
  };
}

export async function request(
  ep: FundEndpoint,
  method: 'GET' | 'POST',
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer } = {},
): Promise<HttpResponse> {
  const url = new URL(path.replace(/^\//, ''), ep.base);
  const auth = ep.auth ? await ep.auth.headers(method, url.pathname + url.search, options.body) : {};
  return send(ep, method, url, { ...options, headers: { ...options.headers, ...auth } });
}

function send(
  ep: FundEndpoint,
  method: 'GET' | 'POST',
  url: URL,
  options: { headers?: Record<string, string>; body?: Buffer },
): Promise<HttpResponse> {
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method,
        agent: ep.agent,
        headers: {
          accept: 'application/json',
          ...(options.body ? { 'content-type': 'application/json', 'content-length': String(options.body.length) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > ep.maxResponseBytes) {
            req.destroy(new NetworkError(`the fund's answer exceeds ${ep.maxResponseBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          if (!res.complete) reject(new NetworkError('the connection closed before the answer was complete'));
          else resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => reject(new NetworkError(`reading the answer failed: ${err.message}`, { cause: err })));
        res.on('aborted', () => reject(new NetworkError('the connection closed before the answer was complete')));
      },
    );
    req.setTimeout(ep.timeoutMs, () => req.destroy(new NetworkError(`no answer within ${ep.timeoutMs} ms`)));
    req.on('error', (err) => {
      if (err instanceof NetworkError) return reject(err);
      const code = (err as NodeJS.ErrnoException).code;
      // TLS verification failures are configuration errors, not something a retry fixes.
      if (code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
        reject(
          new SyncError('tls-untrusted', `the fund's TLS certificate is not trusted (${code}): ${err.message}; configure its CA with --ca`),
        );
        return;
      }
      reject(new NetworkError(`${method} ${url.pathname}: ${err.message}`, { cause: err }));
    });
    req.end(options.body);
  });
}

/** Seconds or an HTTP date → milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
