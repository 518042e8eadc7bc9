/**
 * The event stream's reader on its own: the wire format (EventStreamParser), and subscribe()'s
 * reconnects, resumes and refusals against a small node:http server each test starts and stops.
 * No service is needed: `node --test build/test/events.test.js` after `npm run build`.
 */
import assert from "node:assert/strict";
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { describe, test, type TestContext } from "node:test";

import {
  EventStreamParser,
  subscribe,
  type EventStreamMessage,
  type StreamEvent,
  type StreamState,
  type SubscribeOptions,
} from "../src/events.js";
import type { ApiError } from "../src/index.js";

function parse(chunks: string[]): { messages: EventStreamMessage[]; retries: number[] } {
  const messages: EventStreamMessage[] = [];
  const retries: number[] = [];
  const parser = new EventStreamParser({
    onMessage: (message) => messages.push(message),
    onRetry: (milliseconds) => retries.push(milliseconds),
  });
  for (const chunk of chunks) parser.push(chunk);
  return { messages, retries };
}

/** `text` cut into pieces of `size` characters. */
function cut(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

describe("the event stream's wire format", () => {
  test("fields, comments, multi-line data and ids, as the standard reads them", () => {
    const stream = [
      ": a comment, then the reconnection time",
      "retry: 3000",
      "",
      "event: ready",
      "id: t1",
      'data: {"sync_token":"t1"}',
      "",
      // No event name: `message`. The id persists. One leading space is taken, not two.
      "data: first",
      "data:second",
      "data:  third",
      "",
      // No data: nothing is dispatched, and the name does not carry over.
      "event: changed",
      "",
      // A field without a colon has an empty value: one empty line of data.
      "data",
      "",
      // An id with NULL is ignored; unknown fields and a retry that is no number too.
      "id: t\u00002",
      "retry: soon",
      "colour: blue",
      "data: kept the id",
      "",
      // An empty id clears it.
      "id",
      "data: no id",
      "",
      // Never ended by an empty line: never dispatched.
      "event: tail",
      "data: lost",
    ].join("\n");

    const { messages, retries } = parse([stream]);

    assert.deepEqual(retries, [3000]);
    assert.deepEqual(messages, [
      { event: "ready", data: '{"sync_token":"t1"}', lastEventId: "t1" },
      { event: "message", data: "first\nsecond\n third", lastEventId: "t1" },
      { event: "message", data: "", lastEventId: "t1" },
      { event: "message", data: "kept the id", lastEventId: "t1" },
      { event: "message", data: "no id", lastEventId: "" },
    ]);
  });

  test("lines end with CRLF, LF or CR, and a chunk may end anywhere, between CR and LF too", () => {
    const stream =
      "event: a\r\ndata: 1\r\r" + "data: 2\n\n" + "event: b\rdata: 3\r\n\r\n" + ": x\r\nid: 9\rdata: 4\n\r";
    const expected = [
      { event: "a", data: "1", lastEventId: "" },
      { event: "message", data: "2", lastEventId: "" },
      { event: "b", data: "3", lastEventId: "" },
      { event: "message", data: "4", lastEventId: "9" },
    ];

    assert.deepEqual(parse([stream]).messages, expected);
    for (let at = 0; at <= stream.length; at += 1) {
      const halves = [stream.slice(0, at), stream.slice(at)];
      assert.deepEqual(parse(halves).messages, expected, `cut at ${at}: ${JSON.stringify(halves)}`);
    }
    for (const size of [1, 2, 3, 5]) {
      assert.deepEqual(parse(cut(stream, size)).messages, expected, `pieces of ${size}`);
    }
    // A CR at the end of one chunk and an LF at the start of the next are one line end.
    assert.deepEqual(parse(["data: x\r", "", "\n", "\n"]).messages, [
      { event: "message", data: "x", lastEventId: "" },
    ]);
  });
});

// --- subscribe() against a server of the test's own ----------------------------------------------

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface Received {
  headers: IncomingHttpHeaders;
  url: string;
  at: number;
  /** When the server finished its answer (undefined while it is open). */
  finishedAt: number | undefined;
  /** Resolves when the connection closes, whichever side closed it. */
  closed: Promise<void>;
}

/** A server that answers its n-th request with `handlers[n]`, and holds any later one open. */
async function serve(t: TestContext, handlers: Handler[]): Promise<{ baseUrl: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const seen: Received = {
      headers: request.headers,
      url: request.url ?? "",
      at: performance.now(),
      finishedAt: undefined,
      closed: new Promise((resolve) => response.on("close", () => resolve())),
    };
    response.on("finish", () => {
      seen.finishedAt = performance.now();
    });
    received.push(seen);
    (handlers[received.length - 1] ?? stream())(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

function frame(event: string, data: object, id?: string): string {
  return `event: ${event}\n${id === undefined ? "" : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;
}

const sync = (event: "ready" | "changed", token: string) => frame(event, { sync_token: token }, token);

function openStream(response: ServerResponse): void {
  response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-store" });
  response.flushHeaders();
}

/** A stream that sends `frames` and stays open. */
function stream(...frames: string[]): Handler {
  return (_, response) => {
    openStream(response);
    for (const text of frames) response.write(text);
  };
}

/** A stream that sends `frames` and ends. */
function streamThatEnds(...frames: string[]): Handler {
  return (_, response) => {
    openStream(response);
    response.end(frames.join(""));
  };
}

function refusal(status: number, error: string, headers: Record<string, string> = {}): Handler {
  return (_, response) => {
    response.writeHead(status, { "Content-Type": "application/json", ...headers });
    response.end(JSON.stringify({ error, message: `${error} (a test's)`, details: null }));
  };
}

/** Resolves once `condition` holds; fails the test after `timeoutMs`. */
async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A subscription of the test, with everything it told recorded; closed when the test ends. */
function watch(t: TestContext, options: Partial<SubscribeOptions> & { baseUrl: string }) {
  const seen = {
    events: [] as StreamEvent[],
    states: [] as StreamState[],
    errors: [] as ApiError[],
    freshTokens: [] as boolean[],
  };
  const subscription = subscribe({
    userId: "user 1",
    getToken: ({ fresh }) => {
      seen.freshTokens.push(fresh);
      return `token-${seen.freshTokens.length}`;
    },
    onEvent: (event) => seen.events.push(event),
    onState: (state) => seen.states.push(state),
    onError: (error) => seen.errors.push(error),
    minBackoffMs: 10,
    ...options,
  });
  t.after(() => subscription.close());
  return { subscription, ...seen };
}

const gap = (earlier: Received | undefined, later: Received | undefined): number =>
  (later?.at ?? NaN) - (earlier?.finishedAt ?? NaN);

describe("subscribe()", () => {
  test("sends the token, reads typed events, and resumes from the last id after the stream ends", async (t) => {
    const { baseUrl, received } = await serve(t, [
      streamThatEnds("retry: 60\n\n", sync("ready", "a1"), ": keep-alive\n\n", sync("changed", "a2")),
      stream(sync("changed", "a3")),
    ]);

    const watched = watch(t, { baseUrl, lastEventId: "a0" });
    await waitFor(() => watched.events.length === 3, "three events");

    const [first, second] = received;
    assert.equal(first?.url, "/api/user%201/events");
    assert.equal(first?.headers.authorization, "Bearer token-1");
    assert.equal(first?.headers.accept, "text/event-stream");
    assert.equal(first?.headers["last-event-id"], "a0");
    assert.equal(second?.headers["last-event-id"], "a2");
    assert.equal(second?.headers.authorization, "Bearer token-2");
    // The server's retry (60 ms) is the base delay, less at most half of it for the jitter.
    assert.ok(gap(first, second) >= 25, `reconnected after ${gap(first, second)} ms`);
    assert.deepEqual(watched.events, [
      { event: "ready", id: "a1", data: { sync_token: "a1" } },
      { event: "changed", id: "a2", data: { sync_token: "a2" } },
      { event: "changed", id: "a3", data: { sync_token: "a3" } },
    ]);
    assert.deepEqual(watched.states, ["open", "offline", "open"]);
    assert.deepEqual(watched.freshTokens, [false, false]);
    assert.equal(watched.subscription.lastEventId, "a3");
  });

  test("the bytes of a stream may be cut anywhere, inside a character too", async (t) => {
    const text =
      "\uFEFFretry: 10\r\n\r\n" +
      frame("resync", { sync_token: "tök✓", reason: "gap" }, "tök✓") +
      frame("greeting", { said: "héllo" }) +
      "event: changed\ndata: not json\n\n" +
      frame("reminder", { after: "2026-12-07T12:00:00Z", until: "2026-12-07T12:01:00Z" }) +
      frame("closing", { reason: "shutting_down" });
    const bytes = new TextEncoder().encode(text);
    const requests: RequestInit[] = [];
    const oneByteAtATime: typeof fetch = async (_, init) => {
      requests.push(init ?? {});
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const byte of bytes) controller.enqueue(Uint8Array.of(byte));
        },
      });
      return new Response(body, { headers: { "Content-Type": "text/event-stream; charset=utf-8" } });
    };

    const watched = watch(t, { baseUrl: "http://taskapi.test", fetch: oneByteAtATime });
    await waitFor(() => watched.events.at(-1)?.event === "closing", "closing");
    watched.subscription.close();

    assert.deepEqual(watched.events, [
      { event: "resync", id: "tök✓", data: { sync_token: "tök✓", reason: "gap" } },
      { event: "reminder", data: { after: "2026-12-07T12:00:00Z", until: "2026-12-07T12:01:00Z" } },
      { event: "closing", data: { reason: "shutting_down" } },
    ]);
    assert.equal(watched.subscription.lastEventId, "tök✓");
    assert.deepEqual(requests[0]?.headers, {
      Authorization: "Bearer token-1",
      Accept: "text/event-stream",
    });
  });

  test("after `closing` it comes back after the base delay, the backoff started over", async (t) => {
    const { baseUrl, received } = await serve(t, [
      refusal(500, "internal_error"),
      refusal(502, "unexpected_response"),
      // Held open by the server: the client ends it itself once it has heard `closing`.
      stream(sync("ready", "c1"), frame("closing", { reason: "shutting_down" })),
      stream(sync("changed", "c2")),
    ]);

    const watched = watch(t, { baseUrl, minBackoffMs: 60, maxBackoffMs: 2_000 });
    await waitFor(() => watched.events.length === 3, "three events");
    await received[2]?.closed;

    const afterClosing = (received[3]?.at ?? NaN) - (received[2]?.at ?? NaN);
    // Two failures in a row: the second wait was 60-120 ms; after `closing`, 30-60 ms again.
    assert.ok(gap(received[1], received[2]) >= 60, `second wait ${gap(received[1], received[2])} ms`);
    assert.ok(afterClosing < 60 + 40, `came back after ${afterClosing} ms`);
    assert.equal(received[3]?.headers["last-event-id"], "c1");
    assert.deepEqual(watched.states, ["offline", "open", "offline", "open"]);
  });

  test("each failure in a row doubles the wait, up to maxBackoffMs", async (t) => {
    const failures = 6;
    const { baseUrl, received } = await serve(t, [
      ...Array.from({ length: failures }, () => refusal(503, "service_unavailable")),
      stream(sync("ready", "d1")),
    ]);

    const watched = watch(t, { baseUrl, minBackoffMs: 20, maxBackoffMs: 100 });
    await waitFor(() => watched.events.length === 1, "ready");

    const ceilings = [20, 40, 80, 100, 100, 100];
    ceilings.forEach((ceiling, index) => {
      const waited = gap(received[index], received[index + 1]);
      assert.ok(waited >= ceiling / 2 - 2, `wait ${index}: ${waited} ms, at least ${ceiling / 2}`);
      assert.ok(waited <= ceiling + 60, `wait ${index}: ${waited} ms, about ${ceiling} at most`);
    });
    assert.deepEqual(watched.states, ["offline", "open"]);
  });

  test("a 503 with Retry-After is not asked again before it", async (t) => {
    const { baseUrl, received } = await serve(t, [
      refusal(503, "service_busy", { "Retry-After": "1" }),
      stream(sync("ready", "e1")),
    ]);

    const watched = watch(t, { baseUrl });
    await waitFor(() => watched.events.length === 1, "ready");

    const waited = gap(received[0], received[1]);
    assert.ok(waited >= 1_000 && waited <= 1_500 + 100, `waited ${waited} ms`);
    assert.deepEqual(watched.states, ["offline", "open"]);
    assert.deepEqual(watched.errors, []);
  });

  for (const status of [401, 403]) {
    test(`a ${status} is tried once more with a fresh token, then the subscription stops`, async (t) => {
      const code = status === 401 ? "unauthorized" : "forbidden";
      const { baseUrl, received } = await serve(t, [refusal(status, code), refusal(status, code)]);

      const watched = watch(t, { baseUrl });
      await waitFor(() => watched.states.includes("closed"), "closed");

      assert.equal(received.length, 2);
      assert.deepEqual(watched.freshTokens, [false, true]);
      assert.equal(received[1]?.headers.authorization, "Bearer token-2");
      assert.deepEqual(watched.states, ["closed"]);
      assert.deepEqual(
        watched.errors.map((error) => [error.status, error.code]),
        [[status, code]],
      );
    });
  }

  test("a token refused once and accepted afresh opens the stream", async (t) => {
    const { baseUrl } = await serve(t, [
      refusal(401, "unauthorized"),
      streamThatEnds(sync("ready", "f1")),
      stream(sync("ready", "f1")),
    ]);

    const watched = watch(t, { baseUrl });
    await waitFor(() => watched.events.length === 2, "two streams");

    // Only the refusal asks for a fresh token; the reconnect after the end does not.
    assert.deepEqual(watched.freshTokens, [false, true, false]);
    assert.deepEqual(watched.errors, []);
  });

  test("another 4xx stops at once: asking again would be refused again", async (t) => {
    const { baseUrl, received } = await serve(t, [refusal(404, "not_found")]);

    const watched = watch(t, { baseUrl });
    await waitFor(() => watched.states.includes("closed"), "closed");

    assert.equal(received.length, 1);
    assert.deepEqual(
      watched.errors.map((error) => [error.status, error.code]),
      [[404, "not_found"]],
    );
  });

  test("a dropped connection, a page instead of a stream and a silent stream are each replaced", async (t) => {
    const { baseUrl, received } = await serve(t, [
      (request) => request.socket.destroy(),
      (_, response) => {
        response.writeHead(200, { "Content-Type": "text/html" });
        response.end("<html>A captive portal</html>");
      },
      stream(),
      stream(sync("ready", "g1")),
    ]);

    const watched = watch(t, { baseUrl, idleTimeoutMs: 150 });
    await waitFor(() => watched.events.length === 1, "ready");
    // The silent stream was given up by the client.
    await received[2]?.closed;

    assert.equal(received.length, 4);
    assert.deepEqual(watched.states, ["offline", "open", "offline", "open"]);
    assert.deepEqual(watched.errors, []);
  });

  test("close() aborts the open stream, and nothing follows", async (t) => {
    const { baseUrl, received } = await serve(t, [stream(sync("ready", "h1"))]);
    const watched = watch(t, { baseUrl });
    await waitFor(() => watched.events.length === 1, "ready");

    watched.subscription.close();
    await received[0]?.closed;

    assert.equal(received.length, 1);
    assert.deepEqual(watched.states, ["open", "closed"]);
    assert.deepEqual(watched.errors, []);
    assert.equal(watched.subscription.lastEventId, "h1");
  });
});
