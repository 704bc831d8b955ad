// "Export coupons (CSV)" on an event's page: GET /api/admin/events/{id}/coupons.csv
// needs the admin's Bearer token, which a plain link cannot send, so the
// file is fetched through the API layer (token, one refresh on a 401), kept
// as a Blob and handed to the browser through an object URL, under the file
// name the server's Content-Disposition gives (event-<id>-coupons.csv).

import { responseFile } from '@coupon-platform/sdk/rest';
import { type Api, ApiError } from '../lib/api';
import { describeError } from '../lib/auth-forms';
import { h, setText } from '../lib/dom';

/** The export as a File (a Blob with the server's file name). */
export async function fetchCouponExport(api: Api, eventId: number): Promise<File> {
  const res = await api.request<Response>('GET', `/api/admin/events/${eventId}/coupons.csv`, {
    auth: true,
    raw: true,
    headers: { Accept: 'text/csv, application/json' },
  });
  return responseFile(res, `event-${eventId}-coupons.csv`);
}

/** A failed export in plain words: the wait on a 429, the reason otherwise. */
export function exportFailure(e: unknown): string {
  if (e instanceof ApiError && e.status === 429) {
    const wait = e.retryAfterSecs ? `in ${e.retryAfterSecs} second${e.retryAfterSecs === 1 ? '' : 's'}` : 'in a moment';
    return `Could not export: the server is already running its exports. Try again ${wait}.`;
  }
  if (e instanceof ApiError && e.code === 'event_not_found') return 'Could not export: this event no longer exists.';
  return `Could not export: ${describeError(e)}`;
}

/** Save a Blob as a download through an object URL (revoked once the browser has it). */
export function saveBlob(blob: Blob, filename: string, doc: Document = document): void {
  const url = URL.createObjectURL(blob);
  const a = doc.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  doc.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

/** The button and its message line (role=status), for the issued-coupons card. */
export function couponExportControl(
  api: Api,
  eventId: number,
  save: (blob: Blob, filename: string) => void = saveBlob,
): { button: HTMLButtonElement; message: HTMLElement } {
  const label = 'Export coupons (CSV)';
  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'export-coupons' }, label);
  const message = h('p', { role: 'status', 'data-testid': 'export-coupons-message' });
  button.addEventListener('click', async () => {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    setText(button, 'Exporting…');
    setText(message, 'Preparing the CSV…');
    message.classList.remove('form-error');
    try {
      const file = await fetchCouponExport(api, eventId);
      save(file, file.name);
      setText(message, `Downloaded ${file.name}.`);
    } catch (e) {
      setText(message, exportFailure(e));
      message.classList.add('form-error');
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
      setText(button, label);
    }
  });
  return { button, message };
}
