package bots

// The bulletin's words: job offers, events, subscriptions, announcements.
const (
	msgPostUnknownField     msgKey = "post_unknown_field"
	msgPostMissing          msgKey = "post_missing"
	msgPostBadField         msgKey = "post_bad_field"
	msgHintDate             msgKey = "hint_date"
	msgHintDuration         msgKey = "hint_duration"
	msgHintNumber           msgKey = "hint_number"
	msgHintTimeZone         msgKey = "hint_timezone"
	msgHintText             msgKey = "hint_text"
	msgHintShorter          msgKey = "hint_shorter"
	msgHintFuture           msgKey = "hint_future"
	msgHintLink             msgKey = "hint_link"
	msgHintEnd              msgKey = "hint_end"
	msgOfferExample         msgKey = "offer_example"
	msgOfferUsage           msgKey = "offer_usage"
	msgItemNotFound         msgKey = "item_not_found"
	msgOfferPosted          msgKey = "offer_posted"
	msgEventExample         msgKey = "event_example"
	msgEventUsage           msgKey = "event_usage"
	msgEventPosted          msgKey = "event_posted"
	msgFilterUsage          msgKey = "filter_usage"
	msgOffersNone           msgKey = "offers_none"
	msgOffersFound          msgKey = "offers_found"
	msgListHint             msgKey = "list_hint"
	msgEventsNone           msgKey = "events_none"
	msgEventsFound          msgKey = "events_found"
	msgRSVPYes              msgKey = "rsvp_yes"
	msgRSVPMaybe            msgKey = "rsvp_maybe"
	msgRSVPUsage            msgKey = "rsvp_usage"
	msgEventFull            msgKey = "event_full"
	msgEventOver            msgKey = "event_over"
	msgRSVPGoing            msgKey = "rsvp_going"
	msgRSVPMaybeSaved       msgKey = "rsvp_maybe_saved"
	msgRSVPNo               msgKey = "rsvp_no"
	msgSaveUsage            msgKey = "save_usage"
	msgOfferClosed          msgKey = "offer_closed"
	msgSavedNoDate          msgKey = "saved_no_date"
	msgSaved                msgKey = "saved"
	msgAlreadySubscribed    msgKey = "already_subscribed"
	msgTooManySubscriptions msgKey = "too_many_subscriptions"
	msgSubscribed           msgKey = "subscribed"
	msgKindAll              msgKey = "kind_all"
	msgKindOffers           msgKey = "kind_offers"
	msgKindEvents           msgKey = "kind_events"
	msgFreqNow              msgKey = "freq_now"
	msgFreqDaily            msgKey = "freq_daily"
	msgFreqWeekly           msgKey = "freq_weekly"
	msgUnsubscribeUsage     msgKey = "unsubscribe_usage"
	msgSubscriptionNotFound msgKey = "subscription_not_found"
	msgUnsubscribed         msgKey = "unsubscribed"
	msgNoSubscription       msgKey = "no_subscription"
	msgSubscriptionList     msgKey = "subscription_list"
	msgAnnounceInRoom       msgKey = "announce_in_room"
	msgAnnounceUsage        msgKey = "announce_usage"
	msgAnnounceOff          msgKey = "announce_off"
	msgAnnounceOn           msgKey = "announce_on"
	msgPostingAnyone        msgKey = "posting_anyone"
	msgPostingAnimators     msgKey = "posting_animators"
	msgPostingUsage         msgKey = "posting_usage"
	msgPostingRefused       msgKey = "posting_refused"
	msgPostingWordAnyone    msgKey = "posting_word_anyone"
	msgPostingWordAnimators msgKey = "posting_word_animators"
	msgNewOffer             msgKey = "new_offer"
	msgNewEvent             msgKey = "new_event"
	msgSubscriptionMatch    msgKey = "subscription_match"
	msgOfferClosing         msgKey = "offer_closing"
	msgEventStarting        msgKey = "event_starting"
	msgDigestDaily          msgKey = "digest_daily"
	msgDigestWeekly         msgKey = "digest_weekly"
	msgDigestMore           msgKey = "digest_more"
	msgDigestFooter         msgKey = "digest_footer"
	msgOfferWord            msgKey = "offer_word"
	msgEventWord            msgKey = "event_word"
	msgClosesLabel          msgKey = "closes_label"
	msgEmployerLabel        msgKey = "employer_label"
	msgLocationLabel        msgKey = "location_label"
	msgCategoryLabel        msgKey = "category_label"
	msgContractLabel        msgKey = "contract_label"
	msgRemoteLabel          msgKey = "remote_label"
	msgRemoteNone           msgKey = "remote_none"
	msgRemotePartial        msgKey = "remote_partial"
	msgRemoteFull           msgKey = "remote_full"
	msgSaveButton           msgKey = "save_button"
	msgWhenLabel            msgKey = "when_label"
	msgPlaceLabel           msgKey = "place_label"
	msgOrganiserLabel       msgKey = "organiser_label"
	msgGoingLabel           msgKey = "going_label"
	msgMaybeLabel           msgKey = "maybe_label"
	msgGoingButton          msgKey = "going_button"
	msgMaybeButton          msgKey = "maybe_button"
	msgFormButton           msgKey = "form_button"
)

