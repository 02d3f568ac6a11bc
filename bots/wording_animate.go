package bots

// The animators' words: roles, digests, figures, the web page.
const (
	msgNoRole                 msgKey = "no_role"
	msgYourRoles              msgKey = "your_roles"
	msgRoleUsage              msgKey = "role_usage"
	msgAdminsOnly             msgKey = "admins_only"
	msgRoleGiven              msgKey = "role_given"
	msgRoleTaken              msgKey = "role_taken"
	msgRoleAdmin              msgKey = "role_admin"
	msgRoleAnimator           msgKey = "role_animator"
	msgAnimatorsOnly          msgKey = "animators_only"
	msgDigestUsage            msgKey = "digest_usage"
	msgIntroExample           msgKey = "intro_example"
	msgNoDigest               msgKey = "no_digest"
	msgDigestAlreadyPublished msgKey = "digest_already_published"
	msgDigestPublishing       msgKey = "digest_publishing"
	msgDraftPublished         msgKey = "draft_published"
	msgDraftHeader            msgKey = "draft_header"
	msgDraftNoIntro           msgKey = "draft_no_intro"
	msgDraftRemoved           msgKey = "draft_removed"
	msgDraftEmpty             msgKey = "draft_empty"
	msgDraftHelp              msgKey = "draft_help"
	msgPublishButton          msgKey = "publish_button"
	msgIntroButton            msgKey = "intro_button"
	msgIntroLabel             msgKey = "intro_label"
	msgSectionResolved        msgKey = "section_resolved"
	msgSectionWaiting         msgKey = "section_waiting"
	msgSectionExperts         msgKey = "section_experts"
	msgSectionOffers          msgKey = "section_offers"
	msgSectionEvents          msgKey = "section_events"
	msgDigestTitle            msgKey = "digest_title"
	msgDigestQuiet            msgKey = "digest_quiet"
	msgDigestJoin             msgKey = "digest_join"
	msgStats                  msgKey = "stats"
	msgStatsUnmatched         msgKey = "stats_unmatched"
	msgStatsOverBudget        msgKey = "stats_over_budget"
	msgStatsHelpful           msgKey = "stats_helpful"
	msgStatsWeb               msgKey = "stats_web"
	msgWebOff                 msgKey = "web_off"
	msgWebLink                msgKey = "web_link"
	msgWebSent                msgKey = "web_sent"
	msgKindDigest             msgKey = "kind_digest"
	msgEscalatedAnimator      msgKey = "escalated_animator"
	msgAcceptHint             msgKey = "accept_hint"
	msgAcceptButton           msgKey = "accept_button"
	msgAcceptUsage            msgKey = "accept_usage"
	msgAcceptNotAsker         msgKey = "accept_not_asker"
	msgAccepted               msgKey = "accepted"
	msgAcceptedNotice         msgKey = "accepted_notice"
	msgAcceptedChanged        msgKey = "accepted_changed"
)

func init() {
	for lang, words := range animateCatalog {
		for k, v := range words {
			catalog[lang][k] = v
		}
	}
}

