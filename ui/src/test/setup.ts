// Vitest set-up: Testing Library cleans the DOM after each test (globals are on).
// jsdom has <dialog> but not its modal methods: open and close it as the platform would (the
// inert page behind it is the platform's, checked by the end-to-end suite).
if (typeof HTMLDialogElement !== "undefined" && !HTMLDialogElement.prototype.showModal) {
  HTMLDialogElement.prototype.showModal = function showModal(this: HTMLDialogElement) {
    this.setAttribute("open", "");
  };
  HTMLDialogElement.prototype.close = function close(this: HTMLDialogElement) {
    this.removeAttribute("open");
    this.dispatchEvent(new Event("close"));
  };
}
export {};
