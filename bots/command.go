package bots

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"entraide/core"
)

// MaxCommandLen bounds the text of one message the bot reads, in bytes.
const MaxCommandLen = 16 * 1024

// Command is one thing people can ask the bot to do.
type Command struct {
	// Name is the command's canonical name, without prefix.
	Name string
	// Aliases are other names that run the command, such as a French one.
	Aliases []string
	// Handle runs the command on the bot handling the event (which may work
	// in a transaction, see Bot.In) and returns what to send.
	Handle func(b *Bot, ctx context.Context, r *Request) ([]Outgoing, error)
}

// Request is a command being handled: the event, the command's arguments
// and the language to answer in.
type Request struct {
	Event Event
	// Name is the command name as typed, folded.
	Name string
	// Args is the text after the command name, trimmed.
	Args string
	// Lang is the language to reply in.
	Lang string
}

// ParseCommand splits text into a command name and its arguments when text
// starts with prefix. The name is lowercased and its accents removed, so
// "!Réponse" and "!reponse" are the same command. A prefix alone, or a
// prefix followed by a space, is not a command.
func ParseCommand(prefix, text string) (name, args string, ok bool) {
	text = strings.TrimLeftFunc(text, unicode.IsSpace)
	if prefix == "" || !strings.HasPrefix(text, prefix) {
		return "", "", false
	}
	rest := text[len(prefix):]
	end := strings.IndexFunc(rest, unicode.IsSpace)
	if end < 0 {
		end = len(rest)
	}
	raw := rest[:end]
	if raw == "" || !utf8.ValidString(raw) {
		return "", "", false
	}
	name = core.Fold(raw)
	if name == "" || strings.ContainsRune(name, ' ') {
		return "", "", false
	}
	return name, strings.TrimSpace(rest[end:]), true
}

// builtinCommands returns entraide's commands. Adapters recognise their
// names through IsCommandWord, so a platform's mention or slash command
// knows the same words as the bot.
func builtinCommands() []*Command {
	return []*Command{
		{Name: "ask", Aliases: []string{"question", "demande", "demander", "poser", "pregunta", "preguntar"}, Handle: (*Bot).ask},
		{Name: "anon", Aliases: []string{"anonyme", "anonymous"}, Handle: (*Bot).anon},
		{Name: "expert", Aliases: []string{"expertise"}, Handle: (*Bot).expert},
		{Name: "answer", Aliases: []string{"reponse", "repondre", "respuesta"}, Handle: (*Bot).answer},
		{Name: "accept", Aliases: []string{"accepter", "choisir", "aceptar"}, Handle: (*Bot).accept},
		{Name: "resolve", Aliases: []string{"resolu", "resolved", "resoudre"}, Handle: (*Bot).resolve},
		{Name: "pass", Aliases: []string{"passer", "decline"}, Handle: (*Bot).pass},
		{Name: "snooze", Aliases: []string{"plustard", "later", "rappel"}, Handle: (*Bot).snooze},
		{Name: "away", Aliases: []string{"absent", "absence"}, Handle: (*Bot).away},
		{Name: "back", Aliases: []string{"retour", "present"}, Handle: (*Bot).back},
		{Name: "quiet", Aliases: []string{"calme", "silence"}, Handle: (*Bot).quiet},
		{Name: "mine", Aliases: []string{"mes", "moi", "status"}, Handle: (*Bot).mine},
		{Name: "search", Aliases: []string{"chercher", "recherche", "buscar"}, Handle: (*Bot).search},
		{Name: "offer", Aliases: []string{"offre", "emploi", "job", "oferta"}, Handle: (*Bot).postOffer},
		{Name: "offers", Aliases: []string{"offres", "emplois", "jobs", "ofertas"}, Handle: (*Bot).listOffers},
		{Name: "save", Aliases: []string{"garder", "enregistrer", "guardar"}, Handle: (*Bot).save},
		{Name: "event", Aliases: []string{"evenement", "evento"}, Handle: (*Bot).postEvent},
		{Name: "events", Aliases: []string{"evenements", "agenda", "eventos"}, Handle: (*Bot).listEvents},
		{Name: "rsvp", Aliases: []string{"participer", "participe", "inscription", "asistir"}, Handle: (*Bot).rsvp},
		{Name: "subscribe", Aliases: []string{"abonner", "sabonner", "abonnement", "suscribir"}, Handle: (*Bot).subscribe},
		{Name: "unsubscribe", Aliases: []string{"desabonner", "sedesabonner", "desuscribir"}, Handle: (*Bot).unsubscribe},
		{Name: "subscriptions", Aliases: []string{"abonnements", "suscripciones"}, Handle: (*Bot).subscriptions},
		{Name: "announce", Aliases: []string{"annonces", "annoncer", "anuncios"}, Handle: (*Bot).announce},
		{Name: "posting", Aliases: []string{"publication", "publier", "publicacion"}, Handle: (*Bot).posting},
		{Name: "role", Aliases: []string{"roles", "rol"}, Handle: (*Bot).role},
		{Name: "digest", Aliases: []string{"lettre", "synthese", "boletin"}, Handle: (*Bot).digest},
		{Name: "stats", Aliases: []string{"chiffres", "statistiques", "estadisticas"}, Handle: (*Bot).stats},
		{Name: "web", Aliases: []string{"tableau", "dashboard"}, Handle: (*Bot).web},
		{Name: "link", Aliases: []string{"lier", "relier", "vincular", "comptes", "accounts"}, Handle: (*Bot).link},
		{Name: "mydata", Aliases: []string{"mesdonnees", "donnees", "misdatos", "export", "exporter"}, Handle: (*Bot).mydata},
		{Name: "forget", Aliases: []string{"oublier", "effacer", "olvidar", "forgetme"}, Handle: (*Bot).forget},
		{Name: "community", Aliases: []string{"communaute", "comunidad"}, Handle: (*Bot).community},
		{Name: "audit", Aliases: []string{"journal", "auditoria"}, Handle: (*Bot).audit},
		{Name: "lang", Aliases: []string{"langue", "language"}, Handle: (*Bot).lang},
		{Name: "help", Aliases: []string{"aide", "ayuda"}, Handle: (*Bot).help},
	}
}

