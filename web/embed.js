// tenantry embed SDK: let an end-customer connect apps from your product.
// An ES module with no dependencies and no build step:
//
//   import { Tenantry } from "https://tenantry.example.com/embed.js";
//   const t = new Tenantry({ baseUrl: "https://tenantry.example.com", token });
//
// token is an end-customer (account) token from GET /api/subaccount/{id}/token.
// The server is the single source of truth: connection outcomes are read from
// GET /api/server/{id}, never passed between windows.

const WAITING = new Set(["pending", "oauth_pending"]);
const POPUP = { width: 600, height: 700 };

/** An API or flow failure: `code` (the problem's code, or popup_blocked,
 * popup_closed, timeout, network), `status` (HTTP, 0 if none), `errors`
 * ([{field, message}] for a bad form) and, once one exists, `connection`. */
export class TenantryError extends Error {
  constructor(code, message, { status = 0, errors = [], connection = null } = {}) {
    super(message);
    Object.assign(this, { name: "TenantryError", code, status, errors, connection });
  }
}

export class Tenantry {
  #types = new Map(); // servertype id -> servertype, as listed or rendered

  /**
   * @param {{baseUrl: string, token: string, closeGraceMs?: number}} options
   *   closeGraceMs: how long to keep polling after the OAuth popup closes
   *   while the code exchange finishes (default 10000).
   */
  constructor({ baseUrl, token, closeGraceMs = 10000 }) {
    if (!token) throw new TypeError("Tenantry: an account token is required");
    this.baseUrl = String(baseUrl || "").replace(/\/+$/, "");
    this.token = token;
    this.closeGraceMs = closeGraceMs;
  }

  /** The connector catalog, each with its connect `form`. @returns {Promise<object[]>} */
  async listConnectors() {
    const items = await this.#list("/api/servertypes");
    for (const st of items) this.#types.set(st.id, st);
    return items;
  }

  /** The account's connections. @returns {Promise<object[]>} */
  listConnections() {
    return this.#list("/api/servers");
  }

  /** One connection. @returns {Promise<object>} */
  getConnection(id) {
    return this.#request("GET", `/api/server/${encodeURIComponent(id)}`);
  }

  /**
   * Creates a connection and waits for its outcome. For an OAuth connector it
   * opens the provider's consent page in a popup: call it from a click or
   * submit handler, or the browser blocks the popup.
   * @param {string} servertypeId a connector id from listConnectors()
   * @param {Object<string, string>} values the connect form's values
   * @param {{name?: string, timeoutMs?: number}} [options]
   * @returns {Promise<object>} the connection once it is no longer pending:
   *   check its `status` ("active", or "error" with `status_reason`).
   * @throws {TenantryError} a refused request (`errors` per field), popup_blocked,
   *   popup_closed (closed before authorizing), timeout.
   */
  async connect(servertypeId, values = {}, { name, timeoutMs = 10 * 60e3 } = {}) {
    // Open the popup before the first await, while the click still counts as
    // a user gesture; it is pointed at the provider once the URL is known.
    const oauth = this.#types.get(servertypeId)?.auth_type === "oauth2";
    const popup = oauth ? openPopup("about:blank") : null;
    if (oauth && !popup) throw blocked(null);
    let conn;
    try {
      conn = await this.#request("POST", "/api/servers", { ...values, servertype_id: servertypeId, ...(name ? { name } : {}) });
    } catch (err) {
      popup?.close();
      throw err;
    }
    if (!conn.oauth_url) {
      popup?.close();
      return this.#poll(conn.id, { timeoutMs });
    }
    const win = popup || openPopup(conn.oauth_url);
    if (!win) throw blocked(conn);
    if (popup) popup.location.href = conn.oauth_url;
    return this.#poll(conn.id, { timeoutMs, popup: win });
  }

  /**
   * Polls a connection, backing off (0.3 s up to 3 s), until it is neither
   * pending nor oauth_pending. Network errors and 5xx answers are retried.
   * @param {string} id the connection's id
   * @param {{timeoutMs?: number}} [options] default 60 s
   * @returns {Promise<object>} the connection
   * @throws {TenantryError} code "timeout" when it is still pending at the end
   */
  waitForStatus(id, { timeoutMs = 60e3 } = {}) {
    return this.#poll(id, { timeoutMs });
  }

