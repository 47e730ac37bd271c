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

// A form answered with 400 comes back with its errors, and a refusal (403), a page not
// found (404), a wait (429) or a failure (500) as a popup the server placed: show them
// where the server says.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  if (xhr.status === 400 || (xhr.status > 400 && xhr.getResponseHeader("HX-Retarget"))) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Panel: address, focus and Escape. Each step of the contact panel has its own address
// (hx-push-url), so Back and Forward walk the steps; closing it goes back to the Contacts
// tab of the same search. After a step is swapped in, focus moves to its title, so that
// a screen reader says what opened and the next Tab stays in the panel. Escape closes the
// panel or the user menu and focus returns to what opened it.
(function () {
  var opener = null;
  var toResults = false;
  var kept = null;

  function lostFocus() {
    var active = document.activeElement;
    return !active || active === document.body || !document.contains(active);
  }

  function focusOn(element) {
    if (!element) return;
    if (!element.matches("a[href], button, input, select, textarea, [tabindex]")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
  }

  function openContact(region) {
    var step = region && region.querySelector("[data-contact]");
    return step ? step.dataset.contact : null;
  }

  // The open contact's row stays marked while focus is in the panel; the server marks it
  // on a whole page and in a new table, this keeps it in step as the panel changes.
  function markRow(contact) {
    document.querySelectorAll("tr[aria-current='true']").forEach(function (row) {
      if (row.id !== "contact-row-" + contact) row.removeAttribute("aria-current");
    });
    var row = contact && document.getElementById("contact-row-" + contact);
    if (row) row.setAttribute("aria-current", "true");
  }

  function contactLink(contact) {
    var row = contact && document.getElementById("contact-row-" + contact);
    return row && row.querySelector(".contact-cell a");
  }

  function closePanel(region) {
    var contact = openContact(region);
    region.replaceChildren();
    markRow(null);
    var home = region.dataset.panelHome;
    if (home) {
      var url = home + location.search;
      // The page as first loaded has no htmx state, and htmx restores only its own entries.
      if (!(history.state && history.state.htmx)) {
        history.replaceState({ htmx: true }, "", location.href);
      }
      if (location.pathname + location.search !== url) history.pushState({ htmx: true }, "", url);
    }
    var back = contactLink(contact) || (opener && document.contains(opener) ? opener : null);
    focusOn(back || document.querySelector("#main h1"));
    opener = null;
  }

  // A step's links follow the address's search, which a search under the open panel changes.
  function followSearch() {
    document.querySelectorAll("[data-panel-home] [data-panel-step], [data-panel-home] [data-close-panel]")
      .forEach(function (link) {
        var url = new URL(link.getAttribute("href"), location.href);
        url.search = location.search;
        link.setAttribute("href", url.pathname + url.search);
      });
  }

  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt.matches) return;
    if (elt.matches("[data-panel-step]")) {
      event.detail.path = elt.getAttribute("href");
    } else if (elt.matches("[data-panel-home] [data-contact]")) {
      // A step refreshing itself after a change: its links come back with today's search.
      var url = new URL(event.detail.path, location.href);
      url.search = location.search;
      event.detail.path = url.pathname + url.search;
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var target = event.detail.target;
    var elt = event.detail.elt;
    if (target && target.matches && target.matches("[data-panel]") && !target.contains(elt)) {
      opener = elt;
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-panel]");
    var region = closer && closer.closest("[data-panel]");
    if (region) {
      event.preventDefault();
      closePanel(region);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    // The popup closes itself on Escape, and focus goes back to what opened it.
    if (document.querySelector("dialog[open]")) return;
    var menu = document.querySelector("details.usermenu[open]");
    if (menu) {
      event.preventDefault();
      menu.open = false;
      menu.querySelector("summary").focus();
      return;
    }
    // Escape in a search box with words in it clears them first, as browsers do.
    if (event.target.matches && event.target.matches("input[type='search']") && event.target.value) return;
    var region = document.querySelector("[data-panel]");
    if (region && region.firstElementChild) {
      event.preventDefault();
      closePanel(region);
    }
  });

  // Enter in the search box goes to the results: the first contact, or the table's word
  // that none matched.
  document.addEventListener("submit", function (event) {
    if (event.target.id === "contacts-filters") toResults = true;
  }, true);

  // Whatever held focus inside a swapped region gets it back in the new one (a sort link,
  // a page link), so that focus never falls back to the top of the page.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var active = document.activeElement;
    var target = event.detail.target;
    kept = target && active && active !== document.body && target.contains(active)
      ? {
        id: active.id,
        tag: active.tagName,
        text: active.textContent.trim(),
        index: Array.prototype.indexOf.call(target.querySelectorAll(active.tagName), active),
      }
      : null;
  });

  // The same control in the new content: by its id, its words, or else its place (a sort
  // link's words gain the arrow of the new order).
  function sameAs(root, what) {
    if (what.id) return document.getElementById(what.id);
    var all = Array.prototype.slice.call(root.querySelectorAll(what.tag));
    return all.filter(function (element) { return element.textContent.trim() === what.text; })[0]
      || all[what.index];
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var settled = event.target;
    if (!settled.closest) return;
    if (toResults && settled.id === "contacts-table") {
      toResults = false;
      focusOn(settled.querySelector("tbody .contact-cell a") || settled.querySelector("tbody td"));
      return;
    }
    var region = settled.closest("[data-panel]");
    if (region) {
      markRow(openContact(region));
      followSearch();
      // A new step takes focus; a step refreshing itself after a change keeps it where it
      // is (the message saying what changed), unless it held it.
      if (settled === region || lostFocus()) focusOn(region.querySelector("#panel-title"));
      return;
    }
    if (kept && lostFocus()) focusOn(sameAs(settled, kept) || settled);
  });

  document.addEventListener("htmx:pushedIntoHistory", followSearch);

  // Back twice in a row: only the page the address now names is drawn, whichever answer
  // comes first.
  var restoring = null;
  document.addEventListener("htmx:historyCacheMiss", function (event) {
    if (restoring) restoring.abort();
    restoring = event.detail.xhr;
  });

  document.addEventListener("htmx:historyRestore", function () {
    var region = document.querySelector("[data-panel]");
    if (region && region.firstElementChild) focusOn(region.querySelector("#panel-title"));
  });
})();

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
    // A pasted list of emails is the selection itself: its contacts are counted on the server.
    var pasted = form.querySelector("[data-pasted]");
    if (pasted) selected = Number(pasted.dataset.pasted);
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
    var heading = panel && panel.querySelector("#panel-title, h2");
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
  // Escape in a toast dismisses it, and only it: first, before the panel's Escape.
  document.addEventListener("keydown", function (event) {
    var toast = event.key === "Escape" && event.target.closest && event.target.closest("[data-toast]");
    if (toast) {
      event.preventDefault();
      dismiss(toast);
    }
  }, true);
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

