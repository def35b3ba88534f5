package rules

import "github.com/kubelet-doctor/kubelet-doctor/internal/redact"

// Redact removes secrets from s: the reviewed list of internal/redact
// (tokens, keys, passwords, JWTs, PEM, URL credentials...). Every excerpt the
// classifier takes from a line goes through it before it reaches a Verdict.
func Redact(s string) string { return redact.String(s) }
