// The signed-in session: access + refresh token, kept in memory and in
// sessionStorage (never localStorage; see docs/web.md). A new tab gets the
// session of an open one over a BroadcastChannel. Refresh is single flight
// per tab; tabs sharing a refresh token coordinate through a Web Lock and
// the channel, so a rotation in one tab is adopted by the others instead of
// tripping the server's refresh-token reuse detection (which would sign
// everyone out).

export type Role = 'USER' | 'ADMIN';

export interface Claims {
  sub: string;
  role: Role;
  exp: number;
}

export interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in?: number;
}

interface Stored {
  access: string;
  refresh: string;
  email: string;
}

/** The parts of `Storage` we use (sessionStorage in the browser, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Claims of a JWT, read without verifying (the server verifies; we only display). */
export function decodeClaims(token: string): Claims | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
    const json = atob(b64.padEnd(b64.length + ((4 - (b64.length % 4)) % 4), '='));
    const value: unknown = JSON.parse(json);
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as Claims).sub === 'string' &&
      typeof (value as Claims).exp === 'number'
    ) {
      const c = value as Claims;
      return { sub: c.sub, role: c.role === 'ADMIN' ? 'ADMIN' : 'USER', exp: c.exp };
    }
  } catch {
    // not a JWT
  }
  return null;
}

type Listener = (why: 'signed-in' | 'refreshed' | 'signed-out') => void;

type Broadcast =
  | { type: 'rotated'; old: string; pair: TokenPair }
  | { type: 'signed-out'; refresh: string }
  | { type: 'ask' }
  | { type: 'share'; access: string; refresh: string; email: string };

export function browserStore(): KeyValueStore | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled
  }
}

export class Session {
  private access: string | null = null;
  private refreshToken: string | null = null;
  private claims: Claims | null = null;
  private emailAddr = '';
  private listeners = new Set<Listener>();
  private inflight: Promise<boolean> | null = null;
  private channel: BroadcastChannel | null = null;

  constructor(
    private readonly key: string,
    private readonly store: KeyValueStore | null = browserStore(),
    private readonly refreshEndpoint = '/api/auth/refresh',
  ) {
    const raw = store?.getItem(key);
    if (raw) {
      try {
        const s = JSON.parse(raw) as Stored;
        this.apply(s.access, s.refresh, s.email);
      } catch {
        store?.removeItem(key);
      }
    }
    if (typeof BroadcastChannel !== 'undefined') {
      this.channel = new BroadcastChannel(`session:${key}`);
      this.channel.onmessage = (e: MessageEvent<Broadcast>) => this.onBroadcast(e.data);
      // A new tab asks the open ones for their session, so a user signed in
      // in one tab is signed in in the next one too (nothing on disk).
      if (!this.access) {
        this.askedAt = Date.now();
        this.post({ type: 'ask' });
      }
    }
  }

  private askedAt = 0;

  get signedIn(): boolean {
    return this.access !== null;
  }
  get accessToken(): string | null {
    return this.access;
  }
  get userId(): number | null {
    const id = Number(this.claims?.sub);
    return Number.isInteger(id) && id > 0 ? id : null;
  }
  get role(): Role | null {
    return this.claims?.role ?? null;
  }
  get email(): string {
    return this.emailAddr;
  }
  /** Unix seconds when the access token expires (0 when signed out). */
  get expiresAt(): number {
    return this.claims?.exp ?? 0;
  }
  get hasRefreshToken(): boolean {
    return this.refreshToken !== null;
  }
  get currentRefreshToken(): string | null {
    return this.refreshToken;
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  signIn(pair: TokenPair, email: string): void {
    this.apply(pair.access_token, pair.refresh_token, email);
    this.persist();
    this.emit('signed-in');
  }

  /** Forget the tokens (after logout, or when the refresh token is refused). */
  clear(broadcast = true): void {
    const had = this.refreshToken;
    this.access = null;
    this.refreshToken = null;
    this.claims = null;
    this.store?.removeItem(this.key);
    if (broadcast && had) this.post({ type: 'signed-out', refresh: had });
    this.emit('signed-out');
  }

  /**
   * Exchange the refresh token for a new pair. Single flight: concurrent
   * callers share one request. Resolves false (and signs out) when the server
   * refuses the token; throws on network errors, leaving the session as is.
   */
  refresh(): Promise<boolean> {
    if (!this.refreshToken) return Promise.resolve(false);
    if (!this.inflight) {
      const run = (): Promise<boolean> => this.doRefresh();
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      const p = (locks ? locks.request(`refresh:${this.key}`, run) : run()) as Promise<boolean>;
      const shared = p.finally(() => {
        this.inflight = null;
      });
      this.inflight = shared;
      return shared;
    }
    return this.inflight;
  }

  private async doRefresh(): Promise<boolean> {
    const old = this.refreshToken;
    if (!old) return false;
    // Another tab holding the same token may have rotated it while we waited
    // for the lock; give its broadcast a moment to land.
    await new Promise((r) => setTimeout(r, 50));
    if (this.refreshToken !== old) return this.refreshToken !== null;
    const res = await fetch(this.refreshEndpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ refresh_token: old }),
    });
    if (res.ok) {
      const pair = (await res.json()) as TokenPair;
      if (this.refreshToken !== old) return true; // adopted meanwhile
      this.apply(pair.access_token, pair.refresh_token, this.emailAddr);
      this.persist();
      this.post({ type: 'rotated', old, pair });
      this.emit('refreshed');
      return true;
    }
    if (res.status === 401 || res.status === 400 || res.status === 422) {
      this.clear();
      return false;
    }
    // 429 / 503: the token is still good; let the caller fail this once.
    throw new Error(`refresh failed with HTTP ${res.status}`);
  }

  private apply(access: string, refresh: string, email: string): void {
    this.access = access;
    this.refreshToken = refresh;
    this.claims = decodeClaims(access);
    this.emailAddr = email;
  }

  private persist(): void {
    if (!this.access || !this.refreshToken) return;
    const s: Stored = { access: this.access, refresh: this.refreshToken, email: this.emailAddr };
    try {
      this.store?.setItem(this.key, JSON.stringify(s));
    } catch {
      // quota or disabled storage: memory still works for this page
    }
  }

  private onBroadcast(msg: Broadcast): void {
    if (msg.type === 'ask' && this.access && this.refreshToken) {
      this.post({ type: 'share', access: this.access, refresh: this.refreshToken, email: this.emailAddr });
    } else if (msg.type === 'share' && !this.access && Date.now() - this.askedAt < 3000) {
      this.apply(msg.access, msg.refresh, msg.email);
      this.persist();
      this.emit('signed-in');
    } else if (msg.type === 'rotated' && msg.old === this.refreshToken) {
      this.apply(msg.pair.access_token, msg.pair.refresh_token, this.emailAddr);
      this.persist();
      this.emit('refreshed');
    } else if (msg.type === 'signed-out' && msg.refresh === this.refreshToken) {
      this.clear(false);
    }
  }

  private post(msg: Broadcast): void {
    try {
      this.channel?.postMessage(msg);
    } catch {
      // channel closed
    }
  }

  private emit(why: Parameters<Listener>[0]): void {
    for (const fn of [...this.listeners]) fn(why);
  }
}
