// Package redact removes secrets from log text before it reaches any
// output or the state file. What it removes is a reviewed list (see
// String), each form tested by a canary (redact_test.go) and fuzzed
// (FuzzRedact: a planted canary never survives). It errs on the side of
// removing too much: a condition message that lost a word is a smaller harm
// than a credential published on the Node object.
package redact

import (
	"regexp"
	"strings"
	"sync"
)

// Placeholders written in place of what was removed.
const (
	Redacted = "<redacted>"
	Token    = "<token>"
	PEM      = "<pem>"
	JWT      = "<jwt>"
	AWSKeyID = "<aws-key-id>"
)

// String returns s without the secrets it recognises:
//
//   - PEM blocks (-----BEGIN ...-----, to the END line or the end of s) and
//     base64-encoded PEM (LS0tLS1CRUdJT...: kubeconfig *-data fields);
//   - JWTs anywhere (eyJ... with its dots), service-account tokens among them;
//   - AWS access key ids (AKIA, ASIA and the other 4-letter prefixes + 16);
//   - bootstrap tokens, [a-z0-9]{6}.[a-z0-9]{16}, anywhere;
//   - credentials in URLs, scheme://user:password@ with any characters in
//     the password (an '@' too: up to the last '@' of the word), and
//     scheme://token@;
//   - Authorization header values (Basic, Bearer, Digest, ...) and
//     "Bearer <value>" anywhere;
//   - key=value, key: value, key = value, "key": "value" (JSON, YAML,
//     klog's escaped quotes) where the key names a secret: password,
//     passwd, secret (client_secret, aws_secret_access_key), token
//     (access_token, refresh_token), api_key, access_key, private_key,
//     client_key, session_key, *-key-data, *-certificate-data; keys ending
//     in file, path, dir or name keep their value (a path is no secret),
//     and so does a bare `secret:` (prose: "nothing secret: 10.0.0.1"),
//     unlike `secret=`, `"secret":` and compound keys;
//   - --flag value and --flag=value for flags naming a token, secret or
//     password.
//
// Each pattern runs only when a cheap look-up says it may match.
func String(s string) string {
	if strings.Contains(s, "-----BEGIN") {
		s = re().pem.ReplaceAllString(s, PEM)
		s = re().pemStart.ReplaceAllString(s, PEM)
	}
	if strings.Contains(s, "LS0tLS1CRUdJT") {
		s = re().b64PEM.ReplaceAllString(s, PEM)
	}
	if strings.Contains(s, "eyJ") {
		s = re().jwt.ReplaceAllString(s, JWT)
	}
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		s = re().urlPass.ReplaceAllString(s, "${1}"+Redacted+"@")
		s = re().urlUser.ReplaceAllString(s, "${1}"+Redacted+"@")
	}
	if hasAWSPrefix(s) {
		s = re().awsKeyID.ReplaceAllString(s, AWSKeyID)
	}
	if containsFold(s, "authorization") {
		s = re().authHeader.ReplaceAllString(s, "${1}"+Redacted)
	}
	if containsFold(s, "bearer") {
		s = re().bearer.ReplaceAllString(s, "$1 "+Redacted)
	}
	if hasSecretKV(s) {
		s = replaceKV(s)
	}
	if strings.Contains(s, "--") && hasSecretWord(s) {
		s = re().flag.ReplaceAllString(s, "${1}"+Redacted)
	}
	return redactTokens(s)
}

// value is a secret's value: klog-escaped quotes, double or single quotes
// (to the closing one, escapes honoured), or a bare word.
const value = `(?:\\"(?:[^"\\]|\\[^"])*\\"|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'&,;}\])\\]+)`

// patterns are compiled on first use (~0.2 ms): most plugin runs redact
// nothing, and each run is a fresh process.
type patterns struct {
	pem, pemStart, b64PEM, jwt, awsKeyID, urlPass, urlUser, authHeader, bearer, kv, flag, keepKey *regexp.Regexp
}

