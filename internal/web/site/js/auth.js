// OIDC authorization code flow with PKCE (S256) for a public client.
// Tokens live in sessionStorage only: they survive a reload of this tab but
// not the tab itself, are never written to cookies, and are sent only as an
// Authorization header. The refresh token the code grant returns renews the
// access token shortly before it runs out, so a session lasts as long as
// the pool's refresh token validity (a shift for staff, a day for families)
// without a sign-in; sign-out revokes it.

const SKEW_MS = 30_000; // treat a token as expired a little early
const RENEW_AHEAD_MS = 120_000; // renew this long before the token runs out
const RENEW_RETRY_MS = 15_000; // after a failed renewal that may succeed later

function b64url(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(nBytes) {
  return b64url(crypto.getRandomValues(new Uint8Array(nBytes)));
}

async function challengeFor(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

/** claims decodes a JWT's payload without verifying it: the token came
 * straight from the token endpoint over TLS, and the API verifies it. We read
 * it only for its expiry and the user's name. */
export function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
    return JSON.parse(json);
  } catch {
    return {};
  }
}

export class AuthError extends Error {}

// What the sign-in screen says when the issuer sends the browser back with
// ?error= (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6) or the token
// endpoint refuses the code (RFC 6749 §5.2). Only these fixed texts are
// shown, keyed by the error code: error_description and error_uri come from
// the address bar, where anyone can write a link, so showing them would let
// a crafted link put its own words on our page.
const SIGN_IN_FAILED = 'Sign-in did not complete. Please try again.';
const ERROR_TEXT = new Map([
  ['access_denied', 'Sign-in was cancelled or not allowed. If you need access, ask your practice administrator.'],
  ['invalid_request', 'The sign-in request was not accepted. Please try again.'],
  ['unauthorized_client', 'This page is not allowed to sign in here. Please contact the practice.'],
  ['unsupported_response_type', 'The sign-in request was not accepted. Please contact the practice.'],
  ['invalid_scope', 'The sign-in request was not accepted. Please contact the practice.'],
  ['server_error', 'The sign-in service had a problem. Please try again in a few minutes.'],
  ['temporarily_unavailable', 'The sign-in service is busy or down for maintenance. Please try again in a few minutes.'],
  ['login_required', 'Please sign in again.'],
  ['interaction_required', 'Please sign in again.'],
  ['consent_required', 'Please sign in again.'],
  ['account_selection_required', 'Please sign in again.'],
  // Token endpoint errors.
  ['invalid_grant', 'This sign-in link has expired or was already used. Please sign in again.'],
  ['invalid_client', 'This page is not allowed to sign in here. Please contact the practice.'],
  ['unsupported_grant_type', 'The sign-in request was not accepted. Please contact the practice.'],
]);

/** errorText is the fixed message for an OAuth error code, whatever the
 * code (a Map, so "constructor" or "__proto__" find nothing). */
export function errorText(code) {
  return ERROR_TEXT.get(String(code || '')) || SIGN_IN_FAILED;
}

export class Auth {
  /**
   * @param {string} audience "staff" or "portal"
   * @param {{issuer, clientId, authorizeUrl, tokenUrl, logoutUrl, scope}} client
   */
  constructor(audience, client) {
    this.audience = audience;
    this.client = client;
    // The redirect URI is the page's own canonical URL, so it matches what is
    // registered with the issuer whatever the address bar showed.
    this.redirectUri = `${location.origin}/${audience}/`;
    this.sessionKey = `pp.${audience}.session`;
    this.flowKey = `pp.${audience}.flow`;
    this.expiryTimer = 0;
    this.renewing = null;
    this.onExpired = () => {};
    this.onSignOut = () => {};
  }

