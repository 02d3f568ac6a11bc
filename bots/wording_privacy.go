package bots

// The words of linked accounts, personal data, communities and access.
const (
	msgLinkCode            msgKey = "link_code"
	msgAccounts            msgKey = "accounts"
	msgSentByDM            msgKey = "sent_by_dm"
	msgLinkPreferred       msgKey = "link_preferred"
	msgLinkUsage           msgKey = "link_usage"
	msgLinkNotYours        msgKey = "link_not_yours"
	msgLinkLast            msgKey = "link_last"
	msgUnlinked            msgKey = "unlinked"
	msgLinkInDM            msgKey = "link_in_dm"
	msgLinkBadCode         msgKey = "link_bad_code"
	msgLinkAlready         msgKey = "link_already"
	msgLinked              msgKey = "linked"
	msgMyData              msgKey = "my_data"
	msgMyDataTooBig        msgKey = "my_data_too_big"
	msgForgetAsk           msgKey = "forget_ask"
	msgConfirmWord         msgKey = "confirm_word"
	msgForgotten           msgKey = "forgotten"
	msgCommunityUsage      msgKey = "community_usage"
	msgCommunityCreated    msgKey = "community_created"
	msgCommunityInRoom     msgKey = "community_in_room"
	msgCommunityJoined     msgKey = "community_joined"
	msgAdminsOnlyCommunity msgKey = "admins_only_community"
	msgBadRule             msgKey = "bad_rule"
	msgNoSuchThing         msgKey = "no_such_thing"
	msgAlreadyThere        msgKey = "already_there"
	msgAccessAdded         msgKey = "access_added"
	msgAccessRemoved       msgKey = "access_removed"
	msgCommunityInfo       msgKey = "community_info"
	msgAccessOpen          msgKey = "access_open"
	msgAccessRules         msgKey = "access_rules"
	msgAuditEmpty          msgKey = "audit_empty"
	msgAuditHeader         msgKey = "audit_header"
	msgNotAdmitted         msgKey = "not_admitted"
	msgSlowDown            msgKey = "slow_down"
)

func init() {
	for lang, words := range privacyCatalog {
		for k, v := range words {
			catalog[lang][k] = v
		}
	}
}

