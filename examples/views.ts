// Server-rendered pages of the example app: plain template literals, no template engine.
// Every interpolation goes through `html`, which escapes it unless it is already markup, so user
// input (a product id typed into a form, a user name) can never inject HTML (OWASP XSS rule 1).

/** Markup that is already safe to embed. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value
  }
}

/** Escape text for HTML content and double-quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`)
}

/**
 * Tagged template: escapes every value except nested `html` results; arrays are joined, and
 * `null`, `undefined` and `false` render as nothing (so `${cond && html`...`}` works).
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? ''
  values.forEach((value, i) => {
    out += renderValue(value) + (strings[i + 1] ?? '')
  })
  return new Html(out)
}

function renderValue(value: unknown): string {
  if (value instanceof Html) return value.value
  if (Array.isArray(value)) return value.map(renderValue).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(value)
}

const money = new Intl.NumberFormat('en-IE', { style: 'currency', currency: 'EUR' })
export const formatPrice = (cents: number): string => money.format(cents / 100)

/** The hidden field every form posts back (checked against the session by the app). */
const csrfField = (token: string): Html => html`<input type="hidden" name="_csrf" value="${token}">`

/** One message shown at the top of a page. */
export interface Flash {
  readonly kind: 'error' | 'info'
  readonly text: string
}

/** What every page shows around its content. */
export interface Page {
  readonly title: string
  readonly body: Html
  readonly user?: { readonly name: string } | undefined
  readonly cartCount?: number
  readonly views?: number | undefined
  readonly csrf?: string | undefined
  readonly flashes?: readonly Flash[]
}

/** The page frame: navigation, flash messages, content. */
export function layout({
  title,
  body,
  user,
  cartCount = 0,
  views,
  csrf = '',
  flashes = [],
}: Page): string {
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

/** A product of the shop; prices in cents, so totals stay exact. */
export interface Product {
  readonly sku: string
  readonly name: string
  readonly priceCents: number
}

/** One line of the cart page. */
export interface CartLine {
  readonly sku: string
  readonly name: string
  readonly qty: number
  readonly lineCents: number
}

/** The catalogue, one "add to cart" form per product. */
export const shopPage = ({
  products,
  csrf,
}: {
  products: readonly Product[]
  csrf: string
}): Html => html`<ul>
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

/** The cart with a quantity form and a remove button per line. */
export const cartPage = ({
  lines,
  totalCents,
  csrf,
}: {
  lines: readonly CartLine[]
  totalCents: number
  csrf: string
}): Html =>
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

/** The sign-in form, with the demo accounts spelled out. */
export const loginPage = ({
  csrf,
  demoUsers,
}: {
  csrf: string
  demoUsers: readonly { username: string; password: string }[]
}): Html => html`<form method="post" action="/login">
${csrfField(csrf)}
<p><label>User name <input name="username" autocomplete="username" required></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
<p><button>Sign in</button></p>
</form>
<p>Demo accounts: ${demoUsers.map((u, i) => html`${i > 0 && ', '}<code>${u.username}</code> / <code>${u.password}</code>`)}.
Your cart is kept when you sign in.</p>`

/** One signed-in session of the user, as the account page lists it (typed-session's OwnedSession). */
export interface SignedInSession {
  readonly handle: string
  readonly createdAt: Date
  readonly lastActiveAt: Date
  readonly label: string | undefined
  readonly current: boolean
}

const when = new Intl.DateTimeFormat('en-IE', { dateStyle: 'medium', timeStyle: 'short' })

export const accountPage = ({
  user,
  sessions,
  csrf,
}: {
  user: { name: string; username: string }
  /** `undefined` when the store keeps no session index. */
  sessions: readonly SignedInSession[] | undefined
  csrf: string
}): Html => html`<p id="account" data-private>
Signed in as <strong>${user.name}</strong> (<code>${user.username}</code>).</p>
<h2>Where you are signed in</h2>
${
  sessions === undefined
    ? html`<p id="no-session-list">This session store cannot list sessions.</p>`
    : html`<table id="sessions">
<tr><th>Device</th><th>Signed in</th><th>Last active</th><th></th></tr>
${sessions.map(
  (s) => html`<tr data-session="${s.current ? 'current' : 'other'}">
  <td>${s.label ?? 'Unknown device'}${s.current && html` <strong>(this device)</strong>`}</td>
  <td>${when.format(s.createdAt)}</td>
  <td>${when.format(s.lastActiveAt)}</td>
  <td>${
    !s.current &&
    html`<form method="post" action="/account/sessions/revoke">${csrfField(csrf)}
    <input type="hidden" name="handle" value="${s.handle}"><button>End session</button></form>`
  }</td>
</tr>`,
)}
</table>
${
  sessions.length > 1 &&
  html`<form method="post" action="/account/sessions/sign-out-others">${csrfField(csrf)}
<button>Sign out other devices</button></form>`
}`
}
<p>This page is private: it is sent with <code>Cache-Control: no-store</code>, so after you sign out
the back button asks the server again instead of showing it from the cache.</p>`

/** The session as the server sees it. */
export const sessionPage = ({
  id,
  expires,
  data,
}: {
  id: string
  expires: string
  data: unknown
}): Html => html`<dl>
<dt>Session id (shortened)</dt><dd><code id="session-id">${id}</code></dd>
<dt>Expires</dt><dd id="session-expires">${expires}</dd>
</dl>
<p>Data, after validation by the schema:</p>
<pre id="session-data">${JSON.stringify(data, null, 2)}</pre>
<p>Reload to watch the visit counter and the expiry move.</p>`

export const errorPage = ({ message }: { message: string }): Html =>
  html`<p id="error-message">${message}</p><p><a href="/">Back to the shop</a></p>`
