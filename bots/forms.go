package bots

import (
	"strings"
)

// Forms are what a platform with modals (Slack, Discord) shows to post a
// job offer or an event field by field. A button of kind ActionForm whose
// Form names one of them opens it; the answers become the same command a
// person would type, so forms and commands share one path.

// Form is a modal with several inputs.
type Form struct {
	// Ref names the form and its language, such as "offer/fr": adapters
	// keep it in the button's id and find the form again with LookupForm.
	Ref   string
	Title string
	// Command is the command the answers complete, without prefix.
	Command string
	Fields  []FormField
	Submit  string
}

// FormField is one input of a form. Discord shows five at most: forms keep
// to five.
type FormField struct {
	// Name is the field as written in the command ("employeur"); empty for
	// the title, which comes first without a name.
	Name        string
	Label       string
	Placeholder string
	Multiline   bool
	Required    bool
	MaxLen      int
}

// MaxFormFields is how many inputs a form has at most (Discord's limit).
const MaxFormFields = 5

var forms = map[string]Form{
	"offer/fr": {Ref: "offer/fr", Title: "Publier une offre", Command: "offer", Submit: "Publier", Fields: []FormField{
		{Label: "Intitulé du poste", Placeholder: "Chargé·e de mission achats", Required: true, MaxLen: 200},
		{Name: "employeur", Label: "Employeur", Placeholder: "DINUM", MaxLen: 200},
		{Name: "lieu", Label: "Lieu", Placeholder: "Paris", MaxLen: 200},
		{Name: "clôture", Label: "Date de clôture", Placeholder: "31/12/2026", MaxLen: 40},
		{Name: "description", Label: "Description et autres champs, un par ligne", Multiline: true, MaxLen: 3000,
			Placeholder: "Missions, profil…\nlien: https://…\ncontrat: CDD 3 ans\ncatégorie: A\ntélétravail: partiel"},
	}},
	"offer/en": {Ref: "offer/en", Title: "Post a job offer", Command: "offer", Submit: "Post", Fields: []FormField{
		{Label: "Job title", Placeholder: "Procurement officer", Required: true, MaxLen: 200},
		{Name: "employer", Label: "Employer", Placeholder: "DINUM", MaxLen: 200},
		{Name: "location", Label: "Location", Placeholder: "Paris", MaxLen: 200},
		{Name: "closes", Label: "Closing date", Placeholder: "2026-12-31", MaxLen: 40},
		{Name: "description", Label: "Description, other fields one a line", Multiline: true, MaxLen: 3000,
			Placeholder: "Duties, profile…\nlink: https://…\ncontract: 3-year fixed term\ncategory: A\nremote: partial"},
	}},
	"event/fr": {Ref: "event/fr", Title: "Annoncer un événement", Command: "event", Submit: "Publier", Fields: []FormField{
		{Label: "Titre", Placeholder: "Atelier achats responsables", Required: true, MaxLen: 200},
		{Name: "début", Label: "Début", Placeholder: "03/12/2026 14h", Required: true, MaxLen: 40},
		{Name: "fin", Label: "Fin ou durée", Placeholder: "16h30", MaxLen: 40},
		{Name: "lieu", Label: "Lieu", Placeholder: "Lyon, salle 2", MaxLen: 200},
		{Name: "description", Label: "Description et autres champs, un par ligne", Multiline: true, MaxLen: 3000,
			Placeholder: "Programme…\nvisio: https://…\nplaces: 30\norganisateur: DITP"},
	}},
	"event/en": {Ref: "event/en", Title: "Announce an event", Command: "event", Submit: "Post", Fields: []FormField{
		{Label: "Title", Placeholder: "Responsible procurement workshop", Required: true, MaxLen: 200},
		{Name: "start", Label: "Start", Placeholder: "2026-12-03 14:00", Required: true, MaxLen: 40},
		{Name: "end", Label: "End or duration", Placeholder: "16:30", MaxLen: 40},
		{Name: "place", Label: "Place", Placeholder: "Lyon, room 2", MaxLen: 200},
		{Name: "description", Label: "Description, other fields one a line", Multiline: true, MaxLen: 3000,
			Placeholder: "Programme…\nlink: https://…\ncapacity: 30\norganiser: DITP"},
	}},
}

// LookupForm returns the form ref names.
func LookupForm(ref string) (Form, bool) {
	f, ok := forms[ref]
	return f, ok
}

// CommandText builds the command a submitted form stands for, without
// prefix: the command, the first answer (the title), then " | name: value"
// for every other answer given, in the form's order. values holds the
// answers by position. " | " inside an answer is written " / ", so that an
// answer cannot add fields.
func (f Form) CommandText(values []string) string {
	var b strings.Builder
	b.WriteString(f.Command)
	for i, field := range f.Fields {
		if i >= len(values) {
			break
		}
		// Spaces are squashed (tabs and no-break spaces too) and a lone
		// "|" becomes "/", wherever it stands, so that no answer can add a
		// field: the separator " | " needs a lone "|".
		lines := strings.Split(strings.ReplaceAll(values[i], "\r\n", "\n"), "\n")
		for j, line := range lines {
			words := strings.Fields(line)
			for k, w := range words {
				if w == "|" {
					words[k] = "/"
				}
			}
			lines[j] = strings.Join(words, " ")
		}
		sep := "\n"
		if !field.Multiline {
			sep = " "
		}
		v := strings.TrimSpace(strings.Join(lines, sep))
		if v == "" {
			continue
		}
		if field.Name == "" {
			// A title that reads like "field: value" is named, so that it
			// stays the title.
			if strings.Contains(v, ":") {
				v = "title: " + v
			}
			b.WriteString(" " + v)
			continue
		}
		b.WriteString(" | " + field.Name + ": " + v)
	}
	return b.String()
}

// formAction is the button that opens form ref.
func formAction(ref, label string) Action {
	f := forms[ref]
	return Action{Kind: ActionForm, ID: "form:" + ref, Label: label, Command: f.Command, Form: ref, FormTitle: f.Title}
}
