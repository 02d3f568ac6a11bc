package core

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// The bulletin is what a community announces besides questions: job offers
// and events, posted by agents or imported from the feeds and calendars
// that administrations publish.

// OfferID identifies a job offer in the store. Users see it as a number.
type OfferID int64

// Remote says how much of a job can be done away from the office.
type Remote string

// The kinds of remote work.
const (
	RemoteUnknown Remote = ""
	RemoteNone    Remote = "none"
	RemotePartial Remote = "partial"
	RemoteFull    Remote = "full"
)

// ParseRemote reads how much remote work a text describes: "oui", "yes",
// "total", "full" are full; "partiel", "hybride", "partial", "hybrid", "2
// jours" and any other non-negative text are partial; "non", "no", "aucun"
// are none.
func ParseRemote(s string) (Remote, error) {
	f := Fold(s)
	switch f {
	case "":
		return RemoteUnknown, nil
	case "non", "no", "aucun", "none", "sans", "0", "presentiel", "false":
		return RemoteNone, nil
	case "oui", "yes", "si", "total", "full", "complet", "100", "true", "teletravail total", "full remote":
		return RemoteFull, nil
	case "partiel", "partial", "hybride", "hybrid", "parcial":
		return RemotePartial, nil
	}
	if len(f) > MaxFieldLen {
		return "", fmt.Errorf("%w: remote work %q", ErrInvalid, s)
	}
	return RemotePartial, nil
}

// Offer is a job offer.
type Offer struct {
	ID        OfferID
	Community CommunityID
	// Source is the address of the feed the offer was imported from, and
	// SourceID the entry's id in that feed; both are empty for an offer
	// posted in chat. An offer is imported once per (Source, SourceID).
	Source, SourceID string
	// Poster is who posted it in chat; 0 when imported.
	Poster      PersonID
	Title       string
	Employer    string
	Location    string
	Category    string // category or grade: "A", "B+", "catégorie A"
	Contract    string // "titulaire", "contractuel", "CDD 3 ans", "stage"
	Remote      Remote
	Description string
	Link        string
	// Closes is the closing date for applications; zero when not given.
	Closes time.Time
	// Expires is when the offer stops being listed: Closes, or
	// OfferLifetime after posting when no closing date was given.
	Expires time.Time
	Posted  time.Time
	Updated time.Time
}

// OfferLifetime is how long an offer without closing date stays listed.
const OfferLifetime = 60 * 24 * time.Hour

// Limits on bulletin fields, in bytes.
const (
	MaxTitleLen       = 200
	MaxFieldLen       = 200
	MaxDescriptionLen = 4000
	MaxLinkLen        = 2000
	MaxCapacity       = 100000
	MaxEventLength    = 31 * 24 * time.Hour
)

// FieldError names the field of an offer or event that is wrong, for the
// conversation layer to say which one to fix.
type FieldError struct {
	Field  string // "title", "employer", "link", "closes", "start", "end", ...
	Reason string
}

// Error describes the mistake.
func (e *FieldError) Error() string { return "invalid input: " + e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// controls removes control characters (but new lines and tabs) and the
// bidirectional overrides that could make a text read backwards.
func controls(v string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0), r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, v)
}

// cleanField trims a one-line field and checks its length and encoding.
func cleanField(name, v string, max int) (string, error) {
	if !utf8.ValidString(v) {
		return "", fieldErr(name, "not valid UTF-8")
	}
	v = strings.Join(strings.Fields(controls(v)), " ")
	if len(v) > max {
		return "", fieldErr(name, "%d bytes, at most %d", len(v), max)
	}
	return v, nil
}

// cleanText trims a multi-line text and checks its length and encoding.
func cleanText(name, v string, max int) (string, error) {
	if !utf8.ValidString(v) {
		return "", fieldErr(name, "not valid UTF-8")
	}
	v = strings.TrimSpace(controls(strings.ReplaceAll(v, "\r\n", "\n")))
	if len(v) > max {
		return "", fieldErr(name, "%d bytes, at most %d", len(v), max)
	}
	return v, nil
}

