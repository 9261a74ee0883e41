// The one table from an API problem to what the pages say: a plain
// sentence and what to do next. The API's own `detail` is written for
// developers ("no such recipient pool", "the requested resource does not
// exist") and never reaches the screen; the problem's `type` (its last
// path segment is the domain code) or else its status picks the row.

/** @typedef {{ text: string, next: string }} Plain */

/** @type {Record<string, Plain>} */
const BY_CODE = {
  network: {
    text: 'We could not reach the practice’s messaging service.',
    next: 'Check your internet connection, then try again.',
  },
  unauthorized: {
    text: 'Your session expired.',
    next: 'Sign in again to continue.',
  },
  malformed: {
    text: 'The page sent something the service could not read.',
    next: 'Reload the page and try again.',
  },
  invalid: {
    text: 'Something in the form needs a change.',
    next: 'Check the highlighted field and try again.',
  },
  idempotency: {
    text: 'This was already sent once with different words.',
    next: 'Reload the page to see what arrived before you send again.',
  },
  forbidden: {
    text: 'Your account is not allowed to do this.',
    next: 'If you think it should be, ask the practice to check your account.',
  },
  not_found: {
    text: 'We could not find this. It may have moved, or it is not shared with your account.',
    next: 'Go back to the list and open it from there.',
  },
  conflict: {
    text: 'This changed while you were looking at it.',
    next: 'Reload the page to see the latest, then try again.',
  },
  too_large: {
    text: 'What you sent is too long for one message.',
    next: 'Shorten it, or split it into two messages, and send again.',
  },
  throttled: {
    text: 'Too many requests in a short time.',
    next: 'Wait a minute, then try again.',
  },
  unavailable: {
    text: 'The messaging service is busy or briefly down.',
    next: 'Try again in a few minutes. If your child needs urgent care, call 911.',
  },
  internal: {
    text: 'Something went wrong on our side.',
    next: 'Try again in a few minutes. If it keeps happening, call the office.',
  },
};

/** BY_STATUS picks the row when the problem carries no type we know. */
const BY_STATUS = {
  0: 'network', 400: 'malformed', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found',
  409: 'conflict', 413: 'too_large', 422: 'invalid', 429: 'throttled',
  500: 'internal', 502: 'unavailable', 503: 'unavailable', 504: 'unavailable',
};

/** FIELD names a field the API can name, in the form's words. */
const FIELD = {
  subject: 'Subject', body: 'Message', poolId: 'To', assigneeId: 'Assigned to',
  reason: 'Reason', status: 'Status', awaiting: 'Waiting on', email: 'E-mail', sms: 'Text message',
  relationship: 'Relationship', portalUserId: 'Family member', title: 'Title',
};

/** codeOf returns the row's key for a status and a problem body. */
export function codeOf(status, problem = {}) {
  const type = typeof problem.type === 'string' ? problem.type : '';
  const code = type.slice(type.lastIndexOf('/') + 1);
  if (Object.hasOwn(BY_CODE, code)) return code;
  if (Object.hasOwn(BY_STATUS, status)) return BY_STATUS[status];
  return status >= 500 ? 'internal' : 'malformed';
}

/**
 * plain returns what the page says for an API problem: text and next
 * step, and the whole as one message. A field the form can show is named;
 * a request ID, when there is one, goes after, for the office to look up.
 * @returns {Plain & { message: string }}
 */
export function plain(status, problem = {}) {
  const row = { ...BY_CODE[codeOf(status, problem)] };
  const field = typeof problem.field === 'string' && Object.hasOwn(FIELD, problem.field) ? FIELD[problem.field] : '';
  if (codeOf(status, problem) === 'invalid' && field) row.text = `Please check ${field}.`;
  const ref = status >= 500 && typeof problem.instance === 'string' && /^[A-Za-z0-9-]{1,64}$/.test(problem.instance)
    ? ` (Reference ${problem.instance}.)` : '';
  return { ...row, message: `${row.text} ${row.next}${ref}` };
}