var animateCatalog = map[string]map[msgKey]string{
	"fr": {
		msgNoRole:                 "Vous n'avez pas de rôle particulier dans cette communauté : vous pouvez poser des questions et y répondre.",
		msgYourRoles:              "Vos rôles dans cette communauté : {}.",
		msgRoleUsage:              "Pour donner un rôle : {} ; pour le retirer : {}. Rôles : animateur, admin.",
		msgAdminsOnly:             "Seuls les administrateurs de la communauté donnent les rôles.",
		msgRoleGiven:              "C'est fait : rôle {} donné à {}.",
		msgRoleTaken:              "C'est fait : rôle {} retiré à {}.",
		msgRoleAdmin:              "administrateur",
		msgRoleAnimator:           "animateur",
		msgAnimatorsOnly:          "Cette commande est réservée aux animateurs de la communauté. Vos rôles : {}",
		msgDigestUsage:            "La lettre de la communauté : {} (aperçu), {} (mot d'introduction), {} et {} (un élément), {} (publier tout de suite), {} (préparer maintenant).",
		msgIntroExample:           "Bonne semaine à toutes et à tous !",
		msgNoDigest:               "Aucune lettre n'est en préparation. Pour en préparer une maintenant : {}",
		msgDigestAlreadyPublished: "Cette lettre est déjà publiée. Pour préparer la suivante : {}",
		msgDigestPublishing:       "C'est parti : la lettre est publiée dans les salons de la communauté.",
		msgDraftPublished:         "Lettre n°{} (publiée) :",
		msgDraftHeader:            "Brouillon de la lettre n°{}, à publier le {} :",
		msgDraftNoIntro:           "(pas encore de mot d'introduction)",
		msgDraftRemoved:           "(retiré)",
		msgDraftEmpty:             "(rien de neuf cette semaine)",
		msgDraftHelp:              "Pour ajouter un mot : {} ; retirer un élément : {} ; publier tout de suite : {}. Sinon, publication automatique le {}.",
		msgPublishButton:          "Publier maintenant",
		msgIntroButton:            "Mot d'introduction",
		msgIntroLabel:             "Votre mot, en tête de la lettre",
		msgSectionResolved:        "Questions résolues",
		msgSectionWaiting:         "Questions qui attendent un expert",
		msgSectionExperts:         "Nouveaux experts",
		msgSectionOffers:          "Offres d'emploi",
		msgSectionEvents:          "Événements à venir",
		msgDigestTitle:            "La lettre de la communauté, du {} au {}",
		msgDigestQuiet:            "Une semaine calme : c'est le moment de poser vos questions !",
		msgDigestJoin:             "Une question ? {} · Un domaine où vous pouvez aider ? {}",
		msgStats:                  "Les 30 derniers jours : {} questions, {} personnes ont demandé, {} ont répondu ; {} experts dans l'annuaire.\nTaux de réponse : {} ; première réponse en {} (médiane), {} (9 sur 10).\nRelancées : {} ; restées sans réponse : {}.",
		msgStatsUnmatched:         "Sujets sans expert :",
		msgStatsOverBudget:        "Experts au bout de leur budget du jour :",
		msgStatsHelpful:           "Les plus aidants :",
		msgStatsWeb:               "Les courbes et la lettre sont sur la page des animateurs : {}",
		msgWebOff:                 "La page des animateurs n'est pas activée sur ce serveur (ENTRAIDE_PUBLIC_URL et ENTRAIDE_HTTP_ADDR).",
		msgWebLink:                "Votre lien vers la page des animateurs : {}\nIl ne sert qu'une fois et expire dans {} minutes. Ne le transmettez pas.",
		msgWebSent:                "Je vous ai envoyé le lien en message privé.",
		msgKindDigest:             "lettre de la communauté",
		msgAcceptHint:             "Si c'est la réponse qu'il vous fallait : {}",
		msgAcceptButton:           "C'est la bonne réponse",
		msgAcceptUsage:            "Donnez le numéro de la réponse que vous retenez, par exemple : {}",
		msgAcceptNotAsker:         "Seule la personne qui a posé la question choisit sa réponse.",
		msgAccepted:               "C'est noté : la réponse de {} à la question n°{} est retenue, et la question est résolue. Merci !",
		msgAcceptedChanged:        "C'est noté : vous retenez maintenant la réponse de {} à la question n°{}.",
		msgAcceptedNotice:         "{} a retenu votre réponse à la question n°{}. Merci pour votre aide !",
		msgEscalatedAnimator:      "Aucun expert n'a répondu à la question n°{} posée par {} ({}) :\n{}\nConnaissez-vous quelqu'un qui pourrait aider ? Invitez-le à rejoindre l'annuaire, ou répondez : {}",
	},
	"en": {
		msgNoRole:                 "You have no special role in this community: you may ask and answer questions.",
		msgYourRoles:              "Your roles in this community: {}.",
		msgRoleUsage:              "To give a role: {}; to take it away: {}. Roles: animator, admin.",
		msgAdminsOnly:             "Only the community's administrators give roles.",
		msgRoleGiven:              "Done: role {} given to {}.",
		msgRoleTaken:              "Done: role {} taken from {}.",
		msgRoleAdmin:              "administrator",
		msgRoleAnimator:           "animator",
		msgAnimatorsOnly:          "This command is for the community's animators. Your roles: {}",
		msgDigestUsage:            "The community digest: {} (preview), {} (intro), {} and {} (one item), {} (publish at once), {} (prepare now).",
		msgIntroExample:           "Have a good week, everyone!",
		msgNoDigest:               "No digest is being prepared. To prepare one now: {}",
		msgDigestAlreadyPublished: "This digest is already published. To prepare the next one: {}",
		msgDigestPublishing:       "Off it goes: the digest is published in the community's rooms.",
		msgDraftPublished:         "Digest #{} (published):",
		msgDraftHeader:            "Draft of digest #{}, to publish on {}:",
		msgDraftNoIntro:           "(no intro yet)",
		msgDraftRemoved:           "(removed)",
		msgDraftEmpty:             "(nothing new this week)",
		msgDraftHelp:              "To add a word: {}; remove an item: {}; publish at once: {}. Otherwise it publishes itself on {}.",
		msgPublishButton:          "Publish now",
		msgIntroButton:            "Intro",
		msgIntroLabel:             "Your word, at the top of the digest",
		msgSectionResolved:        "Resolved questions",
		msgSectionWaiting:         "Questions waiting for an expert",
		msgSectionExperts:         "New experts",
		msgSectionOffers:          "Job offers",
		msgSectionEvents:          "Coming events",
		msgDigestTitle:            "The community digest, from {} to {}",
		msgDigestQuiet:            "A quiet week: the right time to ask your questions!",
		msgDigestJoin:             "A question? {} · A field where you can help? {}",
		msgStats:                  "Last 30 days: {} questions, {} people asked, {} answered; {} experts in the directory.\nAnswer rate: {}; first answer in {} (median), {} (9 in 10).\nEscalated: {}; left unanswered: {}.",
		msgStatsUnmatched:         "Topics with no expert:",
		msgStatsOverBudget:        "Experts at the end of their daily budget:",
		msgStatsHelpful:           "Most helpful:",
		msgStatsWeb:               "Charts and the digest are on the animators' page: {}",
		msgWebOff:                 "The animators' page is not enabled on this server (ENTRAIDE_PUBLIC_URL and ENTRAIDE_HTTP_ADDR).",
		msgWebLink:                "Your link to the animators' page: {}\nIt works once and expires in {} minutes. Do not pass it on.",
		msgWebSent:                "I sent you the link in a direct message.",
		msgKindDigest:             "community digest",
		msgAcceptHint:             "If this is the answer you needed: {}",
		msgAcceptButton:           "This is the answer",
		msgAcceptUsage:            "Give the number of the answer you choose, for example: {}",
		msgAcceptNotAsker:         "Only the person who asked the question chooses its answer.",
		msgAccepted:               "Done: the answer of {} to question #{} is chosen, and the question is resolved. Thank you!",
		msgAcceptedChanged:        "Done: you now choose the answer of {} to question #{}.",
		msgAcceptedNotice:         "{} chose your answer to question #{}. Thank you for your help!",
		msgEscalatedAnimator:      "No expert answered question #{} asked by {} ({}):\n{}\nDo you know someone who could help? Invite them into the directory, or answer: {}",
	},
}
