// Passkeys (WebAuthn): adding one on the passkeys page, signing in with one on the login page
// and as the second factor. The server speaks JSON with binary fields in base64url; the
// browser's API wants ArrayBuffers. No inline script anywhere, so the strict
// Content-Security-Policy holds. Pages work without this file: the buttons stay hidden.
(function () {
  "use strict";

  function b64uToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function bufToB64u(buf) {
    if (!buf) return null;
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: b64uToBuf(c.id) };
      if (c.transports) d.transports = c.transports;
      return d;
    });
  }

  function creationOptions(json) {
    var o = json.publicKey;
    o.challenge = b64uToBuf(o.challenge);
    o.user.id = b64uToBuf(o.user.id);
    o.excludeCredentials = descriptors(o.excludeCredentials);
    return { publicKey: o };
  }

  function requestOptions(json) {
    var o = json.publicKey;
    o.challenge = b64uToBuf(o.challenge);
    o.allowCredentials = descriptors(o.allowCredentials);
    return { publicKey: o };
  }

  function extensions(cred) {
    try { return cred.getClientExtensionResults(); } catch (e) { return {}; }
  }

  function attestationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: extensions(cred),
      response: {
        clientDataJSON: bufToB64u(r.clientDataJSON),
        attestationObject: bufToB64u(r.attestationObject),
        transports: typeof r.getTransports === "function" ? r.getTransports() : []
      }
    };
  }

  function assertionJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: extensions(cred),
      response: {
        clientDataJSON: bufToB64u(r.clientDataJSON),
        authenticatorData: bufToB64u(r.authenticatorData),
        signature: bufToB64u(r.signature),
        userHandle: r.userHandle ? bufToB64u(r.userHandle) : undefined
      }
    };
  }

  // post sends body as JSON and returns the answer's JSON; a refusal throws its
  // error_description (the server's words, in the page's language).
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: body === undefined ? "{}" : JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) {
          var err = new Error(data.error_description || String(res.status));
          err.server = !!data.error_description;
          throw err;
        }
        return data;
      });
    });
  }

  // showCodes replaces the add form with the recovery codes the account's first second
  // factor brought: shown once, then Continue goes on as after any other passkey.
  function showCodes(form, codes) {
    var section = document.createElement("section");
    section.className = "passkey-codes";
    section.setAttribute("role", "status");
    var h = document.createElement("h2");
    h.textContent = form.getAttribute("data-codes-heading");
    var intro = document.createElement("p");
    intro.textContent = form.getAttribute("data-codes-intro");
    var list = document.createElement("ol");
    list.className = "recovery-codes";
    codes.forEach(function (c) {
      var li = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = c;
      li.appendChild(code);
      list.appendChild(li);
    });
    var once = document.createElement("p");
    var small = document.createElement("small");
    small.textContent = form.getAttribute("data-codes-once");
    once.appendChild(small);
    var next = document.createElement("a");
    next.setAttribute("href", form.getAttribute("data-done"));
    next.setAttribute("role", "button");
    next.textContent = form.getAttribute("data-codes-continue");
    var added = document.createElement("p");
    added.className = "notice";
    added.textContent = form.getAttribute("data-codes-added");
    section.append(added, h, intro, list, once, next);
    // The whole "Add a passkey" part gives way; the list above is stale until Continue.
    var none = document.querySelector(".passkey-none");
    if (none) none.hidden = true;
    (form.closest(".passkey-add") || form).replaceWith(section);
    h.setAttribute("tabindex", "-1");
    h.focus();
  }

  function showError(el, msg) {
    if (!el) return;
    var span = el.querySelector("span");
    (span || el).textContent = msg;
    el.hidden = false;
    el.setAttribute("tabindex", "-1");
    el.focus();
  }

  function message(host, err) {
    if (err && err.server) return err.message;
    if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) return host.getAttribute("data-error-cancelled");
    return host.getAttribute("data-error-failed");
  }

  var supported = typeof window.PublicKeyCredential === "function" && navigator.credentials;

  // Adding a passkey: the form's name goes with the finished credential.
  var reg = document.querySelector("[data-passkey-register]");
  if (reg) {
    var regError = document.getElementById("passkey-error");
    if (!supported) {
      showError(regError, reg.getAttribute("data-error-unsupported"));
    } else {
      reg.hidden = false;
      reg.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var button = reg.querySelector("button[type=submit]");
        button.setAttribute("aria-busy", "true");
        button.disabled = true;
        var name = reg.querySelector("input[name=name]").value;
        post(reg.getAttribute("data-begin"))
          .then(function (json) { return navigator.credentials.create(creationOptions(json)); })
          .then(function (cred) {
            return post(reg.getAttribute("data-finish") + "?name=" + encodeURIComponent(name), attestationJSON(cred));
          })
          .then(function (data) {
            if (data.recovery_codes && data.recovery_codes.length) {
              showCodes(reg, data.recovery_codes);
              return;
            }
            window.location.assign(reg.getAttribute("data-done"));
          })
          .catch(function (err) {
            button.removeAttribute("aria-busy");
            button.disabled = false;
            showError(regError, message(reg, err));
          });
      });
    }
  }

  // Signing in with a passkey (the login page's button, the second step's button).
  document.querySelectorAll("[data-passkey-login]").forEach(function (button) {
    if (!supported) return;
    var box = button.closest("[data-passkey-box]") || button.parentNode;
    box.hidden = false;
    var errorEl = document.getElementById(button.getAttribute("data-error-target"));
    button.addEventListener("click", function () {
      button.setAttribute("aria-busy", "true");
      button.disabled = true;
      var returnTo = button.getAttribute("data-return-to") || "";
      post(button.getAttribute("data-begin"))
        .then(function (json) { return navigator.credentials.get(requestOptions(json)); })
        .then(function (cred) {
          var url = button.getAttribute("data-finish");
          if (returnTo) url += (url.indexOf("?") < 0 ? "?" : "&") + "return_to=" + encodeURIComponent(returnTo);
          return post(url, assertionJSON(cred));
        })
        .then(function (data) { window.location.assign(data.redirect || "/"); })
        .catch(function (err) {
          button.removeAttribute("aria-busy");
          button.disabled = false;
          showError(errorEl, message(button, err));
        });
    });
  });
})();
