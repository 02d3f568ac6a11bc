package slacktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxUpload bounds the bytes the fake takes in one upload: more than any
// file a message may carry.
const maxUpload = 64 << 20

// serveAPI plays the Web API: it checks the token, records the call,
// answers 429 when the method is rate-limited, and then as Slack does.
func (w *Workspace) serveAPI(rw http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	call := Call{Method: method, Auth: r.Header.Get("Authorization")}
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(body) > 0 {
			if err := json.Unmarshal(body, &call.JSON); err != nil {
				w.t.Errorf("slacktest: %s: bad JSON: %v", method, err)
			}
		}
	} else {
		call.Form, _ = url.ParseQuery(string(body))
		if tok := call.Form.Get("token"); tok != "" && call.Auth == "" {
			call.Auth = "Bearer " + tok
		}
	}
	want := "Bearer " + BotToken
	if method == "apps.connections.open" {
		want = "Bearer " + AppToken
	}
	if call.Auth != want {
		reply(rw, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	idx := len(w.calls) - 1
	delay := w.latency[method]
	w.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if w.rateLimited(rw, method) {
		return
	}
	w.mu.Lock()
	cut := w.cuts[method] > 0
	if cut {
		w.cuts[method]--
	}
	w.mu.Unlock()
	if cut {
		// The call is carried out, its reply thrown away and the
		// connection closed.
		w.answer(httptest.NewRecorder(), method, call, idx)
		if conn, _, err := http.NewResponseController(rw).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	w.answer(rw, method, call, idx)
}

// answer carries out a Web API call and replies as Slack does.
func (w *Workspace) answer(rw http.ResponseWriter, method string, call Call, idx int) {
	switch method {
	case "auth.test":
		reply(rw, map[string]any{"ok": true, "url": "https://" + TeamDomain + ".slack.com/", "team": "Test", "user": "entraide", "team_id": TeamID, "user_id": BotUser, "bot_id": BotID})
	case "chat.postMessage":
		w.postMessage(rw, call, idx)
	case "conversations.open":
		user := call.Form.Get("users")
		if code := w.errorFor(user); code != "" {
			reply(rw, map[string]any{"ok": false, "error": code})
			return
		}
		reply(rw, map[string]any{"ok": true, "channel": map[string]any{"id": IMChannel(user)}})
	case "users.info":
		w.mu.Lock()
		u, ok := w.users[call.Form.Get("user")]
		w.mu.Unlock()
		if !ok {
			reply(rw, map[string]any{"ok": false, "error": "user_not_found"})
			return
		}
		// The handle is the name lowered, without spaces, as Slack makes
		// it; the display and real names are the name.
		handle := strings.ToLower(strings.ReplaceAll(u.Name, " ", "."))
		reply(rw, map[string]any{"ok": true, "user": map[string]any{
			"id": u.ID, "team_id": u.team(), "name": handle, "real_name": u.Name, "deleted": false, "is_bot": false,
			"profile": map[string]any{"display_name": u.Name, "real_name": u.Name, "team": u.team()},
		}})
	case "conversations.history", "conversations.replies":
		w.history(rw, method, call)
	case "views.open":
		w.openView(rw, call)
	case "files.getUploadURLExternal":
		w.getUploadURL(rw, call)
	case "files.completeUploadExternal":
		w.completeUpload(rw, call)
	case "apps.connections.open":
		w.mu.Lock()
		fail := w.openFailures > 0
		if fail {
			w.openFailures--
		}
		w.mu.Unlock()
		if fail {
			http.Error(rw, "not found", http.StatusNotFound)
			return
		}
		reply(rw, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(w.srv.URL, "http") + "/socket"})
	default:
		reply(rw, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// rateLimited answers 429, with Retry-After, when method is rate-limited,
// and reports it.
func (w *Workspace) rateLimited(rw http.ResponseWriter, method string) bool {
	w.mu.Lock()
	l := w.limits[method]
	if l.n <= 0 {
		w.mu.Unlock()
		return false
	}
	l.n--
	w.limits[method] = l
	w.mu.Unlock()
	rw.Header().Set("Retry-After", retryAfter(l.after))
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusTooManyRequests)
	io.WriteString(rw, `{"ok":false,"error":"ratelimited"}`)
	return true
}

func (w *Workspace) errorFor(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errs[id]
}

// postMessage accepts a message, unless its channel fails.
func (w *Workspace) postMessage(rw http.ResponseWriter, call Call, idx int) {
	ch := call.Form.Get("channel")
	if code := w.errorFor(ch); code != "" {
		reply(rw, map[string]any{"ok": false, "error": code})
		return
	}
	w.mu.Lock()
	ts := w.nextTSLocked()
	w.calls[idx].TS = ts
	w.posts = append(w.posts, Post{
		Channel: ch, Thread: call.Form.Get("thread_ts"), TS: ts, Text: call.Form.Get("text"),
		Blocks: call.Form.Get("blocks"), Metadata: call.Form.Get("metadata"), Form: call.Form, At: time.Now(),
	})
	w.mu.Unlock()
	reply(rw, map[string]any{"ok": true, "channel": ch, "ts": ts, "message": map[string]any{"type": "message", "text": call.Form.Get("text"), "ts": ts, "bot_id": BotID}})
}

// openView records a modal; the trigger must be one.
func (w *Workspace) openView(rw http.ResponseWriter, call Call) {
	trigger, _ := call.JSON["trigger_id"].(string)
	view, _ := call.JSON["view"].(map[string]any)
	if trigger == "" {
		reply(rw, map[string]any{"ok": false, "error": "invalid_trigger_id"})
		return
	}
	if view == nil {
		reply(rw, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	id := fmt.Sprintf("V%08d", w.next())
	callback, _ := view["callback_id"].(string)
	meta, _ := view["private_metadata"].(string)
	w.mu.Lock()
	w.views = append(w.views, View{ID: id, TriggerID: trigger, User: w.triggers[trigger], CallbackID: callback, PrivateMetadata: meta, JSON: view})
	w.mu.Unlock()
	opened := map[string]any{"id": id, "team_id": TeamID, "type": "modal", "callback_id": callback, "private_metadata": meta, "app_id": AppID, "bot_id": BotID}
	reply(rw, map[string]any{"ok": true, "view": opened})
}

// getUploadURL starts an upload: a file id and a URL on the fake to post
// the declared number of bytes to.
func (w *Workspace) getUploadURL(rw http.ResponseWriter, call Call) {
	name := call.Form.Get("filename")
	length, err := strconv.Atoi(call.Form.Get("length"))
	if name == "" || err != nil || length <= 0 {
		reply(rw, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	n := w.next()
	u := &upload{id: fmt.Sprintf("F%08d", n), name: name, length: length, token: fmt.Sprintf("CwABAAAAXAoAAZ%08x", n*2654435761%(1<<32))}
	w.mu.Lock()
	w.uploads[u.id] = u
	w.uploads[u.token] = u
	w.mu.Unlock()
	reply(rw, map[string]any{"ok": true, "upload_url": w.srv.URL + "/upload/v1/" + u.token, "file_id": u.id})
}

// serveUpload takes the bytes of an upload, raw or as a multipart form
// (the file part), and answers as Slack's upload service: 200 and
// "OK - <length>".
func (w *Workspace) serveUpload(rw http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/upload/v1/")
	call := Call{Method: Upload, Auth: r.Header.Get("Authorization"), Form: url.Values{"upload": {token}}}
	w.mu.Lock()
	w.calls = append(w.calls, call)
	u := w.uploads[token]
	w.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The body is read first, as a server that answers early may cut the
	// client off while it writes.
	data, err := uploadedBytes(r)
	if u == nil || u.token != token {
		http.Error(rw, "not found", http.StatusNotFound)
		return
	}
	if w.rateLimited(rw, Upload) {
		return
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	if u.done {
		w.mu.Unlock()
		http.Error(rw, "upload already completed", http.StatusBadRequest)
		return
	}
	u.data, u.posted = data, true
	w.mu.Unlock()
	rw.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(rw, "OK - %d", len(data))
}

// uploadedBytes reads the bytes of an upload: the file part of a
// multipart form, or the raw body.
func uploadedBytes(r *http.Request) ([]byte, error) {
	body := io.LimitReader(r.Body, maxUpload+1)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		data, err := io.ReadAll(body)
		if err == nil && len(data) > maxUpload {
			err = fmt.Errorf("more than %d bytes", maxUpload)
		}
		return data, err
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, fmt.Errorf("multipart upload without a file part")
		}
		if err != nil {
			return nil, err
		}
		if part.FileName() == "" && part.FormName() != "file" {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, part); err != nil {
			return nil, err
		}
		if buf.Len() > maxUpload {
			return nil, fmt.Errorf("more than %d bytes", maxUpload)
		}
		return buf.Bytes(), nil
	}
}

// completeUpload shares uploaded files: each id must come from
// files.getUploadURLExternal, its bytes posted, of the declared length,
// and not completed yet.
func (w *Workspace) completeUpload(rw http.ResponseWriter, call Call) {
	var summaries []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(call.Form.Get("files")), &summaries); err != nil || len(summaries) == 0 {
		reply(rw, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	channel, thread := call.Form.Get("channel_id"), call.Form.Get("thread_ts")
	if channel == "" && call.Form.Get("channels") != "" {
		channel, _, _ = strings.Cut(call.Form.Get("channels"), ",")
	}
	if code := w.errorFor(channel); channel != "" && code != "" {
		reply(rw, map[string]any{"ok": false, "error": code})
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range summaries {
		u := w.uploads[s.ID]
		switch {
		case u == nil || u.id != s.ID:
			reply(rw, map[string]any{"ok": false, "error": "file_not_found"})
			return
		case u.done:
			reply(rw, map[string]any{"ok": false, "error": "already_completed"})
			return
		case !u.posted:
			reply(rw, map[string]any{"ok": false, "error": "file_not_uploaded"})
			return
		case len(u.data) != u.length:
			reply(rw, map[string]any{"ok": false, "error": "file_size_mismatch"})
			return
		}
	}
	var out []map[string]any
	for _, s := range summaries {
		u := w.uploads[s.ID]
		u.done = true
		title := s.Title
		if title == "" {
			title = u.name
		}
		w.files = append(w.files, File{ID: u.id, Name: u.name, Title: title, Data: u.data, Channel: channel, Thread: thread})
		out = append(out, map[string]any{"id": u.id, "title": title})
	}
	reply(rw, map[string]any{"ok": true, "files": out})
}

// retryAfter is the Retry-After header of a delay, in whole seconds.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

// history answers conversations.history (the channel's messages outside
// threads, newest first) and conversations.replies (a thread's messages,
// oldest first) from what the app posted, as Slack does: limit (at most
// 1,000, 100 by default) and cursor page through them, oldest and latest
// bound them, and each message's metadata is given only with
// include_all_metadata=true. The fake's ts are a sequence, not times:
// oldest and latest are compared with when the fake accepted each message.
// The thread's parent is left out of replies when the app did not post it.
func (w *Workspace) history(rw http.ResponseWriter, method string, call Call) {
	f := call.Form
	ch := f.Get("channel")
	if ch == "" {
		reply(rw, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	if code := w.errorFor(ch); code != "" {
		reply(rw, map[string]any{"ok": false, "error": code})
		return
	}
	thread := f.Get("ts")
	if method == "conversations.replies" && thread == "" {
		reply(rw, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	bound := func(name string, missing float64) float64 {
		v, err := strconv.ParseFloat(f.Get(name), 64)
		if err != nil {
			return missing
		}
		return v
	}
	oldest, latest := bound("oldest", 0), bound("latest", 1e12)
	limit := 100
	if n, err := strconv.Atoi(f.Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	offset := 0
	if c := f.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "offset:"))
		if err != nil || !strings.HasPrefix(c, "offset:") || n < 0 {
			reply(rw, map[string]any{"ok": false, "error": "invalid_cursor"})
			return
		}
		offset = n
	}
	withMeta := f.Get("include_all_metadata") == "true" || f.Get("include_all_metadata") == "1"
	var match []Post
	for _, p := range w.Posts() {
		at := float64(p.At.UnixNano()) / 1e9
		if p.Channel != ch || at < oldest || at > latest {
			continue
		}
		if method == "conversations.history" && p.Thread == "" ||
			method == "conversations.replies" && (p.Thread == thread || p.TS == thread) {
			match = append(match, p)
		}
	}
	if method == "conversations.history" {
		slices.Reverse(match)
	}
	page := match[min(offset, len(match)):]
	more := len(page) > limit
	page = page[:min(limit, len(page))]
	messages := make([]map[string]any, 0, len(page))
	for _, p := range page {
		m := map[string]any{"type": "message", "user": BotUser, "bot_id": BotID, "app_id": AppID, "text": p.Text, "ts": p.TS}
		if p.Thread != "" {
			m["thread_ts"] = p.Thread
		}
		if withMeta && p.Metadata != "" {
			var meta map[string]any
			if json.Unmarshal([]byte(p.Metadata), &meta) == nil {
				m["metadata"] = meta
			}
		}
		messages = append(messages, m)
	}
	out := map[string]any{"ok": true, "messages": messages, "has_more": more}
	if more {
		out["response_metadata"] = map[string]any{"next_cursor": "offset:" + strconv.Itoa(offset+limit)}
	}
	reply(rw, out)
}
