// The trainer's screen: fetch the current check-in code every 5 s and swap the QR when it rotates.
(function () {
  var box = document.getElementById("checkin");
  if (!box) return;
  var text = document.getElementById("code-text"), img = document.getElementById("code-qr");
  function poll() {
    fetch(box.getAttribute("data-code-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && j.code && j.code !== text.textContent) {
          text.textContent = j.code;
          img.src = box.getAttribute("data-png-url") + "?v=" + encodeURIComponent(j.code);
        }
      })
      .catch(function () {})
      .then(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 5000);
})();
