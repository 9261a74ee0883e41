// OIDC authorization code flow with PKCE (S256) for a public client.
// Tokens live in sessionStorage only: they survive a reload of this tab but
// not the tab itself, are never written to cookies, and are sent only as an
// Authorization header.

const SKEW_MS = 30_000; // treat a token as expired a little early

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
    this.onExpired = () => {};
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
    const access = claims(body.access_token);
    let expiresAt = Date.now() + (Number(body.expires_in) || 3600) * 1000;
    if (access.exp) expiresAt = Math.min(expiresAt, access.exp * 1000);
    const id = body.id_token ? claims(body.id_token) : {};
    sessionStorage.setItem(this.sessionKey, JSON.stringify({
      accessToken: body.access_token,
      expiresAt,
      name: id.name || id['cognito:username'] || access.username || id.email || '',
      sub: access.sub || id.sub || '',
    }));
    return flow.returnTo || '';
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

  /** watchExpiry calls onExpired when the token runs out, so the user is told
   * before their next click fails rather than after. */
  watchExpiry() {
    clearTimeout(this.expiryTimer);
    const s = this.session();
    if (!s) return;
    const ms = Math.max(0, s.expiresAt - SKEW_MS - Date.now());
    // setTimeout overflows past ~24.8 days; no token lives that long.
    this.expiryTimer = setTimeout(() => this.expire(), Math.min(ms, 2 ** 31 - 1));
  }

  /** expire forgets the token and tells the page. */
  expire() {
    clearTimeout(this.expiryTimer);
    if (!sessionStorage.getItem(this.sessionKey)) return;
    sessionStorage.removeItem(this.sessionKey);
    this.onExpired();
  }

  /** signOut forgets the tokens and ends the issuer's session too. */
  signOut() {
    clearTimeout(this.expiryTimer);
    sessionStorage.removeItem(this.sessionKey);
    sessionStorage.setItem(`pp.${this.audience}.signedOut`, '1');
    if (this.client.logoutUrl) {
      const q = new URLSearchParams({ client_id: this.client.clientId, logout_uri: this.redirectUri });
      location.assign(`${this.client.logoutUrl}?${q}`);
    } else {
      location.assign(this.redirectUri);
    }
  }
}
