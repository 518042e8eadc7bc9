// Drives the reference web app (web/) in headless Chromium with every host but 127.0.0.1 blocked.
// Run by tests/integration/test_web_app_in_a_browser.py, one scenario per run, which passes as
// environment: SCENARIO, WEB_URL, API_URL, CHROMIUM, PLAYWRIGHT_DIR, SCREENSHOT_DIR, and what a
// scenario needs besides (named where it is read). Prints one JSON line: what the pages showed,
// and `problems`: every console error, page error, failed request, request that left the machine
// and error status a step did not expect. A failed step leaves a screenshot in SCREENSHOT_DIR.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const scenario = env("SCENARIO");
const web = env("WEB_URL");
const api = env("API_URL");
const screenshotDir = env("SCREENSHOT_DIR");
const { chromium } = createRequire(join(env("PLAYWRIGHT_DIR"), "package.json"))("playwright-core");

const STEP_TIMEOUT_MS = 15_000;
const PASSWORD = "correct horse battery staple";
const LOOPBACK = "127.0.0.1";
const LOCAL_SCHEMES = new Set(["data:", "blob:", "about:"]);

const problems = [];
const result = { problems };
let step = "start";
// Error statuses the current step expects (a 403 for another user's URL, a 412 on a conflict).
let expected = new Set();
const pages = [];

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  headless: true,
  args: ["--no-sandbox", `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${LOOPBACK}`],
});

