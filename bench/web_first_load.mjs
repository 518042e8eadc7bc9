// What the first load of the web app's task list costs, on loopback: a figure, not a test.
// With `make web` running: `make bench-web` (or node bench/web_first_load.mjs [web URL] [API URL]).
// Signs up a user, gives it 60 tasks through the API, then opens /tasks ROUNDS times, each in a
// fresh browser context (nothing cached, as a first visit), and prints the median of: the time
// from navigation to the first page of tasks shown, the requests made, and the bytes received
// (encoded, as on the wire), the JavaScript among them, and the calls to the API.
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(import.meta.url), "..", "..");
const { chromium } = createRequire(join(root, ".tools/docs-assets/node_modules/playwright-core/package.json"))(
  "playwright-core",
);

const web = process.argv[2] ?? "http://127.0.0.1:3000";
const api = process.argv[3] ?? "http://127.0.0.1:8000";
const ROUNDS = 7;
const TASKS = 60;
const PAGE_SIZE = 50;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});

async function signedInState() {
  const context = await browser.newContext();
  const email = `bench-${Date.now()}@example.com`;
  const signUp = await context.request.post(`${web}/api/auth/sign-up/email`, {
    data: { name: "Bench", email, password: "correct horse battery staple" },
    headers: { Origin: web },
  });
  const { user } = await signUp.json();
  const { token } = await (await context.request.get(`${web}/api/auth/token`)).json();
  for (let number = 0; number < TASKS; number += 1) {
    const created = await context.request.post(`${api}/api/${user.id}/tasks`, {
      data: { title: `Task ${number}`, tags: ["bench"] },
      headers: { Authorization: `Bearer ${token}` },
    });
    if (created.status() !== 201) throw new Error(`create answered ${created.status()}`);
  }
  const state = await context.storageState();
  await context.close();
  return state;
}

async function firstLoad(storageState) {
  const context = await browser.newContext({ storageState });
  const page = await context.newPage();
  const requests = [];
  page.on("requestfinished", (request) => requests.push(request));
  const started = Date.now();
  await page.goto(`${web}/tasks`);
  await page.waitForFunction(
    (count) => document.querySelectorAll(".tasks .task").length >= count,
    PAGE_SIZE,
  );
  const shownMs = Date.now() - started;
  // Let what the page starts after showing the list (the first delta sync) finish too.
  await page.waitForLoadState("networkidle");
  const sized = await Promise.all(
    requests.map(async (request) => ({
      url: request.url(),
      type: request.resourceType(),
      bytes: (await request.sizes()).responseBodySize,
    })),
  );
  await context.close();
  const sum = (items) => items.reduce((total, item) => total + item.bytes, 0);
  const scripts = sized.filter((item) => item.type === "script");
  return {
    shownMs,
    requests: sized.length,
    kib: sum(sized) / 1024,
    scriptKib: sum(scripts) / 1024,
    scripts: scripts.length,
    apiCalls: sized.filter((item) => item.url.startsWith(api)).length,
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  const state = await signedInState();
  await firstLoad(state); // the server's own first render and compilation caches, not counted
  const runs = [];
  for (let round = 0; round < ROUNDS; round += 1) runs.push(await firstLoad(state));
  const figure = (name) => median(runs.map((run) => run[name]));
  console.log(`first load of the task list (${TASKS} tasks, first page ${PAGE_SIZE}), median of ${ROUNDS} cold loads:`);
  console.log(`  time to the first page of tasks shown: ${figure("shownMs")} ms`);
  console.log(`  requests: ${figure("requests")} (scripts: ${figure("scripts")}, calls to the API: ${figure("apiCalls")})`);
  console.log(`  received: ${figure("kib").toFixed(1)} KiB encoded, of which JavaScript ${figure("scriptKib").toFixed(1)} KiB`);
} finally {
  await browser.close();
}
