// Phone header (issue 15.10): on a narrow screen the search box and the account links fold behind
// «Menú» so that the bar stays within a sixth of the screen; the navigation links stay in view.
// Without JavaScript the button stays hidden and everything is shown. Kept in a file for the
// Content-Security-Policy (script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  var boton = document.querySelector(".barra .menu-boton");
  if (!boton) return;
  var barra = boton.closest(".barra");
  barra.classList.add("plegable");
  boton.hidden = false;
  boton.addEventListener("click", function () {
    var abierta = barra.classList.toggle("abierta");
    boton.setAttribute("aria-expanded", abierta ? "true" : "false");
  });
  barra.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && barra.classList.contains("abierta")) {
      barra.classList.remove("abierta");
      boton.setAttribute("aria-expanded", "false");
      boton.focus();
    }
  });
});
