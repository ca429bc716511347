// The API reference at /docs: Swagger UI (public/build/swagger-ui/, copied from npm by
// `npm run build:web`) rendering the OpenAPI document the Worker serves. "Try it out" calls
// this same origin, so requests need no CORS; "Authorize" takes a token from
// POST /v1/auth/login.
window.ui = SwaggerUIBundle({
  url: "/v1/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default asks validator.swagger.io for a badge: a request to another site from a page
  // that must work offline.
  validatorUrl: null,
  // Keeps the bearer token across reloads of this tab's origin (localStorage).
  persistAuthorization: true,
});
