// Package feeds imports job offers and events from the feeds and calendars
// that administrations publish (RSS, Atom, JSON Feed, iCalendar) and exports
// events as iCalendar.
//
// Parsing is pure: ParseOffers and ParseEvents take the bytes of a document,
// the address it came from and the time of the import, and return domain
// values that passed core's Normalize, plus one EntryError per entry that
// could not be imported. Fetcher gets the bytes over HTTP with conditional
// requests, for a poller to run on a schedule.
//
// # Fields of a job offer in a feed
//
// RSS, Atom and JSON Feed have no fields for an employer, a place or a
// closing date. A feed says them in two ways, read in this order:
//
//   - In a JSON Feed, an item may carry an extension object "_job" with
//     string members "employer", "location", "category", "contract",
//     "remote" (a string, or a boolean for full or no remote work) and
//     "closes" (an RFC 3339 date "2026-12-31" or date-time).
//
//   - In any format, categories (RSS <category>, Atom <category term> or
//     label, JSON Feed tags) of the form "Key: value". Keys are read without
//     case or accents, in French or English:
//
//     Employeur, Employer, Administration         -> Employer
//     Lieu, Location, Ville, Localisation         -> Location
//     Catégorie, Category, Grade                  -> Category
//     Contrat, Contract                           -> Contract
//     Télétravail, Remote                         -> Remote (core.ParseRemote)
//     Clôture, Closes, Date limite, Deadline      -> Closes
//
//     Other categories are ignored.
//
// Without them, the employer is the entry's author, else the feed's title.
// A closing date without time ("2026-12-31", "31/12/2026") closes at the
// end of that day in Europe/Paris (ClosingZone); a date-time is taken as
// written.
//
// # Limits
//
// Documents over MaxDocumentSize are refused, at most MaxEntries entries of
// a feed are read, a recurring event gives at most MaxOccurrences
// occurrences and at most MaxRecurring recurring events of a calendar are
// expanded; what is left out is reported as one EntryError.
package feeds

import (
	"fmt"
	"time"
)

// Limits on what is read from one document.
const (
	// MaxDocumentSize is the largest feed or calendar read, in bytes.
	MaxDocumentSize = 5 << 20
	// MaxEntries is how many entries of a feed, or events of a calendar,
	// are imported at most.
	MaxEntries = 1000
	// MaxOccurrences is how many occurrences of one recurring event are
	// imported at most.
	MaxOccurrences = 500
	// MaxRecurring is how many recurring events of one calendar are
	// expanded at most.
	MaxRecurring = 100
	// maxIterations bounds the occurrences of one recurring event looked
	// at, before or within the period asked for.
	maxIterations = 20000
)

// ClosingZone is where a closing date given without time ends: French
// public employers publish dates in metropolitan time. Without a time zone
// database (see time/tzdata) it is a fixed UTC+1.
var ClosingZone = loadOr("Europe/Paris", time.FixedZone("CET", 3600))

func loadOr(name string, fallback *time.Location) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return fallback
}

// EntryError is an entry of a feed or calendar that was not imported, and
// why. The other entries are imported all the same.
type EntryError struct {
	// ID is the entry's id in its document (GUID, UID...), when it has one.
	ID string
	// Title is the entry's title as the document gives it, shortened.
	Title string
	Err   error
}

// Error says which entry failed and why.
func (e EntryError) Error() string {
	switch {
	case e.ID != "" && e.Title != "":
		return fmt.Sprintf("feeds: entry %q (%s): %v", e.ID, e.Title, e.Err)
	case e.ID != "":
		return fmt.Sprintf("feeds: entry %q: %v", e.ID, e.Err)
	case e.Title != "":
		return fmt.Sprintf("feeds: entry %q: %v", e.Title, e.Err)
	}
	return "feeds: " + e.Err.Error()
}

// Unwrap returns the cause, often a *core.FieldError.
func (e EntryError) Unwrap() error { return e.Err }

// entryError builds an EntryError with a title short and clean enough to
// log.
func entryError(id, title string, err error) EntryError {
	return EntryError{ID: truncate(cleanLine(id), 200), Title: truncate(cleanLine(title), 100), Err: err}
}
