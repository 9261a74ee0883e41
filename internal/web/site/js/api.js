// The HTTP API client: Bearer token, JSON in and out, RFC 9457 problems
// turned into ApiError whose message is the pages' own plain words
// (problems.js), never the server's `detail`.

import { codeOf, plain } from './problems.js';

/** ApiError carries an API problem (or a network failure, status 0).
 * message is plain text with a next step; code is the problem's row. */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    const p = plain(status, problem);
    super(p.message);
    this.status = status;
    this.code = codeOf(status, problem);
    this.text = p.text;
    this.next = p.next;
    this.problem = problem;
    this.field = problem.field || '';
    this.retryAfter = 0;
  }
}

const NETWORK = {};
const EXPIRED = {};

/** seg encodes one path segment (IDs come from the API, but never trust
 * them to be URL-safe). */
export const seg = (s) => encodeURIComponent(String(s));

export class Api {
  /**
   * @param {string} baseUrl the API's base URL
   * @param {import('./auth.js').Auth} auth
   */
  constructor(baseUrl, auth) {
    this.base = baseUrl.replace(/\/+$/, '');
    this.auth = auth;
  }

  /** request sends one call; raw returns the Response (a file) instead of
   * its JSON. */
  async request(method, path, { body, query, idempotencyKey, raw } = {}, renewed = false) {
    const token = await this.auth.validToken();
    if (!token) {
      this.auth.expire();
      throw new ApiError(401, EXPIRED);
    }
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json, application/problem+json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    let url = this.base + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v != null && v !== '' && v !== false) q.set(k, String(v));
      if ([...q].length) url += `?${q}`;
    }
    let res;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit', // no cookies, ever: the token is the only credential
        cache: 'no-store',
        referrerPolicy: 'no-referrer',
      });
    } catch {
      throw new ApiError(0, NETWORK);
    }
    if (res.status === 401) {
      // A token the API refused (revoked, say) may be replaced once by a
      // renewal; only then does the session end.
      if (!renewed && await this.auth.renew().catch(() => false)) {
        return this.request(method, path, { body, query, idempotencyKey, raw }, true);
      }
      this.auth.expire();
      throw new ApiError(401, EXPIRED);
    }
    if (!res.ok) {
      const problem = await res.json().catch(() => ({}));
      const err = new ApiError(res.status, typeof problem === 'object' && problem ? problem : {});
      err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
      throw err;
    }
    if (raw) return res;
    if (res.status === 204) return null;
    return res.json();
  }

  get(path, query) { return this.request('GET', path, { query }); }
  patch(path, body) { return this.request('PATCH', path, { body }); }
  post(path, body) { return this.request('POST', path, { body }); }
  put(path, body) { return this.request('PUT', path, { body }); }

  /**
   * create POSTs something new under an Idempotency-Key. A network failure
   * or a 502/503/504 is retried with the same key, so the server can tell a
   * retry from a second message and never stores it twice.
   */
  async create(path, body, key) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.request('POST', path, { body, idempotencyKey: key });
      } catch (err) {
        const transient = err.status === 0 || err.status === 502 || err.status === 503 || err.status === 504;
        if (!transient || attempt >= 2) throw err;
        const waitS = Math.min(err.retryAfter || 2 ** attempt, 10);
        await new Promise((r) => setTimeout(r, waitS * 1000));
      }
    }
  }
}

/**
 * Submission ties an Idempotency-Key to one submit of a form: pressing Send
 * again after a failure, with the same content, reuses the key; changed
 * content or a completed send gets a new one.
 */
export class Submission {
  constructor() { this.current = null; }

  keyFor(payload) {
    const fp = JSON.stringify(payload);
    if (!this.current || this.current.fp !== fp) this.current = { fp, key: crypto.randomUUID() };
    return this.current.key;
  }

  done() { this.current = null; }
}
