// Package server is Rotor's HTTP edge: Echo routes, middleware, and the
// one place where fosite is composed. It turns storage and key errors into
// OAuth responses (RFC 6749 §5.2) and owns everything about requests and
// responses: form strictness, headers, status codes, logging.
//
// It does not persist anything itself (package storage) and does not own
// key material (package keys).
package server
