package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"entraide/core"
)

// The digest editor: the intro, the items to keep, a preview, and the
// buttons to save and to publish at once.

// maxForm bounds what a form may post: the intro and a checkbox per item
// fit well within it.
const maxForm = 64 << 10

type digestBody struct {
	// None is true when the community has no digest yet.
	None      bool
	ID        int64
	Draft     bool
	Head      string
	Intro     string
	MaxIntro  int
	Sections  []sectionView
	Empty     bool
	Notice    string // the key of a notice after a redirect
	Error     string
	Preview   previewView
	Published string
}

type sectionView struct {
	Name  string
	Items []itemView
}

type itemView struct {
	Pos           int // from 1, as core.DigestEdit counts
	Title, Detail string
	Kept          bool
}

// previewView is the digest as rooms will read it.
type previewView struct {
	Title    string
	Intro    string
	Sections []sectionView
	Quiet    bool
}

// notices are the notices a redirect may ask for, by its "ok" parameter.
var notices = map[string]string{
	"saved": "notice.saved", "publish": "notice.publish", "drafted": "notice.drafted",
	"already": "notice.already", "changed": "notice.changed",
}

func (h *handler) digestPage(w http.ResponseWriter, r *http.Request, v *visit) {
	d, err := h.net.LatestDigest(r.Context(), v.person.Identity, v.sess.Community)
	body := digestBody{Notice: notices[r.URL.Query().Get("ok")], MaxIntro: core.MaxIntroLen}
	switch {
	case errors.Is(err, core.ErrNotFound):
		body.None = true
	case err != nil:
		h.fail(w, r, "digest", err)
		return
	default:
		h.fillDigest(&body, v.lang, d)
	}
	h.render(w, http.StatusOK, "digest", v.base(word(v.lang, "digest.title"), "digest", body))
}

// fillDigest puts a digest into the editor's body.
func (h *handler) fillDigest(b *digestBody, lang string, d core.CommunityDigest) {
	loc := h.net.Location()
	b.ID, b.Draft, b.Intro = int64(d.ID), d.State == core.DigestDraft, d.Intro
	if b.Draft {
		b.Head = sprintf(lang, "digest.head", d.ID, formatDayTime(lang, d.PeriodEnd.In(loc)))
	} else {
		b.Head = sprintf(lang, "digest.pubhead", d.ID, formatDayTime(lang, d.PublishedAt.In(loc)))
	}
	b.Sections = sections(lang, loc, d.Items, true)
	b.Empty = len(d.Items) == 0
	b.Preview = previewView{
		Title: sprintf(lang, "preview.title", formatDay(lang, d.PeriodStart.In(loc)), formatDay(lang, d.PeriodEnd.In(loc))),
		Intro: d.Intro, Sections: sections(lang, loc, d.Items, false),
	}
	b.Preview.Quiet = len(b.Preview.Sections) == 0
}

