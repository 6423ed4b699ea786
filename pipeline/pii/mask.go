package pii

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Masked is what Mask shows of a value it hides whole.
const Masked = "***"

// Mask hides a value of a personal column for display (report, plan), keeping only what
// tells a reader which kind of value it was:
//
//   - an e-mail address keeps the first character of its local part and of its domain's first
//     label, and its top-level domain: john.doe@acme.example.test → j***@a***.test;
//   - any other value keeps its first character when that is a letter and at least three
//     more characters follow: Johnson → J***;
//   - everything else — short values, numbers, dates, phone numbers, anything starting with a
//     digit or a sign — is *** whole.
//
// The stars never depend on the value's length, and no digit is ever shown.
func Mask(s string) string {
	if isEmail(s) {
		at := strings.LastIndexByte(s, '@')
		local, domain := s[:at], s[at+1:]
		labels := strings.Split(domain, ".")
		return maskWord(local) + "@" + maskWord(labels[0]) + "." + labels[len(labels)-1]
	}
	return maskWord(s)
}

// maskWord keeps the first character of a word of four characters or more that starts with
// a letter.
func maskWord(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsLetter(r) || utf8.RuneCountInString(s[size:]) < 3 {
		return Masked
	}
	return string(r) + Masked
}
