// The demo page (GET /demo, `tenantry dev` only): an end-customer's view of
// embed.js, with the account token from the URL fragment (#token=…), which
// browsers never send to a server.
import { Tenantry } from "/embed.js";

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const tenantry = token && new Tenantry({ baseUrl: location.origin, token });
let catalog = [];
let shown = 0; // which connector's form is current

function problem(message) {
  $("problem").textContent = message;
  $("problem").hidden = !message;
}

function setStatus(state, text) {
  $("status").dataset.state = state;
  $("status").textContent = text;
}

// describe is a connection's status as the page shows it: "active", or the
// status with its reason ("error: the provider refused …").
function describe(conn) {
  return conn.status_reason ? `${conn.status}: ${conn.status_reason}` : conn.status;
}

async function refreshConnections() {
  const rows = (await tenantry.listConnections()).map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.id = c.id;
    for (const text of [c.name, c.servertype_id, describe(c)]) tr.insertCell().textContent = text;
    return tr;
  });
  if (!rows.length) {
    const empty = document.createElement("tr");
    empty.insertCell().textContent = "No connections yet.";
    rows.push(empty);
  }
  $("connections").replaceChildren(...rows);
}

// showForm renders connector st's form, and again after each outcome, until
// another connector is chosen.
async function showForm(st) {
  const mine = ++shown;
  $("description").textContent = st.description || "";
  setStatus("", "");
  while (mine === shown) {
    const outcome = tenantry.renderConnectForm($("connect-form"), st, {
      onSubmit: () => setStatus("connecting", st.auth_type === "oauth2" ? "connecting… (authorize in the popup)" : "connecting…"),
      onError: (err) => setStatus("error", `error: ${err.message}`),
    });
    const button = $("connect-form").querySelector("button[type=submit]");
    button.id = "connect";
    if (st.auth_type === "oauth2") button.textContent = `Connect ${st.name}`;
    const conn = await outcome;
    setStatus(conn.status, describe(conn));
    refreshConnections().catch((err) => problem(err.message));
  }
}

async function main() {
  if (!tenantry) {
    problem("No account token: open the demo URL that `tenantry dev` printed (…/demo#token=…).");
    return;
  }
  catalog = await tenantry.listConnectors();
  const select = $("connectors");
  const choose = new Option("Choose an app…", "");
  select.replaceChildren(choose, ...catalog.map((st) => new Option(`${st.name} (${st.auth_type})`, st.id)));
  select.disabled = false;
  select.addEventListener("change", () => {
    const st = catalog.find((s) => s.id === select.value);
    if (st) showForm(st);
    else { shown++; $("connect-form").replaceChildren(); }
  });
  await refreshConnections();
}

main().catch((err) => problem(`error: ${err.message}`));
