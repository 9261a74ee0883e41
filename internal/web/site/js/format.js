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
