/* login.js: the sign-in form. */
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  ftTranslate();
  document.title = t("login_title") + " · " + t("product_short");
  const form = document.getElementById("login-form");
  const err = document.getElementById("login-error");
  document.getElementById("lang-toggle").addEventListener("click", () => {
    ftSetLang(ftLang() === "en" ? "zh" : "en");
    ftTranslate();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const body = {
      user: document.getElementById("login-user").value.trim(),
      password: document.getElementById("login-password").value,
    };
    try {
      const r = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      if (r.ok) {
        const next = new URLSearchParams(location.search).get("next") || "";
        location.href = "/" + (next.startsWith("#") ? next : "");
        return;
      }
      err.textContent =
        r.status === 401 ? t("login_failed") : r.status === 503 ? t("login_unavailable") : t("login_error");
    } catch (e) {
      err.textContent = t("login_error");
    }
    err.hidden = false;
  });
});