// Keyboard: from the checked rows to their actions. Enter on a row's checkbox goes to the
// bulk bar above the table (its first action the role may start), rather than a Tab
// through every column header on the way up; the checkbox says so to a screen reader.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Enter" || !event.target.matches("[data-bulk-form] input[name='ids']")) return;
  var action = event.target.form.querySelector("[data-bulk-action]:not([disabled])");
  if (action) {
    event.preventDefault();
    action.focus();
  }
});

// Error answers: a request that failed without an answer the page can show (the server
// or the network is down, a proxy answered) still says so, in a popup, never silence.
(function () {
  var SAID = "KajAccess could not answer just now. Try again in a moment; " +
    "if it keeps happening, reload the page.";
  function alertText() {
    var text = document.createElement("p");
    text.className = "message message--error";
    text.setAttribute("role", "alert");
    text.textContent = SAID;
    return text;
  }
  function showFailure() {
    var slot = document.getElementById("dialog-slot");
    if (!slot) return;
    // A popup already open (a part of it was asked for) says so inside it, once.
    var open = slot.querySelector("dialog[open] .dialog__body");
    if (open) {
      if (!open.querySelector("[data-no-answer]")) {
        var inside = alertText();
        inside.setAttribute("data-no-answer", "");
        open.prepend(inside);
      }
      return;
    }
    var dialog = document.createElement("dialog");
    dialog.className = "dialog";
    dialog.setAttribute("aria-labelledby", "dialog-title");
    var body = document.createElement("div");
    body.className = "dialog__body";
    var title = document.createElement("h2");
    title.id = "dialog-title";
    title.textContent = "That did not work";
    body.append(title, alertText());
    var actions = document.createElement("div");
    actions.className = "dialog__actions";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = "Close";
    close.setAttribute("data-close-dialog", "");
    actions.append(close);
    dialog.append(body, actions);
    dialog.addEventListener("close", function () { dialog.remove(); }, { once: true });
    slot.replaceChildren(dialog);
    dialog.showModal();
  }
  document.addEventListener("htmx:responseError", function (event) {
    if (!event.detail.xhr.getResponseHeader("HX-Retarget")) showFailure();
  });
  document.addEventListener("htmx:sendError", showFailure);
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
