// keyplane console: the one place that talks to the server.
// Same-origin fetch with the session cookie; X-CSRF-Token on every write; errors become
// ApiError with a message written for people (see describe()).

let csrfToken = null;
let onUnauthorized = () => {};

export const UNREACHABLE = 'keyplane is unreachable. Check your connection and try again.';
export const EXPIRED = 'Your session has expired, sign in again.';

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called once for every 401 outside of sign-in (the session ended or expired). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export class ApiError extends Error {
  /**
   * kind: 'network' | 'unauthorized' | 'forbidden' | 'http'
   * messages: the strings of the API's {"errors": [...]} body, if any
   */
  constructor(kind, message, status = 0, messages = []) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.status = status;
    this.messages = messages;
  }
}

/** `{ 'page[size]': 10, filter: '' }` → `page%5Bsize%5D=10` (empty values are left out). */
export function queryString(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    search.append(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * request('GET', '/api/v2/api_keys', { query, action: 'view API keys' })
 * options:
 *   body      JSON-serialisable request body
 *   query     object for the query string
 *   action    what the user tried, for 403: "You don't have permission to <action>."
 *   signal    AbortSignal (an aborted request rejects with the AbortError untouched)
 *   allow401  true: a 401 is returned to the caller as ApiError('unauthorized') with the
 *             server's own message, without ending the session (sign-in, session check)
 */
export async function request(method, path, options = {}) {
  const { body, query, action, signal, allow401 = false } = options;
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (WRITE_METHODS.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path + queryString(query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError('network', UNREACHABLE);
  }
  let text = '';
  try {
    text = await response.text();
  } catch (error) {
    if (error && error.name === 'AbortError') throw error;
    throw new ApiError('network', UNREACHABLE);
  }
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;
  const messages =
    data && Array.isArray(data.errors)
      ? data.errors.filter((m) => typeof m === 'string' && m.trim() !== '')
      : [];
  throw describe(response.status, messages, action, allow401);
}

function describe(status, messages, action, allow401) {
  if (status === 401) {
    if (allow401) {
      return new ApiError('unauthorized', messages.join(' ') || EXPIRED, status, messages);
    }
    onUnauthorized();
    return new ApiError('unauthorized', EXPIRED, status, messages);
  }
  if (status === 403) {
    let message = `You don't have permission to ${action || 'do this'}.`;
    const extra = messages.filter((m) => m.toLowerCase() !== 'forbidden');
    if (extra.length) message += ` ${extra.join(' ')}`;
    return new ApiError('forbidden', message, status, messages);
  }
  if (messages.length) {
    return new ApiError('http', messages.join(' '), status, messages);
  }
  if (status === 429) {
    return new ApiError('http', 'Too many attempts. Wait a moment and try again.', status);
  }
  if (status === 502 || status === 503 || status === 504) {
    return new ApiError('http', `keyplane is unavailable right now (HTTP ${status}). Try again in a moment.`, status);
  }
  if (status >= 500) {
    return new ApiError('http', `keyplane could not complete the request (HTTP ${status}).`, status);
  }
  return new ApiError('http', `The request failed (HTTP ${status}).`, status);
}

/** The message to show for any error thrown while calling the API. */
export function errorMessage(error) {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong in the console. Reload the page and try again.';
}

export function isAbort(error) {
  return Boolean(error && error.name === 'AbortError');
}

// ---- JSON:API helpers ----

/** Map of `included` resources by "type:id". */
export function includedIndex(doc) {
  const map = new Map();
  for (const item of (doc && doc.included) || []) {
    if (item && item.type && item.id) map.set(`${item.type}:${item.id}`, item);
  }
  return map;
}

/** The user a relationship points to, from an includedIndex, or null. */
export function relatedUser(resource, relationship, index) {
  const link = resource && resource.relationships && resource.relationships[relationship];
  const data = link && link.data;
  if (!data || !data.id) return null;
  return index.get(`users:${data.id}`) || { type: 'users', id: data.id, attributes: {} };
}

/** Page counts of a list response: { filtered, total } (total may be undefined). */
export function pageCounts(doc) {
  const page = (doc && doc.meta && doc.meta.page) || {};
  const filtered = Number.isFinite(page.total_filtered_count)
    ? page.total_filtered_count
    : ((doc && doc.data) || []).length;
  const total = Number.isFinite(page.total_count) ? page.total_count : undefined;
  return { filtered, total };
}
