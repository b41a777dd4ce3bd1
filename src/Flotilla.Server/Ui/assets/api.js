// Talking to the Flotilla HTTP API. Errors surface the server's problem-details sentence.
//
// The API key lives in sessionStorage and travels only as a bearer header: no cookie, so a foreign page
// cannot make the browser send it, and it is gone when the tab closes.

const keyName = 'flotilla.key';

export function apiKey() { return sessionStorage.getItem(keyName); }
export function setApiKey(key) { sessionStorage.setItem(keyName, key.trim()); }
export function clearApiKey() { sessionStorage.removeItem(keyName); }

/** Headers every call sends: the bearer key, when there is one. */
export function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

export async function api(path, options = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) window.dispatchEvent(new CustomEvent('flotilla:unauthenticated'));
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').includes('json');
  const body = text && isJson ? JSON.parse(text) : text;
  if (!response.ok) {
    const message = (isJson && (body.detail || body.title)) || `${options.method ?? 'GET'} ${path} failed: ${response.status} ${response.statusText}`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return body;
}

/**
 * Server-sent events through fetch, so the bearer header goes along (EventSource cannot send one).
 * Calls onEvent(type, data) per event; resolves when the stream ends; abort with the signal.
 */
export async function events(path, onEvent, signal) {
  const response = await fetch(path, { headers: authHeaders({ Accept: 'text/event-stream' }), signal });
  if (!response.ok || !response.body) throw new Error(`${path}: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      onEvent(type, data.join('\n'));
    }
  }
}
