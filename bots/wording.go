package bots

import (
	"entraide/core"
	"fmt"
	"strings"
)

// Languages the bot speaks. The first is the default.
var Languages = []string{"fr", "en"}

// msgKey names one thing the bot says.
type msgKey string

const (
	msgAskedRouted        msgKey = "asked_routed"
	msgAskedRoutedOne     msgKey = "asked_routed_one"
	msgAskedNoExpert      msgKey = "asked_no_expert"
	msgExpertRequest      msgKey = "expert_request"
	msgAnswerRelayed      msgKey = "answer_relayed"
	msgAnswerThanks       msgKey = "answer_thanks"
	msgAnswerHint         msgKey = "answer_hint"
	msgExpertSaved        msgKey = "expert_saved"
	msgExpertLeft         msgKey = "expert_left"
	msgExpertShow         msgKey = "expert_show"
	msgNotExpert          msgKey = "not_expert"
	msgResolved           msgKey = "resolved"
	msgResolvedNotice     msgKey = "resolved_notice"
	msgHelp               msgKey = "help"
	msgUnknownCommand     msgKey = "unknown_command"
	msgUnknownCommandNear msgKey = "unknown_command_near"
	msgDMHint             msgKey = "dm_hint"
	msgLangSet            msgKey = "lang_set"
	msgLangUsage          msgKey = "lang_usage"
	msgAskUsage           msgKey = "ask_usage"
	msgAnswerUsage        msgKey = "answer_usage"
	msgTopicsUsage        msgKey = "topics_usage"
	msgTooLong            msgKey = "too_long"
	msgNoPending          msgKey = "no_pending"
	msgAmbiguousAnswer    msgKey = "ambiguous_answer"
	msgQuestionNotFound   msgKey = "question_not_found"
	msgQuestionClosed     msgKey = "question_closed"
	msgOwnQuestion        msgKey = "own_question"
	msgNoOpenQuestion     msgKey = "no_open_question"
	msgAmbiguousResolve   msgKey = "ambiguous_resolve"
	msgNotAsker           msgKey = "not_asker"
	msgInternal           msgKey = "internal"
	msgBadID              msgKey = "bad_id"
	msgAnswerButton       msgKey = "answer_button"
	msgEscalated          msgKey = "escalated_request"
	msgPassed             msgKey = "passed"
	msgNotWaiting         msgKey = "not_waiting"
	msgPassedNobody       msgKey = "passed_nobody"
	msgPassedRequest      msgKey = "passed_request"
	msgAwaySet            msgKey = "away_set"
	msgAwayUsage          msgKey = "away_usage"
	msgBack               msgKey = "back"
	msgMineNone           msgKey = "mine_none"
	msgMineAsked          msgKey = "mine_asked"
	msgMineWaiting        msgKey = "mine_waiting"
	msgMineItem           msgKey = "mine_item"
	msgSearchUsage        msgKey = "search_usage"
	msgSuggestion         msgKey = "suggestion"
	msgAnonymous          msgKey = "anonymous"
	msgQuietSet           msgKey = "quiet_set"
	msgQuietOff           msgKey = "quiet_off"
	msgQuietUsage         msgKey = "quiet_usage"
	msgPassButton         msgKey = "pass_button"
	msgSnoozeButton       msgKey = "snooze_button"
	msgSnoozed            msgKey = "snoozed"
	msgSnoozeUsage        msgKey = "snooze_usage"
	msgReminder           msgKey = "reminder"
	msgAnswerRelayedAnon  msgKey = "answer_relayed_anonymous"
	msgSearchNone         msgKey = "search_none"
	msgSearchFound        msgKey = "search_found"
	msgSearchItem         msgKey = "search_item"
	msgExpired            msgKey = "expired"
	msgStateResolved      msgKey = "state_resolved"
	msgStateExpired       msgKey = "state_expired"
	msgYourAnswer         msgKey = "your_answer"
	msgYourQuestion       msgKey = "your_question"
	msgTopicExample       msgKey = "topic_example"
	msgDirectMessage      msgKey = "direct_message"
)

