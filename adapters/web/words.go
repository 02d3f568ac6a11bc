package web

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The page's words, in French and English. The bot words the same things
// in bots/wording_animate.go; the two should read alike.
var words = map[string]map[string]string{
	"fr": {
		"site":            "entraide · espace des animateurs",
		"skip":            "Aller au contenu",
		"nav.dashboard":   "Tableau de bord",
		"nav.digest":      "Lettre de la communauté",
		"nav.logout":      "Se déconnecter",
		"nav.label":       "Menu principal",
		"community":       "Communauté %s · %s",
		"ask.text":        "Pour ouvrir la page des animateurs, demandez un nouveau lien au bot : écrivez %s dans un salon de la communauté. Le lien vous arrive en message privé ; il ne sert qu'une fois.",
		"ask.login":       "Ce lien ne fonctionne plus : il a déjà servi ou il a expiré.",
		"login.title":     "Ouvrir l'espace des animateurs",
		"login.text":      "Ce lien vous a été envoyé par le bot ; il ne sert qu'une fois. Confirmez pour ouvrir votre session.",
		"login.button":    "Ouvrir l'espace des animateurs",
		"ask.session":     "Votre session a pris fin.",
		"ask.role":        "Vous n'animez plus cette communauté : la page des animateurs vous est fermée.",
		"ask.notfound":    "Cette page n'existe pas.",
		"ask.csrf":        "Ce formulaire a expiré. Rechargez la page et recommencez.",
		"ask.loggedout":   "Vous êtes déconnecté.",
		"ask.error":       "Le service est momentanément indisponible. Réessayez dans un instant.",
		"dash.title":      "Tableau de bord",
		"dash.period":     "Les 30 derniers jours, du %s au %s.",
		"fig.label":       "Chiffres clés",
		"fig.questions":   "Questions posées",
		"fig.askers":      "Ont demandé",
		"fig.answerers":   "Ont répondu",
		"fig.producers":   "personnes qui demandent / qui répondent",
		"fig.rate":        "Taux de réponse",
		"fig.rate.note":   "%d sur %d ont eu une réponse",
		"fig.median":      "Première réponse (médiane)",
		"fig.p90":         "Première réponse (9 sur 10)",
		"fig.escalated":   "Relancées",
		"fig.escalated.n": "envoyées à d'autres experts faute de réponse",
		"fig.expired":     "Restées sans réponse",
		"fig.resolved":    "Résolues",
		"fig.experts":     "Experts dans l'annuaire",
		"charts":          "Sur 12 semaines",
		"chart.data":      "Voir les données",
		"chart.week":      "Semaine du",
		"chart.q.title":   "Questions posées et questions ayant eu une réponse, par semaine",
		"chart.q.desc":    "Barres groupées sur 12 semaines : %d questions en tout, dont %d ont eu une réponse. La semaine la plus active compte %d questions.",
		"chart.q.asked":   "Questions",
		"chart.q.ans":     "Avec réponse",
		"chart.p.title":   "Personnes qui demandent et personnes qui répondent, par semaine",
		"chart.p.desc":    "Deux courbes sur 12 semaines. Dernière semaine : %d personnes ont demandé, %d ont répondu.",
		"chart.p.askers":  "Ont demandé",
		"chart.p.answer":  "Ont répondu",
		"chart.d.title":   "Délai médian de première réponse, par semaine",
		"chart.d.desc":    "Barres sur 12 semaines ; une semaine sans réponse n'a pas de barre. Le plus long : %s.",
		"chart.d.median":  "Médiane",
		"lists":           "À suivre",
		"unmatched":       "Sujets sans expert",
		"unmatched.help":  "Les sujets des questions qui n'ont trouvé aucun expert, et qui inviter dans l'annuaire : ceux qui ont le mieux répondu à ces questions.",
		"unmatched.topic": "Sujet",
		"unmatched.n":     "Questions",
		"unmatched.who":   "À inviter",
		"unmatched.none":  "Toutes les questions ont trouvé un expert.",
		"nobody":          "personne pour l'instant",
		"overbudget":      "Experts au bout de leur budget du jour",
		"overbudget.none": "Aucun expert n'est surchargé.",
		"helpful":         "Les plus aidants",
		"helpful.n":       "%d réponses",
		"helpful.one":     "1 réponse",
		"helpful.none":    "Pas encore de réponse sur la période.",
		"digest.title":    "Lettre de la communauté",
		"digest.go":       "Préparer la lettre de la communauté",
		"digest.none":     "Aucune lettre n'est en préparation.",
		"digest.draft":    "Préparer la lettre maintenant",
		"digest.head":     "Brouillon de la lettre n°%d, publication automatique le %s.",
		"digest.pubhead":  "Lettre n°%d, publiée le %s.",
		"digest.intro":    "Mot d'introduction",
		"digest.introh":   "En tête de la lettre ; %d caractères au plus.",
		"digest.items":    "Éléments de la lettre",
		"digest.itemsh":   "Décochez ce qui ne doit pas paraître.",
		"digest.keep":     "garder",
		"digest.empty":    "Rien de neuf cette semaine.",
		"digest.save":     "Enregistrer",
		"digest.publish":  "Publier maintenant",
		"digest.preview":  "Aperçu, tel qu'enregistré",
		"digest.removed":  "retiré",
		"digest.noedit":   "Cette lettre est publiée : elle ne se modifie plus.",
		"digest.asked":    "posée le %s",
		"notice.saved":    "C'est enregistré.",
		"notice.publish":  "C'est parti : la lettre est publiée dans les salons de la communauté dans un instant.",
		"notice.drafted":  "Le brouillon est prêt.",
		"notice.already":  "Cette lettre est déjà publiée.",
		"notice.changed":  "La lettre a changé entre-temps : voici la dernière version, refaites vos modifications.",
		"error.intro":     "Le mot d'introduction est trop long ou illisible (%d caractères au plus).",
		"sec.resolved":    "Questions résolues",
		"sec.waiting":     "Questions qui attendent un expert",
		"sec.experts":     "Nouveaux experts",
		"sec.offers":      "Offres d'emploi",
		"sec.events":      "Événements à venir",
		"preview.title":   "La lettre de la communauté, du %s au %s",
		"preview.quiet":   "Une semaine calme : c'est le moment de poser vos questions !",
		"none":            "–",
	},
	"en": {
		"site":            "entraide · animators' page",
		"skip":            "Skip to content",
		"nav.dashboard":   "Dashboard",
		"nav.digest":      "Community digest",
		"nav.logout":      "Log out",
		"nav.label":       "Main menu",
		"community":       "Community %s · %s",
		"ask.text":        "To open the animators' page, ask the bot for a new link: write %s in one of the community's rooms. The link comes by direct message; it works once.",
		"ask.login":       "This link no longer works: it was used already or it expired.",
		"login.title":     "Open the animators' page",
		"login.text":      "The bot sent you this link; it works once. Confirm to open your session.",
		"login.button":    "Open the animators' page",
		"ask.session":     "Your session has ended.",
		"ask.role":        "You no longer animate this community: the animators' page is closed to you.",
		"ask.notfound":    "There is no such page.",
		"ask.csrf":        "This form has expired. Reload the page and try again.",
		"ask.loggedout":   "You are logged out.",
		"ask.error":       "The service is unavailable for a moment. Try again shortly.",
		"dash.title":      "Dashboard",
		"dash.period":     "The last 30 days, from %s to %s.",
		"fig.label":       "Key figures",
		"fig.questions":   "Questions asked",
		"fig.askers":      "Asked",
		"fig.answerers":   "Answered",
		"fig.producers":   "people who ask / who answer",
		"fig.rate":        "Answer rate",
		"fig.rate.note":   "%d of %d got an answer",
		"fig.median":      "First answer (median)",
		"fig.p90":         "First answer (9 in 10)",
		"fig.escalated":   "Escalated",
		"fig.escalated.n": "sent to more experts for want of an answer",
		"fig.expired":     "Left unanswered",
		"fig.resolved":    "Resolved",
		"fig.experts":     "Experts in the directory",
		"charts":          "Over 12 weeks",
		"chart.data":      "Show the data",
		"chart.week":      "Week of",
		"chart.q.title":   "Questions asked and questions answered, by week",
		"chart.q.desc":    "Grouped bars over 12 weeks: %d questions in all, %d of which got an answer. The busiest week has %d questions.",
		"chart.q.asked":   "Questions",
		"chart.q.ans":     "Answered",
		"chart.p.title":   "People who ask and people who answer, by week",
		"chart.p.desc":    "Two lines over 12 weeks. Last week: %d people asked, %d answered.",
		"chart.p.askers":  "Asked",
		"chart.p.answer":  "Answered",
		"chart.d.title":   "Median time to first answer, by week",
		"chart.d.desc":    "Bars over 12 weeks; a week without answers has no bar. The longest: %s.",
		"chart.d.median":  "Median",
		"lists":           "To follow up",
		"unmatched":       "Topics with no expert",
		"unmatched.help":  "The topics of questions that found no expert, and whom to invite into the directory: those who answered such questions best.",
		"unmatched.topic": "Topic",
		"unmatched.n":     "Questions",
		"unmatched.who":   "To invite",
		"unmatched.none":  "Every question found an expert.",
		"nobody":          "nobody yet",
		"overbudget":      "Experts at the end of their daily budget",
		"overbudget.none": "No expert is overloaded.",
		"helpful":         "Most helpful",
		"helpful.n":       "%d answers",
		"helpful.one":     "1 answer",
		"helpful.none":    "No answers in the period yet.",
		"digest.title":    "Community digest",
		"digest.go":       "Prepare the community digest",
		"digest.none":     "No digest is being prepared.",
		"digest.draft":    "Prepare the digest now",
		"digest.head":     "Draft of digest #%d, published automatically on %s.",
		"digest.pubhead":  "Digest #%d, published on %s.",
		"digest.intro":    "Intro",
		"digest.introh":   "At the top of the digest; %d characters at most.",
		"digest.items":    "Items of the digest",
		"digest.itemsh":   "Untick what should not appear.",
		"digest.keep":     "keep",
		"digest.empty":    "Nothing new this week.",
		"digest.save":     "Save",
		"digest.publish":  "Publish now",
		"digest.preview":  "Preview, as saved",
		"digest.removed":  "removed",
		"digest.noedit":   "This digest is published: it can no longer change.",
		"digest.asked":    "asked on %s",
		"notice.saved":    "Saved.",
		"notice.publish":  "Off it goes: the digest is published in the community's rooms in a moment.",
		"notice.drafted":  "The draft is ready.",
		"notice.already":  "This digest is published already.",
		"notice.changed":  "The digest changed meanwhile: here is its latest version, make your changes again.",
		"error.intro":     "The intro is too long or unreadable (%d characters at most).",
		"sec.resolved":    "Resolved questions",
		"sec.waiting":     "Questions waiting for an expert",
		"sec.experts":     "New experts",
		"sec.offers":      "Job offers",
		"sec.events":      "Coming events",
		"preview.title":   "The community digest, from %s to %s",
		"preview.quiet":   "A quiet week: the right time to ask your questions!",
		"none":            "–",
	},
}

