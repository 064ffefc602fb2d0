import * as http from 'node:http';

/**
 * Requests over node:http, byte for byte: the path is sent as given (bad percent-encoding
 * included), the body as the given bytes, and a `Content-Length` or `Content-Encoding` header is
 * whatever the test says — fetch would normalise or refuse all of these.
 */

export interface RawRequest {
  method: string;
  /** Path and query, sent as is. */
  path: string;
  /** An array sends the header once per value. */
  headers?: Record<string, string | string[]>;
  /** Sent in one piece (Node adds Content-Length unless `headers` has one) or, with `chunked`, in two chunks. */
  body?: Buffer | string;
  chunked?: boolean;
  /** How long to wait for an answer (a body shorter than its Content-Length gets none). */
  timeoutMs?: number;
  /**
   * The answer may be an endless stream (Server-Sent Events): a 200 `text/event-stream` is read
   * up to its first event (or until the server cuts it), then the connection is closed; other
   * answers are read to their end.
   */
  stream?: boolean;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * The answer; `'timeout'` if none came in time; `'reset'` if the connection was cut before an
 * answer (a server refusing a body may close before reading it); `'unsendable'` if node:http
 * refused to send the request (e.g. a CR in a header value).
 */
export function rawRequest(baseUrl: string, r: RawRequest): Promise<RawResponse | 'timeout' | 'reset' | 'unsendable'> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: Number(url.port),
        method: r.method,
        path: r.path,
        headers: r.headers ?? {},
        agent: false,
      });
    } catch {
      resolve('unsendable');
      return;
    }
    const timer = setTimeout(() => {
      req.destroy();
      resolve('timeout');
    }, r.timeoutMs ?? 15_000);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const endless = r.stream === true && String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        const text = Buffer.concat(chunks).toString('utf8');
        if (endless && /\n\n[^]*\n\n/.test(text)) {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          req.destroy();
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        // A stream is cut when the server drops the connection (bytes after the request — a GET's
        // unframed body — are a malformed next request): what it answered is the answer.
        if (endless) resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        else reject(err);
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resolve('reset');
      else reject(err);
    });
    try {
      if (r.body !== undefined && r.chunked) {
        const b = Buffer.from(r.body);
        req.write(b.subarray(0, b.length >> 1));
        req.end(b.subarray(b.length >> 1));
      } else {
        req.end(r.body);
      }
    } catch {
      clearTimeout(timer);
      req.destroy();
      resolve('unsendable');
    }
  });
}

/** The error body of a 4xx answer, or undefined if it does not have the API's shape. */
export function apiError(res: RawResponse): { code: string; message: string; field?: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Object.keys(body).join() !== 'error') return undefined;
  const e = (body as { error: unknown }).error as Record<string, unknown>;
  if (typeof e !== 'object' || e === null) return undefined;
  const keys = Object.keys(e).sort().join();
  if (keys !== 'code,message' && keys !== 'code,field,message') return undefined;
  if (typeof e.code !== 'string' || typeof e.message !== 'string') return undefined;
  if (e.field !== undefined && (typeof e.field !== 'string' || e.field === '')) return undefined;
  return e as { code: string; message: string; field?: string };
}