var re = sync.OnceValue(func() *patterns {
	return &patterns{
		pem:      regexp.MustCompile(`-----BEGIN [A-Za-z0-9 ]*-----(?s:.*?)-----END [A-Za-z0-9 ]*-----`),
		pemStart: regexp.MustCompile(`-----BEGIN [A-Za-z0-9 ]*(?s:.*)`),
		b64PEM:   regexp.MustCompile(`LS0tLS1CRUdJT[A-Za-z0-9+/=]*`),
		jwt:      regexp.MustCompile(`eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){0,2}`),
		awsKeyID: regexp.MustCompile(`(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA|APKA)[A-Z0-9]{16}`),
		// Userinfo with a password: keep the user, drop the rest up to
		// the last '@' of the word (passwords are not always
		// percent-encoded).
		urlPass: regexp.MustCompile(`(://[^\s"'/@:]*:)[^\s"']*@`),
		// Userinfo without a password is a token (https://TOKEN@host).
		urlUser:    regexp.MustCompile(`(://)[^\s"'/@:]+@`),
		authHeader: regexp.MustCompile(`(?i)(authorization\\?["']?\s*[:=]\s*\\?["']?(?:(?:basic|bearer|digest|negotiate|token|aws4-hmac-sha256)\s+)?)` + value),
		bearer:     regexp.MustCompile(`(?i)\b(bearer)\s+[^\s"',\\]+`),
		kv:         regexp.MustCompile(`(?i)([\w.-]*(?:passw(?:or)?d|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?key|session[_-]?key|key[_-]?data|certificate[_-]?data)[\w.-]*)(\\?["']?\s*[:=]\s*)` + value),
		flag:       regexp.MustCompile(`(?i)(--[\w-]*(?:token|secret|passw(?:or)?d)(?:=|\s+))` + value),
		keepKey:    regexp.MustCompile(`(?i)(?:file|path|dir|name)$`),
	}
})

// replaceKV redacts the values of the kv pattern's matches whose key is not a
// reference to a file or name.
func replaceKV(s string) string {
	ms := re().kv.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		key, sep := s[m[2]:m[3]], s[m[4]:m[5]]
		if re().keepKey.MatchString(key) || (strings.EqualFold(key, "secret") && sep[0] != '"' && sep[0] != '\\' && !strings.Contains(sep, "=")) {
			continue
		}
		b.WriteString(s[last:m[5]]) // up to the end of the separator
		b.WriteString(Redacted)
		last = m[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretWords are what the kv and flag patterns' keys contain: passw(or)d,
// secret, token, *key* (api_key, access_key, key-data...) and
// certificate(-data). Redaction is on problem lines only, but those are
// many in a failing node's window: the regexps run only where a word is
// followed by what could be a separator.
var secretWords = []string{"passw", "secret", "token", "key", "certificate"}

func hasSecretWord(s string) bool {
	for _, w := range secretWords {
		if containsFold(s, w) {
			return true
		}
	}
	return false
}

// hasSecretKV reports whether a secret word is followed, after more key
// characters, an optional backslash and quote and blanks, by ':' or '=':
// a superset of what the kv pattern matches.
func hasSecretKV(s string) bool {
	for _, w := range secretWords {
		for i := indexFold(s, w, 0); i >= 0; i = indexFold(s, w, i+1) {
			j := i + len(w)
			for j < len(s) && isKeyChar(s[j]) {
				j++
			}
			if j < len(s) && s[j] == '\\' {
				j++
			}
			if j < len(s) && (s[j] == '"' || s[j] == '\'') {
				j++
			}
			for j < len(s) && isSpace(s[j]) {
				j++
			}
			if j < len(s) && (s[j] == ':' || s[j] == '=') {
				return true
			}
		}
	}
	return false
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// indexFold returns the index of the lower-case ASCII word w in s at or
// after from, in any case; -1 when there is none.
func indexFold(s, w string, from int) int {
	for i := from; i+len(w) <= len(s); i++ {
		if s[i]|0x20 == w[0] && strings.EqualFold(s[i:i+len(w)], w) {
			return i
		}
	}
	return -1
}

func hasAWSPrefix(s string) bool {
	for i := 0; i+4 <= len(s); i++ {
		if s[i] == 'A' && s[i+1] >= 'B' && s[i+1] <= 'S' && s[i+2] >= 'A' && s[i+2] <= 'Z' && s[i+3] == 'A' {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII word w in
// any case, without allocating.
func containsFold(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i]|0x20 == w[0] && strings.EqualFold(s[i:i+len(w)], w) {
			return true
		}
	}
	return false
}

func isTokenChar(b byte) bool { return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' }

// redactTokens replaces each bootstrap token, [a-z0-9]{6}\.[a-z0-9]{16},
// with Token, scanning left to right like a regexp's ReplaceAll.
func redactTokens(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+23 <= len(s); i++ {
		if s[i+6] != '.' {
			continue
		}
		ok := true
		for j := 0; j < 23 && ok; j++ {
			ok = j == 6 || isTokenChar(s[i+j])
		}
		if !ok {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(Token)
		last = i + 23
		i = last - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
