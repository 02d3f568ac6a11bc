package feeds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"

	"entraide/core"
)

// ParseOffers reads the job offers of an RSS 2.0, Atom or JSON Feed
// document fetched from source (the feed's address), at time now.
//
// Every offer returned passed core.Offer.Normalize and is still open at now;
// offers already closed are left out silently. An entry that cannot be an
// offer (no title, a link that is not a web address, a bad closing date...)
// is reported in problems and skipped. err is set only when the document
// as a whole cannot be read: too large, not a feed, broken syntax.
//
// Each offer has Source = source and SourceID = the entry's GUID or id,
// else its link, else a hash of its title and publication date, so that
// parsing the same feed again gives the same ids. See the package
// documentation for the fields feeds may carry.
func ParseOffers(body []byte, source string, now time.Time) (offers []core.Offer, problems []EntryError, err error) {
	if len(body) > MaxDocumentSize {
		return nil, nil, fmt.Errorf("feeds: parse offers from %s: document of %d bytes, at most %d", source, len(body), MaxDocumentSize)
	}
	feed, err := parseFeed(body)
	if err != nil {
		return nil, nil, fmt.Errorf("feeds: parse offers from %s: %w", source, err)
	}
	var jobs []json.RawMessage
	if feed.FeedType == "json" {
		jobs = jsonJobs(body, len(feed.Items))
	}
	base, _ := url.Parse(source)
	items := feed.Items
	if len(items) > MaxEntries {
		problems = append(problems, entryError("", "", fmt.Errorf("%d entries after the first %d ignored", len(items)-MaxEntries, MaxEntries)))
		items = items[:MaxEntries]
	}
	for i, it := range items {
		if it == nil {
			continue
		}
		var job json.RawMessage
		if i < len(jobs) {
			job = jobs[i]
		}
		o, err := offerOf(feed, it, job, source, base, now)
		if err != nil {
			problems = append(problems, entryError(o.SourceID, o.Title, err))
			continue
		}
		if !o.OpenAt(now) {
			continue
		}
		offers = append(offers, o)
	}
	return offers, problems, nil
}

// parseFeed runs gofeed on body, turning a panic of the library on hostile
// input into an error.
func parseFeed(body []byte) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("unreadable feed (parser panic: %v)", r)
		}
	}()
	feed, err = gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return feed, nil
}

// jsonJobs returns the "_job" member of each item of a JSON Feed, in the
// order gofeed reads the items (nil where there is none), or nil when the
// items cannot be lined up with gofeed's.
func jsonJobs(body []byte, n int) []json.RawMessage {
	var doc struct {
		Items []struct {
			Job json.RawMessage `json:"_job"`
		} `json:"items"`
	}
	if json.Unmarshal(body, &doc) != nil || len(doc.Items) != n {
		return nil
	}
	jobs := make([]json.RawMessage, n)
	for i, it := range doc.Items {
		jobs[i] = it.Job
	}
	return jobs
}

// offerOf builds and normalizes the offer of one entry. The offer returned
// with an error carries the SourceID, for the report.
func offerOf(feed *gofeed.Feed, it *gofeed.Item, job json.RawMessage, source string, base *url.URL, now time.Time) (core.Offer, error) {
	o := core.Offer{
		Source:      source,
		SourceID:    entryID(it),
		Title:       htmlText(it.Title),
		Link:        resolve(base, entryLink(it)),
		Description: truncate(htmlText(firstOf(it.Content, it.Description)), core.MaxDescriptionLen),
		Posted:      now,
	}
	switch {
	case it.PublishedParsed != nil:
		o.Posted = it.PublishedParsed.UTC()
	case it.UpdatedParsed != nil:
		o.Posted = it.UpdatedParsed.UTC()
	}
	if it.UpdatedParsed != nil {
		o.Updated = it.UpdatedParsed.UTC()
	}
	var fields offerFields
	if len(job) > 0 && !bytes.Equal(job, []byte("null")) {
		if err := fields.readJob(job); err != nil {
			return o, err
		}
	}
	for _, c := range it.Categories {
		fields.readCategory(c)
	}
	o.Employer = firstOf(fields[fieldEmployer], authorOf(it), htmlText(feed.Title))
	o.Location, o.Category, o.Contract = fields[fieldLocation], fields[fieldCategory], fields[fieldContract]
	remote, err := core.ParseRemote(fields[fieldRemote])
	if err != nil {
		return o, &core.FieldError{Field: "remote", Reason: fmt.Sprintf("%q is not a kind of remote work", truncate(fields[fieldRemote], 40))}
	}
	o.Remote = remote
	if fields[fieldCloses] != "" {
		if o.Closes, err = parseClosing(fields[fieldCloses]); err != nil {
			return o, err
		}
	}
	if err := normalizeOffer(&o); err != nil {
		return o, err
	}
	return o, nil
}

// normalizeOffer runs core's Normalize twice: core.CheckLink measures a
// link before escaping it, so a link with raw non-ASCII bytes can pass once
// and grow past core.MaxLinkLen; the second run catches it, so that what is
// returned passes Normalize again in the store.
func normalizeOffer(o *core.Offer) error {
	if err := o.Normalize(); err != nil {
		return err
	}
	return o.Normalize()
}