async function newContext(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.on("request", (request) => {
    const url = new URL(request.url());
    if (!LOCAL_SCHEMES.has(url.protocol) && url.hostname !== LOOPBACK) {
      problems.push(`${step}: a request left the machine: ${request.url()}`);
    }
  });
  context.on("requestfailed", (request) => {
    const failure = request.failure()?.errorText ?? "";
    // A navigation cancels the requests of the page it leaves: not a failure of either.
    if (failure !== "net::ERR_ABORTED") {
      problems.push(`${step}: ${request.method()} ${request.url()} failed: ${failure}`);
    }
  });
  context.on("response", (response) => {
    if (response.status() >= 400 && !expected.has(response.status())) {
      problems.push(`${step}: ${response.status()} from ${response.request().method()} ${response.url()}`);
    }
  });
  context.on("page", (page) => {
    pages.push(page);
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const status = /status of (\d{3})/.exec(message.text());
      if (status === null || !expected.has(Number(status[1]))) {
        problems.push(`${step}: console: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`${step}: page error: ${error.message}`));
  });
  return context;
}

/** Runs `body` as the named step; the statuses listed are answers it expects. */
async function stepOf(name, body, statuses = []) {
  step = name;
  expected = new Set(statuses);
  try {
    return await body();
  } finally {
    expected = new Set();
  }
}

// --- What a user does ---------------------------------------------------------------------------

function uniqueEmail(name) {
  return `${name.toLowerCase()}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.com`;
}

async function signUp(page, name) {
  const email = uniqueEmail(name);
  await page.goto(`${web}/sign-up`);
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(/\/users\/[^/]+\/tasks$/);
  await listSettled(page);
  return { email, userId: decodeURIComponent(page.url().split("/").at(-2)) };
}

async function signIn(page, email) {
  await page.goto(`${web}/sign-in`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/users\/[^/]+\/tasks$/);
  await listSettled(page);
}

const newTaskForm = (page) => page.getByRole("form", { name: "New task" });
const taskList = (page) => page.getByRole("list", { name: "Tasks" });
const taskItem = (page, title) =>
  taskList(page).getByRole("listitem").filter({ has: page.getByText(title, { exact: true }) });

/** Waits until the list has loaded (it is not busy, or there is nothing to list). */
async function listSettled(page) {
  await page.locator(".tasks[aria-busy=false], .empty").first().waitFor();
}

async function titles(page) {
  await listSettled(page);
  return taskList(page).locator(".task-title").allInnerTexts().catch(() => []);
}

/** `due` is a date (`YYYY-MM-DD`), `time` its time (`HH:MM`): without one, all day. */
async function addTask(page, title, { priority, tags, due, time, repeat, notes } = {}) {
  const form = newTaskForm(page);
  await form.getByLabel("Title").fill(title);
  if (priority) await form.getByLabel("Priority").selectOption(priority);
  if (tags) await form.getByLabel("Tags").fill(tags);
  if (due) await form.getByLabel("Due").fill(due);
  if (time) await form.getByLabel("Time", { exact: true }).fill(time);
  if (repeat) await form.getByLabel("Repeat").selectOption({ label: repeat });
  if (notes) await form.getByLabel("Notes").fill(notes);
  await form.getByRole("button", { name: "Add task" }).click();
  await taskItem(page, title).waitFor();
  await listSettled(page);
}

async function openEditor(page, title) {
  await page.getByRole("button", { name: `Edit: ${title}`, exact: true }).click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  return dialog;
}

async function editTitle(page, from, to) {
  const dialog = await openEditor(page, from);
  await dialog.getByLabel("Title").fill(to);
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "detached" });
  await taskItem(page, to).waitFor();
}

async function filterBy(page, change) {
  const filters = page.getByRole("search", { name: "Find tasks" });
  if (change.status) await filters.getByLabel("Show").selectOption({ label: change.status });
  if (change.sort) await filters.getByLabel("Sort").selectOption({ label: change.sort });
  if (change.search !== undefined) await filters.getByLabel("Search").fill(change.search);
  if (change.tags !== undefined) {
    const more = filters.locator("details.more-filters");
    if ((await more.getAttribute("open")) === null) await more.locator("summary").click();
    await filters.getByLabel("Tags (all of)").fill(change.tags);
  }
}

/** Waits until the list shows exactly `expected` titles (in this order), and returns them. */
async function waitForTitles(page, expectedTitles) {
  const want = JSON.stringify(expectedTitles);
  await page.waitForFunction(
    (wanted) => {
      const list = document.querySelector(".tasks");
      const shown = list ? [...list.querySelectorAll(".task-title")].map((node) => node.textContent) : [];
      const busy = list?.getAttribute("aria-busy") === "true";
      return !busy && JSON.stringify(shown) === wanted;
    },
    want,
  );
  return expectedTitles;
}

const sidebar = (page) => page.getByRole("navigation", { name: "Lists" });

/** The names in the sidebar, "All tasks" first, as shown. */
async function listNames(page) {
  return sidebar(page).locator(".list-name").allInnerTexts();
}

/** Waits until the sidebar shows exactly these names, in this order. */
async function waitForLists(page, expectedNames) {
  await page.waitForFunction(
    (wanted) =>
      JSON.stringify([...document.querySelectorAll(".lists .list-name")].map((node) => node.textContent)) ===
      wanted,
    JSON.stringify(expectedNames),
  );
  return expectedNames;
}

/** The headers of a request to the API with a token of the page's own session. */
async function bearer(context) {
  const { token } = await (await context.request.get(`${web}/api/auth/token`)).json();
  return { Authorization: `Bearer ${token}` };
}

/** The API's view of a task, read with a token of the page's own session. */
async function storedTask(context, userId, taskId) {
  const response = await context.request.get(`${api}/api/${userId}/tasks/${taskId}`, {
    headers: await bearer(context),
  });
  return response.json();
}

/** A task made as another client of the API would make it, with the page's session. */
async function createdElsewhere(context, userId, task) {
  const response = await context.request.post(`${api}/api/${userId}/tasks`, {
    headers: await bearer(context),
    data: task,
  });
  return response.json();
}

/** A task changed as another client of the API would change it, with the page's session. */
async function changedElsewhere(context, userId, taskId, patch) {
  const response = await context.request.patch(`${api}/api/${userId}/tasks/${taskId}`, {
    headers: { ...(await bearer(context)), "Content-Type": "application/merge-patch+json" },
    data: JSON.stringify(patch),
  });
  return response.json();
}

/**
 * Every request of the page to the API that carries If-Match (the undos, here), as
 * `METHOD path If-Match` with the path after the user's id and each task's id as its title, and
 * a batch's operations as `op title if_match`.
 */
function recordIfMatch(page, userId, ids) {
  const named = (path) => path.replace(/^tasks\/(\d+)/, (whole, id) => `tasks/${ids[id] ?? id}`);
  const recorded = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.origin !== api) return;
    const path = url.pathname.slice(`/api/${userId}/`.length);
    const ifMatch = request.headers()["if-match"];
    if (ifMatch !== undefined) recorded.push(`${request.method()} ${named(path)} ${ifMatch}`);
    if (path === "tasks/batch") {
      const { operations } = request.postDataJSON();
      if (operations.some((operation) => operation.if_match !== undefined)) {
        recorded.push(
          operations.map(({ op, task_id: id, if_match: version }) => `${op} ${ids[id]} ${version}`),
        );
      }
    }
  });
  return recorded;
}

/**
 * Records, in each page of `context`, what the app says to the API and what its event stream
 * says back, in the order the page saw it: `event <name>` for each event of the stream (read from
 * a copy of its body), `sync` and `synced` for each request to /tasks/changes and its answer,
 * `listed` for each answer to a list of tasks, `write` for each request that is not a GET. The app is not changed: only the page's fetch is
 * watched. `liveTimeline(page)` reads it.
 */
async function recordLiveTraffic(context) {
  await context.addInitScript(() => {
    const timeline = [];
    const fetchOfPage = window.fetch;
    window.liveTimeline = () => timeline;
    const readEvents = async (body) => {
      const reader = body.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += value.replace(/\r\n?/g, "\n");
        for (let end = text.indexOf("\n\n"); end !== -1; end = text.indexOf("\n\n")) {
          const name = /^event: ?(.*)$/m.exec(text.slice(0, end))?.[1];
          if (name !== undefined) timeline.push(`event ${name}`);
          text = text.slice(end + 2);
        }
      }
    };
    window.fetch = async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
      const toApi = url.origin !== location.origin && url.pathname.startsWith("/api/");
      const sync = toApi && url.pathname.endsWith("/tasks/changes");
      if (sync) timeline.push("sync");
      if (toApi && method !== "GET") timeline.push("write");
      const response = await fetchOfPage(input, init);
      if (sync) timeline.push("synced");
      if (toApi && method === "GET" && url.pathname.endsWith("/tasks")) timeline.push("listed");
      if (!toApi || !url.pathname.endsWith("/events") || response.body === null) return response;
      const [forApp, forTest] = response.body.tee();
      readEvents(forTest).catch(() => {});
      return new Response(forApp, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    };
  });
}

const liveTimeline = (page) => page.evaluate(() => window.liveTimeline());

/**
 * Waits until the page's stream has said its first event and what it asked for was answered: a
 * sync, or, in a tab without a sync token yet, which takes the event's, the list loaded again.
 * That event is `ready`; a change announced while the stream opened (the page's own first read
 * of its lists makes the user's Inbox) follows it as `changed`.
 */
async function liveAndSynced(page) {
  await page.waitForFunction(() => {
    const timeline = window.liveTimeline();
    const first = timeline.findIndex((entry) => entry === "event ready" || entry === "event changed");
    return (
      first !== -1 &&
      (timeline.indexOf("synced", first) !== -1 || timeline.indexOf("listed", first) !== -1)
    );
  });
}

// --- Scenarios ----------------------------------------------------------------------------------

const scenarios = {
  /** Two users: each sees only their own tasks; another's URL is the API's 403, as a page. */
  async isolation() {
    const alice = await newContext();
    const bob = await newContext();
    const alicePage = await alice.newPage();
    const bobPage = await bob.newPage();
    const a = await stepOf("sign-up", () => signUp(alicePage, "Alice"));
    const b = await stepOf("sign-up", () => signUp(bobPage, "Bob"));
    result.distinctUsers = a.userId !== b.userId;
    await stepOf("create", async () => {
      await addTask(alicePage, "Alice: water the plants");
      await addTask(bobPage, "Bob: file the taxes");
    });
    await stepOf("reload", async () => {
      await alicePage.reload();
      await bobPage.reload();
      result.aliceSees = await titles(alicePage);
      result.bobSees = await titles(bobPage);
    });
    await stepOf(
      "another-users-url",
      async () => {
        await alicePage.goto(`${web}/users/${encodeURIComponent(b.userId)}/tasks`);
        const problem = alicePage.locator(".problem");
        await problem.waitFor();
        result.forbidden = {
          heading: (await problem.getByRole("heading").innerText()).trim(),
          text: (await problem.innerText()).trim(),
          tasksShown: await taskList(alicePage).count(),
        };
        await problem.getByRole("link", { name: "Go to your tasks" }).click();
        await alicePage.waitForURL(`${web}/users/${encodeURIComponent(a.userId)}/tasks`);
        result.backToOwn = await titles(alicePage);
      },
      [403],
    );
    await stepOf("sign-out", async () => {
      await alicePage.getByRole("button", { name: "Sign out" }).click();
      await alicePage.waitForURL(`${web}/sign-in`);
      await alicePage.goto(`${web}/users/${encodeURIComponent(a.userId)}/tasks`);
      await alicePage.waitForURL(`${web}/sign-in`);
      result.afterSignOut = new URL(alicePage.url()).pathname;
    });
    await stepOf("sign-in", async () => {
      await signIn(alicePage, a.email);
      result.afterSignIn = await titles(alicePage);
    });
  },

  /** Create, edit, complete, reopen, filter, search, sort and delete, on a 360 px wide screen. */
  async lifecycle() {
    const context = await newContext({ viewport: { width: 360, height: 740 }, isMobile: true });
    const page = await context.newPage();
    await stepOf("sign-up", () => signUp(page, "Casey"));
    await stepOf("create", async () => {
      await addTask(page, "Buy milk", { priority: "high", tags: "Home, errand", notes: "Oat, 2 l" });
      await addTask(page, "Call the plumber", { tags: "home" });
      await addTask(page, "Book dentist", { due: "2031-05-04", time: "09:30" });
      const milk = taskItem(page, "Buy milk");
      result.created = {
        titles: await titles(page),
        milkMeta: (await milk.locator(".task-meta").innerText()).trim(),
        milkNotes: (await milk.locator(".task-description").innerText()).trim(),
        dentistDue: await taskItem(page, "Book dentist").locator("time").getAttribute("datetime"),
      };
    });
    await stepOf("layout", async () => {
      result.layout = await page.evaluate(() => ({
        width: window.innerWidth,
        scrollWidth: document.documentElement.scrollWidth,
      }));
    });
    await stepOf("keyboard-create", async () => {
      const title = newTaskForm(page).getByLabel("Title");
      await title.focus();
      await page.keyboard.type("Water the plants");
      await page.keyboard.press("Enter");
      await taskItem(page, "Water the plants").waitFor();
    });
    await stepOf("edit", async () => {
      const dialog = await openEditor(page, "Buy milk");
      result.editorFocus = await page.evaluate(() => document.activeElement?.id !== "" && document.activeElement?.tagName);
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
      result.focusAfterEscape = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
      await editTitle(page, "Buy milk", "Buy oat milk");
      result.edited = await titles(page);
    });
    await stepOf("complete", async () => {
      await page.getByRole("checkbox", { name: "Done: Buy oat milk" }).click();
      await page.locator(".task.done").filter({ hasText: "Buy oat milk" }).waitFor();
      await filterBy(page, { status: "To do" });
      result.pendingAfterComplete = await waitForTitles(page, ["Water the plants", "Book dentist", "Call the plumber"]);
      await filterBy(page, { status: "Done" });
      result.completed = await waitForTitles(page, ["Buy oat milk"]);
    });
    await stepOf("reopen", async () => {
      await page.getByRole("checkbox", { name: "Done: Buy oat milk" }).click();
      await page.locator(".empty").waitFor();
      result.completedAfterReopen = await titles(page);
      await filterBy(page, { status: "All tasks" });
    });
    await stepOf("search", async () => {
      await filterBy(page, { search: "plumb" });
      result.search = await waitForTitles(page, ["Call the plumber"]);
      await filterBy(page, { search: "" });
    });
    await stepOf("tag-filter", async () => {
      await filterBy(page, { tags: "errand" });
      result.tagged = await waitForTitles(page, ["Buy oat milk"]);
      await filterBy(page, { tags: "" });
    });
    await stepOf("sort", async () => {
      await filterBy(page, { sort: "Title A–Z" });
      result.sorted = await waitForTitles(page, [
        "Book dentist",
        "Buy oat milk",
        "Call the plumber",
        "Water the plants",
      ]);
    });
    await stepOf("delete", async () => {
      // No confirmation: the notice offers Undo instead.
      await page.getByRole("button", { name: "Delete: Call the plumber", exact: true }).click();
      await taskItem(page, "Call the plumber").waitFor({ state: "detached" });
      // The order chosen is in the page's address, so a reload keeps it.
      await page.reload();
      result.afterDelete = await waitForTitles(page, ["Book dentist", "Buy oat milk", "Water the plants"]);
      result.addressAfterReload = new URL(page.url()).search;
      result.sortShown = await page.getByRole("search", { name: "Find tasks" }).getByLabel("Sort").inputValue();
    });
  },

  /**
   * Lists in the sidebar: make one and fill it, reorder its tasks with the buttons and by
   * dragging, reorder the lists, move a task to another list, delete a list keeping its tasks.
   */
  async lists() {
    const context = await newContext();
    const page = await context.newPage();
    await stepOf("sign-up", () => signUp(page, "Lee"));
    await stepOf("inbox", async () => {
      result.initialLists = await waitForLists(page, ["All tasks", "Inbox"]);
    });
    await stepOf("new-list", async () => {
      await sidebar(page).getByRole("textbox", { name: "New list" }).fill("Groceries");
      await sidebar(page).getByRole("button", { name: "Add list" }).click();
      await sidebar(page).getByRole("button", { name: "Groceries", exact: true }).click();
      await page.waitForURL(/list_id=/);
      await listSettled(page);
      for (const title of ["Milk", "Eggs", "Bread"]) {
        await addTask(page, title);
      }
      await filterBy(page, { sort: "My order" });
      result.inList = await waitForTitles(page, ["Milk", "Eggs", "Bread"]);
    });
    await stepOf("move-button", async () => {
      await page.getByRole("button", { name: "Move up: Bread", exact: true }).click();
      result.afterButton = await waitForTitles(page, ["Milk", "Bread", "Eggs"]);
    });
    await stepOf("drag", async () => {
      await taskItem(page, "Eggs").dragTo(taskItem(page, "Milk"));
      result.afterDrag = await waitForTitles(page, ["Eggs", "Milk", "Bread"]);
      await page.reload();
      result.afterReload = await waitForTitles(page, ["Eggs", "Milk", "Bread"]);
      result.address = new URL(page.url()).searchParams.get("sort");
    });
    await stepOf("list-order", async () => {
      await sidebar(page).getByRole("button", { name: "Move list up: Groceries", exact: true }).click();
      result.listsAfterMove = await waitForLists(page, ["All tasks", "Groceries", "Inbox"]);
    });
    await stepOf("move-to-list", async () => {
      await taskItem(page, "Bread").getByLabel("List of: Bread").selectOption({ label: "Inbox" });
      result.afterMoveToInbox = await waitForTitles(page, ["Eggs", "Milk"]);
    });
    await stepOf("subtask", async () => {
      await page.getByRole("button", { name: "Make a subtask: Milk", exact: true }).click();
      await taskItem(page, "Milk").and(page.locator("[data-depth='1']")).waitFor();
      result.nested = await waitForTitles(page, ["Eggs", "Milk"]);
      await page.getByRole("button", { name: "Out of its parent: Milk", exact: true }).click();
      await taskItem(page, "Milk").and(page.locator("[data-depth='0']")).waitFor();
      result.unnested = await waitForTitles(page, ["Eggs", "Milk"]);
    });
    await stepOf("delete-list", async () => {
      await sidebar(page).getByRole("button", { name: "Delete list", exact: true }).click();
      await sidebar(page)
        .getByRole("button", { name: "Delete list, keep its tasks in the Inbox", exact: true })
        .click();
      result.listsAfterDelete = await waitForLists(page, ["All tasks", "Inbox"]);
      await sidebar(page).getByRole("button", { name: "Inbox", exact: true }).click();
      result.inboxAfterDelete = await waitForTitles(page, ["Bread", "Eggs", "Milk"]);
    });
  },

  /**
   * Several tasks at once: select some and complete them, move others to a list, delete them all
   * (each action one batch request); then a subtask made with its own form.
   */
  async bulk() {
    const context = await newContext();
    const page = await context.newPage();
    const bar = page.getByRole("toolbar", { name: "Selected tasks" });
    const select = (title) => page.getByLabel(`Select: ${title}`, { exact: true }).check();
    const batches = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().endsWith("/tasks/batch")) batches.push(request.url());
    });
    await stepOf("sign-up", () => signUp(page, "Bea"));
    await stepOf("tasks", async () => {
      await sidebar(page).getByRole("textbox", { name: "New list" }).fill("Errands");
      await sidebar(page).getByRole("button", { name: "Add list" }).click();
      await waitForLists(page, ["All tasks", "Inbox", "Errands"]);
      for (const title of ["Milk", "Eggs", "Bread", "Jam"]) {
        await addTask(page, title);
      }
      result.all = await waitForTitles(page, ["Jam", "Bread", "Eggs", "Milk"]);
    });
    await stepOf("complete", async () => {
      await select("Milk");
      await select("Eggs");
      result.selectedCount = await bar.locator(".bulk-count").innerText();
      await bar.getByRole("button", { name: "Complete", exact: true }).click();
      await page.locator(".task.done").nth(1).waitFor();
      await listSettled(page);
      result.done = await page.locator(".task.done .task-title").allInnerTexts();
      result.barAfter = await bar.count();
    });
    await stepOf("move", async () => {
      await select("Bread");
      await select("Jam");
      await bar.getByLabel("Move selected to").selectOption({ label: "Errands" });
      await page.getByRole("status").filter({ hasText: "Moved to Errands: 2 tasks." }).waitFor();
      await sidebar(page).getByRole("button", { name: "Errands", exact: true }).click();
      result.inErrands = await waitForTitles(page, ["Jam", "Bread"]);
    });
    await stepOf("subtask", async () => {
      await filterBy(page, { sort: "My order" });
      await page.getByRole("button", { name: "Add a subtask: Bread", exact: true }).click();
      const form = page.getByRole("form", { name: "New subtask of: Bread" });
      await form.getByLabel("Subtask title").fill("Rye");
      await form.getByRole("button", { name: "Add subtask" }).click();
      await taskItem(page, "Rye").and(page.locator("[data-depth='1']")).waitFor();
      result.tree = await waitForTitles(page, ["Jam", "Bread", "Rye"]);
    });
    await stepOf("delete", async () => {
      await sidebar(page).getByRole("button", { name: "All tasks", exact: true }).click();
      await listSettled(page);
      await page.getByLabel("Select all shown").check();
      result.selectedAll = await bar.locator(".bulk-count").innerText();
      result.beforeDelete = await titles(page);
      await bar.getByRole("button", { name: "Delete", exact: true }).click();
      await bar.getByRole("button", { name: "Delete 5 tasks", exact: true }).click();
      await page.locator(".empty").waitFor();
      result.afterDelete = await titles(page);
    });
    await stepOf("undo-delete", async () => {
      await page.locator(".notice").getByRole("button", { name: "Undo", exact: true }).click();
      await page.locator(".notice").filter({ hasText: "Restored" }).waitFor();
      result.afterUndo = await waitForTitles(page, result.beforeDelete);
      // Rye, deleted as a subtask of Bread, is one again.
      await sidebar(page).getByRole("button", { name: "Errands", exact: true }).click();
      result.treeAfterUndo = await waitForTitles(page, ["Jam", "Bread", "Rye"]);
      result.ryeDepth = await taskItem(page, "Rye").getAttribute("data-depth");
    });
    result.batchRequests = batches.length;
  },

  /**
   * Deletions go to the trash: one is taken back with Undo in the notice (a task, then a list
   * with its task); in the Trash view one is restored, one deleted forever and the rest emptied.
   */
  async trash() {
    const context = await newContext();
    const page = await context.newPage();
    const notice = page.locator(".notice");
    const undo = notice.getByRole("button", { name: "Undo", exact: true });
    const restoredIfMatch = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && /\/trash\/(tasks|lists)\/\d+\/restore$/.test(request.url())) {
        restoredIfMatch.push(request.headers()["if-match"]);
      }
    });
    const deleteTask = async (title) => {
      await page.getByRole("button", { name: `Delete: ${title}`, exact: true }).click();
      await notice.filter({ hasText: `Deleted “${title}”.` }).waitFor();
    };
    const trashItems = page.getByRole("list", { name: "Trash" });
    /** Waits until the trash shows exactly these names (newest first), and returns each row. */
    const waitForTrash = async (names) => {
      await page.waitForFunction(
        (wanted) => {
          const list = document.querySelector("ul[aria-label='Trash']");
          const shown = list ? [...list.querySelectorAll(".trash-name")].map((node) => node.textContent) : [];
          const settled = list ? list.getAttribute("aria-busy") === "false" : document.querySelector(".empty");
          return settled && JSON.stringify(shown) === wanted;
        },
        JSON.stringify(names),
      );
      return trashItems.getByRole("listitem").evaluateAll((rows) =>
        rows.map((row) => ({
          name: row.querySelector(".trash-name").textContent,
          meta: row.querySelector(".task-meta").textContent.replace(/\s+/g, " ").trim(),
        })),
      );
    };
    const all = ["Rye", "Jam", "Bread", "Eggs", "Milk"];
    const { userId } = await stepOf("sign-up", () => signUp(page, "Ivy"));
    const ids = {};
    await stepOf("tasks", async () => {
      for (const title of ["Milk", "Eggs", "Bread", "Jam"]) {
        await addTask(page, title);
      }
      await page.getByRole("button", { name: "Add a subtask: Bread", exact: true }).click();
      const form = page.getByRole("form", { name: "New subtask of: Bread" });
      await form.getByLabel("Subtask title").fill("Rye");
      await form.getByRole("button", { name: "Add subtask" }).click();
      result.all = await waitForTitles(page, all);
      // Eggs at version 2: its restore names that version.
      await page.getByRole("checkbox", { name: "Done: Eggs" }).click();
      await page.locator(".task.done").filter({ hasText: "Eggs" }).waitFor();
      await listSettled(page);
      for (const title of ["Milk", "Jam"]) {
        ids[title] = await taskItem(page, title).getAttribute("data-task-id");
      }
    });
    await stepOf("undo-task", async () => {
      await deleteTask("Eggs");
      await waitForTitles(page, ["Rye", "Jam", "Bread", "Milk"]);
      result.toast = (await notice.innerText()).trim();
      await undo.click();
      await notice.filter({ hasText: "Restored “Eggs”." }).waitFor();
      result.afterUndo = await waitForTitles(page, all);
      await page.reload();
      result.afterReload = await waitForTitles(page, all);
    });
    await stepOf("undo-list", async () => {
      await sidebar(page).getByRole("textbox", { name: "New list" }).fill("Trip");
      await sidebar(page).getByRole("button", { name: "Add list" }).click();
      await sidebar(page).getByRole("button", { name: "Trip", exact: true }).click();
      await page.waitForURL(/list_id=/);
      await listSettled(page);
      await addTask(page, "Passport");
      await sidebar(page).getByRole("button", { name: "Delete list", exact: true }).click();
      await sidebar(page).getByRole("button", { name: "Delete list and its tasks", exact: true }).click();
      await waitForLists(page, ["All tasks", "Inbox"]);
      await undo.click();
      await notice.filter({ hasText: "Restored the list “Trip” and its tasks." }).waitFor();
      result.listsAfterUndo = await waitForLists(page, ["All tasks", "Inbox", "Trip"]);
      result.tripAfterUndo = await waitForTitles(page, ["Passport"]);
      await sidebar(page).getByRole("button", { name: "All tasks", exact: true }).click();
      await waitForTitles(page, ["Passport", ...all]);
    });
    await stepOf("delete-three", async () => {
      await deleteTask("Bread");
      // Its subtask went with it.
      await waitForTitles(page, ["Passport", "Jam", "Eggs", "Milk"]);
      await deleteTask("Milk");
      await deleteTask("Jam");
      result.lastToast = (await notice.innerText()).trim();
      result.undoButtons = await undo.count();
      result.beforeTrash = await waitForTitles(page, ["Passport", "Eggs"]);
    });
    await stepOf("trash-view", async () => {
      await sidebar(page).getByRole("link", { name: "Trash", exact: true }).click();
      await page.waitForURL(/\/trash$/);
      result.trash = await waitForTrash(["Jam", "Milk", "Bread"]);
      await page.getByRole("button", { name: "Restore: Bread", exact: true }).click();
      await notice.filter({ hasText: "Restored “Bread”." }).waitFor();
      result.afterRestore = (await waitForTrash(["Jam", "Milk"])).map((row) => row.name);
      await page.getByRole("button", { name: "Delete forever: Milk", exact: true }).click();
      await trashItems
        .getByRole("listitem")
        .filter({ hasText: "Milk" })
        .getByRole("button", { name: "Delete forever", exact: true })
        .click();
      await notice.filter({ hasText: "Deleted “Milk” for good." }).waitFor();
      result.afterDeleteForever = (await waitForTrash(["Jam"])).map((row) => row.name);
      await page.getByRole("button", { name: "Empty trash", exact: true }).click();
      await page
        .getByRole("group", { name: "Empty the trash?" })
        .getByRole("button", { name: "Delete everything in the trash for good" })
        .click();
      result.emptied = (await page.locator(".empty").innerText()).trim();
      await page.getByRole("link", { name: "← Back to tasks" }).click();
      await page.waitForURL(/\/tasks$/);
      result.tasksAfterTrash = await waitForTitles(page, ["Passport", "Rye", "Bread", "Eggs"]);
    });
    await stepOf(
      "gone-for-good",
      async () => {
        const headers = await bearer(context);
        result.restoreGone = [];
        for (const title of ["Milk", "Jam"]) {
          const answer = await context.request.post(
            `${api}/api/${userId}/trash/tasks/${ids[title]}/restore`,
            { headers },
          );
          result.restoreGone.push(answer.status());
        }
      },
      [404],
    );
    result.restoredIfMatch = restoredIfMatch;
  },

  /**
   * Undo from the notice: a completion, an edit, moves (↑, dragged, under another task, to
   * another list), a bulk completion and a bulk move each put back as they were, as a reload
   * shows. An undo of a task changed elsewhere since is refused (412) and says so.
   */
  async undo() {
    const context = await newContext();
    const page = await context.newPage();
    const notice = page.locator(".notice");
    const undo = notice.getByRole("button", { name: "Undo", exact: true });
    const bar = page.getByRole("toolbar", { name: "Selected tasks" });
    const select = (title) => page.getByLabel(`Select: ${title}`, { exact: true }).check();
    const inOrder = ["Milk", "Eggs", "Bread"];
    /** Clicks Undo, waits for what the notice then says and for the list, and reloads. */
    const undoAndReload = async (says, titles) => {
      await undo.click();
      await notice.filter({ hasText: says }).waitFor();
      await waitForTitles(page, titles);
      await page.reload();
      return waitForTitles(page, titles);
    };
    const { userId } = await stepOf("sign-up", () => signUp(page, "Uma"));
    const ids = {};
    const stored = async (title) => {
      const { title: now, completed, list_id, parent_id, version } = await storedTask(
        context,
        userId,
        Object.keys(ids).find((id) => ids[id] === title),
      );
      return { title: now, completed, list_id, parent_id, version };
    };
    await stepOf("tasks", async () => {
      await sidebar(page).getByRole("textbox", { name: "New list" }).fill("Errands");
      await sidebar(page).getByRole("button", { name: "Add list" }).click();
      await waitForLists(page, ["All tasks", "Inbox", "Errands"]);
      await sidebar(page).getByRole("button", { name: "Inbox", exact: true }).click();
      await page.waitForURL(/list_id=/);
      await listSettled(page);
      for (const title of inOrder) {
        await addTask(page, title);
      }
      await filterBy(page, { sort: "My order" });
      result.all = await waitForTitles(page, inOrder);
      for (const title of inOrder) {
        ids[await taskItem(page, title).getAttribute("data-task-id")] = title;
      }
    });
    const undone = recordIfMatch(page, userId, ids);
    await stepOf("complete", async () => {
      await page.getByRole("checkbox", { name: "Done: Milk", exact: true }).click();
      await notice.filter({ hasText: "Completed “Milk”." }).waitFor();
      result.completeToast = (await notice.innerText()).trim();
      await undoAndReload("Undone: “Milk” is back as it was.", inOrder);
      result.doneAfterUndo = await page.locator(".task.done").count();
      result.milk = await stored("Milk");
    });
    await stepOf("edit", async () => {
      await editTitle(page, "Eggs", "Free-range eggs");
      await notice.filter({ hasText: "Saved “Free-range eggs”." }).waitFor();
      result.editUndone = await undoAndReload("Undone: “Eggs” is back as it was.", inOrder);
      result.eggs = await stored("Eggs");
    });
    await stepOf("move-up", async () => {
      await page.getByRole("button", { name: "Move up: Bread", exact: true }).click();
      await notice.filter({ hasText: "Moved “Bread”." }).waitFor();
      await waitForTitles(page, ["Milk", "Bread", "Eggs"]);
      result.moveUndone = await undoAndReload("Undone: “Bread” is back where it was.", inOrder);
    });
    await stepOf("drag", async () => {
      await taskItem(page, "Bread").dragTo(taskItem(page, "Milk"));
      await waitForTitles(page, ["Bread", "Milk", "Eggs"]);
      result.dragUndone = await undoAndReload("Undone: “Bread” is back where it was.", inOrder);
    });
    await stepOf("subtask", async () => {
      await page.getByRole("button", { name: "Make a subtask: Eggs", exact: true }).click();
      await taskItem(page, "Eggs").and(page.locator("[data-depth='1']")).waitFor();
      result.subtaskUndone = await undoAndReload("Undone: “Eggs” is back where it was.", inOrder);
      result.eggsDepth = await taskItem(page, "Eggs").getAttribute("data-depth");
    });
    await stepOf("to-list", async () => {
      await taskItem(page, "Eggs").getByLabel("List of: Eggs").selectOption({ label: "Errands" });
      await waitForTitles(page, ["Milk", "Bread"]);
      result.toListUndone = await undoAndReload("Undone: “Eggs” is back where it was.", inOrder);
    });
    await stepOf("bulk-complete", async () => {
      await select("Milk");
      await select("Eggs");
      await bar.getByRole("button", { name: "Complete", exact: true }).click();
      await notice.filter({ hasText: "Completed 2 tasks." }).waitFor();
      await page.locator(".task.done").nth(1).waitFor();
      await undo.click();
      await notice.filter({ hasText: "Undone: 2 tasks back as they were." }).waitFor();
      await page.locator(".task.done").first().waitFor({ state: "detached" });
      await page.reload();
      await waitForTitles(page, inOrder);
      result.doneAfterBulkUndo = await page.locator(".task.done").count();
    });
    await stepOf("bulk-move", async () => {
      await select("Eggs");
      await select("Bread");
      await bar.getByLabel("Move selected to").selectOption({ label: "Errands" });
      await notice.filter({ hasText: "Moved to Errands: 2 tasks." }).waitFor();
      await waitForTitles(page, ["Milk"]);
      result.bulkMoveUndone = await undoAndReload("Undone: 2 tasks back as they were.", inOrder);
      result.bread = await stored("Bread");
    });
    await stepOf(
      "changed-elsewhere",
      async () => {
        await page.getByRole("checkbox", { name: "Done: Bread", exact: true }).click();
        await notice.filter({ hasText: "Completed “Bread”." }).waitFor();
        const breadId = Object.keys(ids).find((id) => ids[id] === "Bread");
        await changedElsewhere(context, userId, breadId, { title: "Rye bread" });
        await undo.click();
        const alert = page.locator(".alert");
        await alert.waitFor();
        result.refusal = (await alert.innerText()).replace(/\s+/g, " ").trim();
        await taskItem(page, "Rye bread").waitFor();
        result.breadAfterRefusal = await stored("Bread");
      },
      [412],
    );
    result.undone = undone;
  },

  /**
   * A task's history in its editor: each version, what made it and when; an earlier one made
   * current again (and that undone from the notice); a restore of a task changed elsewhere since
   * is refused and the history shown anew. The Activity page lists every change, newest first,
   * a page at a time.
   */
  async history() {
    const context = await newContext();
    const page = await context.newPage();
    const notice = page.locator(".notice");
    const versionRows = (dialog) =>
      dialog.getByRole("list", { name: "Versions" }).locator(".version-text");
    const versionsShown = async (dialog, count) => {
      await dialog.locator(".versions[aria-busy=false] .version").nth(count - 1).waitFor();
      return (await versionRows(dialog).allInnerTexts()).map((text) => text.replace(/\s+/g, " ").trim());
    };
    const openHistory = async (title) => {
      const dialog = await openEditor(page, title);
      await dialog.getByRole("button", { name: "History", exact: true }).click();
      await dialog.getByRole("heading", { name: `History of “${title}”` }).waitFor();
      return dialog;
    };
    const restoreButton = (dialog, version) =>
      dialog
        .getByRole("listitem")
        .filter({ hasText: new RegExp(`^Version ${version} `) })
        .getByRole("button", { name: "Restore this version" });
    const { userId } = await stepOf("sign-up", () => signUp(page, "Hal"));
    let taskId;
    await stepOf("changes", async () => {
      // Older changes of other tasks: more than a page of activity in all.
      const headers = await bearer(context);
      for (let number = 1; number <= 48; number += 1) {
        await context.request.post(`${api}/api/${userId}/tasks`, {
          headers,
          data: { title: `Chore ${String(number).padStart(2, "0")}` },
        });
      }
      await page.reload();
      await listSettled(page);
      await addTask(page, "Buy milk");
      taskId = await taskItem(page, "Buy milk").getAttribute("data-task-id");
      await editTitle(page, "Buy milk", "Buy oat milk");
      const dialog = await openEditor(page, "Buy oat milk");
      await dialog.getByLabel("Priority").selectOption("high");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await notice.filter({ hasText: "Saved “Buy oat milk”." }).waitFor();
      await page.getByRole("checkbox", { name: "Done: Buy oat milk", exact: true }).click();
      await notice.filter({ hasText: "Completed “Buy oat milk”." }).waitFor();
    });
    await stepOf("history", async () => {
      const dialog = await openHistory("Buy oat milk");
      result.versions = await versionsShown(dialog, 4);
      result.current = await dialog.getByRole("listitem").first().locator(".version-current").innerText();
      result.restoreButtons = await dialog.getByRole("button", { name: "Restore this version" }).count();
      await dialog.getByRole("button", { name: "Back to editing" }).click();
      result.backToForm = await dialog.getByLabel("Title").inputValue();
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "detached" });
    });
    await stepOf("restore", async () => {
      const dialog = await openHistory("Buy oat milk");
      await versionsShown(dialog, 4);
      await restoreButton(dialog, 1).click();
      await dialog.waitFor({ state: "detached" });
      await notice.filter({ hasText: "Restored version 1 of “Buy milk”." }).waitFor();
      await page.reload();
      await taskItem(page, "Buy milk").waitFor();
      await listSettled(page);
      result.restored = await storedTask(context, userId, taskId);
      result.restoredRow = {
        done: await page.getByRole("checkbox", { name: "Done: Buy milk", exact: true }).isChecked(),
        meta: (await taskItem(page, "Buy milk").locator(".task-meta").innerText()).trim(),
      };
    });
    await stepOf("undo-restore", async () => {
      const dialog = await openHistory("Buy milk");
      await versionsShown(dialog, 5);
      await restoreButton(dialog, 2).click();
      await notice.filter({ hasText: "Restored version 2 of “Buy oat milk”." }).waitFor();
      await notice.getByRole("button", { name: "Undo", exact: true }).click();
      await notice.filter({ hasText: "Undone: “Buy milk” is back as it was." }).waitFor();
      await taskItem(page, "Buy milk").waitFor();
      result.afterUndo = await storedTask(context, userId, taskId);
    });
    await stepOf(
      "changed-elsewhere",
      async () => {
        const dialog = await openHistory("Buy milk");
        await versionsShown(dialog, 7);
        await changedElsewhere(context, userId, taskId, { title: "Buy bread" });
        await restoreButton(dialog, 2).click();
        const refusal = dialog.getByRole("alert");
        await refusal.waitFor();
        result.refusal = (await refusal.innerText()).trim();
        result.versionsAfterRefusal = await versionsShown(dialog, 8);
        await dialog.getByRole("button", { name: "Back to editing" }).click();
        await dialog.getByRole("button", { name: "Cancel" }).click();
        await dialog.waitFor({ state: "detached" });
        result.afterRefusal = (await storedTask(context, userId, taskId)).title;
      },
      [412],
    );
    await stepOf("activity", async () => {
      await sidebar(page).getByRole("link", { name: "Activity", exact: true }).click();
      await page.waitForURL(/\/activity$/);
      const lines = page.getByRole("list", { name: "Activity" }).locator(".change");
      const shown = async () =>
        (await lines.allInnerTexts()).map((text) => text.replace(/\s+/g, " ").trim());
      await page.locator("ol[aria-label='Activity'][aria-busy=false]").waitFor();
      result.firstPage = await shown();
      await page.getByRole("button", { name: "Load more", exact: true }).click();
      await lines.nth(result.firstPage.length).waitFor();
      await page.locator("ol[aria-label='Activity'][aria-busy=false]").waitFor();
      result.activity = await shown();
      result.loadMoreLeft = await page.getByRole("button", { name: "Load more", exact: true }).count();
      await page.getByRole("link", { name: "← Back to tasks" }).click();
      await page.waitForURL(/\/tasks$/);
      await taskItem(page, "Buy bread").waitFor();
    });
  },

  /**
   * Due dates on a day (all day) or at a time, shown in the user's time zone, chosen in the
   * sidebar, not the device's (Berlin here): a time with no zone of its own stays 9:00 when the
   * user's zone changes, and the instant it stands for moves.
   */
  async dueDates() {
    const context = await newContext({ timezoneId: "Europe/Berlin", locale: "en-US" });
    const page = await context.newPage();
    const zone = page.getByLabel("Time zone", { exact: true });
    const useDeviceZone = page.getByRole("button", { name: /^Use this device's zone/ });
    const noticeSays = (text) => page.getByRole("status").filter({ hasText: text }).waitFor();
    const dueShown = async (title) => {
      const due = taskItem(page, title).locator(".due");
      return {
        // Intl puts a narrow no-break space before AM and PM (in recent ICU releases).
        text: (await due.innerText()).replace(/\s+/g, " ").trim(),
        overdue: (await due.getAttribute("class")).split(" ").includes("overdue"),
        dateTime: await due.locator("time").getAttribute("datetime"),
      };
    };
    const { userId } = await stepOf("sign-up", () => signUp(page, "Ines"));
    const stored = async (title) => {
      const taskId = await taskItem(page, title).getAttribute("data-task-id");
      const { due, due_at, recurrence, version } = await storedTask(context, userId, taskId);
      return { due, due_at, recurrence, version };
    };
    await stepOf("time-zone", async () => {
      result.initialZone = await zone.inputValue();
      await zone.selectOption("Pacific/Kiritimati");
      await noticeSays("Time zone: Pacific/Kiritimati.");
      result.chosenZone = await zone.inputValue();
      result.deviceZoneOffered = (await useDeviceZone.innerText()).trim();
    });
    // Two days before today in UTC: a day that has ended in every zone, Kiritimati's (UTC+14) too.
    result.rentDay = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
    await stepOf("all-day", async () => {
      await addTask(page, "Pay rent", { due: result.rentDay });
      result.rent = await dueShown("Pay rent");
      result.rentStored = await stored("Pay rent");
    });
    await stepOf("timed", async () => {
      await addTask(page, "Call", { due: "2030-06-01", time: "09:00" });
      result.call = await dueShown("Call");
      result.callStored = await stored("Call");
    });
    await stepOf("day-filter", async () => {
      // Kiritimati's 1 June 2030 holds the call (19:00 UTC on 31 May); this device's (Berlin's)
      // would not.
      await page.getByText("More filters").click();
      await page.getByLabel("Due from").fill("2030-06-01");
      await page.getByLabel("Due until").fill("2030-06-01");
      result.onTheDay = await waitForTitles(page, ["Call"]);
      await page.getByLabel("Due from").fill("");
      await page.getByLabel("Due until").fill("");
      await page.getByText("More filters").click();
      await waitForTitles(page, ["Call", "Pay rent"]);
    });
    await stepOf("device-zone", async () => {
      await useDeviceZone.click();
      await noticeSays("Time zone: Europe/Berlin.");
      await listSettled(page);
      result.zoneAfterSwitch = await zone.inputValue();
      result.deviceZoneOfferedAfterSwitch = await useDeviceZone.count();
      result.callAfterSwitch = await dueShown("Call");
      result.callStoredAfterSwitch = await stored("Call");
      result.rentAfterSwitch = await dueShown("Pay rent");
    });
    await stepOf("own-zone", async () => {
      // A time in a zone of its own, as another client may set it (the form sets none).
      await createdElsewhere(context, userId, {
        title: "Flight",
        due: { date: "2030-06-01", time: "09:00", time_zone: "America/New_York" },
      });
      await taskItem(page, "Flight").waitFor();
      await listSettled(page);
      result.flight = await dueShown("Flight");
      const dialog = await openEditor(page, "Flight");
      result.flightForm = {
        date: await dialog.getByLabel("Due").inputValue(),
        time: await dialog.getByLabel("Time (America/New_York)", { exact: true }).inputValue(),
      };
      await dialog.getByLabel("Title").fill("Flight home");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await taskItem(page, "Flight home").waitFor();
      result.flightStored = await stored("Flight home");
    });
    await stepOf("clear", async () => {
      const dialog = await openEditor(page, "Pay rent");
      await dialog.getByLabel("Due").fill("");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await taskItem(page, "Pay rent").locator(".due").waitFor({ state: "detached" });
      result.rentCleared = await stored("Pay rent");
    });
    await stepOf("repeat", async () => {
      // Monday 3 June 2030, every week: done, it is due the Monday after, and still open.
      await addTask(page, "Stand-up", { due: "2030-06-03", time: "09:30", repeat: "Every week" });
      result.repeatShown = await taskItem(page, "Stand-up").locator(".repeat").innerText();
      await page.getByRole("checkbox", { name: "Done: Stand-up", exact: true }).click();
      await taskItem(page, "Stand-up").locator("time[datetime='2030-06-10T07:30:00Z']").waitFor();
      result.repeatDone = await stored("Stand-up");
      result.repeatChecked = await page
        .getByRole("checkbox", { name: "Done: Stand-up", exact: true })
        .isChecked();
    });
  },

  /**
   * Reminders: set and removed in the editor, their fire times shown in the user's zone (Tokyo,
   * UTC+9 all year), not the device's (Berlin); the next one on the task's row. One that fires
   * while the page is open shows in the page and, once the user allowed it with the button (never
   * asked on load), on the desktop; after a reload it does not show again. The browser's
   * notifications are recorded (a headless browser shows none), each poll's window too.
   */
  async reminders() {
    const context = await newContext({ timezoneId: "Europe/Berlin", locale: "en-US" });
    await context.addInitScript(() => {
      const shown = [];
      let permission = "default";
      let asked = 0;
      window.Notification = class {
        constructor(title, options = {}) {
          shown.push({ title, body: options.body ?? null });
        }
        static get permission() {
          return permission;
        }
        static async requestPermission() {
          asked += 1;
          permission = "granted";
          return permission;
        }
      };
      window.recordedNotifications = () => ({ shown, asked });
    });
    const page = await context.newPage();
    const polls = [];
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.origin === api && url.pathname.endsWith("/reminders")) {
        polls.push(Object.fromEntries(url.searchParams));
      }
    });
    const recorded = () => page.evaluate(() => window.recordedNotifications());
    const text = async (locator) => (await locator.innerText()).replace(/\s+/g, " ").trim();
    const reminderRows = async (dialog) =>
      dialog.locator(".reminders li").evaluateAll((rows) =>
        rows.map((row) => ({
          text: row.querySelector(".reminder-text").textContent.replace(/\s+/g, " ").trim(),
          firesAt: row.querySelector("time")?.getAttribute("datetime") ?? null,
        })),
      );
    const fired = page.getByRole("region", { name: "Reminders" }).getByRole("alert");
    const { userId } = await stepOf("sign-up", () => signUp(page, "Rita"));
    const stored = async (title) => {
      const taskId = await taskItem(page, title).getAttribute("data-task-id");
      return (await storedTask(context, userId, taskId)).reminders;
    };
    /**
     * A task made elsewhere with a reminder 2 s from now: after every window the page has asked
     * for, and in the one the page's event stream announces once the service's clock passed it.
     */
    const firing = async (title, due) => {
      const at = new Date(Date.now() + 2000).toISOString();
      const task = await createdElsewhere(context, userId, { title, due, reminders: [{ at }] });
      await fired.filter({ hasText: title }).waitFor();
      return task;
    };
    await stepOf("time-zone", async () => {
      await page.getByLabel("Time zone", { exact: true }).selectOption("Asia/Tokyo");
      await page.getByRole("status").filter({ hasText: "Time zone: Asia/Tokyo." }).waitFor();
      result.askedOnLoad = (await recorded()).asked;
    });
    await stepOf("set", async () => {
      await addTask(page, "Dentist", { due: "2030-06-01", time: "09:00" });
      const dialog = await openEditor(page, "Dentist");
      result.noneYet = await text(dialog.locator(".reminders .none"));
      result.timedChoices = await dialog.getByLabel("Remind me").locator("option").allInnerTexts();
      await dialog.getByLabel("Remind me").selectOption({ label: "15 minutes before" });
      await dialog.getByRole("button", { name: "Add reminder" }).click();
      await dialog.getByLabel("Remind me").selectOption({ label: "1 hour before" });
      await dialog.getByRole("button", { name: "Add reminder" }).click();
      await dialog.getByLabel("Remind me").selectOption({ label: "At a date and time…" });
      await dialog.getByLabel("Date and time").fill("2030-05-31T20:00");
      await dialog.getByRole("button", { name: "Add reminder" }).click();
      await dialog.locator(".reminders li").nth(2).waitFor();
      await dialog.getByRole("button", { name: "Remove reminder: 1 hour before" }).click();
      await dialog.locator(".reminders li").nth(2).waitFor({ state: "detached" });
      result.inEditor = await reminderRows(dialog);
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      const bell = taskItem(page, "Dentist").locator(".reminder");
      await bell.waitFor();
      result.dentistBell = {
        title: await bell.getAttribute("title"),
        time: await text(bell.locator("time")),
        dateTime: await bell.locator("time").getAttribute("datetime"),
      };
      result.dentistStored = await stored("Dentist");
      const again = await openEditor(page, "Dentist");
      result.inEditorAfterSave = await reminderRows(again);
      await again.getByRole("button", { name: "Cancel" }).click();
      await again.waitFor({ state: "detached" });
    });
    await stepOf("all-day", async () => {
      await addTask(page, "Pay rent", { due: "2030-06-03" });
      let dialog = await openEditor(page, "Pay rent");
      result.allDayChoices = await dialog.getByLabel("Remind me").locator("option").allInnerTexts();
      await dialog.getByLabel("Remind me").selectOption({ label: "On the day at 09:00" });
      await dialog.getByRole("button", { name: "Add reminder" }).click();
      await dialog.locator(".reminders li").waitFor();
      result.allDayInEditor = await reminderRows(dialog);
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await taskItem(page, "Pay rent").locator(".reminder").waitFor();
      result.rentStored = await stored("Pay rent");
      dialog = await openEditor(page, "Pay rent");
      await dialog.getByRole("button", { name: "Remove reminder: On the day at 09:00" }).click();
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      await taskItem(page, "Pay rent").locator(".reminder").waitFor({ state: "detached" });
      result.rentCleared = await stored("Pay rent");
    });
    await stepOf("allow-desktop", async () => {
      const button = page.getByRole("button", { name: "Enable desktop notifications" });
      await button.click();
      await button.waitFor({ state: "detached" });
      result.askedOnClick = (await recorded()).asked;
    });
    await stepOf("fire", async () => {
      // Due a day from now, to the minute: a floating time, written as Tokyo's clocks show it.
      const dueAt = new Date(Math.ceil((Date.now() + 86_400_000) / 60_000) * 60_000);
      const tokyo = new Date(dueAt.getTime() + 9 * 3_600_000).toISOString();
      const due = { date: tokyo.slice(0, 10), time: tokyo.slice(11, 16) };
      const pills = await firing("Take the pills", due);
      const shown = fired.filter({ hasText: "Take the pills" });
      result.pills = {
        dueAt: pills.due_at,
        text: await text(shown),
        dueShown: await shown.locator("time").getAttribute("datetime"),
        expectedDue: await page.evaluate((instant) => {
          const options = { dateStyle: "medium", timeStyle: "short", timeZone: "Asia/Tokyo" };
          const text = new Intl.DateTimeFormat(undefined, options).format(new Date(instant));
          return text.replace(/\s+/g, " ");
        }, pills.due_at),
      };
      result.desktop = (await recorded()).shown.map(({ title, body }) => ({
        title,
        body: body.replace(/\s+/g, " "),
      }));
      const pillsBell = taskItem(page, "Take the pills").locator(".reminder");
      result.pillsBell = await pillsBell.getAttribute("title");
      await page.getByRole("button", { name: "Dismiss reminder: Take the pills" }).click();
      await shown.waitFor({ state: "detached" });
    });
    await stepOf("reload", async () => {
      await page.reload();
      await listSettled(page);
      // Once a reminder made after the reload shows, the poll the reload made has been answered:
      // one it repeated would show too.
      await firing("Stretch", null);
      result.afterReload = await fired.locator(".fired-title").allInnerTexts();
    });
    result.polls = polls;
  },

  /** A user with more tasks than a page: scrolling down loads the rest. SESSION_COOKIE signs in. */
  async paging() {
    const context = await newContext();
    await context.addCookies([
      { name: "better-auth.session_token", value: env("SESSION_COOKIE"), url: web },
    ]);
    const page = await context.newPage();
    await stepOf("first-page", async () => {
      await page.goto(`${web}/tasks`);
      await page.waitForURL(/\/users\/[^/]+\/tasks$/);
      await listSettled(page);
      result.firstPage = await taskList(page).getByRole("listitem").count();
    });
    await stepOf("scroll", async () => {
      await page.locator(".more").scrollIntoViewIfNeeded();
      await page.waitForFunction(
        (count) => document.querySelectorAll(".tasks .task").length === count,
        Number(env("TASK_COUNT")),
      );
      await listSettled(page);
      result.afterScroll = await titles(page);
      result.moreButton = await page.getByRole("button", { name: "Show more tasks" }).count();
    });
  },

  /** Two tabs of one user: an edit in one shows in the other; a conflicting edit is resolved. */
  async tabs() {
    const context = await newContext();
    const first = await context.newPage();
    const { userId } = await stepOf("sign-up", () => signUp(first, "Dana"));
    const second = await context.newPage();
    await stepOf("open-second-tab", async () => {
      await second.goto(first.url());
      await listSettled(second);
    });
    await stepOf("create-in-first", async () => {
      await first.bringToFront();
      await addTask(first, "Plan the trip");
      await taskItem(second, "Plan the trip").waitFor();
      result.secondSeesNew = await titles(second);
    });
    await stepOf("edit-in-first", async () => {
      await first.bringToFront();
      await editTitle(first, "Plan the trip", "Plan the summer trip");
      await taskItem(second, "Plan the summer trip").waitFor();
      result.secondSeesEdit = await titles(second);
    });
    const taskId = await taskItem(first, "Plan the summer trip").getAttribute("data-task-id");
    await stepOf(
      "conflict",
      async () => {
        const editor = await openEditor(second, "Plan the summer trip");
        await editor.getByLabel("Title").fill("Plan the trip to Lisbon");
        await first.bringToFront();
        const other = await openEditor(first, "Plan the summer trip");
        await other.getByLabel("Priority").selectOption("urgent");
        await other.getByRole("button", { name: "Save" }).click();
        await other.waitFor({ state: "detached" });
        await second.bringToFront();
        await editor.getByRole("button", { name: "Save" }).click();
        const conflict = editor.locator(".conflict");
        await conflict.waitFor();
        result.conflict = {
          heading: (await conflict.getByRole("heading").innerText()).trim(),
          rows: await conflict.locator("tbody tr").evaluateAll((rows) =>
            rows.map((row) => [...row.children].map((cell) => cell.textContent.trim())),
          ),
        };
        await editor.getByRole("button", { name: "Save my changes over it" }).click();
        await editor.waitFor({ state: "detached" });
        await taskItem(second, "Plan the trip to Lisbon").waitFor();
      },
      [412],
    );
    await stepOf("after-conflict", async () => {
      result.stored = await storedTask(context, userId, taskId);
      await taskItem(first, "Plan the trip to Lisbon").waitFor();
      result.firstAfterConflict = await titles(first);
    });
  },

  /**
   * Live updates: a task made in one tab of a user shows in the user's other tab within seconds
   * while that tab does nothing (no reload, no focus, no poll: it syncs only when its event stream
   * says so), and another user's tab hears nothing of it.
   */
  async live() {
    const alice = await newContext();
    const bob = await newContext();
    await recordLiveTraffic(alice);
    await recordLiveTraffic(bob);
    const first = await alice.newPage();
    await stepOf("sign-up", () => signUp(first, "Ivy"));
    const second = await alice.newPage();
    const bobPage = await bob.newPage();
    let secondNavigations = 0;
    await stepOf("open", async () => {
      await second.goto(first.url());
      await listSettled(second);
      second.on("framenavigated", (frame) => {
        if (frame === second.mainFrame()) secondNavigations += 1;
      });
      await signUp(bobPage, "Jon");
      // The first read of Bob's lists made his Inbox, a change his stream may announce: it is
      // made, and a stream opened after it hears only what comes next.
      await waitForLists(bobPage, ["All tasks", "Inbox"]);
      await bobPage.reload();
      // Each tab's stream is open and the sync its `ready` asked for answered: a change from
      // now on reaches each tab as an event.
      await Promise.all([first, second, bobPage].map(liveAndSynced));
    });
    const title = "Live: water the plants";
    await stepOf("create-in-first", async () => {
      await first.bringToFront();
      await addTask(first, title);
      await taskItem(second, title).waitFor({ timeout: 5_000 });
      result.secondSees = await titles(second);
      result.secondNavigations = secondNavigations;
      result.secondTimeline = await liveTimeline(second);
    });
    await stepOf("other-user", async () => {
      await bobPage.bringToFront();
      await addTask(bobPage, "Jon: file the taxes");
      // Events on a stream come in order: Bob's own change, after anything Alice's could be.
      await bobPage.waitForFunction(() => window.liveTimeline().includes("event changed"));
      result.bobSees = await titles(bobPage);
      result.bobTimeline = await liveTimeline(bobPage);
    });
  },

  /**
   * Tokens live TOKEN_LIFETIME_SECONDS. One tab acts after its first token expired; another tab's
   * clock stands still meanwhile (a suspended laptop), so it sends an expired token and gets 401.
   */
  async tokens() {
    const lifetimeMs = Number(env("TOKEN_LIFETIME_SECONDS")) * 1000;
    const watch = (context) => {
      const seen = { tokens: 0, unauthorized: 0, created: 0 };
      context.on("response", (response) => {
        const url = new URL(response.url());
        if (url.pathname === "/api/auth/token" && response.status() === 200) seen.tokens += 1;
        if (url.origin === api && response.status() === 401) seen.unauthorized += 1;
        if (url.origin === api && response.status() === 201) seen.created += 1;
      });
      return seen;
    };
    const steady = await newContext();
    const suspended = await newContext();
    await suspended.clock.install();
    const steadySeen = watch(steady);
    const suspendedSeen = watch(suspended);
    const steadyPage = await steady.newPage();
    const suspendedPage = await suspended.newPage();
    // The suspended page's time when its latest token arrived, read as the answer comes.
    let tokenArrived = Promise.resolve(0);
    suspended.on("response", (response) => {
      if (new URL(response.url()).pathname === "/api/auth/token" && response.status() === 200) {
        tokenArrived = suspendedPage.evaluate(() => Date.now());
      }
    });
    await stepOf("sign-up", async () => {
      await signUp(steadyPage, "Eve");
      await signUp(suspendedPage, "Finn");
      await addTask(steadyPage, "Before the token expired");
      await addTask(suspendedPage, "Before the token expired");
    });
    const issued = Date.now();
    await stepOf("token-expires", async () => {
      // The laptop's lid closes: the page's clock stops, at the moment its token arrived (so
      // however long the steps above took, the page holds its token for fresh). pauseAt only
      // moves forward, to a moment from the page's now; setSystemTime then sets it back.
      await suspendedPage.clock.pauseAt((await suspendedPage.evaluate(() => Date.now())) + 500);
      await suspendedPage.clock.setSystemTime(await tokenArrived);
      // The first tokens were issued before `issued`; wait until they have certainly expired.
      await steadyPage.waitForFunction((until) => Date.now() > until, issued + lifetimeMs + 1000, {
        timeout: lifetimeMs + 10_000,
        polling: 250,
      });
      await suspendedPage.clock.resume();
    });
    await stepOf("act-after-expiry", async () => {
      await addTask(steadyPage, "After the token expired");
      result.steady = { ...steadySeen, titles: await titles(steadyPage), alerts: await steadyPage.locator(".alert").count() };
    });
    await stepOf(
      "act-with-an-expired-token",
      async () => {
        await addTask(suspendedPage, "After the token expired");
        result.suspended = {
          ...suspendedSeen,
          titles: await titles(suspendedPage),
          alerts: await suspendedPage.locator(".alert").count(),
        };
      },
      [401],
    );
  },

  /** The app against the mock server (`make web-mock`): the contract's examples, shown. */
  async mock() {
    const context = await newContext();
    await recordLiveTraffic(context);
    const page = await context.newPage();
    await stepOf("sign-up", () => signUp(page, "Hana"));
    await stepOf("live-status", async () => {
      // The mock's stream is the contract's example, then its end: the header says so, and the
      // `ready` of the next stream asks what changed (which ends as soon, so the header says
      // "Offline" again at once).
      const status = page.locator("header .live-status");
      await status.filter({ hasText: "Offline" }).waitFor();
      result.offline = (await status.innerText()).trim();
      result.offlineRole = await status.getAttribute("role");
      await page.waitForFunction(() => {
        const timeline = window.liveTimeline();
        const again = timeline.indexOf("event ready", timeline.indexOf("event ready") + 1);
        return again !== -1 && timeline.indexOf("synced", again) !== -1;
      });
      result.reconnected = true;
    });
    await stepOf("list", async () => {
      result.listed = await titles(page);
    });
    await stepOf("edit", async () => {
      const [first] = result.listed;
      const dialog = await openEditor(page, first);
      await dialog.getByLabel("Notes").fill("Changed against the mock");
      await dialog.getByRole("button", { name: "Save" }).click();
      await dialog.waitFor({ state: "detached" });
      result.notice = (await page.locator(".notice").innerText()).trim();
    });
    await stepOf("not-found", async () => {
      result.alerts = await page.locator(".alert").count();
    });
  },

  /** Better Auth's database refuses connections: clear messages, not a blank page; then back. */
  async authDown() {
    const { default: pg } = await import(createRequire(join(env("WEB_DIR"), "package.json")).resolve("pg"));
    const admin = new pg.Client({ connectionString: env("ADMIN_DATABASE_URL") });
    await admin.connect();
    const authDatabase = env("AUTH_DATABASE");
    const allowConnections = (allowed) =>
      admin.query(`ALTER DATABASE "${authDatabase}" ALLOW_CONNECTIONS ${allowed}`);
    const context = await newContext();
    const page = await context.newPage();
    try {
      const { email } = await stepOf("sign-up", () => signUp(page, "Gail"));
      await stepOf("create", () => addTask(page, "Still here"));
      await stepOf(
        "auth-down",
        async () => {
          await allowConnections(false);
          await admin.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            [authDatabase],
          );
          await page.reload();
          const problem = page.locator(".problem");
          await problem.waitFor();
          result.listPage = (await problem.innerText()).trim();
          await page.goto(`${web}/sign-in`);
          await page.getByLabel("Email").fill(email);
          await page.getByLabel("Password").fill(PASSWORD);
          await page.getByRole("button", { name: "Sign in" }).click();
          const refusal = page.locator("form .error");
          await refusal.waitFor();
          result.signInPage = (await refusal.innerText()).trim();
        },
        [500],
      );
      await stepOf("auth-back", async () => {
        await allowConnections(true);
        await page.goto(`${web}/tasks`);
        await page.waitForURL(/\/users\/[^/]+\/tasks$/);
        result.afterRecovery = await titles(page);
      });
    } finally {
      await allowConnections(true);
      await admin.end();
    }
  },
};

try {
  const run = scenarios[scenario];
  if (run === undefined) throw new Error(`no scenario ${scenario}`);
  await run();
} catch (error) {
  problems.push(`${step}: ${error.message.split("\n")[0]}`);
  mkdirSync(screenshotDir, { recursive: true });
  for (const [index, page] of pages.entries()) {
    if (!page.isClosed()) {
      await page.screenshot({ path: join(screenshotDir, `web-${scenario}-${step}-${index}.png`), fullPage: true });
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
