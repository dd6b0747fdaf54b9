// Server-rendered pages of the example app: plain template literals, no template engine.
// Every interpolation goes through `html`, which escapes it unless it is already markup, so user
// input (a product id typed into a form, a user name) can never inject HTML (OWASP XSS rule 1).

/** Markup that is already safe to embed. */
class Html {
  /** @param {string} value */
  constructor(value) {
    this.value = value
  }
  toString() {
    return this.value
  }
}

/**
 * Escape text for HTML content and double-quoted attribute values.
 * @param {unknown} value
 * @returns {string}
 */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

/**
 * Tagged template: escapes every value except nested `html` results; arrays are joined, and
 * `null`, `undefined` and `false` render as nothing (so `${cond && html`...`}` works).
 * @param {TemplateStringsArray} strings
 * @param {...unknown} values
 * @returns {Html}
 */
export function html(strings, ...values) {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += renderValue(value) + (strings[i + 1] ?? '')
  })
  return new Html(out)
}

/** @param {unknown} value @returns {string} */
function renderValue(value) {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(renderValue).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(value)
}

const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' })
/** @param {number} cents */
export const formatPrice = (cents) => money.format(cents / 100)

/** The hidden field every form posts back (checked against the session by the app). */
const csrfField = (/** @type {string} */ token) =>
  html`<input type="hidden" name="_csrf" value="${token}">`

/**
 * The page frame: navigation, flash messages, content.
 * @param {{ title: string, body: Html, user?: { name: string } | undefined, cartCount?: number,
 *   views?: number, csrf?: string | undefined, flashes?: { kind: string, text: string }[] }} page
 * @returns {string}
 */
export function layout({ title, body, user, cartCount = 0, views, csrf = '', flashes = [] }) {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · typed-session shop</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; color: #222 }
  nav { display: flex; gap: 1rem; align-items: center; border-bottom: 1px solid #ddd; padding-bottom: .5rem }
  nav form { margin-left: auto }
  .flash { padding: .5rem .75rem; border-radius: 4px; background: #e8f4ea }
  .flash-error { background: #fbe9e9 }
  table { border-collapse: collapse; width: 100% } td, th { padding: .3rem; text-align: left }
  input[type=number] { width: 4rem } pre { background: #f4f4f4; padding: .75rem; overflow: auto }
  footer { margin-top: 2rem; color: #777; font-size: .85rem }
</style>
</head>
<body>
<nav>
  <a href="/">Shop</a> <a href="/cart">Cart (<span id="cart-count">${cartCount}</span>)</a>
  <a href="/session">Session</a>
  ${
    user
      ? html`<a href="/account">${user.name}</a>
  <form method="post" action="/logout">${csrfField(csrf)}<button>Sign out</button></form>`
      : html`<a href="/login">Sign in</a>`
  }
</nav>
${flashes.map((f) => html`<p class="flash flash-${f.kind}" role="status">${f.text}</p>`)}
<main>
<h1>${title}</h1>
${body}
</main>
<footer>${views !== undefined && html`Pages seen in this session: <span id="views">${views}</span>.`}</footer>
</body>
</html>`}`
}

/**
 * The catalogue, one "add to cart" form per product.
 * @param {{ products: { sku: string, name: string, priceCents: number }[], csrf: string }} p
 */
export const shopPage = ({ products, csrf }) => html`<ul>
${products.map(
  (p) => html`<li>
  <form method="post" action="/cart/add" data-sku="${p.sku}">${csrfField(csrf)}
    <input type="hidden" name="sku" value="${p.sku}">
    <strong>${p.name}</strong> ${formatPrice(p.priceCents)}
    <input type="number" name="qty" value="1" min="1" max="99" aria-label="Quantity of ${p.name}">
    <button>Add to cart</button>
  </form>
</li>`,
)}
</ul>`

/**
 * The cart with a quantity form and a remove button per line.
 * @param {{ lines: { sku: string, name: string, qty: number, lineCents: number }[],
 *   totalCents: number, csrf: string }} p
 */
export const cartPage = ({ lines, totalCents, csrf }) =>
  lines.length === 0
    ? html`<p id="empty-cart">Your cart is empty. <a href="/">Go shopping</a>.</p>`
    : html`<table>
<tr><th>Product</th><th>Quantity</th><th>Price</th><th></th></tr>
${lines.map(
  (l) => html`<tr data-sku="${l.sku}">
  <td>${l.name}</td>
  <td><form method="post" action="/cart/update">${csrfField(csrf)}
    <input type="hidden" name="sku" value="${l.sku}">
    <input type="number" name="qty" value="${l.qty}" min="1" max="99" aria-label="Quantity of ${l.name}">
    <button>Update</button></form></td>
  <td>${formatPrice(l.lineCents)}</td>
  <td><form method="post" action="/cart/remove">${csrfField(csrf)}
    <input type="hidden" name="sku" value="${l.sku}"><button>Remove</button></form></td>
</tr>`,
)}
<tr><th>Total</th><td></td><th id="cart-total">${formatPrice(totalCents)}</th><td></td></tr>
</table>`

/**
 * The sign-in form, with the demo accounts spelled out.
 * @param {{ csrf: string, demoUsers: { username: string, password: string }[] }} p
 */
export const loginPage = ({ csrf, demoUsers }) => html`<form method="post" action="/login">
${csrfField(csrf)}
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>Sign in</button></p>
</form>
<p>Demo accounts: ${demoUsers.map((u, i) => html`${i > 0 && ', '}<code>${u.username}</code> / <code>${u.password}</code>`)}.
Your cart is kept when you sign in.</p>`

/** @param {{ user: { name: string, username: string } }} p */
export const accountPage = ({ user }) => html`<p id="account" data-private>
Signed in as <strong>${user.name}</strong> (<code>${user.username}</code>).</p>
<p>This page is private: it is sent with <code>Cache-Control: no-store</code>, so after you sign out
the back button asks the server again instead of showing it from the cache.</p>`

/**
 * The session as the server sees it.
 * @param {{ id: string, expires: string, data: unknown }} p
 */
export const sessionPage = ({ id, expires, data }) => html`<dl>
<dt>Session id (shortened)</dt><dd><code id="session-id">${id}</code></dd>
<dt>Expires</dt><dd id="session-expires">${expires}</dd>
</dl>
<p>Data, after validation by the schema:</p>
<pre id="session-data">${JSON.stringify(data, null, 2)}</pre>
<p>Reload to watch the visit counter and the expiry move.</p>`

/** @param {{ message: string }} p */
export const errorPage = ({ message }) =>
  html`<p id="error-message">${message}</p><p><a href="/">Back to the shop</a></p>`
