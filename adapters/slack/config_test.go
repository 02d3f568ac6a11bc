package slack

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"entraide/adapters/slack/slacktest"
)

func TestConfigFromEnv(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     map[string]string
		enabled bool
		errHas  []string // each must appear in the error; nil means no error
		check   func(t *testing.T, cfg Config)
	}{
		{name: "nothing set", env: nil},
		{name: "socket mode", env: map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1"}, enabled: true,
			check: func(t *testing.T, cfg Config) {
				if !cfg.SocketMode() || cfg.APIURL != DefaultAPIURL || cfg.Prefix != "!" {
					t.Errorf("%+v", cfg)
				}
			}},
		{name: "events API", env: map[string]string{EnvBotToken: "xoxb-1", EnvSigningSecret: "abc", EnvListen: ":8080", EnvAPIURL: "https://slack-gov.com/api"}, enabled: true,
			check: func(t *testing.T, cfg Config) {
				if cfg.SocketMode() || cfg.APIURL != "https://slack-gov.com/api/" || cfg.Listen != ":8080" {
					t.Errorf("%+v", cfg)
				}
			}},
		{name: "both transports", env: map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1", EnvSigningSecret: "abc"}, enabled: true,
			errHas: []string{EnvAppToken, EnvSigningSecret, "only"}},
		{name: "no transport", env: map[string]string{EnvBotToken: "xoxb-1"}, enabled: true, errHas: []string{EnvAppToken, EnvSigningSecret}},
		{name: "user token instead of bot token", env: map[string]string{EnvBotToken: "xoxp-1", EnvAppToken: "xapp-1"}, enabled: true, errHas: []string{EnvBotToken, "xoxb-"}},
		{name: "bot token as app token", env: map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xoxb-1"}, enabled: true, errHas: []string{EnvAppToken, "xapp-"}},
		{name: "listen in socket mode", env: map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1", EnvListen: ":8080"}, enabled: true, errHas: []string{EnvListen}},
		{name: "events API without listen", env: map[string]string{EnvBotToken: "xoxb-1", EnvSigningSecret: "abc"}, enabled: true, errHas: []string{EnvListen, ":8080"}},
		{name: "bad API URL", env: map[string]string{EnvBotToken: "xoxb-1", EnvAppToken: "xapp-1", EnvAPIURL: "slack.com/api"}, enabled: true, errHas: []string{EnvAPIURL}},
		{name: "app token without bot token", env: map[string]string{EnvAppToken: "xapp-1"}, errHas: []string{EnvAppToken, EnvBotToken}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, enabled, err := ConfigFromEnv(func(k string) string { return c.env[k] })
			if enabled != c.enabled {
				t.Errorf("enabled = %v", enabled)
			}
			if (err != nil) != (c.errHas != nil) {
				t.Fatalf("err = %v", err)
			}
			for _, s := range c.errHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if err != nil {
				for _, secret := range []string{"xoxb-1", "xapp-1", "xoxp-1", "abc"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q shows a secret", err)
					}
				}
			}
			if c.check != nil {
				c.check(t, cfg)
			}
		})
	}
}

// TestRunServesEventsAPI runs the HTTP transport on a free port, and
// checks that it answers and stops when its context is done.
func TestRunServesEventsAPI(t *testing.T) {
	f := slacktest.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	a := newTestAdapter(t, f, &recordingInbox{}, false)
	a.cfg.Listen = addr
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if a.botUser() != testBotUser {
		t.Errorf("bot user %q after auth.test", a.botUser())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

func TestRunRefusedToken(t *testing.T) {
	f := slacktest.New(t)
	cfg := Config{BotToken: "xoxb-revoked", AppToken: testAppToken, APIURL: f.APIURL()}
	b, err := New(cfg, &recordingInbox{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), EnvBotToken) || strings.Contains(err.Error(), "xoxb-revoked") {
		t.Fatalf("Run with a refused token = %v", err)
	}
}

// TestManifestMatchesCode checks that the app manifest declares what the
// code relies on.
func TestManifestMatchesCode(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "deploy", "slack-manifest.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := string(raw)
	for _, want := range []string{
		"callback_id: " + CallbackAskShortcut + "\n", "callback_id: " + CallbackMessageShortcut + "\n",
		"type: global", "type: message", "command: /entraide", "- app_mention\n", "- message.im\n",
		"- chat:write ", "- im:write ", "- im:history ", "- commands ", "- app_mentions:read ", "- files:write ",
		"socket_mode_enabled: true", "is_enabled: true",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("manifest lacks %q", want)
		}
	}
}

func TestRunRefusedAppToken(t *testing.T) {
	f := slacktest.New(t)
	a, err := New(Config{BotToken: testBotToken, AppToken: "xapp-revoked", APIURL: f.APIURL()}, &recordingInbox{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.minBackoff, a.maxBackoff = 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = a.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), EnvAppToken) || strings.Contains(err.Error(), "xapp-revoked") {
		t.Fatalf("Run with a refused app token = %v", err)
	}
}
