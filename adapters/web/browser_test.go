package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"entraide/core"
)

// ChromiumEnv names the variable that enables the browser test: the path of
// a chromium binary, such as Debian's /usr/bin/chromium. The test never
// downloads a browser.
const ChromiumEnv = "ENTRAIDE_TEST_CHROMIUM"

// ScreenshotEnv names a directory where the browser test saves full-page
// screenshots of the dashboard and of the digest editor, when set.
const ScreenshotEnv = "ENTRAIDE_SCREENSHOT_DIR"

// TestBrowser drives a real headless chromium through the animator's work:
// open the one-time link, see the dashboard and its charts, edit the digest
// (an intro, one item left out), save, publish; then the bots' pipeline
// posts it in #general, once, as edited.
func TestBrowser(t *testing.T) {
	bin := os.Getenv(ChromiumEnv)
	if bin == "" {
		t.Skipf("%s is not set: set it to a chromium binary (such as /usr/bin/chromium) to run the browser test", ChromiumEnv)
	}
	shots := os.Getenv(ScreenshotEnv)
	e := richFixture(t)
	e.must(e.net.SetAnnounce(context.Background(), core.Room{Platform: "test", ID: "#general"}, []core.ItemKind{core.KindDigest}))
	// Anna reads French, as the bot recorded; the browser's own language
	// (English in headless chromium) gives way.
	e.must(e.net.SetLang(context.Background(), anna, "Anna", "fr"))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("hide-scrollbars", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// follow clicks a link, or a button that posts a form, and waits for
	// the page it leads to.
	follow := func(what, sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
		if err != nil || resp.Status != 200 {
			t.Fatalf("%s: %v %v", what, resp, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.Join(strings.Fields(v), " ")
	}
	screenshot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The link the bot sends by DM.
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(e.srv.URL+"/login?token="+e.token(anna)))
	if err != nil || resp.Status != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	follow("confirm", "#login")
	do("dashboard", chromedp.WaitVisible(chromedp.CSS("#chart-questions svg.plot")))
	if got := eval(`document.documentElement.lang + " " + document.querySelectorAll("svg.plot[role=img]").length + " " +
		document.querySelectorAll("#chart-questions rect.bar").length + " " + document.querySelectorAll("#chart-people polyline").length + " " +
		document.querySelectorAll("#chart-delay rect.bar").length + " " + document.querySelectorAll("svg.plot > title, svg.plot > desc").length`); got != "fr 3 24 2 12 6" {
		t.Errorf("charts: %q, want lang fr, 3 charts, 24 and 12 bars, 2 lines, a title and a description each", got)
	}
	if got := text("#fig-questions"); !strings.HasPrefix(got, "Questions posées") {
		t.Errorf("figures: %q", got)
	}
	// The charts have a size on screen: the SVG is drawn, not collapsed.
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("#chart-questions svg.plot").getBoundingClientRect().width`))
	if err != nil || width < 300 {
		t.Errorf("chart %v px wide, %v", width, err)
	}
	screenshot("animators-dashboard.png")

	// The digest: none yet, prepare it.
	follow("editor", `nav a[href="/animate/digest"]`)
	follow("draft", "#draft")
	do("draft", chromedp.WaitVisible(chromedp.CSS("#digest-form")))
	removed := text(`label[for="keep-2"] .item-title`)
	kept := text(`label[for="keep-1"] .item-title`)
	intro := "Bonne semaine à toutes et à tous ! Merci aux experts qui ont répondu."
	do("edit", chromedp.SendKeys(chromedp.CSS("#intro"), intro), chromedp.Click(chromedp.CSS("#keep-2")))
	follow("save", "#save")
	if got := text("#notice"); got != "C'est enregistré." {
		t.Errorf("notice after saving: %q", got)
	}
	if got := eval(`document.getElementById("intro").value + "|" + document.getElementById("keep-2").checked + "|" + document.getElementById("keep-1").checked`); got != intro+"|false|true" {
		t.Errorf("form after saving: %q", got)
	}
	preview := text("#preview")
	if !strings.Contains(preview, intro) || strings.Contains(preview, removed) || !strings.Contains(preview, kept) {
		t.Errorf("preview %q: want the intro, %q and not %q", preview, kept, removed)
	}
	screenshot("animators-digest.png")

	follow("publish", "#publish")
	if got := text("#notice"); !strings.HasPrefix(got, "C'est parti") {
		t.Errorf("notice after publishing: %q", got)
	}

	// The bots' pipeline runs the publication job.
	sender := &senderFake{}
	e.drain(sender)
	d, err := e.net.LatestDigest(context.Background(), anna, e.community)
	e.must(err)
	if d.State != core.DigestPublished || d.Intro != intro {
		t.Errorf("digest %s, intro %q", d.State, d.Intro)
	}
	posted := sender.toRoom("#general")
	if len(posted) != 1 || !strings.Contains(posted[0], intro) || strings.Contains(posted[0], removed) || !strings.Contains(posted[0], kept) {
		t.Fatalf("posted in #general: %q\nwant one message with %q and %q, without %q", posted, intro, kept, removed)
	}
	// The editor now shows it published, read only.
	resp, err = chromedp.RunResponse(ctx, chromedp.Navigate(e.srv.URL+"/animate/digest"))
	if err != nil || resp.Status != 200 {
		t.Fatalf("editor after publication: %v %v", resp, err)
	}
	if got := eval(`String(document.getElementById("published") !== null && document.getElementById("intro") === null)`); got != "true" {
		t.Errorf("published digest still editable")
	}
}
