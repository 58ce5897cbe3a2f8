// smscrm admin UI: the only script besides htmx (the CSP allows scripts from this origin only).
// Sends the page's CSRF token with every htmx request; plain forms carry it as a hidden field.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});