  /** signIn leaves the page for the issuer's sign-in screen. */
  async signIn(returnTo = location.hash) {
    const verifier = randomString(48); // 64 characters, within RFC 7636's 43–128
    const state = randomString(24);
    const nonce = randomString(24);
    sessionStorage.setItem(this.flowKey, JSON.stringify({ verifier, state, nonce, returnTo }));
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: this.client.clientId,
      redirect_uri: this.redirectUri,
      scope: this.client.scope,
      state,
      nonce,
      code_challenge: await challengeFor(verifier),
      code_challenge_method: 'S256',
    });
    location.assign(`${this.client.authorizeUrl}?${q}`);
  }

  /**
   * completeSignIn finishes a sign-in when the issuer has sent the browser
   * back with ?code=&state= (or ?error=). It returns the hash to restore, or
   * null when this page load is not a sign-in return.
   */
  async completeSignIn() {
    const params = new URLSearchParams(location.search);
    if (!params.has('code') && !params.has('error')) return null;
    const flow = JSON.parse(sessionStorage.getItem(this.flowKey) || 'null');
    sessionStorage.removeItem(this.flowKey);
    // Take the code out of the address bar and history at once.
    history.replaceState(null, '', `/${this.audience}/${flow?.returnTo || ''}`);

    if (params.has('error')) {
      // Never error_description: see ERROR_TEXT.
      throw new AuthError(errorText(params.get('error')));
    }
    if (!flow || params.get('state') !== flow.state) {
      throw new AuthError('This sign-in link is stale or was not started here. Please sign in again.');
    }
    let res;
    try {
      res = await fetch(this.client.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: this.client.clientId,
          code: params.get('code'),
          redirect_uri: this.redirectUri,
          code_verifier: flow.verifier,
        }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new AuthError('Could not reach the sign-in service. Check your connection and try again.');
    }
    const body = await res.json().catch(() => ({}));
    if (!res.ok || !body.access_token) {
      throw new AuthError(errorText(body.error));
    }
    if (body.id_token && flow.nonce && claims(body.id_token).nonce && claims(body.id_token).nonce !== flow.nonce) {
      throw new AuthError('Sign-in response did not match this sign-in. Please try again.');
    }
    this.store(body, '');
    return flow.returnTo || '';
  }

  /** store keeps a token response as the session; refreshToken is kept
   * when the response has none (a refresh grant answers without one). */
  store(body, refreshToken) {
    const access = claims(body.access_token);
    let expiresAt = Date.now() + (Number(body.expires_in) || 3600) * 1000;
    if (access.exp) expiresAt = Math.min(expiresAt, access.exp * 1000);
    const id = body.id_token ? claims(body.id_token) : {};
    sessionStorage.setItem(this.sessionKey, JSON.stringify({
      accessToken: body.access_token,
      refreshToken: body.refresh_token || refreshToken || '',
      expiresAt,
      name: id.name || id['cognito:username'] || access.username || id.email || '',
      sub: access.sub || id.sub || '',
    }));
  }

  /**
   * renew trades the refresh token for a fresh access token (RFC 6749 §6).
   * It returns true when the session was renewed; false when it cannot be
   * (no refresh token, or the issuer refused it: revoked or expired), and
   * throws when the issuer could not be reached, so the caller may retry.
   * Concurrent callers share one request.
   */
  renew() {
    if (!this.renewing) {
      this.renewing = this.renewOnce().finally(() => { this.renewing = null; });
    }
    return this.renewing;
  }

  async renewOnce() {
    const s = this.session();
    if (!s?.refreshToken) return false;
    let res;
    try {
      res = await fetch(this.client.tokenUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'refresh_token', client_id: this.client.clientId, refresh_token: s.refreshToken }),
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch {
      throw new AuthError('Could not reach the sign-in service.');
    }
    const body = await res.json().catch(() => ({}));
    // A 4xx (invalid_grant: revoked or expired) will not get better; a
    // 5xx might.
    if (res.status >= 500) throw new AuthError(errorText(body.error));
    if (!res.ok || !body.access_token) return false;
    // The user may have signed out (or in as someone else) meanwhile.
    if (this.session()?.refreshToken !== s.refreshToken) return false;
    this.store(body, s.refreshToken);
    this.watchExpiry();
    return true;
  }

  /** validToken returns a token that is valid now, renewing it first when
   * it has run out and a refresh token can renew it; null otherwise. */
  async validToken() {
    const t = this.accessToken();
    if (t) return t;
    try {
      if (await this.renew()) return this.accessToken();
    } catch { /* unreachable issuer: treated as expired */ }
    return null;
  }

  /** justSignedOut reports (once) that the last page load signed out. */
  justSignedOut() {
    const key = `pp.${this.audience}.signedOut`;
    const v = sessionStorage.getItem(key) === '1';
    sessionStorage.removeItem(key);
    return v;
  }

  session() {
    const s = JSON.parse(sessionStorage.getItem(this.sessionKey) || 'null');
    return s && s.accessToken ? s : null;
  }

  /** accessToken returns a token that is still valid, or null. */
  accessToken() {
    const s = this.session();
    if (!s || Date.now() > s.expiresAt - SKEW_MS) return null;
    return s.accessToken;
  }

  /** watchExpiry renews the token shortly before it runs out, silently;
   * when it cannot be renewed, it calls onExpired as the token runs out, so
   * the user is told before their next click fails rather than after. */
  watchExpiry() {
    const s = this.session();
    if (!s) { clearTimeout(this.expiryTimer); return; }
    const left = s.expiresAt - SKEW_MS - Date.now();
    if (!s.refreshToken) this.later(left, () => this.expire());
    else this.later(left - RENEW_AHEAD_MS, () => this.renewOrExpire());
  }

  /** later runs fn after ms, replacing any timer set before. setTimeout
   * overflows past ~24.8 days; no token lives that long. */
  later(ms, fn) {
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(fn, Math.min(Math.max(0, ms), 2 ** 31 - 1));
  }

  /** renewOrExpire renews now; when the issuer cannot be reached it tries
   * again while the token lasts, and when it refuses, the session ends. */
  async renewOrExpire() {
    try {
      if (!(await this.renew())) this.expire(); // a renewal watches the new token
    } catch {
      const s = this.session();
      if (!s) return;
      const left = s.expiresAt - SKEW_MS - Date.now();
      if (left <= 0) this.expire();
      else this.later(Math.min(RENEW_RETRY_MS, left), () => this.renewOrExpire());
    }
  }

  /** expire forgets the token and tells the page. */
  expire() {
    clearTimeout(this.expiryTimer);
    if (!sessionStorage.getItem(this.sessionKey)) return;
    sessionStorage.removeItem(this.sessionKey);
    this.onExpired();
  }

  /** signOut revokes the refresh token, forgets the tokens and ends the
   * issuer's session too. onSignOut (drafts) runs first. */
  async signOut() {
    clearTimeout(this.expiryTimer);
    this.onSignOut();
    const rt = this.session()?.refreshToken;
    sessionStorage.removeItem(this.sessionKey);
    sessionStorage.setItem(`pp.${this.audience}.signedOut`, '1');
    if (rt && this.client.revokeUrl) {
      // Awaited (briefly) so the token is dead before the page leaves;
      // keepalive lets it finish if the navigation wins.
      const revoked = fetch(this.client.revokeUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: rt, client_id: this.client.clientId }),
        credentials: 'omit',
        cache: 'no-store',
        keepalive: true,
      }).catch(() => {});
      await Promise.race([revoked, new Promise((r) => setTimeout(r, 3000))]);
    }
    if (this.client.logoutUrl) {
      const q = new URLSearchParams({ client_id: this.client.clientId, logout_uri: this.redirectUri });
      location.assign(`${this.client.logoutUrl}?${q}`);
    } else {
      location.assign(this.redirectUri);
    }
  }
}
