package feeds

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"entraide/core"
)

// importTime is when the tests import the testdata feeds.
var importTime = time.Date(2026, 3, 10, 11, 0, 0, 0, time.UTC)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseOffers(t *testing.T) {
	tests := []struct {
		file, source string
		want         []core.Offer
		problems     []string // "id: field" of each problem
	}{{
		file:   "offres.atom",
		source: "https://emploi-public.example/flux/idf.atom",
		want: []core.Offer{{
			SourceID: "urn:pep:offre:2026-1123456",
			Title:    "Chargé·e de mission numérique responsable (H/F)",
			Employer: "Direction interministérielle du numérique (DINUM)",
			Location: "Paris 7e", Category: "A", Contract: "Contractuel, CDD 3 ans", Remote: core.RemotePartial,
			Description: "Vos missions\n\n" +
				"Au sein du pôle Numérique responsable, vous animez le réseau des référents : sobriété, accessibilité & éco-conception.\n\n" +
				"- piloter le plan d'action ministériel\n" +
				"- accompagner les projets « numérique responsable »\n\n" +
				"Rémunération selon expérience.\nPoste ouvert aux titulaires et contractuels.",
			Link:    "https://emploi-public.example/offre-emploi/2026-1123456",
			Closes:  utc("2026-04-15T23:59:59+02:00"),
			Expires: utc("2026-04-15T23:59:59+02:00"),
			Posted:  utc("2026-03-02T09:15:00+01:00"),
			Updated: utc("2026-03-04T11:00:00+01:00"),
		}, {
			SourceID: "urn:pep:offre:2026-1123789",
			Title:    "Assistant de prévention (H/F)",
			Employer: "Place de l'emploi public – Offres Île-de-France", // no author: the feed
			Location: "Créteil (94)", Category: "B", Contract: "Titulaire", Remote: core.RemoteNone,
			Description: "Vous conseillez les services sur la santé et la sécurité au travail.",
			Link:        "https://emploi-public.example/offre-emploi/2026-1123789", // resolved
			Closes:      utc("2026-05-31T23:59:59+02:00"),
			Expires:     utc("2026-05-31T23:59:59+02:00"),
			Posted:      utc("2026-03-05T14:00:00+01:00"),
			Updated:     utc("2026-03-05T14:00:00+01:00"),
		}},
		problems: []string{"urn:pep:offre:2026-1124000: link"},
	}, {
		file:   "offres.rss",
		source: "https://www.cdg69.example/emploi/rss",
		want: []core.Offer{{
			SourceID: "O069260300412",
			Title:    "Gestionnaire paie & carrières (H/F)",
			Employer: "Mairie de Villeurbanne",
			Location: "Villeurbanne (69)", Category: "B", Contract: "Titulaire", Remote: core.RemoteNone,
			Description: "La ville de Villeurbanne (150 000 habitants) recrute un gestionnaire paie & carrières.\n\n" +
				"Missions :\n- saisie des éléments variables de paie ;\n- suivi des dossiers de carrière.\n\n" +
				"Vous connaissez le statut < FPT> et l'outil CIRIL.",
			Link:    "https://www.cdg69.example/emploi/offre/O069260300412",
			Posted:  utc("2026-03-03T08:30:00+01:00"),
			Expires: utc("2026-03-03T08:30:00+01:00").Add(core.OfferLifetime),
		}, {
			SourceID: "https://www.cdg69.example/emploi/offre/O069260300588", // no guid: the link
			Title:    "Chef de projet mobilités actives (H/F)",
			Employer: "Métropole de Lyon",
			Location: "Lyon 3e", Category: "A", Contract: "CDD 3 ans", Remote: core.RemotePartial,
			Description: "Vous pilotez le plan vélo de la Métropole.",
			Link:        "https://www.cdg69.example/emploi/offre/O069260300588",
			Closes:      utc("2026-06-30T23:59:59+02:00"),
			Expires:     utc("2026-06-30T23:59:59+02:00"),
			Posted:      utc("2026-03-04T16:05:00+01:00"),
		}, {
			SourceID: "sha256:2837c7fde18cb829ea030b8b", // no guid nor link: a hash
			Title:    "Secrétaire de mairie (H/F) – Saint-Laurent-de-Chamousset",
			Employer: "CDG 69 – Bourse de l'emploi territorial",
			Location: "Saint-Laurent-de-Chamousset", Category: "C",
			Description: "Commune rurale de 1 900 habitants. Poste à temps complet.",
			Posted:      utc("2026-03-06T11:20:00+01:00"),
			Expires:     utc("2026-03-06T11:20:00+01:00").Add(core.OfferLifetime),
		}},
		problems: []string{"O069260300601: title"},
	}, {
		file:   "offres.json",
		source: "https://emplois.ecologie.example/offres.json",
		want: []core.Offer{{
			SourceID: "MTE-2026-00871",
			Title:    "Inspecteur·rice des installations classées (H/F)",
			Employer: "DREAL Occitanie",
			Location: "Toulouse (31)", Category: "A", Contract: "Titulaire ou contractuel", Remote: core.RemotePartial,
			Description: "Au sein de la DREAL Occitanie, vous contrôlez les sites industriels.\n\nDéplacements fréquents ; permis B exigé.",
			Link:        "https://emplois.ecologie.example/offres/MTE-2026-00871",
			Closes:      utc("2026-04-30T23:59:59+02:00"),
			Expires:     utc("2026-04-30T23:59:59+02:00"),
			Posted:      utc("2026-03-03T10:00:00+01:00"),
			Updated:     utc("2026-03-04T08:00:00+01:00"),
		}, {
			SourceID: "MTE-2026-00902",
			Title:    "Technicien·ne hydrométrie – Guyane",
			Employer: "DGTM Guyane",
			Location: "Cayenne (973)", Category: "B", Contract: "Contractuel", Remote: core.RemoteNone,
			Description: "Surveillance des cours d'eau et prévision des crues.\n\nPoste basé à Cayenne.",
			Link:        "https://emplois.ecologie.example/offres/MTE-2026-00902",
			Closes:      utc("2026-04-10T23:59:00-03:00"),
			Expires:     utc("2026-04-10T23:59:00-03:00"),
			Posted:      utc("2026-03-05T12:00:00-03:00"),
		}, {
			SourceID: "MTE-2026-00925",
			Title:    "Développeur·se Python (H/F)",
			Employer: "Ministère de la Transition écologique – Offres d'emploi",
			Location: "Paris", Remote: core.RemoteFull, // from tags and _job together
			Description: "Équipe Fabrique numérique.",
			Link:        "https://emplois.ecologie.example/offres/MTE-2026-00925",
			Posted:      utc("2026-03-07T09:00:00+01:00"),
			Expires:     utc("2026-03-07T09:00:00+01:00").Add(core.OfferLifetime),
		}},
		problems: []string{"MTE-2026-00911: closes"},
	}}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			offers, problems, err := ParseOffers(readTestdata(t, tt.file), tt.source, importTime)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Source = tt.source
			}
			if len(offers) != len(tt.want) {
				t.Errorf("got %d offers, want %d", len(offers), len(tt.want))
			}
			for i := range min(len(offers), len(tt.want)) {
				if !offerEqual(offers[i], tt.want[i]) {
					t.Errorf("offer %d:\n got %+v\nwant %+v", i, offers[i], tt.want[i])
				}
			}
			var got []string
			for _, p := range problems {
				var fe *core.FieldError
				if !errors.As(p, &fe) {
					t.Errorf("problem %v is not a *core.FieldError", p)
					continue
				}
				got = append(got, p.ID+": "+fe.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.problems) {
				t.Errorf("problems %q, want %q", got, tt.problems)
			}
		})
	}
}

