/**
 * The user's live events (`GET /api/{user_id}/events`, Server-Sent Events), read with fetch rather
 * than EventSource so that the bearer token travels in a header, never in a URL. The contract
 * cannot describe a stream's items, so the wire format is read here, by the WHATWG rules, and a
 * broken stream is resumed from the `id` of the last event received.
 */
import { ApiError } from "./errors.js";
import type { components } from "./schema.js";

export type SyncEvent = components["schemas"]["SyncEvent"];
export type ResyncEvent = components["schemas"]["ResyncEvent"];
export type ReminderEvent = components["schemas"]["ReminderEvent"];
export type ClosingEvent = components["schemas"]["ClosingEvent"];
/** One event of the stream, told apart by its `event` name. */
export type StreamEvent = SyncEvent | ResyncEvent | ReminderEvent | ClosingEvent;

/**
 * `connecting` until the first stream opens; `open` while one is; `offline` from when a stream
 * broke or could not be opened until one opens again; `closed` after `close()` or a refusal.
 */
export type StreamState = "connecting" | "open" | "offline" | "closed";

export interface SubscribeOptions {
  /** Where the service answers, as for `createTaskApiClient` (no `/api` suffix). */
  baseUrl: string;
  userId: string;
  /**
   * The bearer token, asked for on every (re)connect. `fresh` is true when the service has just
   * refused the last one (401 or 403): hand back a new token, not a cached one.
   */
  getToken: (request: { fresh: boolean }) => string | Promise<string>;
  onEvent: (event: StreamEvent) => void;
  /** Called on every change of state (it is `connecting` until the first). */
  onState?: (state: StreamState) => void;
  /**
   * Why the stream stopped for good: a 401 or 403 that a fresh token did not cure, or another
   * 4xx (a request that repeating cannot mend). The state is `closed` by then.
   */
  onError?: (error: ApiError) => void;
  /** Where to resume: the `id` of the last event an earlier subscription received. */
  lastEventId?: string | undefined;
  fetch?: typeof fetch;
  /** The base delay when the server sends no `retry:`, and the least it can set (1 s). */
  minBackoffMs?: number;
  /** The longest wait between two attempts (30 s). */
  maxBackoffMs?: number;
  /**
   * A stream that sends nothing, not even a heartbeat, for this long is taken for dead (a
   * connection a sleeping laptop or a NAT dropped) and replaced: 45 s, three of the service's
   * 15 s heartbeats.
   */
  idleTimeoutMs?: number;
}

export interface Subscription {
  /** Stops for good: the open stream is aborted and no reconnect follows. */
  close(): void;
  /** The `id` of the last event received, sent as `Last-Event-ID` on every reconnect. */
  readonly lastEventId: string | undefined;
}

const DEFAULT_MIN_BACKOFF_MS = 1_000;
const DEFAULT_MAX_BACKOFF_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 45_000;

/**
 * Opens the user's event stream and keeps it open: `onEvent` hears every event the contract
 * names. A stream that breaks, ends (after `closing`, say) or cannot be opened (the network, a
 * 5xx, a 503 `service_busy`) is opened again after a backoff, resuming with `Last-Event-ID`; a
 * refused token is asked for afresh once before the subscription gives up (`onError`).
 */
export function subscribe(options: SubscribeOptions): Subscription {
  return new EventSubscription(options);
}

type Outcome =
  /** The stream broke, ended, or could not be opened for a reason that may pass. */
  | { kind: "dropped"; stable: boolean; retryAfterMs: number | undefined }
  /** 401 or 403: the token, or whose stream it is. */
  | { kind: "refused"; error: ApiError }
  /** Any other 4xx: asking again would be refused again. */
  | { kind: "failed"; error: ApiError };

class EventSubscription implements Subscription {
  readonly #options: SubscribeOptions;
  readonly #url: string;
  readonly #fetch: typeof fetch;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #idleTimeoutMs: number;
  readonly #stopped = new AbortController();
  #state: StreamState = "connecting";
  #lastEventId: string | undefined;
  /** The server's `retry:`, the base of the backoff. */
  #retryMs: number | undefined;
  /** Attempts in a row that did not give a stable stream. */
  #failures = 0;