// commandWords holds every name and alias of the built-in commands.
var commandWords = func() map[string]string {
	words := map[string]string{}
	for _, c := range builtinCommands() {
		for _, name := range append([]string{c.Name}, c.Aliases...) {
			words[core.Fold(name)] = c.Name
		}
	}
	return words
}()

// closestCommand returns the command word nearest to an unknown name, for
// a "did you mean" hint: one typo away (a letter added, dropped, changed or
// two swapped) for names of up to 5 letters, two for longer ones. Names
// longer than any command get no hint.
func closestCommand(name string) (string, bool) {
	folded := []rune(core.Fold(name))
	if len(folded) == 0 || len(folded) > 24 {
		return "", false
	}
	limit := 1
	if len(folded) > 5 {
		limit = 2
	}
	best, bestDist := "", limit+1
	for word := range commandWords {
		d := editDistance(folded, []rune(word))
		if d < bestDist || (d == bestDist && best != "" && word < best) {
			best, bestDist = word, d
		}
	}
	return best, best != ""
}

// editDistance is the optimal string alignment distance of a and b: the
// insertions, deletions, substitutions and swaps of two neighbours that make
// one the other.
func editDistance(a, b []rune) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// IsCommandWord reports whether word names one of the bot's commands,
// ignoring case and accents.
func IsCommandWord(word string) bool {
	_, ok := commandWords[core.Fold(word)]
	return ok
}

// AddressedText turns what someone wrote to the bot on a platform (after a
// mention, in a slash command or a direct message) into the text of an
// Event: text starting with the prefix is kept; text starting with a
// command word gets the prefix ("ask x" becomes "!ask x"). When addressed
// (a mention or a slash command), empty text asks for help and other text
// is a question; in a direct message other text is kept, and the bot
// answers with a hint.
func AddressedText(prefix, text string, addressed bool) string {
	text = strings.TrimSpace(text)
	switch {
	case text == "" && addressed:
		return prefix + "help"
	case text == "" || strings.HasPrefix(text, prefix):
		return text
	}
	first, _, _ := strings.Cut(text, " ")
	first = strings.TrimRightFunc(first, func(r rune) bool { return unicode.IsSpace(r) || r == ':' })
	if IsCommandWord(first) {
		return prefix + text
	}
	if addressed {
		return prefix + "ask " + text
	}
	return text
}

// AskArgs returns the question of a command text that asks one.
func AskArgs(prefix, text string) (string, bool) {
	name, args, ok := ParseCommand(prefix, text)
	if !ok || commandWords[name] != "ask" || args == "" {
		return "", false
	}
	return args, true
}
