// The demo single-page app. It never sees a token: the BFF keeps them on the
// server and this page only holds an HttpOnly cookie it cannot read. Every
// state-changing call sends X-CSRF: 1, which a cross-site page can't send
// without a CORS preflight that Rotor never grants.
"use strict";

const $ = (id) => document.getElementById(id);

async function loadSession() {
  const res = await fetch("/bff/session", { credentials: "same-origin" });
  if (res.status === 401) {
    return null;
  }
  if (!res.ok) {
    throw new Error("session check failed: " + res.status);
  }
  return res.json();
}

function show(session) {
  const signedIn = session !== null;
  $("signin").hidden = signedIn;
  $("callapi").hidden = false; // signed out, it shows the API's 401
  $("signout").hidden = !signedIn;
  $("status").textContent = signedIn ? "Signed in as" : "You are signed out.";
  $("email").textContent = signedIn ? session.email : "";
}

// callAPI is exported on window so a test can fire many calls at once.
async function callAPI() {
  const res = await fetch("/bff/api/hello", {
    credentials: "same-origin",
    headers: { "X-CSRF": "1" },
  });
  const body = await res.text();
  return { status: res.status, body: body };
}
window.rotorCallAPI = callAPI;

async function init() {
  $("signin").addEventListener("click", () => {
    window.location.assign("/bff/login?return_to=" + encodeURIComponent("/app/"));
  });
  $("callapi").addEventListener("click", async () => {
    const r = await callAPI();
    $("result").textContent = r.status === 200 ? r.body : "API call failed: " + r.status;
    if (r.status === 401) {
      show(null);
    }
  });
  $("signout").addEventListener("click", async () => {
    // The BFF forgets its tokens, then the browser visits Rotor's logout
    // endpoint so that its sign-in session ends too (on a shared device,
    // the next "Sign in" asks for the password again).
    const res = await fetch("/bff/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF": "1" } });
    $("result").textContent = "";
    show(null);
    if (res.ok) {
      const body = await res.json();
      window.location.assign(body.end_session_url);
    }
  });
  try {
    show(await loadSession());
  } catch (e) {
    $("status").textContent = e.message;
  }
}

init();
