// Dialogs: a confirmation popup swapped into #dialog-slot opens itself as a modal.
// Escape and Cancel close it without sending anything.
(function () {
  // A field the creator must fix first, else the first field, else the primary button,
  // else the title: whichever is there, not the first link of the text.
  function focusFirst(dialog) {
    var fields = "input:not([type='hidden']):not([disabled]), select:not([disabled]), textarea:not([disabled])";
    var target =
      dialog.querySelector("[aria-invalid='true']") ||
      dialog.querySelector("[autofocus]") ||
      dialog.querySelector(fields) ||
      dialog.querySelector("button[type='submit']:not([disabled])") ||
      dialog.querySelector("#dialog-title");
    if (!target) return;
    if (target.id === "dialog-title") target.setAttribute("tabindex", "-1");
    target.focus();
  }

  function openDialogs(root) {
    root.querySelectorAll("dialog[data-autoshow]").forEach(function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
        focusFirst(dialog);
      }
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

// Toasts: each message in #messages dismisses itself after a few seconds, except errors and
// warnings, and stays while the pointer is on it or the focus is on one of its controls. The
// message of a change made in a popup takes the focus, so that a keyboard user hears it
// and can follow its link; when it goes, the focus goes to the open panel's heading, or
// else to the page's main content, never to <body>.
(function () {
  var SHOW_MS = 6000;

  function focusTarget() {
    var panel = document.querySelector("[data-panel]");
    var heading = panel && panel.querySelector("h2, h1, h3");
    var target = heading || document.getElementById("main");
    if (target && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    return target;
  }

  function dismiss(toast) {
    if (!toast.isConnected) return;
    var hadFocus = toast.contains(document.activeElement);
    clearTimeout(toast.toastTimer);
    toast.remove();
    if (hadFocus) {
      var target = focusTarget();
      if (target) target.focus();
    }
  }

  // Only a control of the toast holds it: the toast itself is focused to be heard.
  function held(toast) {
    var active = document.activeElement;
    return toast.matches(":hover") || (active !== toast && toast.contains(active));
  }

  function schedule(toast) {
    clearTimeout(toast.toastTimer);
    if (toast.hasAttribute("data-toast-stays") || held(toast)) return;
    toast.toastTimer = setTimeout(function () { dismiss(toast); }, SHOW_MS);
  }

  function setUp(toast) {
    if (toast.toastReady) return;
    toast.toastReady = true;
    var close = toast.querySelector("[data-dismiss-toast]");
    if (close) close.hidden = false;
    toast.addEventListener("mouseenter", function () { clearTimeout(toast.toastTimer); });
    toast.addEventListener("mouseleave", function () { schedule(toast); });
    toast.addEventListener("focusin", function () { schedule(toast); });
    toast.addEventListener("focusout", function () {
      // The focus has not moved yet while focusout runs.
      setTimeout(function () { schedule(toast); }, 0);
    });
    schedule(toast);
    if (toast.hasAttribute("data-toast-focus")) {
      toast.removeAttribute("data-toast-focus");
      // After a new change, an older message's way back may undo something else.
      document.querySelectorAll("[data-toast]").forEach(function (other) {
        if (other !== toast && other.querySelector(".toast__action")) dismiss(other);
      });
      toast.focus();
    }
  }

  function setUpWithin(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches("[data-toast]")) setUp(root);
    root.querySelectorAll("[data-toast]").forEach(setUp);
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-dismiss-toast]");
    if (close) dismiss(close.closest("[data-toast]"));
  });
  document.addEventListener("keydown", function (event) {
    var toast = event.key === "Escape" && event.target.closest && event.target.closest("[data-toast]");
    if (toast) dismiss(toast);
  });
  document.addEventListener("htmx:load", function (event) { setUpWithin(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { setUpWithin(document.getElementById("messages")); });
})();

// Requests in flight: while an htmx request runs, the page shows it (a thin bar at the
// top, and the spinner of the control that asked, both only after a moment, by CSS) and
// its form's submit buttons are disabled, so that a second press sends nothing. A form
// posted without htmx cannot be disabled while it submits (a disabled submitter drops
// its name and value from the form data), so a second submit is blocked instead.
(function () {
  var inFlight = 0;

  // The control that was pressed: a form's submit buttons, or the button itself. A list
  // refreshing itself inside a form leaves the form's buttons as they are.
  function busyButtons(elt) {
    var buttons = [];
    if (elt.matches("form")) {
      buttons = Array.prototype.slice.call(elt.querySelectorAll("button[type='submit'], button:not([type])"));
    } else if (elt.matches("button")) {
      buttons = [elt];
    }
    return buttons.filter(function (button) { return !button.disabled; });
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (event.defaultPrevented) return; // cancelled: no htmx:afterRequest will follow
    inFlight += 1;
    document.documentElement.classList.add("is-requesting");
    var buttons = busyButtons(elt);
    buttons.forEach(function (button) { button.disabled = true; });
    elt.busyButtons = (elt.busyButtons || []).concat(buttons);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    inFlight = Math.max(0, inFlight - 1);
    if (inFlight === 0) document.documentElement.classList.remove("is-requesting");
    (elt.busyButtons || []).forEach(function (button) { button.disabled = false; });
    elt.busyButtons = [];
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    // htmx sends its own forms (and prevents the browser's submit); a download leaves
    // the page where it is, so pressing it again must work.
    if (event.defaultPrevented || (submitter && submitter.hasAttribute("data-download"))) return;
    if (form.hasAttribute("data-submitting")) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitting", "");
    if (submitter) submitter.setAttribute("aria-busy", "true");
  });

  // Back from the next page may show this one again from the browser's cache.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      form.removeAttribute("data-submitting");
      form.querySelectorAll("[aria-busy]").forEach(function (el) { el.removeAttribute("aria-busy"); });
    });
  });
})();
