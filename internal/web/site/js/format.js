// Date formatting in the reader's own locale and time zone.

const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dayYear = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
// Birth dates are calendar dates, not instants: format them in UTC so a
// reader west of Greenwich does not see the day before.
const dob = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

function parse(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** when: "Mar 3, 2026, 4:05 PM". */
export function when(iso) {
  const d = parse(iso);
  return d ? full.format(d) : '';
}

/** short: a time today, a day this year, else a date — for lists. */
export function short(iso) {
  const d = parse(iso);
  if (!d) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return timeOnly.format(d);
  if (d.getFullYear() === now.getFullYear()) return dayOnly.format(d);
  return dayYear.format(d);
}

/** birthDate formats "YYYY-MM-DD" as a calendar date. */
export function birthDate(ymd) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(ymd || '')) return ymd || '';
  return dob.format(new Date(`${ymd}T00:00:00Z`));
}

/** timeEl returns a <time> element with a machine-readable datetime. */
export function timeEl(iso, text) {
  const t = document.createElement('time');
  t.dateTime = iso;
  t.textContent = text ?? when(iso);
  return t;
}

const ROLES = { doctor: 'Doctor', nurse: 'Nurse', frontdesk: 'Front desk', admin: 'Office admin', portal: 'Family' };
/** roleName turns an API role into words. */
export function roleName(role) {
  return ROLES[role] || role || '';
}

/** at: a time of day for today ("10:42 AM"), else the full date and time —
 * for "X took this conversation at …". */
export function at(iso) {
  const d = parse(iso);
  if (!d) return '';
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : full.format(d);
}

/** duration says how long ago iso was in rounded plain words: "5 minutes",
 * "3 hours", "2 days"; under a minute is "less than a minute". */
export function duration(iso, now = Date.now()) {
  const d = parse(iso);
  if (!d) return '';
  const min = Math.max(0, Math.floor((now - d.getTime()) / 60_000));
  const unit = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (min < 1) return 'less than a minute';
  if (min < 60) return unit(min, 'minute');
  const hours = Math.floor(min / 60);
  if (hours < 48) return unit(hours, 'hour');
  return unit(Math.floor(hours / 24), 'day');
}

const TURNS = { staff: 'Needs reply', family: 'Waiting on family', none: 'No reply needed' };
/** turnName says whose turn a conversation is, for staff. */
export function turnName(awaiting) {
  return TURNS[awaiting] || '';
}
