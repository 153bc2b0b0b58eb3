// The payment page updates itself: poll the portal's small status endpoint every 2 s, count down the expiry.
(function () {
  var box = document.getElementById("pay");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var expires = Date.parse(box.getAttribute("data-expires") || "");
  var statusEl = document.getElementById("status"), countdown = document.getElementById("countdown");
  var show = function (id, on) { var el = document.getElementById(id); if (el) el.hidden = !on; };
  var done = false, qr = document.getElementById("qr");
  function tick() {
    if (!countdown || isNaN(expires)) return;
    var left = Math.max(0, Math.floor((expires - Date.now()) / 1000));
    countdown.textContent = String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
  }
  function apply(s) {
    statusEl.textContent = s.label;
    if (s.expires_at) { expires = Date.parse(s.expires_at); document.getElementById("expires-at").textContent = s.expires_local; tick(); }
    if (s.awaiting && qr && !qr.getAttribute("src")) qr.setAttribute("src", qr.getAttribute("data-src"));
    show("paid-box", s.paid); show("qr-box", s.awaiting && !s.paid); show("wait-box", !s.awaiting && !s.paid && !s.closed);
    if (s.paid || s.closed) done = true;
  }
  function poll() {
    if (done) return;
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) apply(s); })
      .catch(function () {})
      .then(function () { if (!done) setTimeout(poll, 2000); });
  }
  var sim = document.getElementById("sim-form");
  if (sim) sim.addEventListener("submit", function (e) {
    e.preventDefault();
    var msg = document.getElementById("sim-msg");
    fetch(sim.action, { method: "POST", headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (j) { msg.textContent = j.message; })
      .catch(function () { msg.textContent = "Simulator tidak dapat dihubungi."; });
  });
  tick(); setInterval(tick, 1000); setTimeout(poll, 2000);
})();