  constructor(options: SubscribeOptions) {
    this.#options = options;
    this.#url = `${options.baseUrl.replace(/\/+$/, "")}/api/${encodeURIComponent(options.userId)}/events`;
    // Called unbound: a browser refuses `fetch` called as a method of another object.
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#minBackoffMs = options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    this.#maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#lastEventId = options.lastEventId || undefined;
    // After subscribe() has returned: the callbacks may use what it returned.
    queueMicrotask(() => void this.#run());
  }

  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  close(): void {
    this.#setState("closed");
    this.#stopped.abort();
  }

  async #run(): Promise<void> {
    let fresh = false;
    while (!this.#stopped.signal.aborted) {
      const outcome = await this.#connect(fresh);
      if (this.#stopped.signal.aborted) return;
      if (outcome.kind === "refused" && !fresh) {
        // An expired or rotated token: once more at once, with a new one.
        fresh = true;
        continue;
      }
      if (outcome.kind !== "dropped") {
        this.close();
        deliver(this.#options.onError, outcome.error);
        return;
      }
      fresh = false;
      this.#setState("offline");
      if (outcome.stable) this.#failures = 0;
      const wait = this.#backoff(outcome.retryAfterMs);
      this.#failures += 1;
      await sleep(wait, this.#stopped.signal);
    }
  }

  /** One attempt: opens the stream and reads it to its end. */
  async #connect(fresh: boolean): Promise<Outcome> {
    const connection = new AbortController();
    const abort = () => connection.abort();
    this.#stopped.signal.addEventListener("abort", abort);
    let idle: ReturnType<typeof setTimeout> | undefined;
    const rearm = () => {
      clearTimeout(idle);
      idle = setTimeout(abort, this.#idleTimeoutMs);
    };
    let openedAt: number | undefined;
    let closing = false;
    const dropped = (retryAfterMs?: number): Outcome => ({
      kind: "dropped",
      // A stream that the server moved on (`closing`) or that lasted starts the backoff over.
      stable:
        openedAt !== undefined && (closing || Date.now() - openedAt >= this.#maxBackoffMs),
      retryAfterMs,
    });
    try {
      const token = await this.#options.getToken({ fresh });
      rearm();
      const response = await this.#fetch(this.#url, {
        headers: this.#headers(token),
        signal: connection.signal,
      });
      if (response.status === 401 || response.status === 403) {
        return { kind: "refused", error: await apiErrorOf(response) };
      }
      if (!response.ok && !isTransient(response.status)) {
        return { kind: "failed", error: await apiErrorOf(response) };
      }
      if (!response.ok || !isEventStream(response) || response.body === null) {
        await response.body?.cancel();
        return dropped(retryAfterOf(response));
      }
      openedAt = Date.now();
      this.#setState("open");
      closing = await this.#read(response.body, rearm);
      return dropped();
    } catch {
      // The network, the token getter or the idle timeout: all may pass.
      return dropped();
    } finally {
      clearTimeout(idle);
      this.#stopped.signal.removeEventListener("abort", abort);
    }
  }

  /** Reads the stream to its end, handing on each event; true if it ended with `closing`. */
  async #read(body: ReadableStream<Uint8Array>, rearm: () => void): Promise<boolean> {
    const reader = body.getReader();
    // One decoder for the whole stream: a character's bytes may arrive in two chunks.
    const decoder = new TextDecoder();
    let closing = false;
    const parser = new EventStreamParser(
      {
        onMessage: (message) => {
          this.#lastEventId = message.lastEventId || undefined;
          const event = streamEventOf(message);
          if (event === undefined) return;
          closing ||= event.event === "closing";
          deliver(this.#options.onEvent, event);
        },
        onRetry: (milliseconds) => {
          this.#retryMs = milliseconds;
        },
      },
      this.#lastEventId,
    );
    while (!closing) {
      const { done, value } = await reader.read();
      if (done) return false;
      rearm();
      parser.push(decoder.decode(value, { stream: true }));
      // An `id:` of an event without data moves it too.
      this.#lastEventId = parser.lastEventId || undefined;
    }
    // The instance is stopping and says nothing more: the next one can answer at once.
    await reader.cancel();
    return true;
  }

  #headers(token: string): Record<string, string> {
    return {
      Authorization: `Bearer ${token}`,
      Accept: "text/event-stream",
      ...(this.#lastEventId !== undefined && { "Last-Event-ID": this.#lastEventId }),
    };
  }

  /**
   * Between half and all of the base delay (the server's `retry:`, at least minBackoffMs)
   * doubled for each failure in a row, at most maxBackoffMs: at random, so that the clients of
   * an instance that stopped do not all come back at the same moment. Never before a
   * `Retry-After`, and up to half as long again after it, for the same reason.
   */
  #backoff(retryAfterMs: number | undefined): number {
    const base = Math.max(this.#minBackoffMs, this.#retryMs ?? 0);
    const ceiling = Math.min(this.#maxBackoffMs, base * 2 ** this.#failures);
    const wait = ceiling * (0.5 + Math.random() / 2);
    return retryAfterMs === undefined
      ? wait
      : Math.max(wait, retryAfterMs * (1 + Math.random() / 2));
  }

  #setState(state: StreamState): void {
    if (this.#state === state || this.#state === "closed") return;
    this.#state = state;
    deliver(this.#options.onState, state);
  }
}

/**
 * The event of the contract that `message` is, its data read as JSON; undefined for an event the
 * contract does not name (a newer service's), which is skipped.
 */
function streamEventOf({ event, data, lastEventId }: EventStreamMessage): StreamEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return undefined;
  }
  switch (event) {
    case "ready":
    case "changed":
      return { event, id: lastEventId, data: parsed as SyncEvent["data"] };
    case "resync":
      return { event, id: lastEventId, data: parsed as ResyncEvent["data"] };
    case "reminder":
      return { event, data: parsed as ReminderEvent["data"] };
    case "closing":
      return { event, data: parsed as ClosingEvent["data"] };
    default:
      return undefined;
  }
}

/** A listener's own error is thrown where it is seen, never into the stream that called it. */
function deliver<Value>(listener: ((value: Value) => void) | undefined, value: Value): void {
  try {
    listener?.(value);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, milliseconds);
    signal.addEventListener("abort", done);
  });
}

