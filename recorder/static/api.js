// The server's JSON API, for both pages: the answer's body, or an Error with the server's
// own message (every refusal carries one in `error`).
async function api(path, options = {}) {
  const response = await fetch(path, options);
  let body;
  try {
    body = await response.json();
  } catch (error) {
    body = {error: `server answered ${response.status} without JSON`};
  }
  if (!response.ok) throw new Error(body.error || `server answered ${response.status}`);
  return body;
}
