// Times: the API speaks RFC 3339 UTC; people read and type their own local
// time. `<input type="datetime-local">` holds a zone-less "YYYY-MM-DDTHH:mm[:ss]"
// that we interpret in the browser's time zone.

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** "YYYY-MM-DDTHH:mm[:ss]" in the browser's zone → "YYYY-MM-DDTHH:mm:ssZ", or null. */
export function localInputToUtc(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(value.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((s) => (s ? Number(s) : 0));
  const d = new Date(year, month - 1, day, hour, minute, second);
  // Reject values the Date constructor silently rolled over (Feb 30 → Mar 2).
  if (Number.isNaN(d.getTime()) || d.getMonth() !== month - 1 || d.getDate() !== day) {
    return null;
  }
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An RFC 3339 instant → the value a datetime-local input shows in the browser's zone. */
export function utcToLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const base = `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.getSeconds() === 0 ? base : `${base}:${pad(d.getSeconds())}`;
}

/** The browser's IANA zone and its current UTC offset, e.g. "Asia/Seoul (UTC+09:00)". */
export function localZoneLabel(now: Date = new Date()): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  const offset = -now.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${zone} (UTC${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)})`;
}

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  timeZoneName: 'short',
});

/** An RFC 3339 instant for people, in the browser's zone ("Feb 11, 2026, 10:00:00 GMT+9"). */
export function formatLocal(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFormat.format(d);
}

const clockFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

/** The time of day of an RFC 3339 instant in the browser's zone, "HH:MM:SS" (24-hour). */
export function formatClock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : clockFormat.format(d);
}

/** A countdown: "2d 03:04:05", "03:04:05" or "04:05". */
export function formatCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const hms = hours > 0 || days > 0 ? `${pad(hours)}:${pad(minutes)}:${pad(seconds)}` : `${pad(minutes)}:${pad(seconds)}`;
  return days > 0 ? `${days}d ${hms}` : hms;
}

/** Countdown in words for screen readers ("2 minutes 5 seconds"). */
export function describeCountdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const parts: string[] = [];
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  let rest = total;
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    rest %= size;
    if (n > 0) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.length ? parts.join(' ') : '0 seconds';
}

// --- the server's clock ------------------------------------------------------
//
// The button opens when the *server* says the sale has started. The browser's
// clock may be off by minutes, so every API answer's `Date` header (1 s
// resolution) updates an estimate of the offset; offsets under a second are
// treated as zero (the header cannot resolve them).

let clockOffsetMs = 0;

/** Feed a response's Date header; `sentAt`/`receivedAt` are Date.now() around the request. */
export function observeServerDate(header: string | null, sentAt: number, receivedAt: number): void {
  if (!header) return;
  const server = Date.parse(header);
  if (Number.isNaN(server)) return;
  // The header truncates to the second: the server's time was in [server, server + 1000).
  const estimate = server + 500 - (sentAt + receivedAt) / 2;
  clockOffsetMs = Math.abs(estimate) < 1500 ? 0 : Math.round(estimate);
}

/** Milliseconds since the epoch by the server's clock (estimate). */
export function serverNow(): number {
  return Date.now() + clockOffsetMs;
}

export function clockOffset(): number {
  return clockOffsetMs;
}
