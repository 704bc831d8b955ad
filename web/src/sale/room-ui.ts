// What the sale page's two admission panels share — the waiting room of a
// queue event (queue-panel.ts) and the draw (draw-panel.ts): the interface
// the page drives them through, their labelled facts, and the "verify" box
// that fetches the proof and checks it in the browser (lib/queue-proof.ts).

import { type Api, ApiError, type QueueClosedReason, type QueueProof, type SaleEvent } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setChildren, setText } from '../lib/dom';
import type { DrawLostFrame, DrawWonFrame, QueueAdmittedFrame, QueueProgressData } from '../lib/push';
import { type Published, checkProof, describeProofCheck, proofHolds } from '../lib/queue-proof';

export interface RoomPanelHost {
  api: Api;
  /** An answer said the room (or the draw) closed: the page shows it at once. */
  closed(reason: QueueClosedReason): void;
  /** Read the event again: an answer said the admission changed, or the panel knows it closed but not why. */
  reload(): void;
  /** Take the visitor to the sign-in form. */
  signIn(): void;
  /** The panel's state changed: the page redraws now (its button follows the panel). */
  changed(): void;
}

/** A queue event's waiting room or a draw, as the sale page drives it. */
export interface RoomPanel {
  element: HTMLElement;
  /** How the order is made and its check: the page puts it after the claim button, which belongs near the panel's countdown. */
  proof: HTMLElement;
  /** The event as last read. */
  setEvent(ev: SaleEvent): void;
  progress(d: QueueProgressData): void;
  queueAdmitted?(f: QueueAdmittedFrame): void;
  drawWon?(f: DrawWonFrame): void;
  drawLost?(f: DrawLostFrame): void;
  /** The held coupon was claimed (the press answered 201, or another device's press was pushed). */
  claimed(): void;
  /** The claim press said no coupon is held: read this user's state again. */
  recheck(): void;
  connectionChanged(live: boolean): void;
  /** Draws the panel as of `now`; true while a coupon is held for this user (the page's button claims it). */
  tick(now: number): boolean;
  destroy(): void;
}

/** Sets a line's text, hidden when there is none. */
export function show(el: HTMLElement, text: string | null): void {
  setText(el, text ?? '');
  el.hidden = text === null;
}

/** A labelled fact (`<dt>`/`<dd>`): the box to hide and the value to set. */
export function fact(prefix: string, name: string, label: string): [HTMLElement, HTMLElement] {
  const dd = h('dd', { id: `${prefix}-${name}`, 'data-testid': `${prefix}-${name}` });
  return [h('div', {}, h('dt', {}, label), dd), dd];
}

/** Sets each fact, hiding the ones with no value. */
export function setFacts(facts: [HTMLElement, HTMLElement, string | null][]): void {
  for (const [box, dd, text] of facts) {
    setText(dd, text ?? '');
    box.hidden = text === null;
  }
}

export interface VerifyBox {
  button: HTMLButtonElement;
  result: HTMLElement;
}

/**
 * The "verify" button and its result: fetches the proof, checks it against
 * what the page showed before, and says each check in words with this
 * user's own place. `notYet` names the code the server answers before the
 * draw, and what to say then.
 */
export function verifyBox(opts: {
  api: Api;
  /** `queue` or `draw`: the elements' ids and test ids start with it. */
  prefix: string;
  label: string;
  /** The verdict, passed and failed. */
  verdicts: [string, string];
  fetch(): Promise<QueueProof>;
  published(): Published;
  notYet: { code: string; text: string };
}): VerifyBox {
  const { api, prefix } = opts;
  const button = h('button', { type: 'button', id: `${prefix}-verify`, class: 'secondary', 'data-testid': `${prefix}-verify` }, opts.label);
  const result = h('div', { id: `${prefix}-verify-result`, class: 'proof-result', role: 'status', 'data-testid': `${prefix}-verify-result` });
  button.addEventListener('click', () => void verify());

  async function verify(): Promise<void> {
    button.disabled = true;
    setChildren(result, h('p', {}, 'Checking…'));
    try {
      const proof = await opts.fetch();
      const check = await checkProof(proof, opts.published(), api.session.userId);
      const held = proofHolds(check);
      setChildren(
        result,
        h('p', { class: 'proof-verdict', 'data-ok': String(held), 'data-testid': `${prefix}-verdict` }, held ? opts.verdicts[0] : opts.verdicts[1]),
        h('ul', {}, describeProofCheck(check, api.session.signedIn).map((line) => h('li', {}, line))),
      );
    } catch (e) {
      setChildren(result, h('p', {}, e instanceof ApiError && e.code === opts.notYet.code ? opts.notYet.text : `Could not check: ${describeError(e)}`));
    } finally {
      button.disabled = false;
    }
  }

  return { button, result };
}
