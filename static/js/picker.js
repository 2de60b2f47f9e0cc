// A small keyboard chooser for the annotate page: a dialog with a filter
// field and a list. Type to filter, ↑/↓ to move, Enter to pick, Esc to
// close. Used for labels beyond the tenth (and any label by name) and for
// picking one of several spans stacked at one point.
// Item text is always set with textContent: labels and quotes are data.

const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

let seq = 0;

export class Picker {
  /** Build the (hidden) dialog inside `host`. */
  constructor(host) {
    const n = ++seq;
    this.box = el("div", "wb-picker");
    this.box.id = `wb-picker-${n}`;
    this.box.setAttribute("role", "dialog");
    this.box.setAttribute("aria-modal", "true");
    this.box.hidden = true;
    this.title = el("h2", "wb-picker-title");
    this.title.id = `wb-picker-title-${n}`;
    this.box.setAttribute("aria-labelledby", this.title.id);
    const label = el("label", "wb-picker-filter");
    label.appendChild(el("span", "visually-hidden", "Filter"));
    this.input = el("input");
    this.input.type = "text";
    this.input.autocomplete = "off";
    this.input.spellcheck = false;
    this.input.setAttribute("role", "combobox");
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-autocomplete", "list");
    this.input.placeholder = "Type to filter";
    this.list = el("ul", "wb-picker-list");
    this.list.id = `wb-picker-list-${n}`;
    this.list.setAttribute("role", "listbox");
    this.input.setAttribute("aria-controls", this.list.id);
    this.list.setAttribute("aria-labelledby", this.title.id);
    this.list.tabIndex = -1; // takes the focus when there is no filter field
    label.appendChild(this.input);
    this.hint = el("p", "wb-hint", "Type to filter · ↑/↓ move · Enter pick · Esc close");
    this.box.append(this.title, label, this.list, this.hint);
    host.appendChild(this.box);
    this.items = [];
    this.shown = [];
    this.active = 0;
    this.input.addEventListener("input", () => { this.active = 0; this.render(); });
    this.box.addEventListener("keydown", (e) => this.onKey(e));
    this.list.addEventListener("mousedown", (e) => e.preventDefault()); // keep the focus where it is
    this.list.addEventListener("click", (e) => {
      const li = e.target.closest("[data-index]");
      if (li) this.pick(Number(li.dataset.index));
    });
    this.box.addEventListener("focusout", (e) => {
      if (!this.box.hidden && !this.box.contains(e.relatedTarget)) this.close({ restore: false });
    });
  }

  get isOpen() { return !this.box.hidden; }

  /**
   * Open with `items` ({text, hint?, cls?}); `onPick(item)` runs on Enter or
   * a click, `onClose()` whenever it closes; the focus returns to `returnFocus`.
   */
  open({ title, items, onPick, onClose = null, returnFocus = null, filter = true }) {
    this.title.textContent = title;
    this.items = items;
    this.onPick = onPick;
    this.onClose = onClose;
    this.returnFocus = returnFocus || document.activeElement;
    this.input.value = "";
    this.input.closest("label").hidden = !filter;
    this.keys = filter ? this.input : this.list; // the element holding the focus and aria-activedescendant
    this.active = 0;
    this.box.hidden = false;
    this.render();
    this.keys.focus();
  }

  close({ restore = true } = {}) {
    if (this.box.hidden) return;
    this.box.hidden = true;
    const back = this.returnFocus;
    this.returnFocus = null;
    if (restore && back && back.isConnected) back.focus({ preventScroll: true });
    if (this.onClose) this.onClose();
  }

  render() {
    const q = this.input.value.trim().toLowerCase();
    // Matches on the item's text (not its hint), those that start with the filter first.
    const all = this.items.map((it, i) => [it, i]).filter(([it]) => !q || it.text.toLowerCase().includes(q));
    this.shown = q ? [...all.filter(([it]) => it.text.toLowerCase().startsWith(q)), ...all.filter(([it]) => !it.text.toLowerCase().startsWith(q))] : all;
    if (this.active >= this.shown.length) this.active = Math.max(0, this.shown.length - 1);
    this.list.replaceChildren();
    if (!this.shown.length) {
      const li = el("li", "wb-empty", "Nothing matches.");
      this.list.appendChild(li);
      this.keys.removeAttribute("aria-activedescendant");
      return;
    }
    this.shown.forEach(([it, i], k) => {
      const li = el("li", `wb-picker-item${it.cls ? " " + it.cls : ""}`);
      li.id = `${this.list.id}-${k}`;
      li.dataset.index = String(i);
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(k === this.active));
      li.appendChild(el("span", "wb-picker-text", it.text));
      if (it.hint) li.appendChild(el("span", "wb-picker-hint", it.hint));
      this.list.appendChild(li);
    });
    const cur = this.list.children[this.active];
    this.keys.setAttribute("aria-activedescendant", cur.id);
    cur.scrollIntoView({ block: "nearest" });
  }

  pick(index) {
    const it = this.items[index];
    const onPick = this.onPick;
    this.close();
    if (it && onPick) onPick(it);
  }

  onKey(e) {
    const k = e.key;
    if (k === "Escape") { e.preventDefault(); e.stopPropagation(); this.close(); return; }
    if (k === "ArrowDown" || k === "ArrowUp") {
      e.preventDefault(); e.stopPropagation();
      if (!this.shown.length) return;
      this.active = (this.active + (k === "ArrowDown" ? 1 : -1) + this.shown.length) % this.shown.length;
      this.render();
      return;
    }
    if (k === "Enter") {
      e.preventDefault(); e.stopPropagation();
      if (this.shown.length) this.pick(this.shown[this.active][1]);
      return;
    }
    if (k === "Tab") { this.close(); return; } // no trap: Tab leaves (and closes) the chooser
    if (!(e.ctrlKey || e.metaKey)) e.stopPropagation(); // typing filters; page keys do not fire
  }
}
