// While a visit is active, refresh its status card without a reload. The server renders the
// card (cases:detail_status); an inactive card carries no poll URL, which stops the polling.
(function () {
  "use strict";
  const INTERVAL_MS = 20000;
  function poll() {
    const card = document.getElementById("visit-status");
    const url = card && card.dataset.pollUrl;
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then((response) => {
        // Redirected to sign in (the session ended): reload, so the visit's details leave the
        // screen for the sign-in page, which says why and brings the patient back here.
        if (response.redirected) {
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then((html) => {
        if (html === null) return;
        const holder = document.createElement("div");
        holder.innerHTML = html.trim();
        const fresh = holder.firstElementChild;
        if (fresh && fresh.id === "visit-status" && fresh.innerHTML !== card.innerHTML) {
          card.replaceWith(fresh);
        }
      })
      .catch(() => {})
      .finally(() => window.setTimeout(poll, INTERVAL_MS));
  }
  window.setTimeout(poll, INTERVAL_MS);
})();
