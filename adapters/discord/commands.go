package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"entraide/bots"
	"entraide/core"
)

// appCommand is an application command as Discord registers it.
type appCommand struct {
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Type                     int               `json:"type"`
	Options                  []commandOption   `json:"options,omitempty"`
	Contexts                 []int             `json:"contexts,omitempty"`
	IntegrationTypes         []int             `json:"integration_types,omitempty"`
}

// commandOption is an option of an application command: a string (type 3)
// or an integer (type 4).
type commandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	MinValue                 *int              `json:"min_value,omitempty"`
	MaxLength                int               `json:"max_length,omitempty"`
}

// localized returns Discord's localizations of a word: French, and English
// for both English locales (the default name is English).
func localized(en, fr string) map[string]string {
	return map[string]string{"en-GB": en, "en-US": en, "fr": fr}
}

func command(name, fr, desc, descFR string, opts ...commandOption) appCommand {
	return appCommand{Name: name, NameLocalizations: localized(name, fr), Description: desc,
		DescriptionLocalizations: localized(desc, descFR), Type: 1, Options: opts}
}

func stringOption(name, fr, desc, descFR string, required bool, maxLen int) commandOption {
	return commandOption{Type: 3, Name: name, NameLocalizations: localized(name, fr), Description: desc,
		DescriptionLocalizations: localized(desc, descFR), Required: required, MaxLength: maxLen}
}

func idOption() commandOption {
	one := 1
	return commandOption{Type: 4, Name: "id", NameLocalizations: localized("id", "numero"),
		Description: "Question number", DescriptionLocalizations: localized("Question number", "Numéro de la question"), MinValue: &one}
}

// anyCommand is the application command that runs any of the bot's
// commands, written out as in a message: those without a command of their
// own (offers, events, subscriptions, digests…) are reached through it.
const anyCommand = "entraide"

// commandList returns the application commands the adapter registers, in
// English with French localizations. global adds the contexts of global
// commands (servers and direct messages with the bot).
func commandList(global bool) []appCommand {
	cmds := []appCommand{
		command("ask", "demander", "Ask the experts a question", "Poser une question aux experts",
			stringOption("question", "question", "Your question (leave empty to write it in a form)", "Votre question (vide : un formulaire s'ouvre)", false, core.MaxQuestionLen)),
		command("expert", "expert", "Join the expert directory with your topics, or leave it with off", "Rejoindre l'annuaire des experts avec vos sujets, ou le quitter avec off",
			stringOption("topics", "sujets", "Your topics, separated by commas; off to leave; empty to see them", "Vos sujets, séparés par des virgules ; off pour quitter ; vide pour les voir", false, 1000)),
		command("answer", "repondre", "Answer a question sent to you", "Répondre à une question qui vous a été transmise",
			stringOption("text", "texte", "Your answer", "Votre réponse", true, 4000), idOption()),
		command("resolve", "resolu", "Mark your question resolved", "Marquer votre question comme résolue", idOption()),
		command("pass", "passer", "Not your area: the question goes to another expert", "Pas votre domaine : la question part à un autre expert", idOption()),
		command("snooze", "plus-tard", "Answer a question sent to you later: it is sent again then", "Répondre plus tard à une question transmise : elle vous est renvoyée",
			idOption(), stringOption("delay", "delai", "How long, such as 2h or 1d (2 hours if empty)", "Combien de temps, par exemple 2h ou 1j (2 heures si vide)", false, 40)),
		command("mine", "mes-questions", "Your open questions and those waiting for your answer", "Vos questions ouvertes et celles qui attendent votre réponse"),
		command("search", "chercher", "Search the questions already resolved", "Chercher parmi les questions déjà résolues",
			stringOption("text", "texte", "What you are looking for", "Ce que vous cherchez", true, 500)),
		command("away", "absent", "No questions sent to you until a date", "Plus de questions transmises jusqu'à une date",
			stringOption("until", "jusqua", "The day you are back (2026-12-01) or how long (2w)", "Le jour du retour (2026-12-01) ou la durée (2s)", true, 40)),
		command("back", "retour", "Questions are sent to you again", "Les questions vous sont de nouveau transmises"),
		command("help", "aide", "The list of commands", "La liste des commandes"),
		command(anyCommand, anyCommand, "Any other command, as help lists them (offers, events, digest…)", "Toute autre commande, comme l'aide les liste (offres, agenda, lettre…)",
			stringOption("command", "commande", "The command and its words, such as: offers", "La commande et ses mots, par exemple : offres", false, 4000)),
	}
	if global {
		for i := range cmds {
			cmds[i].Contexts = []int{0, 1}      // servers, direct messages with the bot
			cmds[i].IntegrationTypes = []int{0} // installed in servers
		}
	}
	return cmds
}

// registerCommands overwrites the application's commands with commandList, in
// each configured server or globally. The bulk overwrite is idempotent:
// the same list twice changes nothing.
func (a *Adapter) registerCommands(ctx context.Context) error {
	if len(a.cfg.GuildIDs) == 0 {
		if err := a.api.do(ctx, http.MethodPut, "/applications/"+a.cfg.AppID+"/commands", "register commands", commandList(true), nil); err != nil {
			return fmt.Errorf("discord: register commands: %w", err)
		}
		return nil
	}
	for _, g := range a.cfg.GuildIDs {
		if err := a.api.do(ctx, http.MethodPut, "/applications/"+a.cfg.AppID+"/guilds/"+g+"/commands", "register guild commands", commandList(false), nil); err != nil {
			return fmt.Errorf("discord: register commands in server %s: %w", g, err)
		}
	}
	return nil
}

// slashOption is an option of a used application command.
type slashOption struct {
	Name  string          `json:"name"`
	Type  int             `json:"type"`
	Value json.RawMessage `json:"value"`
}

// optionValue returns an option's value as text: strings as they are,
// numbers without a fraction.
func optionValue(opts []slashOption, name string) string {
	for _, o := range opts {
		if o.Name != name {
			continue
		}
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return strings.TrimSpace(s)
		}
		var f float64
		if json.Unmarshal(o.Value, &f) == nil {
			return strconv.FormatInt(int64(f), 10)
		}
	}
	return ""
}

// slashText turns a used application command into the text of a command
// the bot reads, such as "!answer 12 text".
func slashText(prefix, name string, opts []slashOption) string {
	parts := []string{prefix + name}
	switch name {
	case "ask":
		parts = append(parts, optionValue(opts, "question"))
	case "expert":
		parts = append(parts, optionValue(opts, "topics"))
	case "answer":
		parts = append(parts, optionValue(opts, "id"), optionValue(opts, "text"))
	case "resolve", "pass":
		parts = append(parts, optionValue(opts, "id"))
	case "snooze":
		parts = append(parts, optionValue(opts, "id"), optionValue(opts, "delay"))
	case "search":
		parts = append(parts, optionValue(opts, "text"))
	case "away":
		parts = append(parts, optionValue(opts, "until"))
	case anyCommand:
		// As a mention reads it: a command word keeps its command, other
		// text is a question, and empty text asks for help.
		return bots.AddressedText(prefix, strings.TrimPrefix(optionValue(opts, "command"), "/"), true)
	}
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}