var privacyCatalog = map[string]map[msgKey]string{
	"fr": {
		msgLinkCode:            "Pour relier un autre compte (une autre messagerie, un autre espace de travail), écrivez-y en message privé au robot : {} (valable {} minutes, une seule fois).",
		msgAccounts:            "Vos comptes : {}. Les messages privés vont à {} ; pour les recevoir ailleurs, écrivez {} depuis l'autre compte.",
		msgSentByDM:            "Je vous ai répondu en message privé.",
		msgLinkPreferred:       "C'est noté : vos messages privés arrivent désormais sur {}.",
		msgLinkUsage:           "Relier vos comptes : {} donne un code, {} le saisit sur l'autre compte, {} choisit où recevoir les messages, {} détache un compte.",
		msgLinkNotYours:        "{} n'est pas un de vos comptes reliés.",
		msgLinkLast:            "C'est votre seul compte : il n'y a rien à détacher.",
		msgUnlinked:            "C'est fait : {} est détaché, avec un profil vide.",
		msgLinkInDM:            "Un code se saisit en message privé au robot, pas dans un salon : demandez-en un nouveau avec {} et gardez-le pour vous.",
		msgLinkBadCode:         "Ce code ne marche pas : il est faux, déjà utilisé ou expiré (15 minutes). Demandez-en un nouveau avec {} depuis votre autre compte.",
		msgLinkAlready:         "Ces deux comptes sont déjà reliés.",
		msgLinked:              "C'est fait : vos comptes sont reliés, avec un seul profil, un seul historique et un seul quota de sollicitations.",
		msgMyData:              "Voici tout ce qu'entraide garde sur vous, en JSON : {} questions, {} réponses, votre profil et vos réglages. Pour tout effacer : {}",
		msgMyDataTooBig:        "Vos données dépassent la taille d'un fichier en message privé ({} Mo) : demandez l'export à l'administrateur du service.",
		msgForgetAsk:           "Cette commande efface tout ce qu'entraide sait de vous, partout : comptes reliés, profil d'expert, texte de vos questions et réponses, abonnements, rôles. Les réponses des autres restent, sans votre question. Pour garder une copie avant : {}. Pour confirmer : {}",
		msgConfirmWord:         "confirmer",
		msgForgotten:           "C'est fait : entraide a tout effacé de vous. Si vous nous écrivez à nouveau, ce sera comme une première fois.",
		msgCommunityUsage:      "Communautés : {} montre celle de ce salon ; pour les administrateurs : {}, {} (y rattacher ce salon), {} et {} (qui peut l'utiliser).",
		msgCommunityCreated:    "La communauté {} est créée. Pour y rattacher un salon, écrivez-y {}",
		msgCommunityInRoom:     "Cette commande se tape dans le salon à rattacher.",
		msgCommunityJoined:     "Ce salon fait maintenant partie de la communauté {}.",
		msgAdminsOnlyCommunity: "Cette commande est réservée aux administrateurs de la communauté.",
		msgBadRule:             "{} n'est pas une règle d'accès. Exemples : slack:T0123ABCD, discord:81384788765712384, matrix:*.tchap.gouv.fr, mail:interieur.gouv.fr, user:matrix:@jean:example.org.",
		msgNoSuchThing:         "Je ne trouve pas {}.",
		msgAlreadyThere:        "{} existe déjà, ou vient de la configuration et ne se change pas ici.",
		msgAccessAdded:         "Règle ajoutée : {}.",
		msgAccessRemoved:       "Règle retirée : {}.",
		msgCommunityInfo:       "Communauté {} ; salons : {}.",
		msgAccessOpen:          "Elle est ouverte à tous les comptes.",
		msgAccessRules:         "Peuvent l'utiliser : {}.",
		msgAuditEmpty:          "Le journal est vide : personne n'a eu besoin de l'auteur d'une question anonyme.",
		msgAuditHeader:         "Les {} derniers accès aux auteurs de questions anonymes :",
		msgNotAdmitted:         "entraide est réservé aux agents des administrations membres de cette communauté. Si vous en êtes, demandez à son animateur de vous ajouter.",
		msgSlowDown:            "Doucement : trop de messages d'un coup. Réessayez dans {} secondes.",
	},
	"en": {
		msgLinkCode:            "To link another account (another messenger, another workspace), write this to the bot in a direct message there: {} (valid {} minutes, once).",
		msgAccounts:            "Your accounts: {}. Direct messages go to {}; to get them elsewhere, write {} from the other account.",
		msgSentByDM:            "I answered you in a direct message.",
		msgLinkPreferred:       "Done: your direct messages now go to {}.",
		msgLinkUsage:           "Linking your accounts: {} gives a code, {} enters it on the other account, {} chooses where messages go, {} detaches an account.",
		msgLinkNotYours:        "{} is not one of your linked accounts.",
		msgLinkLast:            "This is your only account: there is nothing to detach.",
		msgUnlinked:            "Done: {} is detached, with an empty profile.",
		msgLinkInDM:            "Codes are entered in a direct message to the bot, not in a room: ask for a new one with {} and keep it to yourself.",
		msgLinkBadCode:         "This code does not work: it is wrong, used or expired (15 minutes). Ask for a new one with {} from your other account.",
		msgLinkAlready:         "These two accounts are linked already.",
		msgLinked:              "Done: your accounts are linked, with one profile, one history and one budget of requests.",
		msgMyData:              "Here is everything entraide keeps about you, as JSON: {} questions, {} answers, your profile and settings. To erase it all: {}",
		msgMyDataTooBig:        "Your data is larger than a file in a direct message ({} MB): ask the service's administrator for the export.",
		msgForgetAsk:           "This command erases everything entraide knows about you, everywhere: linked accounts, expert profile, the text of your questions and answers, subscriptions, roles. Others' answers stay, without your question. To keep a copy first: {}. To confirm: {}",
		msgConfirmWord:         "confirm",
		msgForgotten:           "Done: entraide erased everything about you. If you write again, it will be like the first time.",
		msgCommunityUsage:      "Communities: {} shows this room's; for administrators: {}, {} (attach this room), {} and {} (who may use it).",
		msgCommunityCreated:    "Community {} is created. To attach a room to it, write there {}",
		msgCommunityInRoom:     "Type this command in the room to attach.",
		msgCommunityJoined:     "This room is now part of community {}.",
		msgAdminsOnlyCommunity: "This command is for the community's administrators.",
		msgBadRule:             "{} is not an access rule. Examples: slack:T0123ABCD, discord:81384788765712384, matrix:*.tchap.gouv.fr, mail:interieur.gouv.fr, user:matrix:@jean:example.org.",
		msgNoSuchThing:         "I cannot find {}.",
		msgAlreadyThere:        "{} exists already, or comes from the configuration and cannot be changed here.",
		msgAccessAdded:         "Rule added: {}.",
		msgAccessRemoved:       "Rule removed: {}.",
		msgCommunityInfo:       "Community {}; rooms: {}.",
		msgAccessOpen:          "It is open to every account.",
		msgAccessRules:         "Who may use it: {}.",
		msgAuditEmpty:          "The log is empty: nobody needed the author of an anonymous question.",
		msgAuditHeader:         "The latest {} accesses to authors of anonymous questions:",
		msgNotAdmitted:         "entraide is for the agents of this community's administrations. If you are one, ask its animator to add you.",
		msgSlowDown:            "Easy: too many messages at once. Try again in {} seconds.",
	},
}
