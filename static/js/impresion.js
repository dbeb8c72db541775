// Print views (III.1): the «Imprimir» button opens the browser's print dialog. Kept in a file,
// not in an onclick attribute, so the page passes the Content-Security-Policy (script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-imprimir]").forEach(function (boton) {
    boton.addEventListener("click", function () { window.print(); });
  });
});
