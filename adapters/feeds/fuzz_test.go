package feeds

import (
	"strings"
	"testing"
	"unicode"
)

func FuzzParseOffers(f *testing.F) {
	for _, name := range []string{"offres.atom", "offres.rss", "offres.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","items":[null,{"_job":1}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		offers, _, err := ParseOffers(body, "https://example.org/feed", importTime)
		if err != nil && len(offers) > 0 {
			t.Fatal("offers with an error")
		}
		for _, o := range offers {
			if err := o.Normalize(); err != nil {
				t.Fatalf("offer %+v does not pass Normalize: %v", o, err)
			}
			if o.SourceID == "" || !o.OpenAt(importTime) {
				t.Fatalf("offer %+v without id or closed", o)
			}
			if hasTag(o.Description) || hasTag(o.Title) {
				t.Fatalf("tag left in %q / %q", o.Title, o.Description)
			}
		}
	})
}

func FuzzParseEvents(f *testing.F) {
	f.Add(readTestdata(f, "agenda.ics"))
	f.Add(calendar("BEGIN:VEVENT", "UID:x", "SUMMARY:S", "DTSTART:20260301T100000Z", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "END:VEVENT"))
	f.Add(calendar("BEGIN:VEVENT", "UID:d", "SUMMARY:P", "DTSTART;TZID=Europe/Paris:20260327T090000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=4", "END:VEVENT",
		"BEGIN:VEVENT", "UID:d", "RECURRENCE-ID;TZID=Europe/Paris:20260328T090000", "STATUS:CANCELLED", "END:VEVENT"))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, _, err := ParseEvents(body, agendaURL, periodFrom, periodTo, importTime)
		if err != nil && len(events) > 0 {
			t.Fatal("events with an error")
		}
		for _, e := range events {
			if err := e.Normalize(); err != nil {
				t.Fatalf("event %+v does not pass Normalize: %v", e, err)
			}
			if e.SourceID == "" || !e.End.After(periodFrom) || !e.Start.Before(periodTo) {
				t.Fatalf("event %+v without id or out of the period", e)
			}
		}
	})
}

func FuzzHTMLText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "a &lt;b&gt; c", "<scr<script>ipt>", "<!--x-->", "&lt;!-- --&gt;", "<<a>b", "x</", "&#0;&#x202e;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := htmlText(s)
		if hasTag(out) {
			t.Fatalf("htmlText(%q) = %q keeps a tag", s, out)
		}
		for _, r := range out {
			if r != '\n' && !printable(r) {
				t.Fatalf("htmlText(%q) = %q keeps %U", s, out, r)
			}
		}
	})
}

// hasTag reports whether s holds something an HTML parser would take for
// a tag, a comment or a processing instruction.
func hasTag(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0 && i+1 < len(s); i = strings.IndexByte(s[i+1:], '<') + i + 1 {
		next := []rune(s[i+1:])[0]
		if next == '/' || next == '!' || next == '?' || unicode.IsLetter(next) {
			return true
		}
		if strings.IndexByte(s[i+1:], '<') < 0 {
			break
		}
	}
	return false
}
