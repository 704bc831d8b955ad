// Sign-in / sign-up forms shared by the sale page and the admin panel, with
// the server's per-field errors shown next to their fields.

import { type Api, ApiError } from './api';
import { h, setChildren, setText, uid } from './dom';

export interface FieldSpec {
  name: string;
  label: string;
  type?: string;
  autocomplete?: string;
  hint?: string;
  required?: boolean;
  attrs?: Record<string, string | number | boolean>;
  options?: [string, string][];
  wide?: boolean;
  multiline?: boolean;
}

export interface FormHandle {
  form: HTMLFormElement;
  inputs: Map<string, HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>;
  /** Show the server's per-field messages; unknown fields go to the form message. Focuses the first bad field. */
  showErrors(fields: Record<string, string>, message?: string): void;
  showMessage(text: string, kind?: 'error' | 'ok'): void;
  clearErrors(): void;
  setBusy(busy: boolean, label?: string): void;
  values(): Record<string, string>;
}

/** A form of labelled fields, each with a hint and an error slot wired by aria-describedby. */
export function buildForm(opts: {
  id: string;
  fields: FieldSpec[];
  submitLabel: string;
  grid?: boolean;
  extra?: Node[];
  onSubmit(handle: FormHandle): void | Promise<void>;
}): FormHandle {
  const inputs: FormHandle['inputs'] = new Map();
  const errors = new Map<string, HTMLElement>();
  const message = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': `${opts.id}-message` });
  const submit = h('button', { type: 'submit' }, opts.submitLabel);
  const fieldEls = opts.fields.map((f) => {
    const id = uid(`${opts.id}-${f.name}`);
    const hintId = `${id}-hint`;
    const errId = `${id}-error`;
    const described = [f.hint ? hintId : null, errId].filter(Boolean).join(' ');
    const common = {
      id,
      name: f.name,
      'aria-describedby': described,
      autocomplete: f.autocomplete,
      required: f.required,
      'aria-required': f.required ? 'true' : undefined,
      ...f.attrs,
    };
    let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (f.options) {
      input = h('select', common, ...f.options.map(([v, label]) => h('option', { value: v }, label)));
    } else if (f.multiline) {
      input = h('textarea', common);
    } else {
      input = h('input', { type: f.type ?? 'text', ...common });
    }
    inputs.set(f.name, input);
    const err = h('p', { class: 'error', id: errId, hidden: true, 'data-error-for': f.name });
    errors.set(f.name, err);
    return h(
      'div',
      { class: f.wide ? 'field wide' : 'field' },
      h('label', { for: id }, f.label),
      input,
      f.hint ? h('p', { class: 'hint', id: hintId }, f.hint) : null,
      err,
    );
  });
  const form = h(
    'form',
    { id: opts.id, novalidate: true },
    message,
    opts.grid ? h('div', { class: 'form-grid' }, fieldEls) : fieldEls,
    ...(opts.extra ?? []),
    h('div', { class: 'row' }, submit),
  );
  const handle: FormHandle = {
    form,
    inputs,
    showErrors(fields, text) {
      handle.clearErrors();
      let first: HTMLElement | null = null;
      const unknown: string[] = [];
      for (const [name, msg] of Object.entries(fields)) {
        const input = inputs.get(name);
        const err = errors.get(name);
        if (input && err) {
          input.setAttribute('aria-invalid', 'true');
          // "must be …" gets its field's label; a whole sentence stays as it is.
          const sentence = /^[A-Z]/.test(msg) ? msg : `${labelOf(name)} ${msg}`;
          err.textContent = /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
          err.hidden = false;
          first ??= input;
        } else {
          unknown.push(`${name} ${msg}`);
        }
      }
      const count = Object.keys(fields).length;
      const summary =
        text ?? (count ? `Please correct ${count === 1 ? 'the field' : `${count} fields`} below.` : 'Something went wrong.');
      handle.showMessage(unknown.length ? `${summary} ${unknown.join('; ')}.` : summary);
      (first ?? message).focus();
    },
    showMessage(text, kind = 'error') {
      message.textContent = text;
      message.className = kind === 'ok' ? 'form-ok' : 'form-error';
      message.setAttribute('role', kind === 'ok' ? 'status' : 'alert');
      message.hidden = false;
      if (!message.hasAttribute('tabindex')) message.setAttribute('tabindex', '-1');
    },
    clearErrors() {
      message.hidden = true;
      message.textContent = '';
      for (const [name, err] of errors) {
        err.hidden = true;
        err.textContent = '';
        inputs.get(name)?.removeAttribute('aria-invalid');
      }
    },
    setBusy(busy, label) {
      submit.disabled = busy;
      form.setAttribute('aria-busy', String(busy));
      submit.textContent = busy ? (label ?? 'Working…') : opts.submitLabel;
    },
    values() {
      const out: Record<string, string> = {};
      for (const [name, input] of inputs) out[name] = input.value;
      return out;
    },
  };
  function labelOf(name: string): string {
    return opts.fields.find((f) => f.name === name)?.label ?? name;
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void opts.onSubmit(handle);
  });
  return handle;
}

