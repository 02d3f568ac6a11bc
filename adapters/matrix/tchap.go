package matrix

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseTchapID derives a readable name and the administration's mail
// domain from a Tchap user id, whose localpart is the agent's e-mail
// address with '@' written '-':
//
//	@jean-pierre.dupont-developpement-durable.gouv.fr:agent.dev-durable.tchap.gouv.fr
//	-> "Jean-Pierre Dupont", "developpement-durable.gouv.fr"
//
// Dashes are ambiguous; the address is cut at the first '-' after the first
// '.' of the localpart (the "first.last" of the name), or at the first '-'
// when there is none after a dot. A double surname with a dash ("dupont-durand")
// is therefore misread; display names, when set, are better. ok is false
// when the id does not look like a Tchap id.
func ParseTchapID(user string) (name, domain string, ok bool) {
	local, _, found := strings.Cut(strings.TrimPrefix(user, "@"), ":")
	if !found || !strings.HasPrefix(user, "@") || !utf8.ValidString(local) {
		return "", "", false
	}
	cut := -1
	if dot := strings.IndexByte(local, '.'); dot >= 0 {
		if i := strings.IndexByte(local[dot:], '-'); i >= 0 {
			cut = dot + i
		}
	}
	if cut < 0 {
		if cut = strings.IndexByte(local, '-'); cut < 0 {
			return "", "", false
		}
	}
	mailbox, domain := local[:cut], local[cut+1:]
	if mailbox == "" || !validMailDomain(domain) {
		return "", "", false
	}
	var words []string
	for w := range strings.FieldsFuncSeq(mailbox, func(r rune) bool { return r == '.' || r == '_' }) {
		words = append(words, titleWord(w))
	}
	if len(words) == 0 {
		return "", "", false
	}
	return strings.Join(words, " "), domain, true
}

// validMailDomain accepts names such as interieur.gouv.fr: dot-separated
// labels of letters, digits and dashes, at least two.
func validMailDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// titleWord capitalises each dash-separated part: jean-pierre -> Jean-Pierre.
func titleWord(w string) string {
	parts := strings.Split(w, "-")
	for i, p := range parts {
		if r, size := utf8.DecodeRuneInString(p); size > 0 {
			parts[i] = string(unicode.ToUpper(r)) + p[size:]
		}
	}
	return strings.Join(parts, "-")
}
