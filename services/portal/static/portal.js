// An enhancement only: every page works without it. Loaded as a module, so it runs only in browsers
// GOV.UK Frontend supports (the template's inline snippet, which a strict CSP forbids, does this there).
import { initAll } from '/static/govuk/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()