// entryID is the entry's own id, else its link, else a hash of what the
// entry says, stable across fetches.
func entryID(it *gofeed.Item) string {
	if id := strings.TrimSpace(it.GUID); id != "" {
		return id
	}
	if l := strings.TrimSpace(entryLink(it)); l != "" {
		return l
	}
	sum := sha256.Sum256([]byte(it.Title + "\x00" + it.Published))
	return "sha256:" + hex.EncodeToString(sum[:12])
}

func entryLink(it *gofeed.Item) string {
	if it.Link != "" {
		return it.Link
	}
	if len(it.Links) > 0 {
		return it.Links[0]
	}
	return ""
}

// resolve makes a link relative to the feed's address absolute; other
// links are returned as they are, for core.CheckLink to judge.
func resolve(base *url.URL, link string) string {
	link = strings.TrimSpace(link)
	if link == "" || base == nil || !base.IsAbs() {
		return link
	}
	u, err := url.Parse(link)
	if err != nil || u.IsAbs() {
		return link
	}
	return base.ResolveReference(u).String()
}

// authorOf is the name of the entry's first author.
func authorOf(it *gofeed.Item) string {
	for _, p := range it.Authors {
		if p != nil && strings.TrimSpace(p.Name) != "" {
			return htmlText(p.Name)
		}
	}
	if it.Author != nil {
		return htmlText(it.Author.Name)
	}
	return ""
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// offerField is a field a feed adds to an entry by convention.
type offerField int

const (
	fieldEmployer offerField = iota
	fieldLocation
	fieldCategory
	fieldContract
	fieldRemote
	fieldCloses
	numFields
)

// offerFields are the values of the fields an entry gives. The first value
// given for a field wins.
type offerFields [numFields]string

func (f *offerFields) set(field offerField, v string) {
	if f[field] == "" {
		f[field] = cleanLine(htmlText(v))
	}
}

// readJob reads a JSON Feed "_job" extension object.
func (f *offerFields) readJob(raw json.RawMessage) error {
	var job struct {
		Employer string          `json:"employer"`
		Location string          `json:"location"`
		Category string          `json:"category"`
		Contract string          `json:"contract"`
		Remote   json.RawMessage `json:"remote"`
		Closes   string          `json:"closes"`
	}
	if err := json.Unmarshal(raw, &job); err != nil {
		return &core.FieldError{Field: "_job", Reason: "not an object of strings: " + jsonReason(err)}
	}
	f.set(fieldEmployer, job.Employer)
	f.set(fieldLocation, job.Location)
	f.set(fieldCategory, job.Category)
	f.set(fieldContract, job.Contract)
	f.set(fieldCloses, job.Closes)
	if len(job.Remote) > 0 && string(job.Remote) != "null" {
		var b bool
		var s string
		switch {
		case json.Unmarshal(job.Remote, &b) == nil:
			s = "non"
			if b {
				s = "oui"
			}
		case json.Unmarshal(job.Remote, &s) == nil:
		default:
			return &core.FieldError{Field: "remote", Reason: "want a string or a boolean"}
		}
		f.set(fieldRemote, s)
	}
	return nil
}

// jsonReason keeps the part of a JSON error that speaks of the document.
func jsonReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s is a %s", te.Field, te.Value)
	}
	return err.Error()
}

// categoryKeys maps the folded key of a "Key: value" category to the
// field it sets.
var categoryKeys = map[string]offerField{
	"employeur": fieldEmployer, "employer": fieldEmployer, "administration": fieldEmployer,
	"lieu": fieldLocation, "location": fieldLocation, "ville": fieldLocation, "localisation": fieldLocation,
	"categorie": fieldCategory, "category": fieldCategory, "grade": fieldCategory,
	"contrat": fieldContract, "contract": fieldContract,
	"teletravail": fieldRemote, "remote": fieldRemote,
	"cloture": fieldCloses, "closes": fieldCloses, "date limite": fieldCloses, "deadline": fieldCloses,
}

// readCategory reads a "Key: value" category; others are ignored.
func (f *offerFields) readCategory(c string) {
	key, value, ok := strings.Cut(c, ":")
	if !ok {
		return
	}
	if field, known := categoryKeys[core.Fold(key)]; known {
		f.set(field, value)
	}
}

// parseClosing reads a closing date: an RFC 3339 date-time as written, or
// a date ("2026-12-31", "31/12/2026") that closes at the end of that day
// in ClosingZone.
func parseClosing(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{time.DateOnly, "02/01/2006"} {
		if d, err := time.ParseInLocation(layout, s, ClosingZone); err == nil {
			return endOfDay(d).UTC(), nil
		}
	}
	return time.Time{}, &core.FieldError{Field: "closes", Reason: fmt.Sprintf("%q is not a date (want 2026-12-31)", truncate(s, 40))}
}

// endOfDay is the last second of d's day, in d's zone.
func endOfDay(d time.Time) time.Time {
	y, m, day := d.Date()
	return time.Date(y, m, day, 23, 59, 59, 0, d.Location())
}
