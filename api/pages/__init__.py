"""The applicant's pages: server-rendered HTML in Bahasa Indonesia (English on request).

Each module serves one part of the journey and lists its routes in `ROUTES`; `render.page`
renders every page with the language, the CSRF token and the security headers.
"""
