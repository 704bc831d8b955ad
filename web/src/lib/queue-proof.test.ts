import { describe, expect, it } from 'vitest';
import type { QueueProof } from './api';
import { checkProof, describeProofCheck, entrantsDigest, hexToBytes, proofHolds } from './queue-proof';

// Seed "abc" (hex 616263): SHA-256("abc") is the standard test vector, and
// the order of these ids by SHA-256("abc" ‖ id) was computed with Python's
// hashlib: sorted(ids, key=lambda i: (sha256(b"abc" + str(i).encode()).digest(), i)).
const SEED = '616263';
const COMMITMENT = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const DRAWN = [2, 7, 1000, 4, 6, 42, 3, 9, 5, 10, 1, 8];

const proof = (over: Partial<QueueProof> = {}): QueueProof => ({
  event_id: 1,
  seed_commitment: COMMITMENT,
  seed: SEED,
  start_time: '2026-02-11T01:00:00Z',
  pre_queue: DRAWN,
  late: [77, 13],
  admitted: [2, 7],
  rule: 'pre_queue by SHA-256(seed || decimal user id) ascending, then late by arrival',
  ...over,
});

/** The page saw this commitment (or none) before. */
const checkQueueProof = (p: QueueProof, published: string | null, userId: number | null) => checkProof(p, { commitment: published }, userId);

describe('the queue proof', () => {
  it('holds for the seed, its commitment and the order it gives', async () => {
    const c = await checkQueueProof(proof(), COMMITMENT.toUpperCase(), 42);
    expect(c).toEqual({
      mode: 'queue',
      seedMatchesCommitment: true,
      commitmentAsPublished: true,
      digestMatches: null,
      digestAsPublished: null,
      beaconRoundAsPublished: null,
      beaconPresent: null,
      beacon: null,
      orderMatches: true,
      firstOutOfOrder: null,
      admissionsInOrder: true,
      firstBadAdmission: null,
      roundsAddUp: null,
      lateInDraw: false,
      yours: { drawn: true, place: 6, admitted: false },
      drawnCount: 12,
      admittedCount: 2,
    });
    expect(proofHolds(c)).toBe(true);
  });

  it('places a late joiner after everyone drawn, by arrival', async () => {
    expect((await checkQueueProof(proof(), null, 13)).yours).toEqual({ drawn: false, place: 14, admitted: false });
    expect((await checkQueueProof(proof(), null, 7)).yours).toEqual({ drawn: true, place: 2, admitted: true });
    expect((await checkQueueProof(proof(), null, 999)).yours).toBeNull();
    expect((await checkQueueProof(proof(), null, null)).yours).toBeNull();
  });

  it('fails a seed that does not hash to the commitment', async () => {
    const c = await checkQueueProof(proof({ seed: '616264' }), null, null);
    expect(c.seedMatchesCommitment).toBe(false);
    expect(proofHolds(c)).toBe(false);
  });

  it('fails a commitment other than the one published before the start', async () => {
    const c = await checkQueueProof(proof(), 'ab'.repeat(32), null);
    expect(c.commitmentAsPublished).toBe(false);
    expect(proofHolds(c)).toBe(false);
    // A page that never saw one cannot tell; the rest still holds.
    expect(proofHolds(await checkQueueProof(proof(), null, null))).toBe(true);
  });

  it('names the first place out of order', async () => {
    const swapped = [...DRAWN];
    [swapped[3], swapped[4]] = [swapped[4], swapped[3]];
    const c = await checkQueueProof(proof({ pre_queue: swapped }), null, null);
    expect(c.orderMatches).toBe(false);
    expect(c.firstOutOfOrder).toBe(5);
  });

  it('fails an id drawn twice', async () => {
    const c = await checkQueueProof(proof({ pre_queue: [2, 7, 7, 1000] }), null, null);
    expect(c.firstOutOfOrder).toBe(3);
  });

  it('checks that admission walked the order, passing over only places that left', async () => {
    // 1000 left before its turn: the third admission goes to 4.
    const walked = await checkQueueProof(proof({ admitted: [2, 7, 4, 6], skipped: [1000] }), null, null);
    expect(walked).toMatchObject({ admissionsInOrder: true, firstBadAdmission: null });
    // Nobody left: 4 jumped ahead of 1000.
    const jumped = await checkQueueProof(proof({ admitted: [2, 7, 4] }), null, null);
    expect(jumped).toMatchObject({ admissionsInOrder: false, firstBadAdmission: 3 });
    expect(proofHolds(jumped)).toBe(false);
    // Late joiners come after everyone drawn.
    const late = await checkQueueProof(proof({ pre_queue: [2, 7], admitted: [2, 7, 77, 13] }), null, null);
    expect(late.admissionsInOrder).toBe(true);
  });

  it('fails a seed that is not hex', async () => {
    const c = await checkQueueProof(proof({ seed: 'xyz' }), null, null);
    expect(c).toMatchObject({ seedMatchesCommitment: false, orderMatches: false, firstOutOfOrder: null });
  });

  it('reads hex strictly', () => {
    expect(hexToBytes('00ff10')).toEqual(new Uint8Array([0, 255, 16]));
    expect(hexToBytes('')).toEqual(new Uint8Array([]));
    expect(hexToBytes('abc')).toBeNull();
    expect(hexToBytes('zz')).toBeNull();
  });

  it("says each check in words, with the user's own place", async () => {
    const ok = describeProofCheck(await checkQueueProof(proof(), COMMITMENT, 42), true);
    expect(ok).toEqual([
      'Passed: the seed revealed at the start hashes (SHA-256) to the commitment.',
      'Passed: the commitment is the one this page showed before.',
      'Passed: the 12 places drawn before the start are in the order the seed gives.',
      'Passed: the 2 admissions went down the order, each to the next place still in line.',
      'Your place in the draw: #6 of 12.',
    ]);
    const bad = describeProofCheck(await checkQueueProof(proof({ seed_commitment: 'cd'.repeat(32), pre_queue: [7, 2] }), null, null), false);
    expect(bad).toEqual([
      'Failed: the seed does not hash to the commitment.',
      'Failed: the drawn order breaks at place 2.',
      'Failed: admission 1 did not go to the next place in line.',
    ]);
    expect(describeProofCheck(await checkQueueProof(proof(), null, 5000), true).at(-1)).toBe('You are not in this queue’s lists.');
  });
});