func init() {
	for lang, words := range bulletinCatalog {
		for k, v := range words {
			catalog[lang][k] = v
		}
	}
}

var bulletinCatalog = map[string]map[msgKey]string{
	"fr": {
		msgPostUnknownField:     "Je ne connais pas le champ {}. Exemple : {}",
		msgPostMissing:          "Il manque le champ {}. Exemple : {}",
		msgPostBadField:         "Le champ {} est à corriger : {}.",
		msgHintDate:             "une date comme 2026-12-03 14:00 ou 03/12/2026 14h",
		msgHintDuration:         "une durée comme 2h, 1h30 ou 90 min",
		msgHintNumber:           "un nombre de places, 0 pour sans limite",
		msgHintTimeZone:         "un fuseau comme Europe/Paris ou America/Cayenne",
		msgHintText:             "un texte lisible",
		msgHintShorter:          "un texte plus court",
		msgHintFuture:           "une date à venir",
		msgHintLink:             "une adresse web commençant par https://",
		msgHintEnd:              "une fin après le début, 31 jours au plus",
		msgOfferExample:         "offre Chargé·e de mission achats | employeur: DINUM | lieu: Paris | clôture: 2026-12-31 | lien: https://choisirleservicepublic.gouv.fr/...",
		msgOfferUsage:           "Pour publier une offre d'emploi, donnez son titre puis ses champs (employeur, lieu, catégorie, contrat, télétravail, description, lien, clôture), un par ligne ou séparés par « | ». Exemple : {}",
		msgItemNotFound:         "Le n°{} n'existe pas. Vérifiez le numéro.",
		msgOfferPosted:          "Offre n°{} publiée. Elle est annoncée aux personnes abonnées ; pour voir les offres ouvertes : {}",
		msgEventExample:         "événement Atelier achats responsables | début: 2026-12-03 14:00 | fin: 16:00 | lieu: Lyon | visio: https://webconf.numerique.gouv.fr/... | places: 30",
		msgEventUsage:           "Pour annoncer un événement, donnez son titre puis ses champs (début, fin ou durée, lieu, visio, organisateur, places, fuseau, description), un par ligne ou séparés par « | ». Exemple : {}",
		msgEventPosted:          "Événement n°{} publié. Pour voir les prochains événements : {}",
		msgFilterUsage:          "Filtre illisible. Donnez des mots, éventuellement avec lieu:, org:, cat: ou contrat:, par exemple : {}",
		msgOffersNone:           "Aucune offre ouverte ne correspond. Pour en publier une : {} ; pour être prévenu des prochaines : {}",
		msgOffersFound:          "Offres d'emploi ouvertes :",
		msgListHint:             "Détails : {} ; pour y donner suite : {}",
		msgEventsNone:           "Aucun événement à venir ne correspond. Pour en annoncer un : {}",
		msgEventsFound:          "Prochains événements :",
		msgRSVPYes:              "oui",
		msgRSVPMaybe:            "peut-être",
		msgRSVPUsage:            "Donnez le numéro de l'événement et votre réponse (oui, peut-être, non), par exemple : {}. La liste : {}",
		msgEventFull:            "L'événement n°{} est complet (jauge : {}). Vous pouvez répondre peut-être : {}",
		msgEventOver:            "L'événement n°{} est terminé.",
		msgRSVPGoing:            "C'est noté, vous venez à {}. Je vous le rappellerai la veille. Inscrits : {}, peut-être : {}.",
		msgRSVPMaybeSaved:       "C'est noté, vous viendrez peut-être à {}. Je vous le rappellerai la veille. Inscrits : {}, peut-être : {}.",
		msgRSVPNo:               "C'est noté, vous ne venez pas à {}. Inscrits : {}, peut-être : {}.",
		msgSaveUsage:            "Donnez le numéro de l'offre à garder, par exemple : {}. La liste : {}",
		msgOfferClosed:          "L'offre n°{} est close.",
		msgSavedNoDate:          "Offre {} gardée. Elle n'a pas de date de clôture : je ne pourrai pas vous la rappeler.",
		msgSaved:                "Offre {} gardée. Je vous la rappellerai avant sa clôture, le {}.",
		msgAlreadySubscribed:    "Vous êtes déjà abonné à cela. Vos abonnements : {}",
		msgTooManySubscriptions: "Vous avez déjà {} abonnements. Retirez-en un d'abord : {}",
		msgSubscribed:           "Abonnement enregistré : {}. Pour le retirer : {}",
		msgKindAll:              "offres et événements",
		msgKindOffers:           "offres d'emploi",
		msgKindEvents:           "événements",
		msgFreqNow:              "dès leur publication",
		msgFreqDaily:            "chaque jour",
		msgFreqWeekly:           "chaque lundi",
		msgUnsubscribeUsage:     "Pour retirer un abonnement : {} (son numéro), ou tous : {}. La liste : {}",
		msgSubscriptionNotFound: "Vous n'avez pas d'abonnement n°{}. Vos abonnements : {}",
		msgUnsubscribed:         "Abonnements retirés : {}.",
		msgNoSubscription:       "Vous n'avez aucun abonnement. Par exemple : {}",
		msgSubscriptionList:     "Vos abonnements :",
		msgAnnounceInRoom:       "Cette commande se donne dans un salon, pour y annoncer les nouvelles offres et les événements : {}",
		msgAnnounceUsage:        "Dites quoi annoncer dans ce salon : {}, ou {} pour arrêter.",
		msgAnnounceOff:          "Plus aucune annonce dans ce salon. Pour les reprendre : {}",
		msgAnnounceOn:           "Ce salon recevra les nouveautés : {}. Pour arrêter : {}",
		msgPostingAnyone:        "Tout le monde peut publier des offres et des événements dans cette communauté. Pour le réserver aux animateurs : {}",
		msgPostingAnimators:     "Seuls les animateurs publient des offres et des événements dans cette communauté (les flux et agendas importés continuent). Pour l'ouvrir à tous : {}",
		msgPostingUsage:         "Qui publie les offres et les événements de cette communauté : {} ou {}.",
		msgPostingWordAnyone:    "tous",
		msgPostingWordAnimators: "animateurs",
		msgPostingRefused:       "Dans cette communauté, les offres et les événements sont publiés par les animateurs : envoyez-leur le vôtre ({}).",
		msgNewOffer:             "Nouvelle offre d'emploi :",
		msgNewEvent:             "Nouvel événement :",
		msgSubscriptionMatch:    "Nouveauté qui correspond à votre abonnement ({}) :",
		msgOfferClosing:         "Rappel : l'offre {} que vous avez gardée se clôt le {}.",
		msgEventStarting:        "Rappel : {} a lieu {}.",
		msgDigestDaily:          "Les nouveautés du jour pour vos abonnements :",
		msgDigestWeekly:         "Les nouveautés de la semaine pour vos abonnements :",
		msgDigestMore:           "… et {} de plus : {} et {}",
		msgDigestFooter:         "Détails : {} ; vos abonnements : {}",
		msgOfferWord:            "Offre",
		msgEventWord:            "Événement",
		msgClosesLabel:          "Clôture",
		msgEmployerLabel:        "Employeur",
		msgLocationLabel:        "Lieu",
		msgCategoryLabel:        "Catégorie",
		msgContractLabel:        "Contrat",
		msgRemoteLabel:          "Télétravail",
		msgRemoteNone:           "non",
		msgRemotePartial:        "partiel",
		msgRemoteFull:           "total",
		msgSaveButton:           "Garder",
		msgWhenLabel:            "Quand",
		msgPlaceLabel:           "Lieu",
		msgOrganiserLabel:       "Organisateur",
		msgGoingLabel:           "Inscrits",
		msgMaybeLabel:           "peut-être",
		msgGoingButton:          "Je viens",
		msgMaybeButton:          "Peut-être",
		msgFormButton:           "Remplir le formulaire",
	},
	"en": {
		msgPostUnknownField:     "I do not know the field {}. Example: {}",
		msgPostMissing:          "The field {} is missing. Example: {}",
		msgPostBadField:         "The field {} needs fixing: {}.",
		msgHintDate:             "a date such as 2026-12-03 14:00 or 03/12/2026 14h",
		msgHintDuration:         "a duration such as 2h, 1h30 or 90 min",
		msgHintNumber:           "a number of seats, 0 for no limit",
		msgHintTimeZone:         "a time zone such as Europe/Paris or America/Cayenne",
		msgHintText:             "a readable text",
		msgHintShorter:          "a shorter text",
		msgHintFuture:           "a date to come",
		msgHintLink:             "a web address starting with https://",
		msgHintEnd:              "an end after the start, 31 days at most",
		msgOfferExample:         "offer Procurement officer | employer: DINUM | location: Paris | closes: 2026-12-31 | link: https://choisirleservicepublic.gouv.fr/...",
		msgOfferUsage:           "To post a job offer, give its title then its fields (employer, location, category, contract, remote, description, link, closes), one per line or separated by \" | \". Example: {}",
		msgItemNotFound:         "Number {} does not exist. Check the number.",
		msgOfferPosted:          "Offer #{} posted. Subscribers hear of it; to see open offers: {}",
		msgEventExample:         "event Responsible procurement workshop | start: 2026-12-03 14:00 | end: 16:00 | place: Lyon | link: https://webconf.numerique.gouv.fr/... | capacity: 30",
		msgEventUsage:           "To announce an event, give its title then its fields (start, end or duration, place, link, organiser, capacity, timezone, description), one per line or separated by \" | \". Example: {}",
		msgEventPosted:          "Event #{} posted. To see coming events: {}",
		msgFilterUsage:          "I cannot read this filter. Give words, possibly with place:, org:, cat: or contract:, for example: {}",
		msgOffersNone:           "No open offer matches. To post one: {}; to hear of the next ones: {}",
		msgOffersFound:          "Open job offers:",
		msgListHint:             "Details: {}; to follow up: {}",
		msgEventsNone:           "No coming event matches. To announce one: {}",
		msgEventsFound:          "Coming events:",
		msgRSVPYes:              "yes",
		msgRSVPMaybe:            "maybe",
		msgRSVPUsage:            "Give the event's number and your answer (yes, maybe, no), for example: {}. The list: {}",
		msgEventFull:            "Event #{} is full (capacity {}). You may answer maybe: {}",
		msgEventOver:            "Event #{} is over.",
		msgRSVPGoing:            "Done, you are going to {}. I will remind you the day before. Going: {}, maybe: {}.",
		msgRSVPMaybeSaved:       "Done, you may go to {}. I will remind you the day before. Going: {}, maybe: {}.",
		msgRSVPNo:               "Done, you are not going to {}. Going: {}, maybe: {}.",
		msgSaveUsage:            "Give the number of the offer to save, for example: {}. The list: {}",
		msgOfferClosed:          "Offer #{} is closed.",
		msgSavedNoDate:          "Offer {} saved. It has no closing date: I cannot remind you of it.",
		msgSaved:                "Offer {} saved. I will remind you before it closes on {}.",
		msgAlreadySubscribed:    "You are already subscribed to this. Your subscriptions: {}",
		msgTooManySubscriptions: "You already have {} subscriptions. Remove one first: {}",
		msgSubscribed:           "Subscribed: {}. To remove it: {}",
		msgKindAll:              "offers and events",
		msgKindOffers:           "job offers",
		msgKindEvents:           "events",
		msgFreqNow:              "as soon as posted",
		msgFreqDaily:            "every day",
		msgFreqWeekly:           "every Monday",
		msgUnsubscribeUsage:     "To remove a subscription: {} (its number), or all of them: {}. The list: {}",
		msgSubscriptionNotFound: "You have no subscription #{}. Your subscriptions: {}",
		msgUnsubscribed:         "Subscriptions removed: {}.",
		msgNoSubscription:       "You have no subscription. For example: {}",
		msgSubscriptionList:     "Your subscriptions:",
		msgAnnounceInRoom:       "Give this command in a room, to announce new offers and events there: {}",
		msgAnnounceUsage:        "Say what to announce in this room: {}, or {} to stop.",
		msgAnnounceOff:          "No more announcements in this room. To resume them: {}",
		msgAnnounceOn:           "This room will get what is new: {}. To stop: {}",
		msgPostingAnyone:        "Anyone may post offers and events in this community. To keep posting to the animators: {}",
		msgPostingAnimators:     "Only the animators post offers and events in this community (imported feeds and calendars go on). To open it to anyone: {}",
		msgPostingUsage:         "Who posts the offers and events of this community: {} or {}.",
		msgPostingWordAnyone:    "anyone",
		msgPostingWordAnimators: "animators",
		msgPostingRefused:       "In this community, offers and events are posted by the animators: send yours to them ({}).",
		msgNewOffer:             "New job offer:",
		msgNewEvent:             "New event:",
		msgSubscriptionMatch:    "New, matching your subscription ({}):",
		msgOfferClosing:         "Reminder: the offer {} you saved closes on {}.",
		msgEventStarting:        "Reminder: {} takes place on {}.",
		msgDigestDaily:          "What is new today for your subscriptions:",
		msgDigestWeekly:         "What is new this week for your subscriptions:",
		msgDigestMore:           "… and {} more: {} and {}",
		msgDigestFooter:         "Details: {}; your subscriptions: {}",
		msgOfferWord:            "Offer",
		msgEventWord:            "Event",
		msgClosesLabel:          "Closes",
		msgEmployerLabel:        "Employer",
		msgLocationLabel:        "Location",
		msgCategoryLabel:        "Category",
		msgContractLabel:        "Contract",
		msgRemoteLabel:          "Remote",
		msgRemoteNone:           "no",
		msgRemotePartial:        "partial",
		msgRemoteFull:           "full",
		msgSaveButton:           "Save",
		msgWhenLabel:            "When",
		msgPlaceLabel:           "Place",
		msgOrganiserLabel:       "Organiser",
		msgGoingLabel:           "Going",
		msgMaybeLabel:           "maybe",
		msgGoingButton:          "I'm going",
		msgMaybeButton:          "Maybe",
		msgFormButton:           "Fill in the form",
	},
}
