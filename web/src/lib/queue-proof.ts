// Recomputes a waiting room's drawn order, or a draw's ranking, in the
// browser, so nobody has to take the server's word for it. One proof format
// and one check for both (`QueueProof` in contract/src/admission.rs):
// - the seed revealed at the start (a draw: by the draw) must hash to the
//   commitment published before it;
// - the ids ranked (`pre_queue`) must be in ascending
//   SHA-256(seed ‖ beacon ‖ ASCII decimal user id) order, ties by the smaller
//   id — the beacon's bytes are empty for a queue and for a draw that named
//   none;
// - every admission (a draw: every win, first draw then backfill) went to the
//   next place in that order, passing over only those who left, and the
//   rounds they came in add up to them;
// - a draw's entrants (ids sorted ascending, each in decimal followed by
//   "\n") must hash to the entrants digest sealed when entries closed.

import type { QueueProof } from './api';

/** What the page showed before it asked for the proof: the proof must carry the same. */
export interface Published {
  /** The seed commitment; null when the page never saw one. */
  commitment: string | null;
  /** Draws: the entrants digest shown once entries closed; null or absent when never seen. */
  entrantsDigest?: string | null;
  /** Draws: the beacon round named in advance (null: none named); absent when unknown. */
  beaconRound?: string | null;
}

export interface ProofCheck {
  mode: 'queue' | 'draw';
  /** SHA-256 of the revealed seed is the proof's commitment. */
  seedMatchesCommitment: boolean;
  /** The proof's commitment is the one this page showed before; null when the page never saw one. */
  commitmentAsPublished: boolean | null;
  /** Draws: the entrants hash to `entrants_digest`; null for a queue. */
  digestMatches: boolean | null;
  /** Draws: that digest is the one this page showed before; null when it never saw one (and for a queue). */
  digestAsPublished: boolean | null;
  /** The proof names the beacon round this page showed before; null when unknown (and for a queue). */
  beaconRoundAsPublished: boolean | null;
  /** A beacon round was named: the proof carries its value; null when none was named. */
  beaconPresent: boolean | null;
  /** The beacon mixed into the rank keys, for people to check at its source; null when none. */
  beacon: { round: string | null; value: string } | null;
  /** `pre_queue` is in the order the seed (and beacon) give, each id once. */
  orderMatches: boolean;
  /** The first place (1-based) that breaks the order; null when none does (or no seed to check with). */
  firstOutOfOrder: number | null;
  /** Every admission went to the next place in the order that had not left. */
  admissionsInOrder: boolean;
  /** The first admission (1-based) that did not; null when none. */
  firstBadAdmission: number | null;
  /** The rounds' counts add up to the admissions; null when the proof lists no rounds. */
  roundsAddUp: boolean | null;
  /** A draw that lists late joiners (a draw has none: every entrant is ranked). */
  lateInDraw: boolean;
  /** This user's place: among those drawn (1-based in `pre_queue`) or after them, by arrival; whether admitted (a draw: won). */
  yours: { drawn: boolean; place: number; admitted: boolean } | null;
  drawnCount: number;
  admittedCount: number;
}

