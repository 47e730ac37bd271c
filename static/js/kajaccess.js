// Dialogs: a confirmation popup swapped into #dialog-slot opens itself as a modal.
// Escape and Cancel close it without sending anything.
(function () {
  function openDialogs(root) {
    root.querySelectorAll("dialog[data-autoshow]").forEach(function (dialog) {
      if (!dialog.open) dialog.showModal();
      dialog.addEventListener("close", function () { dialog.remove(); }, { once: true });
    });
  }
  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { event.preventDefault(); dialog.close(); }
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) { openDialogs(event.detail.target); });
  document.addEventListener("htmx:oobAfterSwap", function (event) { openDialogs(event.detail.target); });
  document.addEventListener("DOMContentLoaded", function () { openDialogs(document); });
  // A server event asks to close the open popup after a confirmed change.
  document.addEventListener("closeDialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });
})();

// A form answered with 400 comes back with its errors: show it where it was.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 400) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// The panel beside a list closes without a round trip; without JavaScript its close
// link leads back to the list.
document.addEventListener("click", function (event) {
  var closer = event.target.closest("[data-close-panel]");
  var panel = closer && closer.closest("[data-panel]");
  if (panel) {
    event.preventDefault();
    panel.replaceChildren();
  }
});