func offerEqual(a, b core.Offer) bool {
	times := a.Closes.Equal(b.Closes) && a.Expires.Equal(b.Expires) && a.Posted.Equal(b.Posted) && a.Updated.Equal(b.Updated)
	a.Closes, a.Expires, a.Posted, a.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.Closes, b.Expires, b.Posted, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return times && a == b
}

// Importing the same feed again, later, gives the same ids: the store
// recognises what it already has.
func TestParseOffersIdempotent(t *testing.T) {
	for _, file := range []string{"offres.atom", "offres.rss", "offres.json"} {
		body := readTestdata(t, file)
		first, _, err := ParseOffers(body, "https://example.org/feed", importTime)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := ParseOffers(body, "https://example.org/feed", importTime.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if ids(first) != ids(again) {
			t.Errorf("%s: ids %s, then %s", file, ids(first), ids(again))
		}
	}
}

func ids(offers []core.Offer) string {
	var b strings.Builder
	for _, o := range offers {
		b.WriteString(o.Source + " " + o.SourceID + "\n")
	}
	return b.String()
}

func TestParseOffersUnreadable(t *testing.T) {
	for name, body := range map[string]string{
		"empty":     "",
		"html page": "<!doctype html><html><body><p>Maintenance</p></body></html>",
		"broken":    `<?xml version="1.0"?><rss version="2.0"><channel><item><title>a</ti`,
		"json":      `{"version": "https://jsonfeed.org/version/1.1", "items": [`,
		"too large": strings.Repeat(" ", MaxDocumentSize+1),
	} {
		if _, _, err := ParseOffers([]byte(body), "https://example.org/feed", importTime); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "feeds: ") {
			t.Errorf("%s: error %q does not say feeds", name, err)
		}
	}
}

