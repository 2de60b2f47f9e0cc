//# allFunctionsCalledOnLoad
// The outbox: ops wait here (persisted in localStorage) until the server
// acknowledges them through PATCH /api/v1/layers/<id>/ops. One request in
// flight at a time; base_version comes from the last ack; a retried batch
// keeps its batch_id so the server never applies it twice. On a 409 (another
// tab or window saved first) the page rebases the unacknowledged ops onto the
// current layer (hooks.onConflict) and hands them back through rebased().

import { patchJSON, ApiError } from "./api.js";
import { newId } from "./model.js";

const DEBOUNCE_MS = 150; // a burst of keys goes out as one batch; more waits while one is in flight

/** An id for this browser tab that survives reloads (sessionStorage), so two tabs never share an outbox. */
function tabId() {
  try {
    let id = sessionStorage.getItem("wb-tab");
    if (!id) { id = newId(); sessionStorage.setItem("wb-tab", id); }
    return id;
  } catch (_) { return "tab"; }
}

/**
 * Saves a layer's ops; calls hooks.onStatus(state), hooks.onInvalid(err), hooks.onSaved(resp, batch) and,
 * on a 409, `await hooks.onConflict(err)`, which must end with rebased(version, ops) (or throw to be retried).
 */
export class Saver {
  constructor(layerId, version, hooks) {
    this.layerId = layerId;
    this.version = version;
    this.hooks = hooks;
    this.key = `wb-outbox-${layerId}-${tabId()}`;
    this.prefix = `wb-outbox-${layerId}-`;
    this.pending = [];       // ops not yet sent
    this.inflight = null;    // {batch_id, base_version, ops}
    this.timer = null;
    this.backoff = 0;
    this.failing = false;
    this.stopped = false;
    this.rebasing = false;
  }