// CheckLink accepts an absolute http or https address; the empty string is
// accepted too (no link).
func CheckLink(field, link string) (string, error) {
	link = strings.TrimSpace(link)
	if link == "" {
		return "", nil
	}
	if len(link) > MaxLinkLen {
		return "", fieldErr(field, "%d bytes, at most %d", len(link), MaxLinkLen)
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(link, " \t\n<>\"") {
		return "", fieldErr(field, "%q is not a web address (want https://...)", link)
	}
	// Escaping may lengthen the address: check the length of what is kept,
	// so that a normalized link stays normal.
	if out := u.String(); len(out) > MaxLinkLen {
		return "", fieldErr(field, "%d bytes once escaped, at most %d", len(out), MaxLinkLen)
	} else {
		return out, nil
	}
}

// Normalize trims o's fields, checks them and sets Expires. It fails with a
// *FieldError naming the first wrong field.
func (o *Offer) Normalize() error {
	var err error
	fields := []struct {
		name string
		v    *string
	}{{"title", &o.Title}, {"employer", &o.Employer}, {"location", &o.Location}, {"category", &o.Category}, {"contract", &o.Contract}}
	for _, f := range fields {
		max := MaxFieldLen
		if f.name == "title" {
			max = MaxTitleLen
		}
		if *f.v, err = cleanField(f.name, *f.v, max); err != nil {
			return err
		}
	}
	if o.Title == "" {
		return fieldErr("title", "missing")
	}
	if o.Description, err = cleanText("description", o.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if o.Link, err = CheckLink("link", o.Link); err != nil {
		return err
	}
	switch o.Remote {
	case RemoteUnknown, RemoteNone, RemotePartial, RemoteFull:
	default:
		return fieldErr("remote", "%q is not a kind of remote work", o.Remote)
	}
	if o.Posted.IsZero() {
		return fieldErr("posted", "missing")
	}
	o.Expires = o.Closes
	if o.Closes.IsZero() {
		o.Expires = o.Posted.Add(OfferLifetime)
	}
	return nil
}

// OpenAt reports whether the offer is still listed at t.
func (o Offer) OpenAt(t time.Time) bool { return t.Before(o.Expires) }

// EventID identifies an event in the store. Users see it as a number.
type EventID int64

// Event is something agents may attend: a meeting, a training, a webinar.
type Event struct {
	ID        EventID
	Community CommunityID
	// Source is the address of the calendar the event was imported from,
	// and SourceID its UID, followed by "/" and the start of the occurrence
	// for one occurrence of a recurring event. Both are empty for an event
	// posted in chat.
	Source, SourceID string
	Poster           PersonID
	Title            string
	Organiser        string
	Start, End       time.Time
	// TimeZone is the IANA name of the zone the times are shown in.
	TimeZone    string
	Place       string
	Link        string // a visio link or a page about the event
	Description string
	// Capacity is how many people may come; 0 is no limit.
	Capacity int
	Posted   time.Time
	Updated  time.Time
}

// Normalize trims e's fields and checks them. An event without end lasts
// one hour. It fails with a *FieldError naming the first wrong field.
func (e *Event) Normalize() error {
	var err error
	if e.Title, err = cleanField("title", e.Title, MaxTitleLen); err != nil {
		return err
	}
	if e.Title == "" {
		return fieldErr("title", "missing")
	}
	if e.Organiser, err = cleanField("organiser", e.Organiser, MaxFieldLen); err != nil {
		return err
	}
	if e.Place, err = cleanField("place", e.Place, MaxFieldLen); err != nil {
		return err
	}
	if e.Description, err = cleanText("description", e.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if e.Link, err = CheckLink("link", e.Link); err != nil {
		return err
	}
	if e.Start.IsZero() {
		return fieldErr("start", "missing")
	}
	if e.End.IsZero() {
		e.End = e.Start.Add(time.Hour)
	}
	if e.End.Before(e.Start) {
		return fieldErr("end", "before the start")
	}
	if e.End.Sub(e.Start) > MaxEventLength {
		return fieldErr("end", "more than 31 days after the start")
	}
	if e.TimeZone == "" {
		e.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(e.TimeZone); err != nil || e.TimeZone == "Local" {
		return fieldErr("timezone", "%q is not a time zone (want Europe/Paris, America/Cayenne...)", e.TimeZone)
	}
	if e.Capacity < 0 || e.Capacity > MaxCapacity {
		return fieldErr("capacity", "%d: want 0 (no limit) to %d", e.Capacity, MaxCapacity)
	}
	if e.Posted.IsZero() {
		return fieldErr("posted", "missing")
	}
	return nil
}

// Location returns the event's time zone (UTC when it cannot be loaded).
func (e Event) Location() *time.Location {
	if loc, err := time.LoadLocation(e.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// RSVPStatus is a person's answer to an event.
type RSVPStatus string

// The answers to an event.
const (
	RSVPGoing RSVPStatus = "going"
	RSVPMaybe RSVPStatus = "maybe"
	RSVPNo    RSVPStatus = "no"
)

// RSVP is one person's answer to one event.
type RSVP struct {
	Event  EventID
	Person PersonID
	Status RSVPStatus
	At     time.Time
}

// RSVPCounts counts the answers to an event.
type RSVPCounts struct {
	Going, Maybe, No int
}

// ItemKind says whether a bulletin item is a job offer or an event.
type ItemKind string

// The kinds of bulletin items.
const (
	KindOffer ItemKind = "offer"
	KindEvent ItemKind = "event"
)

// Frequency is how often a subscriber hears of new items.
type Frequency string

// The frequencies of a subscription.
const (
	Immediately Frequency = "immediate"
	Daily       Frequency = "daily"
	Weekly      Frequency = "weekly"
)

// Valid reports whether f is a known frequency.
func (f Frequency) Valid() bool { return f == Immediately || f == Daily || f == Weekly }

// SubscriptionID identifies a subscription in the store.
type SubscriptionID int64

// Subscription asks for the offers or events matching a filter, by DM, at
// a frequency.
type Subscription struct {
	ID     SubscriptionID
	Person PersonID
	// Kind is KindOffer, KindEvent, or "" for both.
	Kind      ItemKind
	Filter    Filter
	Frequency Frequency
	Created   time.Time
}

// Matches reports whether the subscription wants the item.
func (s Subscription) Matches(kind ItemKind, fields ItemFields) bool {
	return (s.Kind == "" || s.Kind == kind) && s.Filter.Matches(fields)
}

// MaxSubscriptions is how many subscriptions one person may hold.
const MaxSubscriptions = 20

// Notice records that a person was told of a bulletin item, so that no one
// hears of the same item twice.
type Notice struct {
	Person PersonID
	Kind   ItemKind
	Item   int64
	// Digest is true when the item came in a digest, false for a DM at once.
	Digest bool
	At     time.Time
}