// The draw's ranking mixes a beacon in: SHA-256(seed ‖ beacon ‖ id). These
// values were computed with node's crypto, not with the code under test:
//   key = (id) => createHash('sha256').update(Buffer.concat([seed, beacon, Buffer.from(String(id))])).digest()
//   ids.sort((a, b) => Buffer.compare(key(a), key(b)) || a - b)
//   createHash('sha256').update(ids.sort((a, b) => a - b).map((i) => `${i}\n`).join('')).digest('hex')
// (Without the beacon the same call gives DRAWN above, as Python did.)
const BEACON = 'deadbeef';
const RANKED = [6, 3, 1000, 9, 4, 7, 5, 8, 2, 1, 10, 42];
/** Of 1..10, 42 and 1000 sorted as numbers (as text, 1000 would come before 2). */
const DIGEST = 'bed2b762a9f1276f18cbdc352bba694afe65612184b4101b6197cb18d5104e37';

const drawProof = (over: Partial<QueueProof> = {}): QueueProof =>
  proof({
    mode: 'draw',
    rule: 'entrants by SHA-256(seed || beacon || decimal user id) ascending',
    pre_queue: RANKED,
    late: [],
    // Two units: ranks 1 and 2 won; rank 1 did not claim, so rank 3 won by backfill.
    admitted: [6, 3, 1000],
    skipped: [],
    beacon_round: 'drand quicknet round 12345678',
    beacon: BEACON,
    entrants_digest: DIGEST,
    rounds: [
      { at: '2026-02-11T01:00:01Z', count: 2 },
      { at: '2026-02-11T01:02:01Z', count: 1 },
    ],
    ...over,
  });

const drawPublished = { commitment: COMMITMENT, entrantsDigest: DIGEST, beaconRound: 'drand quicknet round 12345678' };

