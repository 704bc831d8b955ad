// Recomputes a waiting room's drawn order in the browser, so nobody has to
// take the server's word for it: the seed revealed at the start must hash to
// the commitment published before it, and the places of everyone who joined
// before the start must be in ascending SHA-256(seed bytes ‖ ASCII decimal
// user id) order, ties by the smaller id.

import type { QueueProof } from './api';

export interface ProofCheck {
  /** SHA-256 of the revealed seed is the proof's commitment. */
  seedMatchesCommitment: boolean;
  /** The proof's commitment is the one this page showed before; null when the page never saw one. */
  commitmentAsPublished: boolean | null;
  /** `pre_queue` is in the order the seed gives, each id once. */
  orderMatches: boolean;
  /** The first place (1-based) that breaks the order; null when none does (or no seed to check with). */
  firstOutOfOrder: number | null;
  /** This user's place: among those drawn (1-based in `pre_queue`) or after them, by arrival. */
  yours: { drawn: boolean; place: number } | null;
  drawnCount: number;
}

/** Every check passed (a commitment the page never saw is not a failure). */
export function proofHolds(c: ProofCheck): boolean {
  return c.seedMatchesCommitment && c.orderMatches && c.commitmentAsPublished !== false;
}

/** Bytes of a hex string; null when it is not one. */
export function hexToBytes(hex: string): Uint8Array | null {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
}

/** The key an id is drawn by: SHA-256(seed ‖ ASCII decimal id). */
function drawKey(seed: Uint8Array, userId: number): Promise<Uint8Array> {
  const id = new TextEncoder().encode(String(userId));
  const input = new Uint8Array(seed.length + id.length);
  input.set(seed);
  input.set(id, seed.length);
  return sha256(input);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Digests in slices: a room of 100,000 must not queue 100,000 digests at once. */
async function drawKeys(seed: Uint8Array, ids: number[]): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < ids.length; i += 1024) {
    keys.push(...(await Promise.all(ids.slice(i, i + 1024).map((id) => drawKey(seed, id)))));
  }
  return keys;
}

/** The first 1-based place that is not after the one before it, or null when the order holds. */
async function firstBreak(seed: Uint8Array, ids: number[]): Promise<number | null> {
  const keys = await drawKeys(seed, ids);
  for (let i = 1; i < ids.length; i++) {
    const c = compareBytes(keys[i - 1], keys[i]);
    // Equal ids compare equal: an id twice breaks the order too.
    if (c > 0 || (c === 0 && ids[i - 1] >= ids[i])) return i + 1;
  }
  return null;
}

export async function checkQueueProof(proof: QueueProof, published: string | null, userId: number | null): Promise<ProofCheck> {
  const commitment = proof.seed_commitment.toLowerCase();
  const seed = hexToBytes(proof.seed);
  const seedMatchesCommitment = seed !== null && toHex(await sha256(seed)) === commitment;
  // A seed that is not hex cannot order anything: no order holds.
  const broken = seed === null ? null : await firstBreak(seed, proof.pre_queue);
  let yours: ProofCheck['yours'] = null;
  if (userId !== null) {
    const drawn = proof.pre_queue.indexOf(userId);
    const late = proof.late.indexOf(userId);
    if (drawn >= 0) yours = { drawn: true, place: drawn + 1 };
    else if (late >= 0) yours = { drawn: false, place: proof.pre_queue.length + late + 1 };
  }
  return {
    seedMatchesCommitment,
    commitmentAsPublished: published === null ? null : published.toLowerCase() === commitment,
    orderMatches: seed !== null && broken === null,
    firstOutOfOrder: broken,
    yours,
    drawnCount: proof.pre_queue.length,
  };
}

/** The checks in words, each line saying whether it passed (not by colour or symbol alone). */
export function describeProofCheck(c: ProofCheck, signedIn: boolean): string[] {
  const lines = [
    c.seedMatchesCommitment
      ? 'Passed: the seed revealed at the start hashes (SHA-256) to the commitment.'
      : 'Failed: the seed does not hash to the commitment.',
  ];
  if (c.commitmentAsPublished !== null) {
    lines.push(
      c.commitmentAsPublished
        ? 'Passed: the commitment is the one this page showed before.'
        : 'Failed: the proof’s commitment is not the one this page showed before.',
    );
  }
  if (c.orderMatches) {
    lines.push(`Passed: the ${c.drawnCount.toLocaleString()} places drawn before the start are in the order the seed gives.`);
  } else {
    lines.push(c.firstOutOfOrder === null ? 'Failed: the order cannot be checked — the seed is not hex.' : `Failed: the drawn order breaks at place ${c.firstOutOfOrder.toLocaleString()}.`);
  }
  if (c.yours?.drawn) lines.push(`Your place in the draw: #${c.yours.place.toLocaleString()} of ${c.drawnCount.toLocaleString()}.`);
  else if (c.yours) lines.push(`You joined after the start: place #${c.yours.place.toLocaleString()}, after the ${c.drawnCount.toLocaleString()} drawn.`);
  else if (signedIn) lines.push('You are not in this queue’s lists.');
  return lines;
}
