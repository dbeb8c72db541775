// Tablero de Control (5.1): the table refreshes itself (htmx, hx-trigger="every …" on
// #tablero-contenido). A refresh would wipe what the user is typing in a row's open box
// («Anular», «Intento de contacto»): while one is open, that refresh is skipped. This lives here,
// not in an hx-trigger filter expression, because htmx evaluates those with eval(), which the
// Content-Security-Policy refuses (script-src 'self', no 'unsafe-eval').
document.addEventListener("htmx:beforeRequest", function (evento) {
  var origen = evento.detail && evento.detail.elt;
  if (origen && origen.id === "tablero-contenido" && origen.querySelector("details[open]")) {
    evento.preventDefault();
  }
});