// sections groups items by section, in the order of core.DigestSections;
// without all, the removed items are left out.
func sections(lang string, loc *time.Location, items []core.DigestItem, all bool) []sectionView {
	var out []sectionView
	for _, sec := range core.DigestSections {
		s := sectionView{Name: word(lang, "sec."+string(sec))}
		for i, it := range items {
			if it.Section != sec || (!all && it.Removed) {
				continue
			}
			s.Items = append(s.Items, itemView{Pos: i + 1, Title: it.Title, Detail: detailOf(lang, loc, it), Kept: !it.Removed})
		}
		if len(s.Items) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// detailOf writes an item's detail: the answer of a resolved question, the
// day a waiting question was asked, an expert's topics, an offer's
// employer, an event's time.
func detailOf(lang string, loc *time.Location, it core.DigestItem) string {
	switch it.Section {
	case core.SectionWaiting:
		if t, err := time.Parse(time.RFC3339, it.Detail); err == nil {
			return sprintf(lang, "digest.asked", formatDay(lang, t.In(loc)))
		}
	case core.SectionEvents:
		if t, err := time.Parse(time.RFC3339, it.Detail); err == nil {
			return formatDayTime(lang, t.In(loc))
		}
	}
	return it.Detail
}

// digestPost saves the intro and the items kept, publishes, or drafts.
func (h *handler) digestPost(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.ask(w, r, http.StatusBadRequest, "ask.csrf", v.lang)
		return
	}
	if !h.keys.checkCSRF(v.sess, r.PostForm.Get("csrf")) {
		h.ask(w, r, http.StatusForbidden, "ask.csrf", v.lang)
		return
	}
	ctx, who := r.Context(), v.person.Identity
	done := func(notice string) { http.Redirect(w, r, "/animate/digest?ok="+notice, http.StatusSeeOther) }
	action := r.PostForm.Get("action")
	if action == "draft" {
		_, err := h.net.DraftNow(ctx, who, v.sess.Community)
		if err != nil && !errors.Is(err, core.ErrConflict) {
			h.fail(w, r, "draft digest", err)
			return
		}
		h.log.Info("web: digest drafted", "person", v.person.ID, "community", v.sess.Community)
		done("drafted")
		return
	}
	if action != "save" && action != "publish" {
		h.ask(w, r, http.StatusBadRequest, "ask.csrf", v.lang)
		return
	}
	d, err := h.net.LatestDigest(ctx, who, v.sess.Community)
	if errors.Is(err, core.ErrNotFound) {
		done("changed")
		return
	}
	if err != nil {
		h.fail(w, r, "digest", err)
		return
	}
	// The positions posted are those of the digest shown; a newer digest
	// has other items.
	if r.PostForm.Get("digest") != strconv.FormatInt(int64(d.ID), 10) {
		done("changed")
		return
	}
	if d.State != core.DigestDraft {
		done("already")
		return
	}
	intro := strings.ReplaceAll(r.PostForm.Get("intro"), "\r\n", "\n")
	keep := map[int]bool{}
	for _, s := range r.PostForm["keep"] {
		if n, err := strconv.Atoi(s); err == nil {
			keep[n] = true
		}
	}
	edit := core.DigestEdit{Intro: &intro}
	for i, it := range d.Items {
		switch pos := i + 1; {
		case keep[pos] && it.Removed:
			edit.Restore = append(edit.Restore, pos)
		case !keep[pos] && !it.Removed:
			edit.Remove = append(edit.Remove, pos)
		}
	}
	edited, err := h.net.EditDigest(ctx, who, d.ID, edit)
	switch {
	case errors.Is(err, core.ErrConflict):
		done("already")
		return
	case errors.Is(err, core.ErrInvalid):
		// Show the form again as posted, with what is wrong.
		body := digestBody{MaxIntro: core.MaxIntroLen, Error: sprintf(v.lang, "error.intro", core.MaxIntroLen)}
		h.fillDigest(&body, v.lang, d)
		body.Intro = intro
		for i := range body.Sections {
			for j := range body.Sections[i].Items {
				body.Sections[i].Items[j].Kept = keep[body.Sections[i].Items[j].Pos]
			}
		}
		h.render(w, http.StatusUnprocessableEntity, "digest", v.base(word(v.lang, "digest.title"), "digest", body))
		return
	case err != nil:
		h.fail(w, r, "edit digest", err)
		return
	}
	if action == "save" {
		h.log.Info("web: digest saved", "digest", edited.ID, "person", v.person.ID)
		done("saved")
		return
	}
	_, err = h.net.PublishDigestNow(ctx, who, edited.ID)
	switch {
	case errors.Is(err, core.ErrConflict):
		done("already")
	case err != nil:
		h.fail(w, r, "publish digest", err)
	default:
		h.log.Info("web: digest publication asked", "digest", edited.ID, "person", v.person.ID)
		done("publish")
	}
}