// catalog holds every sentence in every language. "{}" marks where an
// argument goes, "\n" a paragraph break. A test checks that every language
// has every key with the same number of arguments.
var catalog = map[string]map[msgKey]string{
	"fr": {
		msgAskedRoutedOne:     "Question n°{} enregistrée et transmise à un expert. Sa réponse arrivera ici.",
		msgAskedRouted:        "Question n°{} enregistrée et transmise à {} experts. Les réponses arriveront ici.",
		msgAskedNoExpert:      "Question n°{} enregistrée. Aucun expert de ce sujet n'est disponible pour l'instant : elle reste ouverte.",
		msgExpertRequest:      "Question n°{} posée par {} ({}) :\n{}\nPour répondre : {}",
		msgAnswerRelayed:      "{}, réponse de {} à la question n°{} :\n{}\nSi c'est résolu : {}",
		msgAnswerThanks:       "Merci ! Votre réponse à la question n°{} a été transmise à {}.",
		msgAnswerHint:         "votre réponse",
		msgExpertSaved:        "C'est noté : les questions sur {} vous seront transmises en message privé. Pour quitter l'annuaire : {}",
		msgExpertLeft:         "Vous avez quitté l'annuaire des experts. Pour y revenir : {}",
		msgExpertShow:         "Vos sujets : {}. Pour les changer : {}",
		msgNotExpert:          "Vous n'êtes pas dans l'annuaire des experts. Pour y entrer : {}",
		msgResolved:           "Question n°{} marquée comme résolue. Merci !",
		msgResolvedNotice:     "{} a marqué la question n°{} comme résolue. Merci pour votre aide !",
		msgHelp:               "Commandes d'entraide :\n{} : poser une question aux experts ({} en message privé pour la poser sans votre nom)\n{} : rejoindre l'annuaire des experts ({} pour le quitter)\n{} : répondre à une question reçue\n{} : passer, ce n'est pas votre domaine ({} pour y revenir plus tard)\n{} : vos questions et celles qui vous attendent\n{} : chercher dans les questions résolues\n{} : ne plus recevoir de questions pendant une absence ({} au retour, {} chaque soir)\n{} : marquer votre question comme résolue\n{} : publier une offre d'emploi ({} pour les voir, {} pour en garder une)\n{} : annoncer un événement ({} pour les voir, {} pour y répondre)\n{} : recevoir les offres et événements qui vous intéressent ({} pour vos abonnements)\n{} : annoncer les nouveautés dans un salon\n{} : relier vos comptes d'autres messageries ({} vos données, {} tout effacer)\n{} : changer de langue (fr, en)\n{} : cette aide",
		msgUnknownCommand:     "Commande inconnue : {}. Tapez {} pour la liste des commandes.",
		msgUnknownCommandNear: "Commande inconnue : {}. Vouliez-vous dire {} ? Tapez {} pour la liste des commandes.",
		msgDMHint:             "Bonjour ! Pour poser une question : {}. Pour l'aide : {}",
		msgLangSet:            "C'est noté, je vous écrirai en français.",
		msgLangUsage:          "Langues disponibles : {}. Par exemple : {}",
		msgAskUsage:           "Écrivez votre question après la commande, par exemple : {}",
		msgAnswerUsage:        "Écrivez votre réponse après la commande : {}",
		msgTopicsUsage:        "Indiquez de 1 à {} sujets de {} caractères au plus, séparés par des virgules, par exemple : {}",
		msgTooLong:            "Ce texte est trop long ({} caractères au plus). Raccourcissez-le et réessayez.",
		msgNoPending:          "Aucune question ne vous attend. Pour répondre à une question précise : {}",
		msgAmbiguousAnswer:    "Plusieurs questions vous attendent (n° {}). Précisez laquelle : {}",
		msgQuestionNotFound:   "La question n°{} n'existe pas. Vérifiez le numéro.",
		msgQuestionClosed:     "La question n°{} est close ({}).",
		msgOwnQuestion:        "C'est votre propre question. Si vous avez trouvé, marquez-la comme résolue : {}",
		msgNoOpenQuestion:     "Vous n'avez aucune question ouverte. Pour en poser une : {}",
		msgAmbiguousResolve:   "Vous avez plusieurs questions ouvertes (n° {}). Précisez laquelle : {}",
		msgNotAsker:           "Seule la personne qui a posé la question n°{} peut la marquer comme résolue.",
		msgAnswerButton:       "Répondre",
		msgNotWaiting:         "La question n°{} ne vous attend pas. Pour voir celles qui vous attendent : {}",
		msgPassed:             "C'est noté : la question n°{} est transmise à quelqu'un d'autre.",
		msgPassedNobody:       "C'est noté : vous ne recevrez plus la question n°{}. Personne d'autre n'est disponible pour l'instant.",
		msgPassedRequest:      "Question n°{} posée par {} ({}), qu'un autre expert n'a pas pu prendre :\n{}\nPour répondre : {}",
		msgAwaySet:            "Bonne absence ! Aucune question ne vous sera transmise avant le {}. Pour revenir plus tôt : {}",
		msgAwayUsage:          "Indiquez la date de retour ou la durée de l'absence, par exemple : {} ou {}",
		msgBack:               "Bon retour ! Les questions sur vos sujets vous sont de nouveau transmises.",
		msgMineNone:           "Vous n'avez aucune question ouverte et aucune question ne vous attend.",
		msgMineAsked:          "Vos questions ouvertes :",
		msgMineWaiting:        "Les questions qui attendent votre réponse :",
		msgMineItem:           "n°{} ({}) : {}",
		msgAnonymous:          "un agent (anonyme)",
		msgQuietSet:           "C'est noté : aucune question ne vous sera transmise pendant vos heures calmes, {} (heure de {}). Pour les retirer : {}",
		msgQuietOff:           "Vos heures calmes sont retirées.",
		msgQuietUsage:         "Indiquez vos heures calmes, par exemple : {} (de 19 h à 8 h), ou {} pour les retirer.",
		msgPassButton:         "Pas mon domaine",
		msgSnoozeButton:       "Plus tard",
		msgSnoozed:            "C'est noté : je vous rappellerai la question n°{} le {}.",
		msgSnoozeUsage:        "Indiquez le numéro et le délai, par exemple : {} (au plus une semaine).",
		msgReminder:           "Rappel : question n°{} posée par {} ({}), toujours en attente :\n{}\nPour répondre : {}",
		msgAnswerRelayedAnon:  "Réponse de {} à la question n°{} :\n{}\nSi c'est résolu : {}",
		msgSuggestion:         "Une question proche a déjà une réponse, n°{} {}\n→ {} : {}\nSi cela vous suffit : {}",
		msgSearchUsage:        "Écrivez ce que vous cherchez après la commande, par exemple : {}",
		msgSearchNone:         "Aucune question résolue ne ressemble à votre recherche. Posez-la aux experts : {}",
		msgSearchFound:        "Questions déjà résolues :",
		msgSearchItem:         "n°{} {}\n→ {} : {}",
		msgEscalated:          "Question n°{} posée par {} ({}), toujours sans réponse :\n{}\nPour répondre : {}",
		msgExpired:            "{}, personne n'a pu répondre à votre question n°{} à temps, désolé. Vous pouvez la reposer autrement : {}",
		msgBadID:              "{} n'est pas un numéro de question. Par exemple : {}",
		msgInternal:           "Désolé, une erreur interne m'a empêché de traiter votre message. Réessayez dans un instant.",
		msgStateResolved:      "résolue",
		msgStateExpired:       "expirée",
		msgYourAnswer:         "votre réponse",
		msgYourQuestion:       "votre question",
		msgTopicExample:       "marchés publics, achats",
		msgDirectMessage:      "message privé",
	},
	"en": {
		msgAskedRoutedOne:     "Question #{} saved and sent to one expert. The answer will arrive here.",
		msgAskedRouted:        "Question #{} saved and sent to {} experts. Answers will arrive here.",
		msgAskedNoExpert:      "Question #{} saved. No expert on this topic is available yet: it stays open.",
		msgExpertRequest:      "Question #{} asked by {} ({}):\n{}\nTo answer: {}",
		msgAnswerRelayed:      "{}, answer from {} to question #{}:\n{}\nIf this solves it: {}",
		msgAnswerThanks:       "Thank you! Your answer to question #{} was sent to {}.",
		msgAnswerHint:         "your answer",
		msgExpertSaved:        "Done: questions about {} will be sent to you by direct message. To leave the directory: {}",
		msgExpertLeft:         "You left the expert directory. To come back: {}",
		msgExpertShow:         "Your topics: {}. To change them: {}",
		msgNotExpert:          "You are not in the expert directory. To join it: {}",
		msgResolved:           "Question #{} marked as resolved. Thank you!",
		msgResolvedNotice:     "{} marked question #{} as resolved. Thank you for your help!",
		msgHelp:               "entraide commands:\n{}: ask the experts a question ({} in a direct message to ask without your name)\n{}: join the expert directory ({} to leave it)\n{}: answer a question you received\n{}: pass, it is not your area ({} to come back to it later)\n{}: your questions and those waiting for you\n{}: search the resolved questions\n{}: no questions while you are away ({} when back, {} every evening)\n{}: mark your question as resolved\n{}: post a job offer ({} to see them, {} to save one)\n{}: announce an event ({} to see them, {} to answer one)\n{}: hear of the offers and events you care about ({} for your subscriptions)\n{}: announce what is new in a room\n{}: link your accounts on other messengers ({} your data, {} erase everything)\n{}: change language (fr, en)\n{}: this help",
		msgUnknownCommand:     "Unknown command: {}. Type {} for the list of commands.",
		msgUnknownCommandNear: "Unknown command: {}. Did you mean {}? Type {} for the list of commands.",
		msgDMHint:             "Hello! To ask a question: {}. For help: {}",
		msgLangSet:            "Done, I will write to you in English.",
		msgLangUsage:          "Available languages: {}. For example: {}",
		msgAskUsage:           "Write your question after the command, for example: {}",
		msgAnswerUsage:        "Write your answer after the command: {}",
		msgTopicsUsage:        "Give 1 to {} topics of at most {} characters, separated by commas, for example: {}",
		msgTooLong:            "This text is too long (at most {} characters). Shorten it and try again.",
		msgNoPending:          "No question is waiting for you. To answer a given question: {}",
		msgAmbiguousAnswer:    "Several questions are waiting for you (#{}). Say which one: {}",
		msgQuestionNotFound:   "Question #{} does not exist. Check the number.",
		msgQuestionClosed:     "Question #{} is closed ({}).",
		msgOwnQuestion:        "This is your own question. If you found the answer, mark it as resolved: {}",
		msgNoOpenQuestion:     "You have no open question. To ask one: {}",
		msgAmbiguousResolve:   "You have several open questions (#{}). Say which one: {}",
		msgNotAsker:           "Only the person who asked question #{} can mark it as resolved.",
		msgAnswerButton:       "Answer",
		msgNotWaiting:         "Question #{} is not waiting for you. To see those that are: {}",
		msgPassed:             "Done: question #{} goes to someone else.",
		msgPassedNobody:       "Done: you will not get question #{} again. Nobody else is available for now.",
		msgPassedRequest:      "Question #{} asked by {} ({}), which another expert could not take:\n{}\nTo answer: {}",
		msgAwaySet:            "Enjoy your time off! No question will be sent to you before {}. To come back earlier: {}",
		msgAwayUsage:          "Give the day you are back or how long you are away, for example: {} or {}",
		msgBack:               "Welcome back! Questions on your topics are sent to you again.",
		msgMineNone:           "You have no open question and no question is waiting for you.",
		msgMineAsked:          "Your open questions:",
		msgMineWaiting:        "Questions waiting for your answer:",
		msgMineItem:           "#{} ({}): {}",
		msgAnonymous:          "an agent (anonymous)",
		msgQuietSet:           "Done: no question will be sent to you during your quiet hours, {} ({} time). To remove them: {}",
		msgQuietOff:           "Your quiet hours are removed.",
		msgQuietUsage:         "Give your quiet hours, for example: {} (7 pm to 8 am), or {} to remove them.",
		msgPassButton:         "Not my area",
		msgSnoozeButton:       "Later",
		msgSnoozed:            "Done: I will remind you of question #{} on {}.",
		msgSnoozeUsage:        "Give the number and the delay, for example: {} (a week at most).",
		msgReminder:           "Reminder: question #{} asked by {} ({}), still waiting:\n{}\nTo answer: {}",
		msgAnswerRelayedAnon:  "Answer from {} to question #{}:\n{}\nIf this solves it: {}",
		msgSuggestion:         "A similar question already has an answer, #{} {}\n→ {}: {}\nIf this is enough: {}",
		msgSearchUsage:        "Write what you are looking for after the command, for example: {}",
		msgSearchNone:         "No resolved question looks like your search. Ask the experts: {}",
		msgSearchFound:        "Questions already resolved:",
		msgSearchItem:         "#{} {}\n→ {}: {}",
		msgEscalated:          "Question #{} asked by {} ({}), still without an answer:\n{}\nTo answer: {}",
		msgExpired:            "{}, nobody could answer your question #{} in time, sorry. You may ask it again in other words: {}",
		msgBadID:              "{} is not a question number. For example: {}",
		msgInternal:           "Sorry, an internal error stopped me from handling your message. Try again in a moment.",
		msgStateResolved:      "resolved",
		msgStateExpired:       "expired",
		msgYourAnswer:         "your answer",
		msgYourQuestion:       "your question",
		msgTopicExample:       "public procurement, purchasing",
		msgDirectMessage:      "direct message",
	},
}