/** 408, 429 and 5xx may pass: the service busy (503 `service_busy`), restarting, or timed out. */
function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function isEventStream(response: Response): boolean {
  const type = response.headers.get("Content-Type") ?? "";
  return type.split(";")[0]?.trim().toLowerCase() === "text/event-stream";
}

/** `Retry-After` in milliseconds from now: a number of seconds or an HTTP date. */
function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get("Retry-After")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

async function apiErrorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page): ApiError keeps the text.
  }
  return new ApiError(response, body);
}

/** One event as the wire format gives it, before its name and data mean anything. */
export interface EventStreamMessage {
  /** The `event:` field; `message` when the stream names none. */
  event: string;
  /** The `data:` lines, joined with LF. */
  data: string;
  /** The last `id:` the stream set, at this event or before it. */
  lastEventId: string;
}

export interface EventStreamListener {
  onMessage: (message: EventStreamMessage) => void;
  /** A `retry:` field: how long to wait before reconnecting. */
  onRetry: (milliseconds: number) => void;
}

/**
 * The `text/event-stream` format (WHATWG HTML, "Server-sent events", parsing an event stream),
 * fed text in chunks cut anywhere: lines end with CRLF, LF or CR; a line that starts with `:` is
 * a comment; an empty line dispatches the event gathered so far, if it has data. A last event
 * that no empty line ends is never dispatched, as the standard says.
 */
export class EventStreamParser {
  readonly #listener: EventStreamListener;
  /** The start of a line whose end has not arrived yet. */
  #partial = "";
  /** The last chunk ended with CR: an LF that starts the next one ends no other line. */
  #afterCarriageReturn = false;
  #data = "";
  #eventType = "";
  #lastEventIdBuffer: string;
  #lastEventId: string;

  constructor(listener: EventStreamListener, lastEventId = "") {
    this.#listener = listener;
    this.#lastEventIdBuffer = lastEventId;
    this.#lastEventId = lastEventId;
  }

  /** The `id` of the last event dispatched (an `id:` takes effect at its event's end). */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  push(chunk: string): void {
    if (chunk === "") return;
    let text = chunk;
    if (this.#afterCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.#afterCarriageReturn = false;
    text = this.#partial + text;
    const lineEnds = /\r\n|\r|\n/g;
    let start = 0;
    for (let end = lineEnds.exec(text); end !== null; end = lineEnds.exec(text)) {
      this.#afterCarriageReturn = end[0] === "\r" && lineEnds.lastIndex === text.length;
      this.#line(text.slice(start, end.index));
      start = lineEnds.lastIndex;
    }
    this.#partial = text.slice(start);
  }

  #line(line: string): void {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#eventType = value;
        break;
      case "data":
        this.#data += `${value}\n`;
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventIdBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.#listener.onRetry(Number(value));
        break;
      default:
        break;
    }
  }

  #dispatch(): void {
    this.#lastEventId = this.#lastEventIdBuffer;
    const data = this.#data;
    const event = this.#eventType || "message";
    this.#data = "";
    this.#eventType = "";
    if (data === "") return;
    this.#listener.onMessage({ event, data: data.slice(0, -1), lastEventId: this.#lastEventId });
  }
}
