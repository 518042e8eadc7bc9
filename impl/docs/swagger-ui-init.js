// Starts Swagger UI on /docs. A file, not an inline script: the page's CSP allows scripts from
// 'self' only. "Try it out" calls the service that served the page, whatever the contract's
// `servers` say (it lists the default development address only).
const root = document.getElementById("swagger-ui");
const thisService = window.location.origin;

const ServersStartWithThisService = () => ({
  statePlugins: {
    spec: {
      wrapActions: {
        updateJsonSpec: (original) => (spec) => {
          const others = (spec.servers || []).filter((server) => server.url !== thisService);
          return original({
            ...spec,
            servers: [{ url: thisService, description: "This service" }, ...others],
          });
        },
      },
    },
  },
});

window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  presets: [SwaggerUIBundle.presets.apis],
  plugins: [ServersStartWithThisService],
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  displayRequestDuration: true,
  // No badge from the public online validator.
  validatorUrl: null,
});
