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

// A form answered with 400 comes back with its errors, and a refusal (403) as a popup
// the server placed: show them where the server says.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr.status === 400 || (xhr.status === 403 && xhr.getResponseHeader("HX-Retarget"))) {
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

// Bulk actions on the Contacts tab. The header checkbox checks the whole page and the
// bar counts the selection. When the whole page is checked and more contacts match, a
// banner offers all of them: the form then sends the search instead of ids, and the
// server resolves the contacts from it when the creator confirms.
(function () {
  function parts(form) {
    return {
      boxes: Array.prototype.slice.call(form.querySelectorAll("input[name='ids']")),
      page: form.querySelector("[data-select-page]"),
      all: form.querySelector("[data-select-all]"),
      banner: form.querySelector("[data-select-across]"),
      count: form.querySelector("[data-bulk-count]"),
    };
  }

  function refresh(form) {
    var p = parts(form);
    var checked = p.boxes.filter(function (box) { return box.checked; }).length;
    var wholePage = p.boxes.length > 0 && checked === p.boxes.length;
    if (p.all && !wholePage) p.all.disabled = true;
    var across = Boolean(p.all && !p.all.disabled);
    var selected = across ? Number(form.dataset.matching) : checked;
    if (p.page) {
      p.page.hidden = p.boxes.length === 0;
      p.page.checked = wholePage;
      p.page.indeterminate = checked > 0 && !wholePage;
    }
    p.boxes.forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("is-selected", box.checked);
    });
    if (p.count) {
      if (!p.count.dataset.none) p.count.dataset.none = p.count.textContent;
      p.count.textContent = selected ? selected + " selected" : p.count.dataset.none;
    }
    form.querySelectorAll("[data-bulk-action]").forEach(function (button) {
      button.disabled = selected === 0;
    });
    if (p.banner) {
      p.banner.hidden = !wholePage;
      p.banner.querySelector("[data-page-count]").textContent = p.boxes.length;
      p.banner.querySelector("[data-across-page]").hidden = across;
      p.banner.querySelector("[data-across-all]").hidden = !across;
      p.banner.querySelector("[data-select-matching]").hidden = across;
    }
  }

  function refreshWithin(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches("[data-bulk-form]")) refresh(root);
    root.querySelectorAll("[data-bulk-form]").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-bulk-form]");
    if (!form) return;
    if (event.target.matches("[data-select-page]")) {
      parts(form).boxes.forEach(function (box) { box.checked = event.target.checked; });
    }
    refresh(form);
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-select-matching], [data-clear-selection]");
    var form = button && button.closest("[data-bulk-form]");
    if (!form) return;
    var p = parts(form);
    if (button.matches("[data-select-matching]")) {
      p.all.disabled = false;
      refresh(form);
      form.querySelector("[data-clear-selection]").focus();
    } else {
      p.all.disabled = true;
      p.boxes.forEach(function (box) { box.checked = false; });
      refresh(form);
      if (p.page) p.page.focus();
    }
  });

  document.addEventListener("htmx:load", function (event) { refreshWithin(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { refreshWithin(document.body); });
})();

// Responsive layout. On a narrow screen the tab bar scrolls sideways, so the current tab
// is scrolled into the bar's view (and only the bar's: the page itself stays put).
(function () {
  function showCurrentTab() {
    document.querySelectorAll(".tabs, .subtabs").forEach(function (bar) {
      var current = bar.querySelector("[aria-current='page']");
      if (!current || bar.scrollWidth <= bar.clientWidth) return;
      var overflow = current.getBoundingClientRect().right - bar.getBoundingClientRect().right;
      if (overflow > 0) bar.scrollLeft += overflow + 16;
    });
  }
  document.addEventListener("DOMContentLoaded", showCurrentTab);
  window.addEventListener("resize", showCurrentTab);
  // On a narrow screen the panel is a sheet that scrolls on its own: each new step of it
  // starts at its top, where its back control is.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.matches("[data-panel]")) event.detail.target.scrollTop = 0;
  });
})();