  async #poll(id, { timeoutMs, popup = null }) {
    const deadline = Date.now() + timeoutMs;
    let closedAt = 0, wake = () => {};
    // The popup's only signal is that it went away (the callback page closes
    // it); then read the outcome at once, and again while the exchange runs.
    const watch = popup && setInterval(() => {
      if (!closedAt && popup.closed) { closedAt = Date.now(); wake(); }
    }, 250);
    try {
      for (let delay = 300, conn = null; ; delay = Math.min(delay * 1.5, 3000)) {
        try {
          conn = await this.getConnection(id);
          if (!WAITING.has(conn.status)) return conn;
        } catch (err) { // a blip (network, 5xx, 429) is waited out; anything else is the answer
          if (!(err.code === "network" || err.status >= 500 || err.status === 429) || Date.now() > deadline) throw err;
        }
        if (closedAt && Date.now() - closedAt > this.closeGraceMs) {
          throw new TenantryError("popup_closed", "The authorization window was closed before the connection was authorized.", { connection: conn });
        }
        if (Date.now() > deadline) {
          throw new TenantryError("timeout", `The connection is still ${conn?.status ?? "pending"}; check again later.`, { connection: conn });
        }
        await new Promise((resolve) => { wake = resolve; setTimeout(resolve, closedAt ? 500 : delay); });
      }
    } finally {
      clearInterval(watch);
      if (popup && !popup.closed) popup.close();
    }
  }

  /**
   * Renders servertype's connect form into container (replacing its content):
   * a labelled input per field, secrets as password inputs, help text, and a
   * Connect button. Refusals are shown in the form, next to the field at fault.
   * @param {HTMLElement} container
   * @param {object} servertype an item of listConnectors()
   * @param {{onSubmit?: (values: object) => void, onError?: (err: Error) => void}} [hooks]
   * @returns {Promise<object>} the connection, once a submission has one that
   *   is no longer pending (see connect()).
   */
  renderConnectForm(container, servertype, { onSubmit, onError } = {}) {
    this.#types.set(servertype.id, servertype);
    const form = el("form", { className: "tenantry-form", noValidate: true });
    const inputs = new Map();
    for (const f of servertype.form || []) {
      const id = `tenantry-${servertype.id}-${f.name}-${++uid}`;
      const input = field(f, id);
      inputs.set(f.name, input);
      form.append(el("div", { className: "tenantry-field" },
        el("label", { htmlFor: id, textContent: f.label + (f.required ? " *" : "") }), input,
        f.help ? el("small", { className: "tenantry-help", textContent: f.help }) : "",
        el("small", { className: "tenantry-error", role: "alert" })));
    }
    const failure = el("p", { className: "tenantry-error", role: "alert" });
    const button = el("button", { type: "submit", textContent: "Connect" });
    form.append(failure, button);
    container.replaceChildren(form);
    return new Promise((resolve) => {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        form.querySelectorAll(".tenantry-error").forEach((e) => { e.textContent = ""; });
        const values = {};
        for (const [name, input] of inputs) if (input.value !== "") values[name] = input.value;
        onSubmit?.(values);
        button.disabled = true;
        try {
          resolve(await this.connect(servertype.id, values));
        } catch (err) {
          const unplaced = [];
          for (const { field: name, message } of err.errors || []) {
            const box = inputs.get(name)?.parentElement.querySelector(".tenantry-error");
            if (box) box.textContent = message;
            else unplaced.push(`${name}: ${message}`);
          }
          failure.textContent = unplaced.join("; ") || (err.errors?.length ? "" : err.message);
          onError?.(err);
        } finally {
          button.disabled = false;
        }
      });
    });
  }

  async #list(path) {
    const items = [];
    for (let cursor = ""; ;) {
      const page = await this.#request("GET", path + "?limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      items.push(...page.items);
      if (!(cursor = page.next_cursor)) return items;
    }
  }

  async #request(method, path, body) {
    let res;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: { Authorization: `Bearer ${this.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new TenantryError("network", `Cannot reach tenantry at ${this.baseUrl || location.origin}: ${err.message}`);
    }
    const data = await res.json().catch(() => null);
    if (res.ok) return data;
    throw new TenantryError(data?.code || "http_error", data?.detail || `${method} ${path}: HTTP ${res.status}`,
      { status: res.status, errors: data?.errors || [] });
  }
}

let uid = 0;

function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function field(f, id) {
  const props = { id, name: f.name, required: !!f.required };
  if (f.type === "select") {
    const options = f.options.map((o) => el("option", { value: o, textContent: o }));
    if (!f.default) options.unshift(el("option", { value: "", textContent: "Choose…" }));
    const select = el("select", props, ...options);
    select.value = f.default || "";
    return select;
  }
  if (f.type === "textarea") return el("textarea", { ...props, value: f.default || "" });
  const type = { password: "password", url: "url", number: "number" }[f.type] || (f.secret ? "password" : "text");
  return el("input", { ...props, type, value: f.default || "", autocomplete: type === "password" ? "off" : "on" });
}

function openPopup(url) {
  const left = Math.round(window.screenX + (window.outerWidth - POPUP.width) / 2);
  const top = Math.round(window.screenY + (window.outerHeight - POPUP.height) / 2);
  return window.open(url, "tenantry-oauth", `popup,width=${POPUP.width},height=${POPUP.height},left=${left},top=${top}`);
}

function blocked(connection) {
  return new TenantryError("popup_blocked",
    "The browser blocked the authorization popup: call connect() from a click or submit handler.", { connection });
}
