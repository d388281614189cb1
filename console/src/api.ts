// The console's only way to the server: the same Connect RPCs the SDK calls, as JSON over
// fetch. Unary calls return the reply; server streams hand each message to a callback and
// end when the server closes them. The credential (an API key or a token) kept for this
// browser session goes on every call.

export class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const CREDENTIAL_KEY = "aerie.credential";

/** The `Authorization` header value kept for this browser session, if any. */
export function credential(): string | null {
  return sessionStorage.getItem(CREDENTIAL_KEY);
}

/**
 * Keeps what the user typed as this session's credential: a Flyte API key
 * (`base64("endpoint:client_id:secret:org")`, as `FLYTE_API_KEY` holds it) becomes HTTP Basic
 * with its client id and secret; anything else is sent as a bearer token.
 */
export function setCredential(typed: string): void {
  const text = typed.trim();
  let header = `Bearer ${text}`;
  try {
    // The endpoint may hold colons itself (a port): the last three fields are the client id,
    // the secret and the org.
    const parts = atob(text).split(":");
    const [clientId, secret] = parts.slice(-3, -1);
    if (parts.length >= 4 && clientId && secret) {
      header = `Basic ${btoa(`${clientId}:${secret}`)}`;
    }
  } catch {
    // Not base64: a token.
  }
  sessionStorage.setItem(CREDENTIAL_KEY, header);
}

export function forgetCredential(): void {
  sessionStorage.removeItem(CREDENTIAL_KEY);
}

/** Listeners told when a call is refused for want of a credential. */
const signInNeeded = new Set<() => void>();
export function onSignInNeeded(listener: () => void): () => void {
  signInNeeded.add(listener);
  return () => signInNeeded.delete(listener);
}

function headers(contentType: string): HeadersInit {
  const sent: Record<string, string> = {
    "Content-Type": contentType,
    "Connect-Protocol-Version": "1",
  };
  const kept = credential();
  if (kept) sent.Authorization = kept;
  return sent;
}

function refused(code: string, message: string): RpcError {
  if (code === "unauthenticated") signInNeeded.forEach((listener) => listener());
  return new RpcError(code, message);
}

/** One unary RPC, e.g. `unary("flyteidl2.workflow.RunService/ListRuns", {...})`. */
export async function unary<T>(method: string, request: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/${method}`, {
      method: "POST",
      headers: headers("application/json"),
      body: JSON.stringify(request),
    });
  } catch (err) {
    throw new RpcError("unavailable", `aerie is not reachable: ${String(err)}`);
  }
  const text = await response.text();
  let body: any = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new RpcError("internal", `unreadable reply (HTTP ${response.status})`);
  }
  if (!response.ok) {
    throw refused(body.code ?? "unknown", body.message ?? `HTTP ${response.status}`);
  }
  return body as T;
}

/**
 * One of the console's own reads under `/console/api/` (what the Flyte API has no message
 * for), e.g. `consoleRead("files", {...})`: a GET with this session's credential, whose errors
 * have the Connect JSON shape.
 */
export async function consoleRead<T>(path: string, params: Record<string, string>): Promise<T> {
  const kept = credential();
  const response = await fetch(`/console/api/${path}?${new URLSearchParams(params)}`, {
    headers: kept ? { Authorization: kept } : {},
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw refused(body.code ?? "unknown", body.message ?? `HTTP ${response.status}`);
  return body as T;
}

/** Frames one message the Connect streaming way: a flag byte, a 4-byte length, the JSON. */
function envelope(message: unknown): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(message));
  const framed = new Uint8Array(5 + json.length);
  new DataView(framed.buffer).setUint32(1, json.length);
  framed.set(json, 5);
  return framed;
}

/**
 * One server-streaming RPC: `onMessage` gets every message; resolves when the server ends the
 * stream, rejects with its error. Aborting `signal` ends it quietly.
 */
export async function serverStream<T>(
  method: string,
  request: unknown,
  onMessage: (message: T) => void,
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`/${method}`, {
      method: "POST",
      headers: headers("application/connect+json"),
      body: envelope(request) as BodyInit,
      signal,
    });
  } catch (err) {
    if (signal.aborted) return;
    throw new RpcError("unavailable", `aerie is not reachable: ${String(err)}`);
  }
  if (!response.ok || !response.body) {
    const body = await response.json().catch(() => ({}));
    throw refused(body.code ?? "unknown", body.message ?? `HTTP ${response.status}`);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = new Uint8Array(0);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const joined = new Uint8Array(buffered.length + value.length);
      joined.set(buffered);
      joined.set(value, buffered.length);
      buffered = joined;
      while (buffered.length >= 5) {
        const length = new DataView(buffered.buffer, buffered.byteOffset).getUint32(1);
        if (buffered.length < 5 + length) break;
        const flags = buffered[0];
        const payload = JSON.parse(decoder.decode(buffered.subarray(5, 5 + length)));
        buffered = buffered.slice(5 + length);
        if (flags & 0x02) {
          if (payload.error) throw refused(payload.error.code, payload.error.message ?? "");
          return;
        }
        onMessage(payload as T);
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof RpcError) throw err;
    throw new RpcError("unavailable", `the stream broke: ${String(err)}`);
  }
}

/**
 * Follows a watch for as long as `signal` lives: when the stream breaks on a transient error
 * it opens it again after a pause (the server re-sends its snapshot, so `onOpen` lets the
 * caller start afresh). Other errors go to `onError` and end the watch.
 */
export function follow<T>(
  method: string,
  request: unknown,
  handlers: { onOpen?: () => void; onMessage: (message: T) => void; onError: (err: RpcError) => void },
  signal: AbortSignal,
): void {
  const transient = new Set(["unavailable", "deadline_exceeded", "canceled", "unknown"]);
  const run = async (retryDelayMs: number) => {
    handlers.onOpen?.();
    let received = false;
    try {
      await serverStream<T>(
        method,
        request,
        (message) => {
          received = true;
          handlers.onMessage(message);
        },
        signal,
      );
    } catch (err) {
      if (signal.aborted) return;
      const rpc = err as RpcError;
      if (!transient.has(rpc.code)) {
        handlers.onError(rpc);
        return;
      }
      const delay = received ? 500 : Math.min(retryDelayMs * 2, 10_000);
      setTimeout(() => void run(delay), delay);
    }
  };
  void run(250);
}
