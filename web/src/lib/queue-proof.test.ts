import { describe, expect, it } from 'vitest';
import type { QueueProof } from './api';
import { checkQueueProof, describeProofCheck, hexToBytes, proofHolds } from './queue-proof';

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

describe('the queue proof', () => {
  it('holds for the seed, its commitment and the order it gives', async () => {
    const c = await checkQueueProof(proof(), COMMITMENT.toUpperCase(), 42);
    expect(c).toEqual({
      seedMatchesCommitment: true,
      commitmentAsPublished: true,
      orderMatches: true,
      firstOutOfOrder: null,
      yours: { drawn: true, place: 6 },
      drawnCount: 12,
    });
    expect(proofHolds(c)).toBe(true);
  });

  it('places a late joiner after everyone drawn, by arrival', async () => {
    expect((await checkQueueProof(proof(), null, 13)).yours).toEqual({ drawn: false, place: 14 });
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
      'Your place in the draw: #6 of 12.',
    ]);
    const bad = describeProofCheck(await checkQueueProof(proof({ seed_commitment: 'cd'.repeat(32), pre_queue: [7, 2] }), null, null), false);
    expect(bad).toEqual(['Failed: the seed does not hash to the commitment.', 'Failed: the drawn order breaks at place 2.']);
    expect(describeProofCheck(await checkQueueProof(proof(), null, 5000), true).at(-1)).toBe('You are not in this queue’s lists.');
  });
});
