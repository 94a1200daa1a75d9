// Package openapi keeps core/httpapi/openapi.json true; it holds only tests. They start real
// agents, send every route good and bad requests over loopback as raw HTTP, and validate each
// request and each answer (status, headers, content type, body) against the document with
// kin-openapi. They fail when an answer does not match, when the document lists a route, a
// status or an error code that no answer showed, and when the agent serves a route or a
// method the document does not list.
package openapi
