// Drives /docs (Swagger UI) and /redoc in headless Chromium with every host but loopback blocked.
// Run by tests/integration/test_docs_in_a_browser.py, which starts the service and passes, as
// environment: BASE_URL, TOKEN, USER_ID, TITLE (of the task to create), OPERATIONS (a JSON list of
// {operationId, summary}), CHROMIUM (executable), PLAYWRIGHT_DIR (where playwright-core is
// installed) and SCREENSHOT_DIR. Prints one JSON line: what the pages showed and every request.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("BASE_URL");
const token = env("TOKEN");
const userId = env("USER_ID");
const title = env("TITLE");
const operations = JSON.parse(env("OPERATIONS"));
const screenshotDir = env("SCREENSHOT_DIR");
const { chromium } = createRequire(join(env("PLAYWRIGHT_DIR"), "package.json"))("playwright-core");

const STEP_TIMEOUT_MS = 15_000;
const requests = [];
const problems = [];
const result = { requests, problems, swagger: {}, redoc: {} };

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
context.setDefaultTimeout(STEP_TIMEOUT_MS);
context.on("request", (request) => requests.push(`${request.method()} ${request.url()}`));
const page = await context.newPage();
page.on("console", (message) => {
  // A CSP violation is reported on the console; any of them is a failure.
  if (message.type() === "error") problems.push(`console: ${message.text()}`);
});
page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));

let step = "start";
try {
  step = "swagger-load";
  await page.goto(`${base}/docs`);
  await page.locator(".opblock").first().waitFor();

  step = "swagger-authorize";
  await page.locator(".auth-wrapper button.authorize").click();
  // The modal has a form per security scheme: the bearer token's, and the stream token's.
  const bearer = page.locator(".modal-ux .auth-container").filter({ hasText: "bearerAuth" });
  await bearer.locator("input").first().fill(token);
  await bearer.locator("button.authorize").click();
  await page.locator(".modal-ux button.btn-done").first().click();

  step = "swagger-create";
  result.swagger.create = await tryItOut("create_task", JSON.stringify({ title }));
  step = "swagger-list";
  result.swagger.list = await tryItOut("list_tasks");

  step = "redoc-load";
  await page.goto(`${base}/redoc`);
  await page.locator("[data-section-id^='operation/']").first().waitFor();
  step = "redoc-operations";
  for (const { operationId, summary } of operations) {
    const section = page.locator(`[data-section-id="operation/${operationId}"]`);
    const found = (await section.count()) > 0;
    const heading = found ? (await section.locator("h2").first().innerText()).trim() : null;
    result.redoc[operationId] = { found, heading, summary };
  }
} catch (error) {
  problems.push(`${step}: ${error.message.split("\n")[0]}`);
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `docs-${step}.png`), fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));

// Expand an operation, press "Try it out", clear the optional parameters Swagger UI fills with the
// contract's examples, fill user_id (and the body), Execute, and read the status and body Swagger
// UI shows under "Server response".
async function tryItOut(operationId, body) {
  const block = page.locator(`[id$="-${operationId}"].opblock`);
  await block.locator(".opblock-summary").first().click();
  await block.locator("button.try-out__btn").click();
  for (const row of await block.locator("tr[data-param-name]").all()) {
    const removeItem = row.locator("button.json-schema-form-item-remove");
    while ((await removeItem.count()) > 0) await removeItem.first().click();
    for (const input of await row.locator("input[type=text]").all()) await input.fill("");
    for (const select of await row.locator("select[multiple]").all()) await select.selectOption([]);
  }
  await block.locator('tr[data-param-name="user_id"] input').fill(userId);
  if (body !== undefined) await block.locator("textarea.body-param__text").fill(body);
  await block.locator("button.execute").click();
  const live = block.locator(".live-responses-table .response").first();
  await live.waitFor();
  return {
    status: (await live.locator(".response-col_status").innerText()).trim(),
    body: await live.locator(".response-col_description .microlight").first().innerText(),
    requestUrl: (await block.locator(".request-url pre").first().innerText()).trim(),
  };
}
