package core

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FilterField is the part of an item a filter condition looks at.
type FilterField string

// The fields a filter condition can name. Any looks everywhere.
const (
	FieldAny      FilterField = ""
	FieldPlace    FilterField = "place"
	FieldOrg      FilterField = "org"
	FieldCategory FilterField = "category"
	FieldContract FilterField = "contract"
)

// filterKeys maps the words people type before a colon, in French, English
// and Spanish, to fields.
var filterKeys = map[string]FilterField{
	"lieu": FieldPlace, "place": FieldPlace, "ville": FieldPlace, "where": FieldPlace, "lugar": FieldPlace, "region": FieldPlace,
	"org": FieldOrg, "employeur": FieldOrg, "employer": FieldOrg, "organisateur": FieldOrg, "organiser": FieldOrg,
	"organizer": FieldOrg, "administration": FieldOrg, "organismo": FieldOrg, "ministere": FieldOrg,
	"cat": FieldCategory, "categorie": FieldCategory, "category": FieldCategory, "grade": FieldCategory, "categoria": FieldCategory,
	"contrat": FieldContract, "contract": FieldContract, "contrato": FieldContract,
}

// Condition is one part of a filter: a folded text that must start a word
// of the named field.
type Condition struct {
	Field FilterField
	Text  string
}

// Filter selects bulletin items: every condition must hold. The empty
// filter selects everything.
type Filter struct {
	Conditions []Condition
}

// Limits on filters.
const (
	MaxConditions   = 10
	MaxConditionLen = 80
)

// ParseFilter reads a filter as people type it: words that must appear
// anywhere ("informatique"), words for one field ("lieu:Lyon", "org:DINUM",
// "cat:A", "contrat:CDD"), quotes around words that go together
// ("lieu:\"Saint-Denis\"", "\"marchés publics\""). Case and accents do not
// matter.
func ParseFilter(s string) (Filter, error) {
	if !utf8.ValidString(s) {
		return Filter{}, fmt.Errorf("%w: filter is not valid UTF-8", ErrInvalid)
	}
	var f Filter
	for _, tok := range tokens(s) {
		field := FieldAny
		if key, value, ok := strings.Cut(tok, ":"); ok {
			if k, known := filterKeys[Fold(key)]; known {
				field, tok = k, value
			}
		}
		text := Fold(strings.ReplaceAll(tok, `"`, " "))
		if text == "" {
			continue
		}
		if len(text) > MaxConditionLen {
			return Filter{}, fmt.Errorf("%w: filter word %q is longer than %d bytes", ErrInvalid, excerptOf(text, 20), MaxConditionLen)
		}
		if len(f.Conditions) == MaxConditions {
			return Filter{}, fmt.Errorf("%w: filter has more than %d conditions", ErrInvalid, MaxConditions)
		}
		f.Conditions = append(f.Conditions, Condition{Field: field, Text: text})
	}
	return f, nil
}

// tokens splits s at spaces outside double quotes: `lieu:"Saint Denis" rh`
// is two tokens. An unclosed quote runs to the end.
func tokens(s string) []string {
	var out []string
	var b strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			b.WriteRune(r)
		case unicode.IsSpace(r) && !quoted:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func excerptOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// String writes the filter back in the form ParseFilter reads, folded.
func (f Filter) String() string {
	parts := make([]string, len(f.Conditions))
	for i, c := range f.Conditions {
		text := c.Text
		if strings.Contains(text, " ") {
			text = `"` + text + `"`
		}
		if c.Field != FieldAny {
			text = string(c.Field) + ":" + text
		}
		parts[i] = text
	}
	return strings.Join(parts, " ")
}

// ItemFields is the text of an item that filters look at.
type ItemFields struct {
	Title, Org, Place, Category, Contract, Description string
}

// Matches reports whether every condition of f holds for the item: each
// condition's text starts a word of its field ("dev" and "web" both match
// "Développeur web senior"; the quoted "web sen" does too, "senior web"
// does not).
func (f Filter) Matches(it ItemFields) bool {
	for _, c := range f.Conditions {
		var hay string
		switch c.Field {
		case FieldPlace:
			hay = it.Place
		case FieldOrg:
			hay = it.Org
		case FieldCategory:
			hay = it.Category
		case FieldContract:
			hay = it.Contract
		default:
			hay = it.Title + " " + it.Org + " " + it.Place + " " + it.Category + " " + it.Contract + " " + it.Description
		}
		if !strings.Contains(" "+Fold(hay), " "+c.Text) {
			return false
		}
	}
	return true
}

// Fields returns the text of the offer that filters look at.
func (o Offer) Fields() ItemFields {
	return ItemFields{Title: o.Title, Org: o.Employer, Place: o.Location, Category: o.Category, Contract: o.Contract, Description: o.Description}
}

// Fields returns the text of the event that filters look at.
func (e Event) Fields() ItemFields {
	return ItemFields{Title: e.Title, Org: e.Organiser, Place: e.Place, Description: e.Description}
}
