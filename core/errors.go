package core

import (
	"errors"
	"fmt"
	"strings"
)

// Error kinds. Every error that core returns for a user's mistake wraps one
// of these, so the conversation layer can turn it into short, helpful text
// with errors.Is, and keep internal causes out of what users see.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input is malformed or out of range.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden means the person may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict means the thing changed state in the meantime, or is in a
	// state that does not allow the operation.
	ErrConflict = errors.New("conflict")
	// ErrAmbiguous means several things match where one was expected.
	ErrAmbiguous = errors.New("ambiguous")
)

// AmbiguousError lists the questions among which the user must choose.
type AmbiguousError struct {
	Candidates []QuestionID
}

// Error describes the choice to make.
func (e *AmbiguousError) Error() string {
	ids := make([]string, len(e.Candidates))
	for i, id := range e.Candidates {
		ids[i] = fmt.Sprint(int64(id))
	}
	return "ambiguous: several questions match: " + strings.Join(ids, ", ")
}

// Unwrap makes errors.Is(err, ErrAmbiguous) true.
func (e *AmbiguousError) Unwrap() error { return ErrAmbiguous }