  /**
   * What an earlier visit of this page left unsaved: {key, base_version, inflight, pending} or null.
   * This tab's own outbox first (it survives a reload), else one left by a closed tab.
   */
  stored() {
    try {
      const keys = [this.key];
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        if (k && k.startsWith(this.prefix) && k !== this.key) keys.push(k);
      }
      for (const key of keys) {
        const raw = localStorage.getItem(key);
        if (!raw) continue;
        const data = JSON.parse(raw);
        if (!((data.inflight && data.inflight.ops.length) || (data.pending && data.pending.length))) continue;
        return { key, base_version: data.base_version, inflight: data.inflight || null, pending: data.pending || [] };
      }
    } catch (_) { /* unreadable: nothing to recover */ }
    return null;
  }

  /** Forget a stored outbox (after recovering it). */
  forget(key) {
    try { localStorage.removeItem(key); } catch (_) { /* ignore */ }
  }

  persist() {
    try {
      if (!this.inflight && !this.pending.length) localStorage.removeItem(this.key);
      else localStorage.setItem(this.key, JSON.stringify({ base_version: this.version, inflight: this.inflight, pending: this.pending, t: Date.now() }));
    } catch (_) { /* storage full or disabled: the in-memory outbox still works */ }
  }

  /** Number of ops not yet acknowledged. */
  get unsaved() { return this.pending.length + (this.inflight ? this.inflight.ops.length : 0); }

  /** Queue ops and schedule a flush. */
  add(ops) {
    if (!ops.length) return;
    this.pending.push(...ops);
    this.persist();
    this.report();
    this.schedule(DEBOUNCE_MS);
  }

  /** Every op not yet acknowledged, in order: the batch in flight, then the queue. */
  unacknowledged() {
    return [...(this.inflight ? this.inflight.ops : []), ...this.pending];
  }

  /**
   * Take the result of a rebase: `ops` replace everything unacknowledged, on
   * top of `version`. They are persisted at once and sent as a new batch.
   */
  rebased(version, ops) {
    this.rebasing = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.version = version;
    this.inflight = null;
    this.pending = [...ops];
    this.backoff = 0;
    this.failing = false;
    this.persist();
    this.report();
    if (this.pending.length) this.flush();
  }

  /** Forget everything queued (after a refused change) and take a new base version. */
  discard(version) {
    this.pending = [];
    this.inflight = null;
    this.version = version;
    clearTimeout(this.timer);
    this.timer = null;
    this.backoff = 0;
    this.failing = false;
    this.persist();
    this.report();
  }

  schedule(ms) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; this.flush(); }, ms);
  }

  report() {
    let state;
    if (!this.unsaved) state = { kind: "saved", text: "Saved" };
    else if (this.failing) state = { kind: "error", text: `Unsaved: ${this.unsaved} change${this.unsaved === 1 ? "" : "s"} (retrying)` };
    else state = { kind: "saving", text: "Saving…" };
    this.hooks.onStatus && this.hooks.onStatus(state);
  }

  /** Send what is queued now; resolves when the outbox is empty or a request failed. */
  async flush() {
    if (this.stopped || this.inflight) return this.idle();
    if (!this.pending.length) { this.report(); return; }
    clearTimeout(this.timer);
    this.timer = null;
    this.inflight = { batch_id: newId(), base_version: this.version, ops: this.pending };
    this.pending = [];
    this.persist();
    return this.send();
  }

  async send() {
    const batch = this.inflight;
    this.report();
    try {
      const resp = await patchJSON(`/api/v1/layers/${this.layerId}/ops`, batch);
      if (this.inflight !== batch) return; // discarded meanwhile
      this.version = resp.version;
      this.inflight = null;
      this.backoff = 0;
      this.failing = false;
      this.persist();
      this.report();
      this.hooks.onSaved && this.hooks.onSaved(resp, batch);
      if (this.pending.length) this.schedule(DEBOUNCE_MS);
    } catch (err) {
      if (this.inflight !== batch) return;
      if (err instanceof ApiError && err.status === 409 && this.hooks.onConflict) {
        await this.resolveConflict(batch, err);
      } else if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
        this.hooks.onInvalid && this.hooks.onInvalid(err);
      } else {
        // Network failure or 5xx: keep the batch (same batch_id) and retry with backoff.
        this.failing = true;
        this.backoff = Math.min(60000, this.backoff ? this.backoff * 2 : 1000);
        const wait = this.backoff * (0.75 + Math.random() * 0.5);
        this.report();
        clearTimeout(this.timer);
        this.timer = setTimeout(() => { this.timer = null; if (this.inflight === batch) this.send(); }, wait);
      }
    }
  }

  /**
   * Someone saved first: let the page rebase. The refused batch stays in
   * flight meanwhile, so nothing else is sent and the outbox stays persisted;
   * if the current layer cannot be fetched, try again with backoff.
   */
  async resolveConflict(batch, err) {
    this.rebasing = true;
    clearTimeout(this.timer);
    this.timer = null;
    try {
      await this.hooks.onConflict(err);
    } catch (_) {
      if (!this.rebasing || this.inflight !== batch) return;
      this.failing = true;
      this.backoff = Math.min(60000, this.backoff ? this.backoff * 2 : 1000);
      const wait = this.backoff * (0.75 + Math.random() * 0.5);
      this.report();
      this.timer = setTimeout(() => { this.timer = null; if (this.inflight === batch) this.resolveConflict(batch, err); }, wait);
    }
  }

  /** Retry now (e.g. on the `online` event). */
  retryNow() {
    if (this.inflight && this.failing) { clearTimeout(this.timer); this.timer = null; if (this.rebasing) this.resolveConflict(this.inflight, null); else this.send(); }
    else this.flush();
  }

  /** Resolves once nothing is queued or in flight (or after a failure). */
  async idle() {
    for (let i = 0; i < 600 && this.unsaved && !this.failing && !this.stopped; i++) {
      if (!this.inflight && !this.timer && this.pending.length) await this.flush();
      await new Promise(r => setTimeout(r, 50));
    }
    return this.unsaved === 0;
  }
}