/** A human message for an API error outside of field validation. */
export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.isNetwork) return e.message;
    if (e.status === 429) return `Too many attempts. Please wait ${e.retryAfterSecs ?? 'a few'} seconds and try again.`;
    if (e.status === 503) return 'The service is busy right now. Please try again in a moment.';
    return e.message || `Request failed (${e.code}).`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** The panel's heading and intro, changed in place (so nothing typed into the form is lost). */
export interface AuthPanel {
  setPrompt(title: string, intro: string): void;
}

/** The sign-in / create-account panel (create account only when `allowSignup`). */
export function renderAuthPanel(
  container: HTMLElement,
  api: Api,
  opts: { title: string; allowSignup: boolean; intro?: string },
): AuthPanel {
  let mode: 'signin' | 'signup' = 'signin';
  const titleId = container.getAttribute('aria-labelledby') ?? uid('auth-title');

  const signin = buildForm({
    id: 'signin-form',
    submitLabel: 'Sign in',
    fields: [
      { name: 'email', label: 'Email', type: 'email', autocomplete: 'username', required: true },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', required: true },
    ],
    async onSubmit(f) {
      const v = f.values();
      f.clearErrors();
      f.setBusy(true, 'Signing in…');
      try {
        await api.login(v.email, v.password);
      } catch (e) {
        if (e instanceof ApiError && e.status === 422) f.showErrors(e.fields);
        else if (e instanceof ApiError && e.code === 'invalid_credentials') {
          f.showMessage('The email or password is not correct.');
          f.inputs.get('password')?.focus();
        } else f.showMessage(describeError(e));
      } finally {
        f.setBusy(false);
      }
    },
  });

  const signup = buildForm({
    id: 'signup-form',
    submitLabel: 'Create account',
    fields: [
      { name: 'name', label: 'Name', autocomplete: 'name', required: true },
      { name: 'email', label: 'Email', type: 'email', autocomplete: 'email', required: true },
      {
        name: 'password',
        label: 'Password',
        type: 'password',
        autocomplete: 'new-password',
        required: true,
        hint: '8 to 128 characters.',
      },
    ],
    async onSubmit(f) {
      const v = f.values();
      f.clearErrors();
      f.setBusy(true, 'Creating account…');
      try {
        await api.signup(v.email, v.password, v.name);
        await api.login(v.email, v.password);
      } catch (e) {
        if (e instanceof ApiError && e.status === 422) f.showErrors(e.fields);
        else if (e instanceof ApiError && e.code === 'email_taken')
          f.showErrors({ email: 'is already registered; sign in instead' });
        else f.showMessage(describeError(e));
      } finally {
        f.setBusy(false);
      }
    },
  });

  const tabSignin = h('button', { type: 'button', role: 'tab', id: 'tab-signin' }, 'Sign in');
  const tabSignup = h('button', { type: 'button', role: 'tab', id: 'tab-signup' }, 'Create account');
  const panel = h('div', { role: 'tabpanel' });

  function show(next: typeof mode, focus: boolean): void {
    mode = next;
    tabSignin.setAttribute('aria-selected', String(mode === 'signin'));
    tabSignup.setAttribute('aria-selected', String(mode === 'signup'));
    tabSignin.tabIndex = mode === 'signin' ? 0 : -1;
    tabSignup.tabIndex = mode === 'signup' ? 0 : -1;
    panel.setAttribute('aria-labelledby', mode === 'signin' ? 'tab-signin' : 'tab-signup');
    setChildren(panel, mode === 'signin' ? signin.form : signup.form);
    if (focus) (mode === 'signin' ? tabSignin : tabSignup).focus();
  }
  tabSignin.addEventListener('click', () => show('signin', false));
  tabSignup.addEventListener('click', () => show('signup', false));
  for (const tab of [tabSignin, tabSignup]) {
    tab.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        e.preventDefault();
        show(mode === 'signin' ? 'signup' : 'signin', true);
      }
    });
  }

  const heading = h('h2', { id: titleId }, opts.title);
  const intro = h('p', { class: 'muted', hidden: !opts.intro }, opts.intro ?? '');
  setChildren(
    container,
    heading,
    intro,
    opts.allowSignup ? h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Account' }, tabSignin, tabSignup) : null,
    opts.allowSignup ? panel : signin.form,
  );
  container.setAttribute('aria-labelledby', titleId);
  if (opts.allowSignup) show('signin', false);
  return {
    setPrompt(title, text) {
      setText(heading, title);
      setText(intro, text);
      intro.hidden = !text;
    },
  };
}

/** Header: who is signed in and a sign-out button. */
export function renderAccount(el: HTMLElement, api: Api, extra?: string): void {
  const s = api.session;
  if (!s.signedIn) {
    setChildren(el);
    return;
  }
  const out = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sign-out' }, 'Sign out');
  out.addEventListener('click', () => {
    out.disabled = true;
    void api.logout();
  });
  setChildren(
    el,
    h('span', { 'data-testid': 'signed-in-as' }, 'Signed in as ', h('strong', {}, s.email || `user #${s.userId ?? '?'}`)),
    extra ? h('span', { class: 'badge' }, extra) : null,
    out,
  );
}
