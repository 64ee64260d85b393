// Start Swagger UI from the locally served bundle (no CDN, no inline script).
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