// supported reports whether the bot speaks lang.
func supported(lang string) bool {
	_, ok := catalog[lang]
	return ok
}

// word returns the bare sentence of key in lang, for use inside arguments.
func word(lang string, key msgKey) string {
	if s, ok := catalog[lang][key]; ok {
		return s
	}
	return catalog[Languages[0]][key]
}

// say builds the message of key in lang, putting args where the sentence
// has "{}" and paragraph breaks where it has "\n".
func say(lang string, key msgKey, args ...Span) Message {
	tmpl := word(lang, key)
	parts := strings.Split(tmpl, "{}")
	if len(parts)-1 != len(args) {
		panic(fmt.Sprintf("bots: message %s in %s takes %d arguments, got %d", key, lang, len(parts)-1, len(args)))
	}
	var m Message
	for i, part := range parts {
		for j, line := range strings.Split(part, "\n") {
			if j > 0 {
				m.Break()
			}
			if line != "" {
				m.Text(line)
			}
		}
		if i < len(args) {
			m.add(args[i])
		}
	}
	return m
}

// Span constructors for arguments.
func plain(s string) Span { return Span{Kind: Plain, Text: s} }

// roomSpan names room, shown as its id where it cannot be linked.
func roomSpan(room core.Room) Span { return Span{Kind: Room, Text: room.ID, Where: room} }
func strong(s string) Span         { return Span{Kind: Strong, Text: s} }
func code(s string) Span           { return Span{Kind: Code, Text: s} }
func quote(s string) Span          { return Span{Kind: Quote, Text: s} }