func TestParseOffersTooManyEntries(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>Bourse</title>`)
	for i := range MaxEntries + 5 {
		fmt.Fprintf(&b, "<item><title>Offre %d</title><guid>o%d</guid><pubDate>Tue, 03 Mar 2026 08:30:00 +0100</pubDate></item>", i, i)
	}
	b.WriteString(`</channel></rss>`)
	offers, problems, err := ParseOffers([]byte(b.String()), "https://example.org/feed", importTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(offers) != MaxEntries || len(problems) != 1 || !strings.Contains(problems[0].Error(), "5 entries") {
		t.Errorf("%d offers, problems %v; want %d offers and one problem for 5 entries", len(offers), problems, MaxEntries)
	}
}

func TestParseOffersLongDescriptionIsCut(t *testing.T) {
	long := strings.Repeat("Missions très variées. ", 400)
	feed := `{"version":"https://jsonfeed.org/version/1.1","title":"T","items":[{"id":"1","title":"Offre","content_text":"` + long + `","date_published":"2026-03-01T10:00:00Z"}]}`
	offers, problems, err := ParseOffers([]byte(feed), "https://example.org/feed.json", importTime)
	if err != nil || len(problems) != 0 || len(offers) != 1 {
		t.Fatalf("offers %v, problems %v, err %v", offers, problems, err)
	}
	d := offers[0].Description
	if len(d) > core.MaxDescriptionLen || !strings.HasSuffix(d, "…") {
		t.Errorf("description of %d bytes ending %q", len(d), d[len(d)-10:])
	}
}

func TestParseClosing(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-12-31", utc("2026-12-31T23:59:59+01:00")},
		{"31/07/2026", utc("2026-07-31T23:59:59+02:00")},
		{"2026-07-31T12:00:00-03:00", utc("2026-07-31T15:00:00Z")},
		{" 2026-12-31 ", utc("2026-12-31T23:59:59+01:00")},
	}
	for _, tt := range tests {
		got, err := parseClosing(tt.in)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseClosing(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"bientôt", "2026-13-01", "31/12/26", ""} {
		var fe *core.FieldError
		if _, err := parseClosing(bad); !errors.As(err, &fe) || fe.Field != "closes" {
			t.Errorf("parseClosing(%q) = %v, want a closes field error", bad, err)
		}
	}
}
