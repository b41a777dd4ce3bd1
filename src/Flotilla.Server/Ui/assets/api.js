// Talking to the Flotilla HTTP API. Errors surface the server's problem-details sentence.

export async function api(path, options = {}) {
  const headers = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, {
    ...options,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
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

/** The first present field of several spellings, so a renamed field degrades gracefully. */
export function pick(object, ...keys) {
  for (const key of keys) {
    if (object && object[key] !== undefined && object[key] !== null) return object[key];
  }
  return undefined;
}

/** A list whether the server sends a bare array or wraps it in an object. */
export function list(value, ...keys) {
  if (Array.isArray(value)) return value;
  for (const key of keys) if (Array.isArray(value?.[key])) return value[key];
  return [];
}
