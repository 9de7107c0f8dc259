// Facet's pages work without this file; it only makes them quicker: confirmations and edit
// forms open in a <dialog> instead of a page, focus moves to a form's error summary, and
// open menus close on Escape or a click elsewhere. No inline script anywhere, so the strict
// Content-Security-Policy holds.
(function () {
  "use strict";

  function openDialog(dialog, opener) {
    dialog.addEventListener("close", function () {
      if (opener && opener.focus) opener.focus();
    }, { once: true });
    dialog.showModal();
  }

  // A link with data-confirm="ID" leads to a confirmation page; with JavaScript the same
  // confirmation opens in the <dialog id="ID"> already on the page.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-confirm]");
    if (!a) return;
    var dialog = document.getElementById(a.getAttribute("data-confirm"));
    if (!dialog || typeof dialog.showModal !== "function") return;
    ev.preventDefault();
    openDialog(dialog, a);
  });

  // A link with data-edit leads to an edit page; with JavaScript its form opens in a dialog
  // over the current page. The form posts as usual, so the server's answer (the page with
  // the saved notice, or the edit page with its errors) is the same either way.
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[data-edit]");
    if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
    ev.preventDefault();
    fetch(a.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var panel = doc.querySelector("[data-edit-panel]");
        if (!panel) throw new Error("no edit panel");
        var dialog = document.getElementById("edit-dialog");
        if (!dialog) {
          dialog = document.createElement("dialog");
          dialog.id = "edit-dialog";
          dialog.className = "edit-dialog";
          document.body.appendChild(dialog);
        }
        dialog.replaceChildren(document.importNode(panel, true));
        var head = dialog.querySelector("header");
        if (head) {
          var close = document.createElement("button");
          close.type = "button";
          close.className = "dialog-close secondary";
          close.setAttribute("data-close", "");
          close.setAttribute("aria-label", a.getAttribute("data-close-label") || "Close");
          close.textContent = "\u00d7";
          head.appendChild(close);
        }
        var title = dialog.querySelector("h1, h2");
        if (title) {
          title.id = "edit-dialog-title";
          dialog.setAttribute("aria-labelledby", title.id);
        }
        openDialog(dialog, a);
        var first = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea");
        if (first) first.focus();
      })
      .catch(function () {
        window.location.href = a.href;
      });
  });

  // A form with data-inplace posts without leaving the page (the star of an app in the
  // Catalog window): the answer, the page the server redirects to, replaces each element
  // marked data-refresh that it holds under the same id (the window's list, the sidebar's
  // favorites), and focus returns to the button that was pressed. Without JavaScript, or when
  // the request fails, the form posts as usual.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest("form[data-inplace]");
    if (!form || typeof fetch !== "function") return;
    ev.preventDefault();
    var button = ev.submitter || form.querySelector("button[type=submit]");
    var focusID = button && button.id;
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      body: new URLSearchParams(new FormData(form))
    })
      .then(function (res) {
        if (!res.ok) throw new Error(res.status);
        return res.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var replaced = 0;
          document.querySelectorAll("[data-refresh][id]").forEach(function (old) {
            var fresh = doc.getElementById(old.id);
            if (!fresh || !fresh.hasAttribute("data-refresh")) return;
            old.replaceWith(document.importNode(fresh, true));
            replaced++;
          });
          // Another page (the login page, the session having ended): show it.
          if (replaced === 0) {
            window.location.href = res.url;
            return;
          }
          var again = focusID && document.getElementById(focusID);
          if (again) again.focus();
        });
      })
      .catch(function () {
        form.submit();
      });
  });

  // A Cancel link or button inside a dialog closes it.
  document.addEventListener("click", function (ev) {
    var c = ev.target.closest("dialog [data-close], dialog a.cancel");
    if (!c) return;
    ev.preventDefault();
    c.closest("dialog").close();
  });

  // Escape or a click elsewhere closes an open menu or privacy picker.
  function closeDetails(except) {
    document.querySelectorAll("details.account-menu[open], details.privacy[open]").forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (ev) {
    closeDetails(ev.target.closest("details"));
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = document.activeElement && document.activeElement.closest("details[open]");
    closeDetails(null);
    if (open) {
      var s = open.querySelector("summary");
      if (s) s.focus();
    }
  });

  // A button with data-copy="ID" copies the text of the element ID (a link that stays visible
  // and selectable without JavaScript); it is hidden until this script shows it.
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    if (navigator.clipboard) b.hidden = false;
  });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-copy]");
    if (!b) return;
    var src = document.getElementById(b.getAttribute("data-copy"));
    if (!src || !navigator.clipboard) return;
    navigator.clipboard.writeText(src.textContent.trim()).then(function () {
      var done = b.getAttribute("data-copied");
      if (!done) return;
      var status = document.getElementById("copy-status");
      if (!status) {
        status = document.createElement("span");
        status.id = "copy-status";
        status.setAttribute("role", "status");
        status.className = "copy-status";
        b.after(status);
      }
      status.textContent = done;
    });
  });

  // After a failed save, focus goes to the error summary, which lists what to fix.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  });

  // The page of a form_post authorization response (a form with data-autosubmit) posts
  // itself to the app; without JavaScript its Continue button does.
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) form.submit();
  });
})();