// langs are the languages of the page, the first one the default.
var langs = []string{"fr", "en"}

// word returns the words of key in lang, in French when lang has none.
func word(lang, key string) string {
	if w, ok := words[lang][key]; ok {
		return w
	}
	if w, ok := words["fr"][key]; ok {
		return w
	}
	return key
}

// pickLang chooses the page's language: the person's, else the first the
// browser accepts (by q-value), else French.
func pickLang(personLang, acceptLanguage string) string {
	if _, ok := words[personLang]; ok {
		return personLang
	}
	best, bestQ := "", 0.0
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if _, ok := words[primary]; !ok {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > bestQ {
			best, bestQ = primary, q
		}
	}
	if best != "" {
		return best
	}
	return langs[0]
}

var (
	frMonths      = []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	frMonthsShort = []string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."}
)

// formatDay writes a date as people read it: "3 novembre 2026", "3 November 2026".
func formatDay(lang string, t time.Time) string {
	if lang == "fr" {
		return fmt.Sprintf("%d %s %d", t.Day(), frMonths[t.Month()-1], t.Year())
	}
	return t.Format("2 January 2006")
}

// formatDayTime writes a date and time: "3 novembre 2026 à 09:00".
func formatDayTime(lang string, t time.Time) string {
	if lang == "fr" {
		return formatDay(lang, t) + " à " + t.Format("15:04")
	}
	return formatDay(lang, t) + " at " + t.Format("15:04")
}

// formatShortDay writes a day on a chart's axis: "3 nov.", "Nov 3".
func formatShortDay(lang string, t time.Time) string {
	if lang == "fr" {
		return fmt.Sprintf("%d %s", t.Day(), frMonthsShort[t.Month()-1])
	}
	return t.Format("Jan 2")
}

// formatPercent writes a rate: "87 %" in French, "87%" in English.
func formatPercent(lang string, rate float64) string {
	n := strconv.Itoa(int(rate*100 + 0.5))
	if lang == "fr" {
		return n + "\u00a0%"
	}
	return n + "%"
}

// formatDuration writes a delay as people read it: "45 min", "3 h 20",
// "2 j" ("2 d" in English), "–" for none.
func formatDuration(lang string, d time.Duration) string {
	switch {
	case d <= 0:
		return word(lang, "none")
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes()+0.5)) + "\u00a0min"
	case d < 48*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%d\u00a0h\u00a0%02d", h, m)
		}
		return strconv.Itoa(h) + "\u00a0h"
	}
	unit := "\u00a0j"
	if lang != "fr" {
		unit = "\u00a0d"
	}
	return strconv.Itoa(int(d.Hours()/24+0.5)) + unit
}