describe('the draw proof', () => {
  it('holds for the seed, the beacon, the entrants digest and the wins down the ranking', async () => {
    const c = await checkProof(drawProof(), drawPublished, 1000);
    expect(c).toEqual({
      mode: 'draw',
      seedMatchesCommitment: true,
      commitmentAsPublished: true,
      digestMatches: true,
      digestAsPublished: true,
      beaconRoundAsPublished: true,
      beaconPresent: true,
      beacon: { round: 'drand quicknet round 12345678', value: BEACON },
      orderMatches: true,
      firstOutOfOrder: null,
      admissionsInOrder: true,
      firstBadAdmission: null,
      roundsAddUp: true,
      lateInDraw: false,
      yours: { drawn: true, place: 3, admitted: true },
      drawnCount: 12,
      admittedCount: 3,
    });
    expect(proofHolds(c)).toBe(true);
    expect((await checkProof(drawProof(), drawPublished, 42)).yours).toEqual({ drawn: true, place: 12, admitted: false });
  });

  it('ranks by the beacon too: the order without it does not hold', async () => {
    const withoutBeacon = await checkProof(drawProof({ pre_queue: DRAWN, admitted: [2, 7] }), drawPublished, null);
    expect(withoutBeacon.orderMatches).toBe(false);
    // Nor does this ranking once the beacon is dropped or changed.
    expect((await checkProof(drawProof({ beacon: null, beacon_round: null }), { commitment: COMMITMENT }, null)).orderMatches).toBe(false);
    expect((await checkProof(drawProof({ beacon: 'deadbeee' }), drawPublished, null)).orderMatches).toBe(false);
    // A draw that named no beacon ranks by the seed alone.
    const plain = await checkProof(
      drawProof({ pre_queue: DRAWN, admitted: [2, 7], rounds: [{ at: '2026-02-11T01:00:01Z', count: 2 }], beacon: null, beacon_round: null }),
      { commitment: COMMITMENT, beaconRound: null },
      null,
    );
    expect(plain).toMatchObject({ orderMatches: true, beaconPresent: null, beacon: null, beaconRoundAsPublished: true });
    expect(proofHolds(plain)).toBe(true);
  });

  it('fails a named beacon round without its value, and a round other than the one named', async () => {
    const missing = await checkProof(drawProof({ beacon: null }), drawPublished, null);
    expect(missing.beaconPresent).toBe(false);
    expect(proofHolds(missing)).toBe(false);
    const other = await checkProof(drawProof({ beacon_round: 'drand quicknet round 1' }), drawPublished, null);
    expect(other.beaconRoundAsPublished).toBe(false);
    expect(proofHolds(other)).toBe(false);
    expect((await checkProof(drawProof({ beacon: 'xyz' }), drawPublished, null)).orderMatches).toBe(false);
  });

  it('fails an entrant list that does not match the digest', async () => {
    // Someone slipped in (rank order aside, the digest no longer matches).
    const added = await checkProof(drawProof({ pre_queue: [...RANKED, 77] }), drawPublished, null);
    expect(added.digestMatches).toBe(false);
    expect(proofHolds(added)).toBe(false);
    // A digest other than the one shown when entries closed.
    const moved = await checkProof(drawProof(), { ...drawPublished, entrantsDigest: 'ef'.repeat(32) }, null);
    expect(moved).toMatchObject({ digestMatches: true, digestAsPublished: false });
    expect(proofHolds(moved)).toBe(false);
    // A page that never saw the digest cannot tell; the rest holds.
    expect((await checkProof(drawProof(), { commitment: null }, null)).digestAsPublished).toBeNull();
  });

  it('digests the entrants sorted as numbers, each on its own line', async () => {
    expect(await entrantsDigest(RANKED)).toBe(DIGEST);
    // SHA-256 of the empty string: no entrants.
    expect(await entrantsDigest([])).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('fails rounds that do not add up to the wins, and late joiners in a draw', async () => {
    const rounds = await checkProof(drawProof({ rounds: [{ at: '2026-02-11T01:00:01Z', count: 2 }] }), drawPublished, null);
    expect(rounds.roundsAddUp).toBe(false);
    expect(proofHolds(rounds)).toBe(false);
    const late = await checkProof(drawProof({ late: [77] }), drawPublished, null);
    expect(late).toMatchObject({ lateInDraw: true, digestMatches: true });
    expect(proofHolds(late)).toBe(false);
  });

  it('fails a win that skipped a rank', async () => {
    const c = await checkProof(drawProof({ admitted: [6, 3, 9] }), drawPublished, null);
    expect(c).toMatchObject({ admissionsInOrder: false, firstBadAdmission: 3 });
    expect(proofHolds(c)).toBe(false);
  });

  it("says each check in words, with the user's own rank", async () => {
    expect(describeProofCheck(await checkProof(drawProof(), drawPublished, 42), true)).toEqual([
      'Passed: the seed revealed by the draw hashes (SHA-256) to the commitment.',
      'Passed: the commitment is the one this page showed before.',
      'Passed: the 12 entrants’ ids hash (SHA-256) to the entrants digest.',
      'Passed: the entrants digest is the one this page showed when entries closed.',
      'The beacon mixed into the ranking (drand quicknet round 12345678): deadbeef — you can check it at its source.',
      'Passed: the 12 entrants are ranked in the order the seed and the beacon give.',
      'Passed: the 3 wins went down the ranking in order (first draw, then backfill).',
      'Passed: the rounds add up to the 3 wins.',
      'Your rank in the draw: #12 of 12 — not among the winners.',
    ]);
    const lines = describeProofCheck(await checkProof(drawProof({ beacon: null, pre_queue: [3, 6], admitted: [] }), drawPublished, 5000), true);
    expect(lines).toContain('Failed: a beacon round was named, but the proof carries no beacon value (or not in hex).');
    expect(lines).toContain('Failed: the entrants’ ids do not hash to the entrants digest.');
    expect(lines).toContain('No wins yet.');
    expect(lines.at(-1)).toBe('You are not among this draw’s entrants.');
    // One of each agrees with its word.
    const one = describeProofCheck(await checkProof(drawProof({ admitted: [6], rounds: [{ at: '2026-02-11T01:00:01Z', count: 1 }] }), drawPublished, null), false);
    expect(one).toContain('Passed: the 1 win went down the ranking in order (first draw, then backfill).');
    expect(one).toContain('Passed: the rounds add up to the 1 win.');
  });
});
