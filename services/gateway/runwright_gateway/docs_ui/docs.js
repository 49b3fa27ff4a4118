// Runwright's interactive API docs: Swagger UI, served by the gateway, on its own OpenAPI document.
const root = document.getElementById("api-docs");
window.ui = SwaggerUIBundle({
  url: root.dataset.spec,
  domNode: root,
  deepLinking: true,
  persistAuthorization: false,
});
