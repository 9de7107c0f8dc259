package password

import (
	"strings"
	"sync"
	"testing"
)

func TestHashAndCheck(t *testing.T) {
	hash, err := Hash(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", hash)
	}
	again, err := Hash(goodPassword)
	if err != nil || again == hash {
		t.Fatalf("salt not random: %q %q %v", hash, again, err)
	}
	for pw, want := range map[string]bool{goodPassword: true, goodPassword + " ": false, "": false, strings.ToUpper(goodPassword): false} {
		ok, err := Check(hash, pw)
		if err != nil || ok != want {
			t.Errorf("Check(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	// Parameters come from the stored string, so older hashes keep working.
	weaker := "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$" // salt "saltsaltsalt"
	if _, err := Check(weaker+"AAAAAAAAAAAAAAAAAAAAAA", "x"); err != nil {
		t.Errorf("weaker params: %v", err)
	}
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHRzYWx0$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$AAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AA",
		"$2a$10$abcdefghijklmnopqrstuu",
	} {
		if ok, err := Check(bad, "x"); err == nil || ok {
			t.Errorf("Check(%q) = %v, %v; want error", bad, ok, err)
		}
	}
}

func TestHashConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			h, err := Hash("parallel password")
			if err == nil {
				var ok bool
				ok, err = Check(h, "parallel password")
				if !ok && err == nil {
					t.Error("mismatch")
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPasswordPolicy(t *testing.T) {
	p := NewPolicy()
	if common := p.common; len(common) < 300 {
		t.Fatalf("common list has %d entries", len(common))
	}
	cases := map[string]string{
		"1234567":                          "register.password_short",
		"ééééééé":                          "register.password_short", // 7 characters, 14 bytes
		"éééééééé":                         "",
		strings.Repeat("a", 128):           "",
		strings.Repeat("a", 129):           "register.password_long",
		strings.Repeat("ü", 129):           "register.password_long",
		"password":                         "register.password_common",
		"PassWord123":                      "register.password_common",
		"qwertyuiop":                       "register.password_common",
		"iloveyou":                         "register.password_common",
		"12345678":                         "register.password_common",
		goodPassword:                       "",
		"no rules, no digits at all":       "",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8": "register.password_invalid",
	}
	for pw, want := range cases {
		if got := p.Check(pw); got != want {
			t.Errorf("policy(%q) = %q, want %q", pw, got, want)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(goodPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckPassword(b *testing.B) {
	hash, err := Hash(goodPassword)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := Check(hash, goodPassword); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

const goodPassword = "correct horse battery staple"
