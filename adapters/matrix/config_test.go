package matrix

import (
	"strings"
	"testing"

	"maunium.net/go/mautrix/id"
)

func TestConfigFromEnv(t *testing.T) {
	base := map[string]string{
		EnvHomeserver: "https://matrix.example.org",
		EnvUser:       "@entraide:example.org",
		EnvPassword:   "secret password",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		enabled bool
		errHas  string // the variable named by the error
		check   func(t *testing.T, c Config)
	}{
		{name: "unset", env: map[string]string{}, enabled: false},
		{name: "password", env: base, enabled: true, check: func(t *testing.T, c Config) {
			if c.Encryption != "" || c.encryption() != EncryptionOptional || c.DeviceID != "" {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "token without user", env: map[string]string{EnvHomeserver: "http://127.0.0.1:8008", EnvToken: "syt_x"}, enabled: true},
		{name: "servers", env: with(EnvAllowedServers, " Tchap.gouv.fr, ,example.org"), enabled: true, check: func(t *testing.T, c Config) {
			if strings.Join(c.AllowedServers, "|") != "tchap.gouv.fr|example.org" {
				t.Errorf("servers %q", c.AllowedServers)
			}
		}},
		{name: "encryption required", env: with(EnvEncryption, "Required", EnvPickleKey, "0123456789abcdef0123"), enabled: true, check: func(t *testing.T, c Config) {
			if c.Encryption != EncryptionRequired {
				t.Errorf("encryption %q", c.Encryption)
			}
		}},
		{name: "bad url", env: with(EnvHomeserver, "matrix.example.org"), enabled: true, errHas: EnvHomeserver},
		{name: "no credentials", env: with(EnvPassword, ""), enabled: true, errHas: EnvPassword},
		{name: "both credentials", env: with(EnvToken, "syt_x"), enabled: true, errHas: EnvToken},
		{name: "password without user", env: with(EnvUser, ""), enabled: true, errHas: EnvUser},
		{name: "bad user", env: with(EnvUser, "entraide"), enabled: true, errHas: EnvUser},
		{name: "bad encryption", env: with(EnvEncryption, "yes"), enabled: true, errHas: EnvEncryption},
		{name: "required without key", env: with(EnvEncryption, "required"), enabled: true, errHas: EnvPickleKey},
		{name: "short key", env: with(EnvPickleKey, "short"), enabled: true, errHas: EnvPickleKey},
		{name: "bad device", env: with(EnvDeviceID, "a b"), enabled: true, errHas: EnvDeviceID},
		{name: "bad server", env: with(EnvAllowedServers, "tchap.gouv.fr,ex ample"), enabled: true, errHas: EnvAllowedServers},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, enabled, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if enabled != tc.enabled {
				t.Errorf("enabled %v, want %v", enabled, tc.enabled)
			}
			switch {
			case tc.errHas == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.errHas != "" && (err == nil || !strings.Contains(err.Error(), tc.errHas)):
				t.Fatalf("error %v, want one naming %s", err, tc.errHas)
			}
			if err == nil && tc.check != nil {
				tc.check(t, cfg)
			}
			if err != nil && tc.env[EnvPassword] != "" && strings.Contains(err.Error(), tc.env[EnvPassword]) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

// TestNewRequiresCrypto checks that a build without encryption refuses a
// configuration that requires it, at once.
func TestNewRequiresCrypto(t *testing.T) {
	if cryptoAvailable {
		t.Skip("this build has encryption (goolm tag)")
	}
	cfg := Config{Homeserver: "http://127.0.0.1:1", User: "@b:x", Password: "p", Encryption: EncryptionRequired, PickleKey: "0123456789abcdef"}
	_, err := New(cfg, nil, nil, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "build with -tags goolm") {
		t.Fatalf("New: %v, want the encryption error", err)
	}
}

func TestInviteAllowed(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		inviter id.UserID
		want    bool
	}{
		{nil, "@a:anything.org", true},
		{[]string{"tchap.gouv.fr"}, "@jean.dupont-developpement-durable.gouv.fr:agent.dev-durable.tchap.gouv.fr", true},
		{[]string{"tchap.gouv.fr"}, "@a:tchap.gouv.fr", true},
		{[]string{"tchap.gouv.fr"}, "@a:eviltchap.gouv.fr", false},
		{[]string{"tchap.gouv.fr"}, "@a:tchap.gouv.fr.evil.org", false},
		{[]string{"example.org"}, "@a:example.org:8448", true},
		{[]string{"example.org"}, "@a:other.org", false},
		{[]string{"example.org"}, "not a user", false},
		{[]string{"localhost"}, "@alice:localhost", true},
	} {
		if got := InviteAllowed(tc.allowed, tc.inviter); got != tc.want {
			t.Errorf("InviteAllowed(%v, %s) = %v, want %v", tc.allowed, tc.inviter, got, tc.want)
		}
	}
}

func TestTxnID(t *testing.T) {
	for key, want := range map[string]string{
		"q12/request/5": "q12.2Frequest.2F5",
		"a7_relay-1":    "a7_relay-1",
		"x.2F":          "x.2E2F",
		"é":             ".C3.A9",
	} {
		if got := TxnID(key); got != want {
			t.Errorf("TxnID(%q) = %q, want %q", key, got, want)
		}
	}
	if TxnID("") == TxnID("") {
		// Two calls in the same nanosecond are possible but unlikely; a
		// collision here would mean a constant id.
		t.Log("two fresh transaction ids are equal")
	}
}

func TestStripReplyFallback(t *testing.T) {
	for in, want := range map[string]string{
		"> <@a:x> question\n> suite\n\n!answer oui": "!answer oui",
		"!ask pourquoi ?":   "!ask pourquoi ?",
		"> citation seule":  "",
		">pas une citation": ">pas une citation",
	} {
		if got := StripReplyFallback(in); got != want {
			t.Errorf("StripReplyFallback(%q) = %q, want %q", in, got, want)
		}
	}
}