/** Every check passed (what the page never saw is not a failure). */
export function proofHolds(c: ProofCheck): boolean {
  return (
    c.seedMatchesCommitment &&
    c.orderMatches &&
    c.admissionsInOrder &&
    c.roundsAddUp !== false &&
    !c.lateInDraw &&
    c.commitmentAsPublished !== false &&
    c.digestMatches !== false &&
    c.digestAsPublished !== false &&
    c.beaconRoundAsPublished !== false &&
    c.beaconPresent !== false
  );
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

/** The key an id is ranked by: SHA-256(prefix ‖ ASCII decimal id), the prefix being seed ‖ beacon. */
function rankKey(prefix: Uint8Array, userId: number): Promise<Uint8Array> {
  const id = new TextEncoder().encode(String(userId));
  const input = new Uint8Array(prefix.length + id.length);
  input.set(prefix);
  input.set(id, prefix.length);
  return sha256(input);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Digests in slices: a room of 100,000 must not queue 100,000 digests at once. */
async function rankKeys(prefix: Uint8Array, ids: number[]): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  for (let i = 0; i < ids.length; i += 1024) {
    keys.push(...(await Promise.all(ids.slice(i, i + 1024).map((id) => rankKey(prefix, id)))));
  }
  return keys;
}

/** The first 1-based place that is not after the one before it, or null when the order holds. */
async function firstBreak(prefix: Uint8Array, ids: number[]): Promise<number | null> {
  const keys = await rankKeys(prefix, ids);
  for (let i = 1; i < ids.length; i++) {
    const c = compareBytes(keys[i - 1], keys[i]);
    // Equal ids compare equal: an id twice breaks the order too.
    if (c > 0 || (c === 0 && ids[i - 1] >= ids[i])) return i + 1;
  }
  return null;
}

/** Admission walks the order: the i-th admission is the i-th place that did not leave. */
function firstAdmissionOutOfOrder(proof: QueueProof): number | null {
  const skipped = new Set(proof.skipped ?? []);
  const order = [...proof.pre_queue, ...proof.late].filter((u) => !skipped.has(u));
  const bad = proof.admitted.findIndex((u, i) => order[i] !== u);
  return bad < 0 ? null : bad + 1;
}

/** Hex SHA-256 of the ids sorted ascending, each as ASCII decimal followed by "\n". */
export async function entrantsDigest(ids: number[]): Promise<string> {
  const text = [...ids]
    .sort((a, b) => a - b)
    .map((id) => `${id}\n`)
    .join('');
  return toHex(await sha256(new TextEncoder().encode(text)));
}

const same = (a: string | null | undefined, b: string | null | undefined): boolean => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

export async function checkProof(proof: QueueProof, published: Published, userId: number | null): Promise<ProofCheck> {
  const draw = proof.mode === 'draw';
  const commitment = proof.seed_commitment.toLowerCase();
  const seed = hexToBytes(proof.seed);
  const beaconHex = proof.beacon ?? '';
  const beacon = hexToBytes(beaconHex);
  const seedMatchesCommitment = seed !== null && toHex(await sha256(seed)) === commitment;
  // A seed or beacon that is not hex cannot order anything: no order holds.
  let broken: number | null = null;
  if (seed !== null && beacon !== null) {
    const prefix = new Uint8Array(seed.length + beacon.length);
    prefix.set(seed);
    prefix.set(beacon, seed.length);
    broken = await firstBreak(prefix, proof.pre_queue);
  }
  const digest = draw ? await entrantsDigest(proof.pre_queue) : null;
  const rounds = proof.rounds ?? [];
  const badAdmission = firstAdmissionOutOfOrder(proof);
  let yours: ProofCheck['yours'] = null;
  if (userId !== null) {
    const admitted = proof.admitted.includes(userId);
    const drawn = proof.pre_queue.indexOf(userId);
    const late = proof.late.indexOf(userId);
    if (drawn >= 0) yours = { drawn: true, place: drawn + 1, admitted };
    else if (late >= 0) yours = { drawn: false, place: proof.pre_queue.length + late + 1, admitted };
  }
  const round = proof.beacon_round ?? null;
  return {
    mode: draw ? 'draw' : 'queue',
    seedMatchesCommitment,
    commitmentAsPublished: published.commitment === null ? null : published.commitment.toLowerCase() === commitment,
    digestMatches: digest === null ? null : same(digest, proof.entrants_digest),
    digestAsPublished: !draw || !published.entrantsDigest ? null : same(published.entrantsDigest, proof.entrants_digest),
    beaconRoundAsPublished: !draw || published.beaconRound === undefined ? null : (published.beaconRound ?? null) === round,
    beaconPresent: round === null ? null : beaconHex.length > 0 && beacon !== null,
    beacon: beaconHex ? { round, value: beaconHex.toLowerCase() } : null,
    orderMatches: seed !== null && beacon !== null && broken === null,
    firstOutOfOrder: broken,
    admissionsInOrder: badAdmission === null,
    firstBadAdmission: badAdmission,
    roundsAddUp: rounds.length === 0 ? null : rounds.reduce((sum, r) => sum + r.count, 0) === proof.admitted.length,
    lateInDraw: draw && proof.late.length > 0,
    yours,
    drawnCount: proof.pre_queue.length,
    admittedCount: proof.admitted.length,
  };
}

const n = (x: number): string => x.toLocaleString();
/** "1 win" / "2 wins": the count with the word that agrees with it. */
const count = (x: number, one: string, many: string): string => `${n(x)} ${x === 1 ? one : many}`;

function ok(passed: boolean, yes: string, no: string): string {
  return passed ? `Passed: ${yes}` : `Failed: ${no}`;
}

/** The checks in words, each line saying whether it passed (not by colour or symbol alone). */
export function describeProofCheck(c: ProofCheck, signedIn: boolean): string[] {
  const draw = c.mode === 'draw';
  const lines = [
    ok(c.seedMatchesCommitment, `the seed revealed ${draw ? 'by the draw' : 'at the start'} hashes (SHA-256) to the commitment.`, 'the seed does not hash to the commitment.'),
  ];
  if (c.commitmentAsPublished !== null) {
    lines.push(ok(c.commitmentAsPublished, 'the commitment is the one this page showed before.', 'the proof’s commitment is not the one this page showed before.'));
  }
  if (c.digestMatches !== null) {
    const ids = c.drawnCount === 1 ? 'entrant’s id hashes' : 'entrants’ ids hash';
    lines.push(ok(c.digestMatches, `the ${n(c.drawnCount)} ${ids} (SHA-256) to the entrants digest.`, 'the entrants’ ids do not hash to the entrants digest.'));
  }
  if (c.digestAsPublished !== null) {
    lines.push(ok(c.digestAsPublished, 'the entrants digest is the one this page showed when entries closed.', 'the entrants digest is not the one this page showed when entries closed.'));
  }
  if (c.beaconRoundAsPublished === false) lines.push('Failed: the proof’s beacon round is not the one named before the draw.');
  if (c.beaconPresent === false) lines.push('Failed: a beacon round was named, but the proof carries no beacon value (or not in hex).');
  else if (c.beacon) lines.push(`The beacon mixed into the ranking${c.beacon.round ? ` (${c.beacon.round})` : ''}: ${c.beacon.value} — you can check it at its source.`);
  const by = c.beacon ? 'the seed and the beacon give' : 'the seed gives';
  if (c.orderMatches) {
    lines.push(
      draw
        ? `Passed: the ${count(c.drawnCount, 'entrant is', 'entrants are')} ranked in the order ${by}.`
        : `Passed: the ${count(c.drawnCount, 'place drawn before the start is', 'places drawn before the start are')} in the order the seed gives.`,
    );
  } else if (c.firstOutOfOrder === null) {
    lines.push(`Failed: the ${draw ? 'ranking' : 'order'} cannot be checked — the seed${draw ? ' or the beacon' : ''} is not hex.`);
  } else {
    lines.push(draw ? `Failed: the ranking breaks at rank ${n(c.firstOutOfOrder)}.` : `Failed: the drawn order breaks at place ${n(c.firstOutOfOrder)}.`);
  }
  if (c.lateInDraw) lines.push('Failed: the proof lists late joiners, which a draw has none of.');
  if (c.admittedCount === 0) lines.push(draw ? 'No wins yet.' : 'No admissions yet.');
  else if (draw) lines.push(ok(c.admissionsInOrder, `the ${count(c.admittedCount, 'win', 'wins')} went down the ranking in order (first draw, then backfill).`, `win ${n(c.firstBadAdmission ?? 0)} did not go to the next rank.`));
  else lines.push(ok(c.admissionsInOrder, `the ${count(c.admittedCount, 'admission', 'admissions')} went down the order, each to the next place still in line.`, `admission ${n(c.firstBadAdmission ?? 0)} did not go to the next place in line.`));
  if (c.roundsAddUp !== null) {
    const what = draw ? count(c.admittedCount, 'win', 'wins') : count(c.admittedCount, 'admission', 'admissions');
    lines.push(ok(c.roundsAddUp, `the rounds add up to the ${what}.`, `the rounds do not add up to the ${what}.`));
  }
  if (draw) {
    if (c.yours) lines.push(`Your rank in the draw: #${n(c.yours.place)} of ${n(c.drawnCount)} — ${c.yours.admitted ? 'among the winners' : 'not among the winners'}.`);
    else if (signedIn) lines.push('You are not among this draw’s entrants.');
  } else if (c.yours?.drawn) lines.push(`Your place in the draw: #${n(c.yours.place)} of ${n(c.drawnCount)}.`);
  else if (c.yours) lines.push(`You joined after the start: place #${n(c.yours.place)}, after the ${n(c.drawnCount)} drawn.`);
  else if (signedIn) lines.push('You are not in this queue’s lists.');
  return lines;
}
